// The RocksDB adapter (compiled only with KV_BENCH_HAVE_ROCKSDB).
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine.hpp"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/version.h"

namespace kv::bench {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

absl::Status FromRocksDb(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) return absl::NotFoundError(s.ToString());
  return absl::InternalError(absl::StrCat("rocksdb: ", s.ToString()));
}

class RocksDbCursor final : public Cursor {
 public:
  explicit RocksDbCursor(std::unique_ptr<rocksdb::Iterator> it) : it_(std::move(it)) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override { return ToView(it_->key()); }
  std::string_view value() const override { return ToView(it_->value()); }
  absl::Status status() const override { return FromRocksDb(it_->status()); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksDbEngine final : public Engine {
 public:
  RocksDbEngine(std::unique_ptr<rocksdb::DB> db, std::shared_ptr<rocksdb::Statistics> statistics,
                int num_levels, std::string describe)
      : db_(std::move(db)),
        statistics_(std::move(statistics)),
        num_levels_(num_levels),
        describe_(std::move(describe)) {}
  ~RocksDbEngine() override {
    if (db_ != nullptr) db_->Close().PermitUncheckedError();
  }

  std::string Describe() const override { return describe_; }
  absl::Status Put(std::string_view key, std::string_view value, bool sync) override {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return FromRocksDb(db_->Put(wo, ToSlice(key), ToSlice(value)));
  }
  absl::Status Delete(std::string_view key, bool sync) override {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return FromRocksDb(db_->Delete(wo, ToSlice(key)));
  }
  absl::StatusOr<bool> Get(std::string_view key, std::string* value) override {
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ToSlice(key), value);
    if (s.ok()) return true;
    if (s.IsNotFound()) return false;
    return FromRocksDb(s);
  }
  std::unique_ptr<Cursor> NewCursor() override {
    return std::make_unique<RocksDbCursor>(
        std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(rocksdb::ReadOptions())));
  }
  absl::Status Settle() override {
    absl::Status s = FromRocksDb(db_->Flush(rocksdb::FlushOptions()));
    if (!s.ok()) return s;
    rocksdb::CompactRangeOptions cro;
    cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    return FromRocksDb(db_->CompactRange(cro, nullptr, nullptr));
  }
  std::optional<std::string> Property(std::string_view name) override {
    std::string value;
    if (!db_->GetProperty(ToSlice(name), &value)) return std::nullopt;
    return value;
  }
  std::string StatsText() override { return Property("rocksdb.stats").value_or(""); }
  int FilesAtLevel(int level) override {
    std::optional<std::string> v = Property(absl::StrCat("rocksdb.num-files-at-level", level));
    int n = -1;
    if (!v.has_value() || !absl::SimpleAtoi(*v, &n)) return -1;
    return n;
  }
  int NumLevels() const override { return num_levels_; }
  absl::Status FlushMemtable() override { return FromRocksDb(db_->Flush(rocksdb::FlushOptions())); }
  std::optional<bool> BackgroundBusy() override {
    std::uint64_t v = 0;
    for (const std::string* p : {&rocksdb::DB::Properties::kCompactionPending,
                                 &rocksdb::DB::Properties::kMemTableFlushPending,
                                 &rocksdb::DB::Properties::kNumRunningCompactions,
                                 &rocksdb::DB::Properties::kNumRunningFlushes}) {
      if (!db_->GetIntProperty(*p, &v)) return std::nullopt;
      if (v != 0) return true;
    }
    return false;
  }
  absl::StatusOr<WriteCounters> Counters() override {
    if (statistics_ == nullptr) {
      return absl::FailedPreconditionError("rocksdb: opened without collect_statistics");
    }
    WriteCounters c;
    c.flush_bytes = statistics_->getTickerCount(rocksdb::FLUSH_WRITE_BYTES);
    c.table_bytes = *c.flush_bytes + statistics_->getTickerCount(rocksdb::COMPACT_WRITE_BYTES);
    c.wal_bytes = statistics_->getTickerCount(rocksdb::WAL_FILE_BYTES);
    c.stall_micros = statistics_->getTickerCount(rocksdb::STALL_MICROS);
    return c;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  int num_levels_;
  std::string describe_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> OpenRocksDbEngine(const EngineSettings& settings,
                                                          const std::filesystem::path& dir) {
  rocksdb::BlockBasedTableOptions table;
  table.block_size = settings.block_bytes;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(settings.bloom_bits_per_key));
  table.block_cache = rocksdb::NewLRUCache(settings.block_cache_bytes);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = settings.write_buffer_bytes;
  options.compression = rocksdb::kNoCompression;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Tickers for the amplification workload (flush/compaction/WAL bytes, stalls).
  if (settings.collect_statistics) options.statistics = rocksdb::CreateDBStatistics();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
  if (!s.ok()) return FromRocksDb(s);
  std::string describe = absl::StrFormat(
      "RocksDB %d.%d.%d (Debian build, assertions on): write_buffer_size=%d block_size=%d "
      "bloom=%d bits/key block_cache=%d (LRU) compression=none, WAL on%s; other options default",
      ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH, options.write_buffer_size, table.block_size,
      settings.bloom_bits_per_key, settings.block_cache_bytes,
      settings.collect_statistics ? ", statistics on" : "");
  return std::make_unique<RocksDbEngine>(std::unique_ptr<rocksdb::DB>(raw), options.statistics,
                                         options.num_levels, std::move(describe));
}

}  // namespace kv::bench
