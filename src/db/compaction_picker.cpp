#include "db/compaction_picker.hpp"

#include <algorithm>
#include <cassert>

#include "kv/internal_key.hpp"

namespace kv::detail {

namespace {

std::uint64_t SumBytes(const std::vector<FileRef>& files) {
  std::uint64_t total = 0;
  for (const FileRef& f : files) total += f->file_size;
  return total;
}

// The user-key range covered by `a` and `b`. REQUIRES: not both empty.
void UserRange(const std::vector<FileRef>& a, const std::vector<FileRef>& b, std::string* lo,
               std::string* hi) {
  bool first = true;
  for (const auto* files : {&a, &b}) {
    for (const FileRef& f : *files) {
      const std::string_view s = ExtractUserKey(f->smallest);
      const std::string_view l = ExtractUserKey(f->largest);
      if (first || CompareUserKeys(s, *lo) < 0) lo->assign(s);
      if (first || CompareUserKeys(l, *hi) > 0) hi->assign(l);
      first = false;
    }
  }
  assert(!first);
}

// Grows `inputs`, a contiguous run of the sorted level `level_files` (L >= 1),
// by every neighbour that shares a boundary user key with it: a user key
// split across two files must move down as a whole, else the older
// versions left behind would shadow the newer ones moved below.
void AddBoundaryInputs(const std::vector<FileRef>& level_files, std::vector<FileRef>* inputs) {
  if (inputs->empty()) return;
  auto first = std::find(level_files.begin(), level_files.end(), inputs->front());
  auto last = std::find(level_files.begin(), level_files.end(), inputs->back());
  assert(first != level_files.end() && last != level_files.end() && first <= last);
  while (first != level_files.begin() && CompareUserKeys(ExtractUserKey((*(first - 1))->largest),
                                                         ExtractUserKey((*first)->smallest)) == 0) {
    --first;
  }
  while (last + 1 != level_files.end() && CompareUserKeys(ExtractUserKey((*(last + 1))->smallest),
                                                          ExtractUserKey((*last)->largest)) == 0) {
    ++last;
  }
  inputs->assign(first, last + 1);
}

// Given c->inputs[0], fills inputs[1] and grandparents, first growing
// inputs[0] if that takes no more output-level files and stays small.
void SetupOtherInputs(const Version& version, const Options& options, CompactionInputs* c) {
  const int level = c->level;
  std::string lo, hi;
  UserRange(c->inputs[0], {}, &lo, &hi);
  c->inputs[1] = version.GetOverlappingInputs(c->output_level, lo, hi);

  std::string all_lo, all_hi;
  UserRange(c->inputs[0], c->inputs[1], &all_lo, &all_hi);
  if (!c->inputs[1].empty()) {
    std::vector<FileRef> expanded0 = version.GetOverlappingInputs(level, all_lo, all_hi);
    if (expanded0.size() > c->inputs[0].size() &&
        SumBytes(expanded0) + SumBytes(c->inputs[1]) < MaxExpandedCompactionBytes(options)) {
      std::string new_lo, new_hi;
      UserRange(expanded0, {}, &new_lo, &new_hi);
      std::vector<FileRef> expanded1 =
          version.GetOverlappingInputs(c->output_level, new_lo, new_hi);
      if (expanded1.size() == c->inputs[1].size()) {
        c->inputs[0] = std::move(expanded0);
        c->inputs[1] = std::move(expanded1);
        UserRange(c->inputs[0], c->inputs[1], &all_lo, &all_hi);
      }
    }
  }
  c->grandparents.clear();
  if (c->output_level + 1 < version.num_levels()) {
    c->grandparents = version.GetOverlappingInputs(c->output_level + 1, all_lo, all_hi);
  }
}

}  // namespace

std::uint64_t CompactionInputs::InputBytes() const {
  return SumBytes(inputs[0]) + SumBytes(inputs[1]);
}

std::string CompactionInputs::SmallestUserKey() const {
  std::string lo, hi;
  UserRange(inputs[0], inputs[1], &lo, &hi);
  return lo;
}

std::string CompactionInputs::LargestUserKey() const {
  std::string lo, hi;
  UserRange(inputs[0], inputs[1], &lo, &hi);
  return hi;
}

std::uint64_t MaxGrandparentOverlapBytes(const Options& options) {
  return 10 * options.target_file_bytes;
}

std::uint64_t MaxExpandedCompactionBytes(const Options& options) {
  return 25 * options.target_file_bytes;
}

std::optional<CompactionInputs> PickCompaction(const Version& version, const Options& options,
                                               std::vector<std::string>* compact_pointers) {
  const int num_levels = version.num_levels();
  if (compact_pointers->size() < static_cast<std::size_t>(num_levels)) {
    compact_pointers->resize(static_cast<std::size_t>(num_levels));
  }
  // Candidate levels by score, largest first (stable: lower level on ties).
  std::vector<int> levels;
  for (int level = 0; level + 1 < num_levels; ++level) {
    if (version.level_score(level) >= 1 && version.NumFiles(level) > 0) levels.push_back(level);
  }
  std::stable_sort(levels.begin(), levels.end(),
                   [&](int a, int b) { return version.level_score(a) > version.level_score(b); });
  if (levels.empty()) return std::nullopt;

  CompactionInputs c;
  c.level = levels.front();
  c.output_level = c.level + 1;
  const std::vector<FileRef>& files = version.files(c.level);
  if (c.level == 0) {
    // Start at the oldest L0 file; take every L0 file it overlaps, transitively.
    const FileRef& oldest = files.back();
    c.inputs[0] = version.GetOverlappingInputs(0, ExtractUserKey(oldest->smallest),
                                               ExtractUserKey(oldest->largest));
  } else {
    // Round robin: the first file past the level's compact pointer.
    const std::string& pointer = (*compact_pointers)[static_cast<std::size_t>(c.level)];
    FileRef start = files.front();
    if (!pointer.empty()) {
      for (const FileRef& f : files) {
        if (CompareInternalKeys(f->largest, pointer) > 0) {
          start = f;
          break;
        }
      }
    }
    c.inputs[0].push_back(start);
    AddBoundaryInputs(files, &c.inputs[0]);
  }
  SetupOtherInputs(version, options, &c);

  c.is_trivial_move = c.inputs[0].size() == 1 && c.inputs[1].empty() &&
                      SumBytes(c.grandparents) <= MaxGrandparentOverlapBytes(options);

  if (c.level > 0) {
    // The next pick of this level starts after the largest key compacted now.
    std::string& pointer = (*compact_pointers)[static_cast<std::size_t>(c.level)];
    pointer = c.inputs[0].front()->largest;
    for (const FileRef& f : c.inputs[0]) {
      if (CompareInternalKeys(f->largest, pointer) > 0) pointer = f->largest;
    }
  }
  return c;
}

std::optional<CompactionInputs> PickRangeCompaction(const Version& version, const Options& options,
                                                    int level,
                                                    std::optional<std::string_view> begin,
                                                    std::optional<std::string_view> end,
                                                    bool allow_move) {
  if (level < 0 || level + 1 >= version.num_levels()) return std::nullopt;
  CompactionInputs c;
  c.level = level;
  c.output_level = level + 1;
  c.inputs[0] = version.GetOverlappingInputs(level, begin, end);
  if (c.inputs[0].empty()) return std::nullopt;
  if (level > 0) {
    // Bound the work of one step; the caller repeats until nothing is left.
    const std::uint64_t limit = MaxExpandedCompactionBytes(options);
    std::uint64_t total = 0;
    std::size_t keep = 0;
    while (keep < c.inputs[0].size() && total < limit) total += c.inputs[0][keep++]->file_size;
    c.inputs[0].resize(keep);
    AddBoundaryInputs(version.files(level), &c.inputs[0]);
  }
  SetupOtherInputs(version, options, &c);
  c.is_trivial_move = false;
  if (allow_move && c.inputs[1].empty()) {
    // Nothing below to merge with: the first file moves down as it is,
    // unless it shares a boundary user key with a neighbour (the key would
    // be split across levels) or overlaps other L0 files (their order by
    // age would be lost).
    std::vector<FileRef> first{c.inputs[0].front()};
    if (level > 0) AddBoundaryInputs(version.files(level), &first);
    if (first.size() == 1 && (level > 0 || c.inputs[0].size() == 1)) {
      c.inputs[0] = std::move(first);
      c.is_trivial_move = true;
    }
  }
  return c;
}

std::optional<CompactionInputs> PickInPlaceRangeCompaction(const Version& version,
                                                           const Options& options, int level,
                                                           std::optional<std::string_view> begin,
                                                           std::optional<std::string_view> end,
                                                           std::uint64_t older_than) {
  if (level < 1 || level >= version.num_levels()) return std::nullopt;
  CompactionInputs c;
  c.level = level;
  c.output_level = level;
  const std::uint64_t limit = MaxExpandedCompactionBytes(options);
  std::uint64_t total = 0;
  for (const FileRef& f : version.GetOverlappingInputs(level, begin, end)) {
    if (f->number >= older_than) {
      if (c.inputs[0].empty()) continue;
      break;  // the run ends at a file already written by this CompactRange
    }
    if (total >= limit) break;
    c.inputs[0].push_back(f);
    total += f->file_size;
  }
  if (c.inputs[0].empty()) return std::nullopt;
  // A user key split across files is rewritten whole: a tombstone dropped
  // from one file would otherwise uncover an older version in its neighbour.
  AddBoundaryInputs(version.files(level), &c.inputs[0]);
  if (level + 1 < version.num_levels()) {
    std::string lo, hi;
    UserRange(c.inputs[0], {}, &lo, &hi);
    c.grandparents = version.GetOverlappingInputs(level + 1, lo, hi);
  }
  c.is_trivial_move = false;
  return c;
}

}  // namespace kv::detail
