// The non-virtual conveniences of kv::DB and the small types of the public
// API; the DB itself is detail::DBImpl (src/db/db_impl.hpp).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/snapshot_list.hpp"
#include "kv/db.hpp"

namespace kv {

Iterator::~Iterator() = default;

namespace {
class EmptyIterator final : public Iterator {
 public:
  explicit EmptyIterator(absl::Status status) : status_(std::move(status)) {}
  bool Valid() const override { return false; }
  void SeekToFirst() override {}
  void SeekToLast() override {}
  void Seek(std::string_view) override {}
  void Next() override {}
  void Prev() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  absl::Status status() const override { return status_; }

 private:
  absl::Status status_;
};
}  // namespace

std::unique_ptr<Iterator> NewEmptyIterator(absl::Status status) {
  return std::make_unique<EmptyIterator>(std::move(status));
}

absl::Status Options::Validate() const {
  auto bad = [](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("Options::", Sv(field), " ", Sv(why)));
  };
  if (memtable_bytes < 4096) return bad("memtable_bytes", "must be at least 4096");
  if (block_bytes < 256 || block_bytes > (64u << 20)) {
    return bad("block_bytes", "must be within [256, 64 MiB]");
  }
  if (block_restart_interval < 1 || block_restart_interval > 1024) {
    return bad("block_restart_interval", "must be within [1, 1024]");
  }
  if (bloom_bits_per_key < 0 || bloom_bits_per_key > 64) {
    return bad("bloom_bits_per_key", "must be within [0, 64]");
  }
  if (level0_compaction_trigger < 1) return bad("level0_compaction_trigger", "must be >= 1");
  if (level0_slowdown_trigger < level0_compaction_trigger) {
    return bad("level0_slowdown_trigger", "must be >= level0_compaction_trigger");
  }
  if (level0_stop_trigger < level0_slowdown_trigger) {
    return bad("level0_stop_trigger", "must be >= level0_slowdown_trigger");
  }
  if (level1_target_bytes < 4096) return bad("level1_target_bytes", "must be at least 4096");
  if (level_size_ratio < 2) return bad("level_size_ratio", "must be >= 2");
  if (num_levels < 2 || num_levels > 20) return bad("num_levels", "must be within [2, 20]");
  if (target_file_bytes < 4096) return bad("target_file_bytes", "must be at least 4096");
  if (max_write_group_bytes < 1) return bad("max_write_group_bytes", "must be >= 1");
  if (max_open_files < 10) return bad("max_open_files", "must be >= 10");
  if (release_idle_table_pages.count() < 0) {
    return bad("release_idle_table_pages", "must not be negative");
  }
  return absl::OkStatus();
}

DB::~DB() = default;

Snapshot::~Snapshot() { list_->Release(sequence_, read_time_micros_); }

namespace {

// DB::Put and DB::Delete encode their one entry into a per-thread batch
// whose buffer survives between calls, so a steady stream of writes
// allocates nothing (a fresh batch cost three allocations per Put as its
// string grew). A write re-entered on the same thread (a user FileSystem
// that writes to a DB from inside Write) gets a fresh batch instead.
template <typename Fill>
absl::Status WriteOne(DB* db, const WriteOptions& options, Fill fill) {
  // A buffer above this is released after the write rather than kept.
  constexpr std::size_t kKeptBufferBytes = 64 << 10;
  thread_local WriteBatch reused;
  thread_local bool in_use = false;
  if (in_use) {
    WriteBatch batch;
    fill(batch);
    return db->Write(options, batch);
  }
  in_use = true;
  reused.Clear();
  fill(reused);
  absl::Status s = db->Write(options, reused);
  if (reused.ApproximateSize() > kKeptBufferBytes) reused = WriteBatch();
  in_use = false;
  return s;
}

}  // namespace

absl::Status DB::Put(const WriteOptions& options, std::string_view key, std::string_view value) {
  return WriteOne(this, options, [&](WriteBatch& batch) { batch.Put(key, value); });
}

absl::Status DB::Delete(const WriteOptions& options, std::string_view key) {
  return WriteOne(this, options, [&](WriteBatch& batch) { batch.Delete(key); });
}

absl::StatusOr<std::string> DB::Get(std::string_view key) {
  std::string value;
  KV_RETURN_IF_ERROR(Get(ReadOptions{}, key, &value));
  return value;
}

}  // namespace kv
