#include "db/version.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

#include "absl/strings/str_cat.h"
#include "kv/internal_key.hpp"

namespace kv::detail {

namespace {

std::string_view SmallestUser(const FileRef& f) { return ExtractUserKey(f->smallest); }
std::string_view LargestUser(const FileRef& f) { return ExtractUserKey(f->largest); }

// L0 order: newest first.
bool NewerFirst(const FileRef& a, const FileRef& b) {
  if (a->largest_seq != b->largest_seq) return a->largest_seq > b->largest_seq;
  return a->number > b->number;
}

bool BySmallestKey(const FileRef& a, const FileRef& b) {
  const int r = CompareInternalKeys(a->smallest, b->smallest);
  if (r != 0) return r < 0;
  return a->number < b->number;
}

// Index of the first file of a sorted, non-overlapping level whose largest
// user key is >= user_key (files.size() if none).
std::size_t FindFirstNotBefore(const std::vector<FileRef>& files, std::string_view user_key) {
  auto it = std::partition_point(files.begin(), files.end(), [&](const FileRef& f) {
    return CompareUserKeys(LargestUser(f), user_key) < 0;
  });
  return static_cast<std::size_t>(it - files.begin());
}

bool BeforeRange(const FileRef& f, const std::optional<std::string>& begin) {
  return begin && CompareUserKeys(LargestUser(f), *begin) < 0;
}
bool AfterRange(const FileRef& f, const std::optional<std::string>& end) {
  return end && CompareUserKeys(SmallestUser(f), *end) > 0;
}

}  // namespace

std::uint64_t MaxBytesForLevel(const Options& options, int level) {
  assert(level >= 1);
  std::uint64_t bytes = options.level1_target_bytes;
  const auto ratio = static_cast<std::uint64_t>(std::max(options.level_size_ratio, 1));
  for (int l = 1; l < level; ++l) {
    if (bytes > std::numeric_limits<std::uint64_t>::max() / ratio) {
      return std::numeric_limits<std::uint64_t>::max();
    }
    bytes *= ratio;
  }
  return bytes;
}

Version::Version(const Options& options)
    : Version(options, std::vector<std::vector<FileRef>>(
                           static_cast<std::size_t>(std::max(options.num_levels, 1)))) {}

Version::Version(const Options& options, std::vector<std::vector<FileRef>> files)
    : files_(std::move(files)) {
  assert(!files_.empty());
  ComputeScores(options);
}

std::size_t Version::Checked(int level) const {
  assert(level >= 0 && level < num_levels());
  return static_cast<std::size_t>(level);
}

std::uint64_t Version::LevelBytes(int level) const {
  std::uint64_t total = 0;
  for (const FileRef& f : files(level)) total += f->file_size;
  return total;
}

std::uint64_t Version::TotalBytes() const {
  std::uint64_t total = 0;
  for (int level = 0; level < num_levels(); ++level) total += LevelBytes(level);
  return total;
}

void Version::ComputeScores(const Options& options) {
  scores_.assign(files_.size(), 0.0);
  const int trigger = std::max(options.level0_compaction_trigger, 1);
  scores_[0] = static_cast<double>(files_[0].size()) / trigger;
  for (int level = 1; level + 1 < num_levels(); ++level) {
    scores_[static_cast<std::size_t>(level)] =
        static_cast<double>(LevelBytes(level)) /
        static_cast<double>(MaxBytesForLevel(options, level));
  }
  compaction_level_ = 0;
  compaction_score_ = scores_[0];
  for (int level = 1; level < num_levels(); ++level) {
    if (scores_[static_cast<std::size_t>(level)] > compaction_score_) {
      compaction_score_ = scores_[static_cast<std::size_t>(level)];
      compaction_level_ = level;
    }
  }
}

void Version::ForEachFileContaining(std::string_view user_key,
                                    absl::FunctionRef<bool(int, const FileRef&)> fn) const {
  for (const FileRef& f : files_[0]) {
    if (CompareUserKeys(user_key, SmallestUser(f)) >= 0 &&
        CompareUserKeys(user_key, LargestUser(f)) <= 0) {
      if (!fn(0, f)) return;
    }
  }
  for (int level = 1; level < num_levels(); ++level) {
    const std::vector<FileRef>& files = files_[static_cast<std::size_t>(level)];
    for (std::size_t i = FindFirstNotBefore(files, user_key);
         i < files.size() && CompareUserKeys(SmallestUser(files[i]), user_key) <= 0; ++i) {
      if (!fn(level, files[i])) return;
    }
  }
}

std::vector<FileRef> Version::GetOverlappingInputs(int level, std::optional<std::string_view> begin,
                                                   std::optional<std::string_view> end) const {
  const std::vector<FileRef>& files = files_[Checked(level)];
  std::optional<std::string> lo, hi;
  if (begin) lo.emplace(*begin);
  if (end) hi.emplace(*end);
  std::vector<FileRef> out;
  if (level > 0) {
    for (std::size_t i = lo ? FindFirstNotBefore(files, *lo) : 0;
         i < files.size() && !AfterRange(files[i], hi); ++i) {
      out.push_back(files[i]);
    }
    return out;
  }
  // L0: widen the range until no file outside the result overlaps it.
  for (std::size_t i = 0; i < files.size();) {
    const FileRef& f = files[i++];
    if (BeforeRange(f, lo) || AfterRange(f, hi)) continue;
    bool widened = false;
    if (lo && CompareUserKeys(SmallestUser(f), *lo) < 0) {
      lo.emplace(SmallestUser(f));
      widened = true;
    }
    if (hi && CompareUserKeys(LargestUser(f), *hi) > 0) {
      hi.emplace(LargestUser(f));
      widened = true;
    }
    if (widened) {
      out.clear();
      i = 0;
    } else {
      out.push_back(f);
    }
  }
  return out;
}

bool Version::OverlapInLevel(int level, std::optional<std::string_view> begin,
                             std::optional<std::string_view> end) const {
  const std::vector<FileRef>& files = files_[Checked(level)];
  std::optional<std::string> lo, hi;
  if (begin) lo.emplace(*begin);
  if (end) hi.emplace(*end);
  if (level > 0) {
    const std::size_t i = lo ? FindFirstNotBefore(files, *lo) : 0;
    return i < files.size() && !AfterRange(files[i], hi);
  }
  return std::any_of(files.begin(), files.end(),
                     [&](const FileRef& f) { return !BeforeRange(f, lo) && !AfterRange(f, hi); });
}

std::string Version::DebugString() const {
  std::string out;
  for (int level = 0; level < num_levels(); ++level) {
    absl::StrAppend(&out, "L", level, ": ", NumFiles(level), " files, ", LevelBytes(level),
                    " bytes, score ", level_score(level), "\n");
    for (const FileRef& f : files(level)) {
      absl::StrAppend(&out, "  #", f->number, " ", f->file_size, " bytes [",
                      InternalKeyDebugString(f->smallest), " .. ",
                      InternalKeyDebugString(f->largest), "] seq ", f->smallest_seq, "..",
                      f->largest_seq, "\n");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// VersionBuilder

VersionBuilder::VersionBuilder(const Options& options, const std::shared_ptr<const Version>& base)
    : options_(options), levels_(static_cast<std::size_t>(std::max(options.num_levels, 1))) {
  if (base == nullptr) return;
  assert(base->num_levels() == static_cast<int>(levels_.size()));
  for (int level = 0; level < base->num_levels(); ++level) {
    for (const FileRef& f : base->files(level)) {
      levels_[static_cast<std::size_t>(level)].emplace(f->number, f);
      level_of_.emplace(f->number, level);
    }
  }
}

absl::Status VersionBuilder::Apply(const VersionEdit& edit) {
  const int num_levels = static_cast<int>(levels_.size());
  auto check_level = [&](int level) -> absl::Status {
    if (level >= num_levels) {
      return absl::InvalidArgumentError(absl::StrCat("version edit names level ", level,
                                                     " but Options::num_levels is ", num_levels));
    }
    return absl::OkStatus();
  };
  for (const auto& [level, number] : edit.removed_files()) {
    KV_RETURN_IF_ERROR(check_level(level));
    auto& files = levels_[static_cast<std::size_t>(level)];
    if (files.erase(number) == 0) {
      return absl::DataLossError(
          absl::StrCat("version edit removes table #", number, " which is not in level ", level));
    }
    level_of_.erase(number);
  }
  for (const auto& [level, meta] : edit.new_files()) {
    KV_RETURN_IF_ERROR(check_level(level));
    auto [it, inserted] = level_of_.emplace(meta.number, level);
    if (!inserted) {
      return absl::DataLossError(absl::StrCat("version edit adds table #", meta.number,
                                              " to level ", level, " but it is already in level ",
                                              it->second));
    }
    levels_[static_cast<std::size_t>(level)].emplace(meta.number,
                                                     std::make_shared<const FileMetaData>(meta));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Version>> VersionBuilder::Build() const {
  std::vector<std::vector<FileRef>> files(levels_.size());
  for (std::size_t level = 0; level < levels_.size(); ++level) {
    std::vector<FileRef>& out = files[level];
    out.reserve(levels_[level].size());
    for (const auto& [number, f] : levels_[level]) out.push_back(f);
    if (level == 0) {
      std::sort(out.begin(), out.end(), NewerFirst);
      continue;
    }
    std::sort(out.begin(), out.end(), BySmallestKey);
    for (std::size_t i = 1; i < out.size(); ++i) {
      if (CompareInternalKeys(out[i - 1]->largest, out[i]->smallest) >= 0) {
        return absl::DataLossError(absl::StrCat("tables #", out[i - 1]->number, " and #",
                                                out[i]->number, " overlap in level ", level, ": ",
                                                InternalKeyDebugString(out[i - 1]->largest),
                                                " >= ", InternalKeyDebugString(out[i]->smallest)));
      }
    }
  }
  return std::make_shared<const Version>(options_, std::move(files));
}

}  // namespace kv::detail
