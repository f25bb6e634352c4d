// The LevelDB adapter (compiled only with KV_BENCH_HAVE_LEVELDB).
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine.hpp"
#include "leveldb/cache.h"
#include "leveldb/db.h"
#include "leveldb/filter_policy.h"
#include "leveldb/options.h"
#include "leveldb/write_batch.h"
#include "leveldb_counting_env.hpp"

namespace kv::bench {
namespace {

leveldb::Slice ToSlice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }
std::string_view ToView(const leveldb::Slice& s) { return std::string_view(s.data(), s.size()); }

absl::Status FromLevelDb(const leveldb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound()) return absl::NotFoundError(s.ToString());
  return absl::InternalError(absl::StrCat("leveldb: ", s.ToString()));
}

class LevelDbCursor final : public Cursor {
 public:
  explicit LevelDbCursor(std::unique_ptr<leveldb::Iterator> it) : it_(std::move(it)) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override { return ToView(it_->key()); }
  std::string_view value() const override { return ToView(it_->value()); }
  absl::Status status() const override { return FromLevelDb(it_->status()); }

 private:
  std::unique_ptr<leveldb::Iterator> it_;
};

class LevelDbEngine final : public Engine {
 public:
  LevelDbEngine(std::unique_ptr<LevelDbCountingEnv> env,
                std::unique_ptr<const leveldb::FilterPolicy> filter,
                std::unique_ptr<leveldb::Cache> cache, std::unique_ptr<leveldb::DB> db,
                std::string describe)
      : env_(std::move(env)),
        filter_(std::move(filter)),
        cache_(std::move(cache)),
        db_(std::move(db)),
        describe_(std::move(describe)) {}
  ~LevelDbEngine() override { db_.reset(); }  // before the cache and filter it uses

  std::string Describe() const override { return describe_; }
  absl::Status Put(std::string_view key, std::string_view value, bool sync) override {
    leveldb::WriteOptions wo;
    wo.sync = sync;
    return FromLevelDb(db_->Put(wo, ToSlice(key), ToSlice(value)));
  }
  absl::Status Delete(std::string_view key, bool sync) override {
    leveldb::WriteOptions wo;
    wo.sync = sync;
    return FromLevelDb(db_->Delete(wo, ToSlice(key)));
  }
  absl::StatusOr<bool> Get(std::string_view key, std::string* value) override {
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), value);
    if (s.ok()) return true;
    if (s.IsNotFound()) return false;
    return FromLevelDb(s);
  }
  std::unique_ptr<Cursor> NewCursor() override {
    return std::make_unique<LevelDbCursor>(
        std::unique_ptr<leveldb::Iterator>(db_->NewIterator(leveldb::ReadOptions())));
  }
  absl::Status Settle() override {
    // CompactRange over everything first compacts the memtable, then every
    // level, and returns when done.
    db_->CompactRange(nullptr, nullptr);
    return absl::OkStatus();
  }
  std::optional<std::string> Property(std::string_view name) override {
    std::string value;
    if (!db_->GetProperty(ToSlice(name), &value)) return std::nullopt;
    return value;
  }
  std::string StatsText() override { return Property("leveldb.stats").value_or(""); }
  int FilesAtLevel(int level) override {
    std::optional<std::string> v = Property(absl::StrCat("leveldb.num-files-at-level", level));
    int n = -1;
    if (!v.has_value() || !absl::SimpleAtoi(*v, &n)) return -1;
    return n;
  }
  int NumLevels() const override { return 7; }  // leveldb's config::kNumLevels
  absl::Status FlushMemtable() override {
    // LevelDB has no public flush: CompactRange always writes the memtable
    // first, then compacts only files overlapping the range, and no key
    // sorts after "\xff\xff" here (keys are decimal digits).
    const std::string past_all_keys = "\xff\xff";
    const leveldb::Slice begin(past_all_keys), end(past_all_keys);
    db_->CompactRange(&begin, &end);
    return absl::OkStatus();
  }
  std::optional<bool> BackgroundBusy() override { return std::nullopt; }  // no such property
  absl::StatusOr<WriteCounters> Counters() override {
    WriteCounters c;
    c.table_bytes = env_->table_bytes();
    c.wal_bytes = env_->wal_bytes();
    return c;  // no flush/compaction split, no stall counter
  }

 private:
  std::unique_ptr<LevelDbCountingEnv> env_;  // outlives db_
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<leveldb::DB> db_;
  std::string describe_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> OpenLevelDbEngine(const EngineSettings& settings,
                                                          const std::filesystem::path& dir) {
  std::unique_ptr<const leveldb::FilterPolicy> filter(
      leveldb::NewBloomFilterPolicy(settings.bloom_bits_per_key));
  std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(settings.block_cache_bytes));
  auto env = std::make_unique<LevelDbCountingEnv>(leveldb::Env::Default());
  leveldb::Options options;
  options.env = env.get();
  options.create_if_missing = true;
  options.write_buffer_size = settings.write_buffer_bytes;
  options.block_size = settings.block_bytes;
  options.filter_policy = filter.get();
  options.block_cache = cache.get();
  options.compression = leveldb::kNoCompression;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir.string(), &raw);
  if (!s.ok()) return FromLevelDb(s);
  std::string describe = absl::StrFormat(
      "LevelDB %d.%d (Debian build, assertions on): write_buffer_size=%d block_size=%d "
      "bloom=%d bits/key block_cache=%d compression=none (WAL always on)",
      leveldb::kMajorVersion, leveldb::kMinorVersion, options.write_buffer_size, options.block_size,
      settings.bloom_bits_per_key, settings.block_cache_bytes);
  return std::make_unique<LevelDbEngine>(std::move(env), std::move(filter), std::move(cache),
                                         std::unique_ptr<leveldb::DB>(raw), std::move(describe));
}

}  // namespace kv::bench
