/// @file
/// kv::IndexFences: a compact, cache-friendly search structure over a
/// table's index block, built when the table is opened.
///
/// A point lookup or seek must find the first index entry whose key is >=
/// the target. A binary search over the index block itself decodes an entry
/// (and touches one or two cache lines of a ~20 KB block) per step. The
/// fences hold, per index entry, the 8 bytes of its user key that follow the
/// prefix every key of the table shares, packed big-endian into a uint64:
/// the binary search then runs over a contiguous array of integers, and only
/// the entry it lands on is decoded and compared in full.
///
/// Ordering argument: the index keys between the first and the
/// second-to-last all start with those two keys' common prefix P (the last
/// is often a short successor like "1" after "0999", sharing nothing). For
/// keys starting with P, a smaller fence means a smaller key (zero padding
/// makes a shorter key sort first, as bytewise order does); a key after all
/// of them that lacks P gets the largest fence. So every entry before the
/// lower bound of a P-prefixed target's fence is smaller than the target;
/// equal fences are settled by the caller's full comparison.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/block.hpp"
#include "kv/coding.hpp"
#include "kv/internal_key.hpp"
#include "kv/page_allocator.hpp"

namespace kv {

/// Key fences over a table's index block; see the file comment.
class IndexFences {
 public:
  /// Disabled: LowerBound always returns nullopt.
  IndexFences() = default;

  /// Fences over `index`, whose keys are internal keys if `internal_keys`
  /// (else plain user keys). Disabled (an empty IndexFences) unless every
  /// entry is a restart point (restart interval 1, so entry i is restart
  /// point i) and the keys are in order: a malformed index never gets a
  /// structure that could disagree with searching the block itself.
  static IndexFences Build(const Block* index, bool internal_keys) {
    IndexFences f;
    PageVector<std::string> keys;  // a flushed memtable's table has ~16k (page_allocator.hpp)
    BlockIter it(index, internal_keys ? CompareInternalKeys : CompareUserKeys, nullptr, 0,
                 internal_keys ? kTrailerBytes : 0);
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      if (it.restart_index() != keys.size()) return {};
      const std::string_view k = internal_keys ? ExtractUserKey(it.key()) : it.key();
      keys.emplace_back(k);
    }
    if (!it.status().ok() || keys.empty() || keys.size() != index->num_restarts()) return {};
    // The shared prefix is taken from the first and the second-to-last key:
    // the last index key is often a short successor of the table's last key
    // ("1" after "0999"), which shares nothing with the rest.
    const std::string& first = keys.front();
    const std::string& other = keys.size() >= 3 ? keys[keys.size() - 2] : keys.back();
    const std::size_t p =
        FirstMismatch(first.data(), other.data(), 0, std::min(first.size(), other.size()));
    f.prefix_ = first.substr(0, p);
    f.fences_.reserve(keys.size());
    for (const std::string& k : keys) {
      std::uint64_t fence;
      if (std::string_view(k).substr(0, p) == f.prefix_) {
        fence = Pack(std::string_view(k).substr(p));
      } else if (k > f.prefix_) {
        // Greater than every key starting with the prefix: above all fences.
        fence = std::numeric_limits<std::uint64_t>::max();
      } else {
        return {};
      }
      if (!f.fences_.empty() && fence < f.fences_.back()) return {};
      f.fences_.push_back(fence);
    }
    return f;
  }

  /// True if built (LowerBound can answer).
  bool enabled() const { return !fences_.empty(); }

  /// The first entry that may be >= a target with this user key: every
  /// entry before it has a smaller user key. nullopt if disabled or the key
  /// does not start with the shared prefix (search the block instead).
  std::optional<std::uint32_t> LowerBound(std::string_view user_key) const {
    if (fences_.empty() || user_key.substr(0, prefix_.size()) != prefix_) return std::nullopt;
    return LowerBoundOf(Pack(user_key.substr(prefix_.size())));
  }

 private:
  // std::lower_bound over fences_, without branches on the comparisons:
  // random lookups make those a coin toss for the branch predictor, and a
  // table of a few thousand blocks costs a dozen mispredictions per search
  // with branches. Invariant: the answer lies in [base, base + len].
  std::uint32_t LowerBoundOf(std::uint64_t t) const {
    const std::uint64_t* const first = fences_.data();
    const std::uint64_t* base = first;
    std::size_t len = fences_.size();
    while (len > 1) {
      const std::size_t half = len / 2;
      base += base[half - 1] < t ? half : 0;  // a conditional move
      len -= half;
    }
    return static_cast<std::uint32_t>(base - first) + (*base < t ? 1u : 0u);
  }

  // The first 8 bytes of `s`, big-endian, zero-padded.
  static std::uint64_t Pack(std::string_view s) {
    std::uint64_t v = 0;
    const std::size_t n = std::min<std::size_t>(s.size(), 8);
    for (std::size_t i = 0; i < 8; ++i) {
      v = (v << 8) | (i < n ? static_cast<unsigned char>(s[i]) : 0u);
    }
    return v;
  }

  std::string prefix_;
  std::vector<std::uint64_t> fences_;
};

}  // namespace kv
