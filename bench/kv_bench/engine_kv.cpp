// The kv adapter: kv::DB behind the bench Engine interface.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine.hpp"
#include "kv/db.hpp"
#include "kv/status_macros.hpp"

namespace kv::bench {
namespace {

// The value of the Prometheus sample `name` (exact metric name, no labels) in
// `text`; 0 if missing.
std::uint64_t PrometheusValue(std::string_view text, std::string_view name) {
  const std::string needle = absl::StrCat("\n", Sv(name), " ");
  const std::size_t at = text.find(needle);
  if (at == std::string_view::npos) return 0;
  const std::size_t begin = at + needle.size();
  const std::size_t end = text.find('\n', begin);
  std::uint64_t v = 0;
  if (!absl::SimpleAtoi(Sv(text.substr(begin, end - begin)), &v)) return 0;
  return v;
}

class KvCursor final : public Cursor {
 public:
  explicit KvCursor(std::unique_ptr<kv::Iterator> it) : it_(std::move(it)) {}
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view target) override { it_->Seek(target); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override { return it_->key(); }
  std::string_view value() const override { return it_->value(); }
  absl::Status status() const override { return it_->status(); }

 private:
  std::unique_ptr<kv::Iterator> it_;
};

class KvEngine final : public Engine {
 public:
  KvEngine(kv::Options options, std::unique_ptr<kv::DB> db)
      : options_(std::move(options)), db_(std::move(db)) {}

  std::string Describe() const override {
    return absl::StrFormat(
        "kv 0.1: memtable_bytes=%d block_bytes=%d bloom_bits_per_key=%d "
        "block_cache_bytes=%d block_restart_interval=%d release_idle_table_pages=%dms (no "
        "compression exists; WAL always on)",
        options_.memtable_bytes, options_.block_bytes, options_.bloom_bits_per_key,
        options_.block_cache_bytes, options_.block_restart_interval,
        options_.release_idle_table_pages.count());
  }
  absl::Status Put(std::string_view key, std::string_view value, bool sync) override {
    return db_->Put(kv::WriteOptions{.sync = sync}, key, value);
  }
  absl::Status Delete(std::string_view key, bool sync) override {
    return db_->Delete(kv::WriteOptions{.sync = sync}, key);
  }
  absl::StatusOr<bool> Get(std::string_view key, std::string* value) override {
    absl::Status s = db_->Get(kv::ReadOptions{}, key, value);
    if (s.ok()) return true;
    if (absl::IsNotFound(s)) return false;
    return s;
  }
  std::unique_ptr<Cursor> NewCursor() override {
    return std::make_unique<KvCursor>(db_->NewIterator());
  }
  absl::Status Settle() override {
    KV_RETURN_IF_ERROR(db_->Flush());
    return db_->CompactRange(std::nullopt, std::nullopt);
  }
  std::optional<std::string> Property(std::string_view name) override {
    return db_->GetProperty(name);
  }
  std::string StatsText() override { return db_->GetProperty("kv.stats").value_or(""); }
  int FilesAtLevel(int level) override {
    std::optional<std::string> v = db_->GetProperty(absl::StrCat("kv.num-files-at-level", level));
    int n = -1;
    if (!v.has_value() || !absl::SimpleAtoi(*v, &n)) return -1;
    return n;
  }
  int NumLevels() const override { return options_.num_levels; }
  absl::Status FlushMemtable() override { return db_->Flush(); }
  std::optional<bool> BackgroundBusy() override {
    // kv has no "pending" property: an L0 at the trigger is known work; for
    // the rest the caller watches the level shapes.
    if (FilesAtLevel(0) >= options_.level0_compaction_trigger) return true;
    return std::nullopt;
  }
  absl::StatusOr<WriteCounters> Counters() override {
    const std::string text = db_->GetProperty("kv.prometheus").value_or("");
    WriteCounters c;
    c.flush_bytes = PrometheusValue(text, "kv_flush_bytes_written_total");
    c.table_bytes = *c.flush_bytes + PrometheusValue(text, "kv_compaction_bytes_written_total");
    c.wal_bytes = PrometheusValue(text, "kv_wal_bytes_total");
    c.stall_micros = PrometheusValue(text, "kv_stall_micros_total") +
                     PrometheusValue(text, "kv_slowdown_micros_total");
    return c;
  }

 private:
  kv::Options options_;
  std::unique_ptr<kv::DB> db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> OpenKvEngine(const EngineSettings& settings,
                                                     const std::filesystem::path& dir) {
  kv::Options options{.memtable_bytes = settings.write_buffer_bytes,
                      .block_bytes = settings.block_bytes,
                      .bloom_bits_per_key = settings.bloom_bits_per_key,
                      .block_cache_bytes = settings.block_cache_bytes};
  KV_ASSIGN_OR_RETURN(std::unique_ptr<kv::DB> db, kv::DB::Open(options, dir));
  return std::make_unique<KvEngine>(std::move(options), std::move(db));
}

}  // namespace kv::bench
