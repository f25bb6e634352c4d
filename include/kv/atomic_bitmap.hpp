/// @file
/// kv::AtomicBitmap: a fixed-size set of bits that any number of threads may
/// test and set concurrently (bits are only ever set, never cleared).
///
/// SSTableReader uses one to remember which data blocks of a memory-mapped
/// table have passed their checksum, so each is verified once per reader.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace kv {

/// Bits that threads test and set concurrently; see the file comment.
class AtomicBitmap {
 public:
  /// An empty bitmap: Test is false for every bit, Set does nothing.
  AtomicBitmap() = default;

  /// Makes room for `bits` bits, all clear. Not thread-safe: call before
  /// sharing the bitmap.
  void Resize(std::size_t bits) {
    const std::size_t words = (bits + 63) / 64;
    words_ = std::make_unique<std::atomic<std::uint64_t>[]>(words);
    for (std::size_t i = 0; i < words; ++i) words_[i].store(0, std::memory_order_relaxed);
    bits_ = bits;
  }

  /// True if bit `i` was set (false for any `i` >= size()).
  bool Test(std::size_t i) const {
    if (i >= bits_) return false;
    // Acquire pairs with Set's release: whoever sees the bit also sees what
    // was done before setting it.
    return (words_[i / 64].load(std::memory_order_acquire) >> (i % 64)) & 1u;
  }

  /// Sets bit `i` (ignored if `i` >= size()).
  void Set(std::size_t i) {
    if (i >= bits_) return;
    words_[i / 64].fetch_or(std::uint64_t{1} << (i % 64), std::memory_order_release);
  }

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
  std::size_t bits_ = 0;
};

}  // namespace kv
