/// @file
/// kv::ConcurrentBloomFilter: a fixed-size, cache-line-blocked bloom filter
/// that keys are added to while other threads query it. The memtable keeps
/// one over its user keys so that a Get for a key it does not hold skips the
/// skiplist search (a dozen or more cache misses in a full memtable).
///
/// @code
///   kv::ConcurrentBloomFilter bloom(1 << 20);        // 1 MiB of bits
///   bloom.AddHash(kv::BloomHash("k"));               // any thread
///   if (bloom.HashMayMatch(kv::BloomHash("k"))) ...  // any thread
/// @endcode
///
/// It uses the probe scheme of the table filters (kv/bloom_filter.hpp): a
/// key's bits all lie in one 64-byte line picked by the hash's high half.
/// Bits are only ever set (relaxed atomic OR), so a key added before some
/// release/acquire pair is seen by any query after it: there are no false
/// negatives for keys whose insertion the querying thread can see.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "kv/bloom_filter.hpp"
#include "kv/page_allocator.hpp"

namespace kv {

/// A bloom filter that keys are added to while others query it; see the
/// file comment.
class ConcurrentBloomFilter {
 public:
  /// Probes per key: near the optimum for 10-20 bits per key.
  static constexpr int kNumProbes = 6;

  /// A filter of `bytes` rounded down to whole 64-byte lines. 0 bytes: no
  /// filter (every query may match, adding does nothing).
  explicit ConcurrentBloomFilter(std::size_t bytes)
      : num_lines_(static_cast<std::uint32_t>(
            std::min<std::size_t>(bytes / kBloomLineBytes, 0xffffffffu))),
        words_(AllocateLines(num_lines_)) {}
  ConcurrentBloomFilter(const ConcurrentBloomFilter&) = delete;
  ConcurrentBloomFilter& operator=(const ConcurrentBloomFilter&) = delete;

  /// Adds a key by its hash (kv::BloomHash). Any thread.
  void AddHash(std::uint64_t hash) {
    ForEachTouchedWord(hash, [](Word& word, std::uint64_t mask) {
      word.fetch_or(mask, std::memory_order_relaxed);
    });
  }

  /// Like AddHash, for a caller that never adds from two threads at once
  /// (queries may still run concurrently, as for the memtable's one writer).
  /// With a single adder no update can be lost, so each touched word gets a
  /// plain load and store instead of a locked read-modify-write.
  void AddHashSingleWriter(std::uint64_t hash) {
    ForEachTouchedWord(hash, [](Word& word, std::uint64_t mask) {
      const std::uint64_t old = word.load(std::memory_order_relaxed);
      if ((old | mask) != old) word.store(old | mask, std::memory_order_relaxed);
    });
  }

  /// False if no key with this hash was added; true if one may have been.
  bool HashMayMatch(std::uint64_t hash) const {
    if (num_lines_ == 0) return true;
    const std::atomic<std::uint64_t>* line = Line(hash);
    detail::BloomProbes probes(hash);
    for (int i = 0; i < kNumProbes; ++i) {
      const std::uint32_t bit = probes.Next();
      if ((line[bit >> 6].load(std::memory_order_relaxed) & (std::uint64_t{1} << (bit & 63))) ==
          0) {
        return false;
      }
    }
    return true;
  }

  /// Bytes of bits held.
  std::size_t bytes() const { return std::size_t{num_lines_} * kBloomLineBytes; }

 private:
  static constexpr std::size_t kWordsPerLine = kBloomLineBytes / sizeof(std::uint64_t);
  static_assert(kWordsPerLine == 8, "detail::BloomLineMasks fills 8 words");

  // Calls set(word, mask) for each word of the key's line that one of its
  // probes falls in, with the bits to set there.
  template <typename SetBits>
  void ForEachTouchedWord(std::uint64_t hash, SetBits set) {
    if (num_lines_ == 0) return;
    std::uint64_t masks[kWordsPerLine];
    detail::BloomLineMasks(hash, kNumProbes, masks);
    std::atomic<std::uint64_t>* line = Line(hash);
    for (std::size_t w = 0; w < kWordsPerLine; ++w) {
      if (masks[w] != 0) set(line[w], masks[w]);
    }
  }

  std::atomic<std::uint64_t>* Line(std::uint64_t hash) const {
    return &words_[std::size_t{detail::BloomLineIndex(hash, num_lines_)} * kWordsPerLine];
  }

  using Word = std::atomic<std::uint64_t>;
  using FreeLines = detail::AlignedDeleter<kBloomLineBytes>;
  using Lines = std::unique_ptr<Word[], FreeLines>;

  // Zeroed words for `n` lines, each line on its own cache line. A
  // memtable's filter is ~1 MiB: mapped, not malloc'd (page_allocator.hpp).
  static Lines AllocateLines(std::uint32_t n) {
    if (n == 0) return nullptr;
    const std::size_t words = std::size_t{n} * kWordsPerLine;
    const std::size_t bytes = words * sizeof(Word);
    Lines lines(static_cast<Word*>(detail::AllocateAligned(bytes, kBloomLineBytes)),
                FreeLines(bytes));
    for (std::size_t i = 0; i < words; ++i) new (&lines[i]) Word(0);
    return lines;
  }

  const std::uint32_t num_lines_;
  const Lines words_;
};

}  // namespace kv
