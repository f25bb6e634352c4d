// The leveled compaction picker: pure logic that chooses which SSTables the
// next compaction reads, from a Version and the Options. It does no I/O.
//
//   std::optional<CompactionInputs> c =
//       PickCompaction(*version, options, &compact_pointers);
//   if (c && c->is_trivial_move) {
//     edit.RemoveFile(c->level, f->number); edit.AddFile(c->output_level, *f);
//   } else if (c) {
//     ... merge c->inputs[0] + c->inputs[1] into new tables of
//     c->output_level, cutting an output early when it overlaps too many
//     c->grandparents bytes ...
//   }
//   edit.SetCompactPointer(c->level, compact_pointers[c->level]);  // persist rotation
//
// Invariants of a pick (level L, output L+1):
//  - inputs[0] is closed in L: for L0, every L0 file overlapping the chosen
//    range transitively; for L >= 1, every L file sharing a boundary user key
//    with a picked file. So no version of a user key stays behind in L while
//    another moves down.
//  - inputs[1] is every L+1 file overlapping the user-key range of inputs[0].
//  - grandparents is every L+2 file overlapping the whole input range.
//
// Thread-safety: free functions over immutable inputs; the caller owns
// compact_pointers (the DB keeps it under its mutex).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/version.hpp"
#include "kv/db.hpp"

namespace kv::detail {

struct CompactionInputs {
  int level = 0;                      // the level compacted
  int output_level = 1;               // level + 1
  std::vector<FileRef> inputs[2];     // [0]: from level, [1]: from output_level
  std::vector<FileRef> grandparents;  // output_level + 1 files overlapping the inputs
  // A single input file, nothing to merge with in output_level and limited
  // grandparent overlap: move it by editing the manifest, no rewrite.
  bool is_trivial_move = false;

  // Sum of file sizes of inputs[0] and inputs[1].
  std::uint64_t InputBytes() const;
  // The user-key range covered by inputs[0] and inputs[1].
  std::string SmallestUserKey() const;
  std::string LargestUserKey() const;
};

// Grandparent bytes a trivial move may overlap (more would make a later
// compaction of output_level expensive): 10 target files.
std::uint64_t MaxGrandparentOverlapBytes(const Options& options);
// Bytes of level-L inputs a pick may grow to when widening for free (no new
// output-level files): 25 target files.
std::uint64_t MaxExpandedCompactionBytes(const Options& options);

// The size-triggered compaction with the largest score >= 1 (ties: the lower
// level), or nullopt if no level needs one. For L >= 1 it starts at the first
// file past (*compact_pointers)[L] (wrapping around) and advances that
// pointer to the largest key of the inputs; L0 starts at its oldest file.
// compact_pointers is resized to num_levels if needed; an empty string means
// "from the start".
std::optional<CompactionInputs> PickCompaction(const Version& version, const Options& options,
                                               std::vector<std::string>* compact_pointers);

// A manual compaction (CompactRange) of `level` into level + 1 over the
// user-key range [begin, end] (nullopt: unbounded). For level >= 1 the inputs
// stop after about MaxExpandedCompactionBytes (call again until nullopt: the
// compacted files have left `level`). A rewrite, so tombstones and expired
// entries can go; with `allow_move` (a later step of the same CompactRange
// rewrites what lands below), a file with nothing to merge with in level + 1
// is a trivial move instead, one file per call. nullopt if nothing in
// `level` overlaps the range, or level is the last.
std::optional<CompactionInputs> PickRangeCompaction(const Version& version, const Options& options,
                                                    int level,
                                                    std::optional<std::string_view> begin,
                                                    std::optional<std::string_view> end,
                                                    bool allow_move = false);

// A manual compaction of `level` (>= 1) into itself over [begin, end]: for
// the deepest level holding the range, so its garbage (tombstones, expired
// and shadowed versions) goes without moving every key a level deeper on
// each CompactRange. The inputs are the first run of adjacent files there
// that overlap the range and are numbered below `older_than` (files this
// CompactRange wrote are clean; skipping them is also what makes repeated
// calls finish), up to about MaxExpandedCompactionBytes, plus neighbours
// sharing a boundary user key. nullopt if no such file is left.
std::optional<CompactionInputs> PickInPlaceRangeCompaction(const Version& version,
                                                           const Options& options, int level,
                                                           std::optional<std::string_view> begin,
                                                           std::optional<std::string_view> end,
                                                           std::uint64_t older_than);

}  // namespace kv::detail
