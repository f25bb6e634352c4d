// VersionEdit: one change to the set of SSTables that make up a DB, as
// logged (one edit per record) in the MANIFEST.
//
//   VersionEdit edit;
//   edit.AddFile(0, meta);                  // a flushed memtable
//   edit.SetLogNumber(new_wal_number);      // older WALs are now in tables
//   std::string record;
//   edit.EncodeTo(&record);                 // -> manifest record
//   VersionEdit back;
//   KV_RETURN_IF_ERROR(back.DecodeFrom(record));
//
// Within one edit, removals apply before additions (so a trivial move is
// RemoveFile(L, n) + AddFile(L + 1, meta of n)). The byte layout is in
// docs/FORMAT_MANIFEST.md and beside the tags in version_edit.cpp.
//
// Thread-safety: a plain value type; no internal synchronization.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "db/table_slot.hpp"
#include "kv/internal_key.hpp"

namespace kv::detail {

// The largest number of levels any DB may have (Options::num_levels is
// validated against a smaller bound); edits naming a deeper level are
// malformed.
inline constexpr int kMaxNumLevels = 64;

// The manifest format version written into every manifest's first record.
inline constexpr std::uint32_t kManifestFormatVersion = 1;

// What the version set knows about one SSTable.
struct FileMetaData {
  std::uint64_t number = 0;
  std::uint64_t file_size = 0;
  std::string smallest, largest;  // internal keys (kv/internal_key.hpp)
  SequenceNumber smallest_seq = 0, largest_seq = 0;
  std::uint64_t num_entries = 0, num_deletions = 0;
  // The table's reader, once the TableCache pins it (shared by copies; not
  // part of the manifest).
  SharedTableSlot table_slot;

  friend bool operator==(const FileMetaData&, const FileMetaData&) = default;
};
using FileRef = std::shared_ptr<const FileMetaData>;

class VersionEdit {
 public:
  // Every WAL with number < n is fully in tables (never replayed).
  void SetLogNumber(std::uint64_t n) { log_number_ = n; }
  void SetNextFileNumber(std::uint64_t n) { next_file_number_ = n; }
  void SetLastSequence(SequenceNumber s) { last_sequence_ = s; }
  // Written into the first record of every manifest; readers reject
  // versions they do not know.
  void SetFormatVersion(std::uint32_t v) { format_version_ = v; }
  // Where the next size-triggered compaction of `level` starts (rotation).
  // REQUIRES: 0 <= level < kMaxNumLevels, internal_key is an internal key.
  void SetCompactPointer(int level, std::string internal_key);
  // REQUIRES: 0 <= level < kMaxNumLevels; f.smallest/f.largest internal keys.
  void AddFile(int level, const FileMetaData& f);
  // REQUIRES: 0 <= level < kMaxNumLevels
  void RemoveFile(int level, std::uint64_t number);

  void Clear() { *this = VersionEdit(); }

  // Appends the encoding (docs/FORMAT_MANIFEST.md) to *dst.
  void EncodeTo(std::string* dst) const;
  // Replaces *this with the edit encoded in `src`. kDataLoss on malformed
  // input (never crashes or reads out of bounds); *this is then cleared.
  [[nodiscard]] absl::Status DecodeFrom(std::string_view src);

  // A human-readable multi-line rendering (kvctl dump-manifest, LOG).
  std::string DebugString() const;

  const std::optional<std::uint64_t>& log_number() const { return log_number_; }
  const std::optional<std::uint64_t>& next_file_number() const { return next_file_number_; }
  const std::optional<SequenceNumber>& last_sequence() const { return last_sequence_; }
  const std::optional<std::uint32_t>& format_version() const { return format_version_; }
  // (level, internal key) in the order set.
  const std::vector<std::pair<int, std::string>>& compact_pointers() const {
    return compact_pointers_;
  }
  // (level, file) in the order added.
  const std::vector<std::pair<int, FileMetaData>>& new_files() const { return new_files_; }
  // (level, file number) in the order removed.
  const std::vector<std::pair<int, std::uint64_t>>& removed_files() const { return removed_files_; }

  friend bool operator==(const VersionEdit&, const VersionEdit&) = default;

 private:
  std::optional<std::uint64_t> log_number_;
  std::optional<std::uint64_t> next_file_number_;
  std::optional<SequenceNumber> last_sequence_;
  std::optional<std::uint32_t> format_version_;
  std::vector<std::pair<int, std::string>> compact_pointers_;
  std::vector<std::pair<int, FileMetaData>> new_files_;
  std::vector<std::pair<int, std::uint64_t>> removed_files_;
};

// Renders an internal key for humans: printable user key bytes as is,
// others as \xNN, then "@seq:type".
std::string InternalKeyDebugString(std::string_view internal_key);

}  // namespace kv::detail
