// kv_bench's on-the-fly key permutation (bench/kv_bench/key_permutation.hpp).
#include "kv_bench/key_permutation.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

using kv::bench::KeyPermutation;

TEST_CASE("KeyPermutation visits every index of [0, n) exactly once") {
  for (std::uint64_t n : {1ULL, 2ULL, 3ULL, 5ULL, 64ULL, 1000ULL, 4097ULL, 100003ULL}) {
    CAPTURE(n);
    const KeyPermutation p(n, /*seed=*/42);
    std::vector<bool> seen(n, false);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t v = p(i);
      REQUIRE(v < n);
      REQUIRE_FALSE(seen[v]);
      seen[v] = true;
    }
  }
}

TEST_CASE("KeyPermutation shuffles, and the seed picks the order") {
  const std::uint64_t n = 10000;
  const KeyPermutation a(n, 1);
  const KeyPermutation b(n, 2);
  std::uint64_t fixed_points = 0;
  std::uint64_t ascending_steps = 0;
  std::uint64_t same_as_other_seed = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (a(i) == i) ++fixed_points;
    if (i > 0 && a(i) == a(i - 1) + 1) ++ascending_steps;
    if (a(i) == b(i)) ++same_as_other_seed;
  }
  // A uniform random permutation has ~1 fixed point and ~1 step of +1; allow slack.
  CHECK(fixed_points < 20);
  CHECK(ascending_steps < 20);
  CHECK(same_as_other_seed < 20);
  // Same seed, same order.
  const KeyPermutation a2(n, 1);
  for (std::uint64_t i = 0; i < n; i += 97) CHECK(a2(i) == a(i));
}
