/// @file
/// kv's cache-local ("blocked") bloom filter: one per SSTable, over the
/// table's user keys.
///
/// @code
///   kv::BloomFilterBuilder b(/*bits_per_key=*/10);
///   for (auto k : keys) b.AddKey(k);
///   kv::PageString filter = b.Finish();
///   kv::BloomFilterReader r;
///   if (!r.Init(filter)) { /* malformed */ }
///   r.KeyMayMatch("x");   // false: "x" was certainly not added
/// @endcode
///
/// Design: the filter is an array of 64-byte (512-bit) lines. A key's 64-bit
/// XXH3 hash picks one line with its high 32 bits, and all of the key's probes
/// fall in that line, so a lookup touches exactly one CPU cache line (the
/// filter block is 64-byte aligned in memory). The probe bit positions come
/// from the low 32 bits h2: each probe takes the top 9 bits of h2, then h2 is
/// multiplied by an odd constant (a bijection that spreads every bit upward).
/// Confining a key to one line costs some accuracy: with B bits per key, keys
/// per line are roughly Poisson(512 / B), and crowded lines have more false
/// positives; BlockedBloomFalsePositiveRate() gives the expected rate.
///
/// Layout (see docs/FORMAT.md):
/// @code
///   line[num_lines]   64 bytes each; bit i of a line is bit (i % 64) of the
///                     little-endian 64-bit word i / 64
///   num_probes        1 byte, 1..30
///   num_lines         fixed32
/// @endcode
///
/// Thread-safety: a BloomFilterReader is immutable once initialized.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kv/coding.hpp"
#include "kv/page_allocator.hpp"

#ifndef XXH_STATIC_LINKING_ONLY
#define XXH_STATIC_LINKING_ONLY
#endif
#include <xxhash.h>

namespace kv {

/// Bytes of one filter line (one CPU cache line).
inline constexpr std::size_t kBloomLineBytes = 64;
/// Bits of one filter line.
inline constexpr std::size_t kBloomLineBits = kBloomLineBytes * 8;
inline constexpr std::size_t kBloomTrailerBytes = 5;  ///< num_probes + num_lines
/// The most probes a filter may use.
inline constexpr int kBloomMaxProbes = 30;

/// The 64-bit hash a key is filtered by (XXH3-64).
inline std::uint64_t BloomHash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

/// Probes per key for `bits_per_key`: about bits_per_key * ln 2.
inline int BloomNumProbes(int bits_per_key) {
  const int k = static_cast<int>(std::lround(bits_per_key * 0.69));
  return std::clamp(k, 1, kBloomMaxProbes);
}

namespace detail {
inline constexpr std::uint32_t kBloomProbeMultiplier = 0x9E3779B9u;  // odd: a bijection

inline std::uint32_t BloomLineIndex(std::uint64_t hash, std::uint32_t num_lines) {
  // Maps the high 32 bits uniformly onto [0, num_lines) without a division.
  return static_cast<std::uint32_t>(((hash >> 32) * num_lines) >> 32);
}

// The probe sequence every filter here shares: successive bit positions
// (0..511) within the key's line, from the hash's low 32 bits.
class BloomProbes {
 public:
  explicit BloomProbes(std::uint64_t hash) : h2_(static_cast<std::uint32_t>(hash)) {}
  std::uint32_t Next() {
    const std::uint32_t bit = h2_ >> 23;  // the top 9 bits
    h2_ *= kBloomProbeMultiplier;
    return bit;
  }

 private:
  std::uint32_t h2_;
};

// The bits a key sets, as one mask per 64-bit word of its line.
inline void BloomLineMasks(std::uint64_t hash, int num_probes, std::uint64_t (&masks)[8]) {
  BloomProbes probes(hash);
  for (std::uint64_t& m : masks) m = 0;
  for (int i = 0; i < num_probes; ++i) {
    const std::uint32_t bit = probes.Next();
    masks[bit >> 6] |= std::uint64_t{1} << (bit & 63);
  }
}
}  // namespace detail

/// The false-positive rate a blocked bloom filter with `keys_per_line`
/// keys per 512-bit line on average and `num_probes` probes should have:
/// the average over a Poisson number j of keys in the probed line of the
/// chance that all probes hit set bits, (1 - (1 - 1/512)^(k j))^k.
inline double BlockedBloomFalsePositiveRate(double keys_per_line, int num_probes) {
  double total = 0;
  double poisson = std::exp(-keys_per_line);  // P(j = 0)
  const double miss_one = 1.0 - 1.0 / kBloomLineBits;
  for (int j = 0; j < 20 * keys_per_line + 100; ++j) {
    if (j > 0) poisson *= keys_per_line / j;
    const double bit_set = 1.0 - std::pow(miss_one, static_cast<double>(num_probes) * j);
    total += poisson * std::pow(bit_set, num_probes);
  }
  return total;
}

/// Builds one filter. Two ways, same bytes for the same keys and line count:
/// - listing (the default): collects each key's 8-byte hash and sizes the
///   filter from their number at Finish;
/// - sized: given an upper bound on the keys ahead of time (a flush knows
///   its memtable's entry count), sets each key's bits as it arrives in a
///   filter already at its final size, and keeps no list. For a 64 MiB
///   memtable that is a ~0.5 MiB filter instead of ~3 MiB of hashes (grown
///   by doubling) on top of it while the table is written.
class BloomFilterBuilder {
 public:
  /// REQUIRES: bits_per_key >= 1. max_keys > 0: the sized way, for at most
  /// that many distinct keys. More keys than that keep the filter correct
  /// (no false negatives) but crowd it; far fewer waste its bytes.
  explicit BloomFilterBuilder(int bits_per_key, std::uint64_t max_keys = 0)
      : bits_per_key_(std::max(bits_per_key, 1)), num_probes_(BloomNumProbes(bits_per_key_)) {
    if (max_keys > 0) {
      num_lines_ = LinesFor(max_keys);
      lines_ = PageString(std::size_t{num_lines_} * kBloomLineBytes + kBloomTrailerBytes, '\0');
    }
  }

