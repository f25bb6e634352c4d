// Version: the immutable set of SSTables, per level, that make up a DB at
// one point in time; VersionBuilder: applies VersionEdits to a Version to
// make the next one.
//
//   VersionBuilder b(options, version_set.current());
//   KV_RETURN_IF_ERROR(b.Apply(edit));
//   KV_ASSIGN_OR_RETURN(std::shared_ptr<const Version> next, b.Build());
//   next->ForEachFileContaining("key", [&](int level, const FileRef& f) {
//     ... look the key up in table f->number; return true to go on ...
//   });
//
// Level 0 holds flushed memtables: files may overlap and are ordered newest
// first (largest_seq descending, then file number descending). Every deeper
// level is sorted by smallest internal key and its files do not overlap as
// internal-key ranges (two neighbours may share a boundary user key, holding
// different versions of it; the newer versions are in the left file).
//
// Thread-safety: a Version never changes once built, so any number of
// threads may read it; it is shared with std::shared_ptr<const Version>.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "db/version_edit.hpp"
#include "kv/db.hpp"

namespace kv::detail {

// The size target of `level` (>= 1): level1_target_bytes *
// level_size_ratio^(level-1), saturating instead of overflowing.
std::uint64_t MaxBytesForLevel(const Options& options, int level);

class Version {
 public:
  // An empty version with options.num_levels levels.
  explicit Version(const Options& options);
  // REQUIRES: files.size() == options.num_levels and each level ordered and
  // (for levels >= 1) non-overlapping as described above. VersionBuilder
  // checks this; use it rather than calling this directly.
  Version(const Options& options, std::vector<std::vector<FileRef>> files);

  int num_levels() const { return static_cast<int>(files_.size()); }
  // REQUIRES: 0 <= level < num_levels()
  const std::vector<FileRef>& files(int level) const { return files_[Checked(level)]; }
  int NumFiles(int level) const { return static_cast<int>(files(level).size()); }
  std::uint64_t LevelBytes(int level) const;
  std::uint64_t TotalBytes() const;

  // Calls fn(level, file) for each file whose user-key range holds
  // user_key, in lookup order: L0 newest first, then for each deeper level
  // the file found by binary search (or the few neighbours sharing user_key
  // as a boundary, left to right). Stops when fn returns false.
  void ForEachFileContaining(std::string_view user_key,
                             absl::FunctionRef<bool(int, const FileRef&)> fn) const;

  // Files of `level` overlapping the user-key range [begin, end] (nullopt:
  // unbounded on that side), in the level's order. For L0 the range widens
  // transitively: a file overlapping it extends it, so no file outside the
  // result overlaps any file in it.
  std::vector<FileRef> GetOverlappingInputs(int level, std::optional<std::string_view> begin,
                                            std::optional<std::string_view> end) const;
  // True if some file of `level` overlaps the user-key range [begin, end].
  bool OverlapInLevel(int level, std::optional<std::string_view> begin,
                      std::optional<std::string_view> end) const;

  // Compaction need, computed at construction: L0 = files /
  // level0_compaction_trigger; Ln (1 <= n < last) = bytes /
  // MaxBytesForLevel(n); the last level is never a compaction input (0).
  // >= 1 means the level should be compacted.
  double level_score(int level) const { return scores_[Checked(level)]; }
  // The largest score and its level (the lower level on ties).
  double compaction_score() const { return compaction_score_; }
  int compaction_level() const { return compaction_level_; }

  // Levels, file numbers, sizes and key ranges, one file per line.
  std::string DebugString() const;

 private:
  std::size_t Checked(int level) const;
  void ComputeScores(const Options& options);

  std::vector<std::vector<FileRef>> files_;
  std::vector<double> scores_;
  double compaction_score_ = 0;
  int compaction_level_ = 0;
};

// Accumulates edits on top of a base version and builds the result.
// Errors (kDataLoss): removing a file that is not in the named level,
// adding a file number that is already present, overlapping files in a
// level >= 1. An edit naming a level >= options.num_levels is
// kInvalidArgument (the DB was written with more levels).
class VersionBuilder {
 public:
  // `base` may be nullptr: start from an empty version.
  VersionBuilder(const Options& options, const std::shared_ptr<const Version>& base);

  // Applies the file additions and removals of `edit` (removals first).
  // On error the builder's state is unspecified; discard it.
  [[nodiscard]] absl::Status Apply(const VersionEdit& edit);
  // The version holding every file applied so far.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const Version>> Build() const;

 private:
  Options options_;
  std::vector<std::map<std::uint64_t, FileRef>> levels_;  // number -> file
  std::map<std::uint64_t, int> level_of_;                 // number -> level
};

}  // namespace kv::detail
