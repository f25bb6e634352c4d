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
  return absl::OkStatus();
}

DB::~DB() = default;

Snapshot::~Snapshot() { list_->Release(sequence_, read_time_micros_); }

absl::Status DB::Put(const WriteOptions& options, std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(key, value);
  return Write(options, batch);
}

absl::Status DB::Delete(const WriteOptions& options, std::string_view key) {
  WriteBatch batch;
  batch.Delete(key);
  return Write(options, batch);
}

absl::StatusOr<std::string> DB::Get(std::string_view key) {
  std::string value;
  KV_RETURN_IF_ERROR(Get(ReadOptions{}, key, &value));
  return value;
}

}  // namespace kv