  /// Adds AddHash(BloomHash(key)).
  void AddKey(std::string_view key) { AddHash(BloomHash(key)); }
  /// Consecutive equal hashes (the versions of one user key) are added once.
  void AddHash(std::uint64_t hash) {
    if (num_hashes_ > 0 && last_hash_ == hash) return;
    last_hash_ = hash;
    ++num_hashes_;
    if (sized()) {
      SetBits(hash);
    } else {
      hashes_.push_back(hash);
    }
  }
  /// Distinct hashes added since the last Finish().
  std::size_t num_hashes() const { return num_hashes_; }

  /// Returns the filter for every key added and resets the builder to the
  /// listing way.
  PageString Finish() {
    if (!sized()) {
      num_lines_ = LinesFor(hashes_.size());
      lines_ = PageString(std::size_t{num_lines_} * kBloomLineBytes + kBloomTrailerBytes, '\0');
      for (std::uint64_t h : hashes_) SetBits(h);
      hashes_.clear();
      hashes_.shrink_to_fit();  // a flushed memtable's list is MiBs: give it back now
    }
    char* trailer = lines_.data() + std::size_t{num_lines_} * kBloomLineBytes;
    trailer[0] = static_cast<char>(num_probes_);
    EncodeFixed32(trailer + 1, num_lines_);
    PageString out = std::move(lines_);
    lines_ = PageString();
    num_lines_ = 0;
    num_hashes_ = 0;
    return out;
  }

 private:
  bool sized() const { return !lines_.empty(); }

  std::uint32_t LinesFor(std::uint64_t keys) const {
    const std::uint64_t bits = keys * static_cast<std::uint64_t>(bits_per_key_);
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(
        (bits + kBloomLineBits - 1) / kBloomLineBits, 0xffffffffu / kBloomLineBytes));
  }

  // ORs the key's probe bits into its line, word by word in little-endian
  // order (the format's bit order). REQUIRES: lines_ holds num_lines_ lines.
  void SetBits(std::uint64_t hash) {
    if (num_lines_ == 0) return;
    char* line =
        lines_.data() + std::size_t{detail::BloomLineIndex(hash, num_lines_)} * kBloomLineBytes;
    std::uint64_t masks[8];
    detail::BloomLineMasks(hash, num_probes_, masks);
    for (int w = 0; w < 8; ++w) {
      EncodeFixed64(line + 8 * w, DecodeFixed64(line + 8 * w) | masks[w]);
    }
  }

  int bits_per_key_;
  int num_probes_;
  std::size_t num_hashes_ = 0;
  std::uint64_t last_hash_ = 0;
  // The filter being built: from the start when sized, else at Finish.
  // Page-allocated like the list (see page_allocator.hpp for why not malloc).
  PageString lines_;
  std::uint32_t num_lines_ = 0;
  // The listing way's hashes: a flushed memtable's table adds ~8 bytes per
  // key, MiBs in all, grown by doubling.
  PageVector<std::uint64_t> hashes_;
};

/// Answers membership queries over filter bytes it does not own.
class BloomFilterReader {
 public:
  /// Points the reader at `filter` (which must outlive it). Returns false if
  /// the bytes are not a well-formed filter; the reader then matches every key.
  [[nodiscard]] bool Init(std::string_view filter) {
    lines_ = nullptr;
    num_lines_ = 0;
    num_probes_ = 0;
    valid_ = false;
    if (filter.size() < kBloomTrailerBytes) return false;
    const char* trailer = filter.data() + filter.size() - kBloomTrailerBytes;
    const int probes = static_cast<unsigned char>(trailer[0]);
    const std::uint32_t lines = DecodeFixed32(trailer + 1);
    if (probes < 1 || probes > kBloomMaxProbes) return false;
    if (std::uint64_t{lines} * kBloomLineBytes != filter.size() - kBloomTrailerBytes) return false;
    lines_ = filter.data();
    num_lines_ = lines;
    num_probes_ = probes;
    valid_ = true;
    return true;
  }

  /// False if `key` was certainly not added; true if it may have been.
  bool KeyMayMatch(std::string_view key) const { return HashMayMatch(BloomHash(key)); }

  /// KeyMayMatch for a precomputed BloomHash.
  bool HashMayMatch(std::uint64_t hash) const {
    if (!valid_) return true;
    if (num_lines_ == 0) return false;  // a filter of no keys
    const char* line =
        lines_ + std::size_t{detail::BloomLineIndex(hash, num_lines_)} * kBloomLineBytes;
    detail::BloomProbes probes(hash);
    for (int i = 0; i < num_probes_; ++i) {
      const std::uint32_t bit = probes.Next();
      if ((static_cast<unsigned char>(line[bit >> 3]) & (1u << (bit & 7))) == 0) return false;
    }
    return true;
  }

  /// The filter's number of lines (0 if not initialized).
  std::uint32_t num_lines() const { return num_lines_; }
  /// The filter's probes per key (0 if not initialized).
  int num_probes() const { return num_probes_; }

 private:
  const char* lines_ = nullptr;
  std::uint32_t num_lines_ = 0;
  int num_probes_ = 0;
  bool valid_ = false;
};

}  // namespace kv
