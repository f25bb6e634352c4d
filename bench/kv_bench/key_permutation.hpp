// kv_bench: a random permutation of [0, n) computed one index at a time.
//
// fillrandom Puts every key once in a random order. A shuffled vector of n
// indices would do, but it is 8 MB at 1M keys, allocated and freed inside
// the measured process: glibc then raises its mmap threshold to 8 MB for the
// rest of the run, so the engine's own later buffers of up to 8 MB come from
// the heap and stay resident after they are freed, which inflates the peak
// RSS the benchmark reports for whichever engine runs there. Computing the
// permutation on the fly costs a few nanoseconds per key and no memory.
#pragma once

#include <bit>
#include <cstdint>

namespace kv::bench {

// A bijection of [0, n): a 4-round Feistel network over the smallest
// domain of 2^(2*h) values that holds n, with cycle walking (re-applying the
// network until the value falls below n) to stay inside [0, n). Cycle walking
// keeps it a bijection because the network is one on the whole domain; the
// domain is less than 4n, so a walk takes under 4 steps on average.
class KeyPermutation {
 public:
  KeyPermutation(std::uint64_t n, std::uint64_t seed) : n_(n) {
    const int bits = n <= 1 ? 2 : std::bit_width(n - 1);
    half_bits_ = (bits + 1) / 2;
    mask_ = (std::uint64_t{1} << half_bits_) - 1;
    std::uint64_t s = seed;
    for (std::uint64_t& k : round_keys_) k = SplitMix(&s);
  }

  // The i-th value of the permutation. REQUIRES: i < n.
  std::uint64_t operator()(std::uint64_t i) const {
    std::uint64_t x = i;
    do {
      x = Network(x);
    } while (x >= n_);
    return x;
  }

 private:
  static std::uint64_t SplitMix(std::uint64_t* state) {
    std::uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t Network(std::uint64_t x) const {
    std::uint64_t left = x >> half_bits_;
    std::uint64_t right = x & mask_;
    for (std::uint64_t key : round_keys_) {
      std::uint64_t f = (right ^ key) * 0xff51afd7ed558ccdULL;
      f ^= f >> 33;
      const std::uint64_t next_right = (left ^ f) & mask_;
      left = right;
      right = next_right;
    }
    return (left << half_bits_) | right;
  }

  std::uint64_t n_;
  int half_bits_ = 1;
  std::uint64_t mask_ = 1;
  std::uint64_t round_keys_[4] = {};
};

}  // namespace kv::bench
