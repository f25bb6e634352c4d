#include "kv/arena.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

namespace {

std::uint8_t PatternByte(std::size_t alloc_index, std::size_t offset) {
  return static_cast<std::uint8_t>((alloc_index * 131 + offset * 7) & 0xff);
}

}  // namespace

TEST_CASE("Arena starts empty", "[arena]") {
  kv::Arena arena;
  CHECK(arena.MemoryUsage() == 0);
}

TEST_CASE("Arena small allocations share a block", "[arena]") {
  kv::Arena arena;
  char* a = arena.Allocate(10);
  const std::size_t after_first = arena.MemoryUsage();
  CHECK(after_first >= kv::Arena::kBlockSize);
  char* b = arena.Allocate(10);
  CHECK(b == a + 10);
  CHECK(arena.MemoryUsage() == after_first);
}

TEST_CASE("Arena large allocations get their own block", "[arena]") {
  kv::Arena arena;
  // Leave less than a quarter block free in the current block.
  for (int i = 0; i < 3; ++i) arena.Allocate(kv::Arena::kBlockSize / 4);
  char* small = arena.Allocate(8);
  const std::size_t base = arena.MemoryUsage();
  const std::size_t big = kv::Arena::kBlockSize / 4 + 1;
  char* large = arena.Allocate(big);
  CHECK(arena.MemoryUsage() >= base + big);
  CHECK(arena.MemoryUsage() < base + big + 64);  // no whole extra block
  // The current block keeps serving small requests.
  char* small2 = arena.Allocate(8);
  CHECK(small2 == small + 8);
  std::memset(large, 0xab, big);
}

TEST_CASE("Arena AllocateAligned aligns", "[arena]") {
  kv::Arena arena;
  std::mt19937_64 rng(kv::test::TestSeed());
  for (int i = 0; i < 5000; ++i) {
    arena.Allocate(1 + rng() % 7);  // knock the bump pointer off alignment
    const std::size_t n = 1 + rng() % (i % 50 == 0 ? 6000 : 100);
    char* p = arena.AllocateAligned(n);
    REQUIRE(reinterpret_cast<std::uintptr_t>(p) % kv::Arena::kAlign == 0);
    std::memset(p, 0x5a, n);
  }
}

TEST_CASE("Arena randomized allocations keep their contents", "[arena]") {
  const std::uint64_t seed = kv::test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const kv::ArenaBlocks blocks = GENERATE(kv::ArenaBlocks::kSmall, kv::ArenaBlocks::kHugePages);
  kv::Arena arena(blocks);
  const std::size_t block = arena.block_size();
  // Requests around the large-request threshold (a quarter block) come one
  // time in 10, or one in 1000 for huge page blocks, where the threshold is
  // 512 KiB (so the test stays near 100 MiB rather than 1 GiB).
  const std::uint64_t threshold_odds = blocks == kv::ArenaBlocks::kSmall ? 10 : 1000;
  std::vector<std::pair<char*, std::size_t>> allocs;
  std::size_t total = 0;
  for (std::size_t i = 0; i < 20000; ++i) {
    std::size_t n;
    switch (rng() % 10) {
      case 0:
        n = 1 + rng() % 20000;  // large for 4 KiB blocks
        break;
      case 1:
        if (rng() % (threshold_odds / 10) == 0) {
          n = block / 4 + (rng() % 3) - 1;  // around the threshold
          break;
        }
        [[fallthrough]];
      default:
        n = 1 + rng() % 64;
    }
    auto fill = [&](char* p, std::size_t bytes) {
      for (std::size_t j = 0; j < bytes; ++j)
        p[j] = static_cast<char>(PatternByte(allocs.size(), j));
      allocs.emplace_back(p, bytes);
      total += bytes;
    };
    switch (rng() % 3) {
      case 0:
        fill(arena.Allocate(n), n);
        break;
      case 1: {
        char* const p = arena.AllocateAligned(n);
        REQUIRE(reinterpret_cast<std::uintptr_t>(p) % kv::Arena::kAlign == 0);
        fill(p, n);
        break;
      }
      default: {
        // A node and its value, either of them the large one.
        const std::size_t other = 1 + rng() % 128;
        const bool big_front = rng() % 2 == 0;
        const std::size_t front_bytes = big_front ? n : other;
        const std::size_t tail_bytes = big_front ? other : n;
        const kv::Arena::FrontAndTail r = arena.AllocateAlignedWithTail(front_bytes, tail_bytes);
        REQUIRE(reinterpret_cast<std::uintptr_t>(r.front) % kv::Arena::kAlign == 0);
        // The tail follows the front part, less than a block past its end.
        REQUIRE(r.tail >= r.front + front_bytes);
        REQUIRE(static_cast<std::size_t>(r.tail - (r.front + front_bytes)) < block);
        fill(r.front, front_bytes);
        fill(r.tail, tail_bytes);
        break;
      }
    }
    REQUIRE(arena.MemoryUsage() >= total);
  }
  std::size_t bad = 0;
  for (std::size_t i = 0; i < allocs.size(); ++i) {
    const auto [p, n] = allocs[i];
    for (std::size_t j = 0; j < n; ++j) {
      if (static_cast<std::uint8_t>(p[j]) != PatternByte(i, j)) ++bad;
    }
  }
  CHECK(bad == 0);
  // Waste is bounded: small requests waste at most a quarter block per block.
  // (A huge page arena may also hold one barely used 2 MiB block.)
  const std::size_t huge_slack = blocks == kv::ArenaBlocks::kHugePages ? block : 0;
  CHECK(arena.MemoryUsage() < total * 2 + 64 * kv::Arena::kBlockSize + huge_slack);
}

TEST_CASE("Arena holds a 64 MiB allocation", "[arena]") {
  kv::Arena arena;
  const std::size_t n = std::size_t{64} << 20;
  char* p = arena.Allocate(n);
  p[0] = 'a';
  p[n - 1] = 'z';
  CHECK(p[0] == 'a');
  CHECK(p[n - 1] == 'z');
  CHECK(arena.MemoryUsage() >= n);
}

TEST_CASE("Arena MemoryUsage is readable from another thread", "[arena]") {
  kv::Arena arena;
  std::atomic<bool> done{false};
  std::size_t last_seen = 0;
  bool monotonic = true;
  std::thread reader([&] {
    while (!done.load(std::memory_order_acquire)) {
      const std::size_t u = arena.MemoryUsage();
      if (u < last_seen) monotonic = false;
      last_seen = u;
    }
  });
  for (int i = 0; i < 100000; ++i) arena.Allocate(1 + i % 300);
  done.store(true, std::memory_order_release);
  reader.join();
  CHECK(monotonic);
  CHECK(last_seen <= arena.MemoryUsage());
}

TEST_CASE("Arena huge page blocks: 2 MiB, aligned, advised, and carved like small ones",
          "[arena]") {
  kv::Arena arena(kv::ArenaBlocks::kHugePages);
  const std::size_t kHuge = std::size_t{2} << 20;
  REQUIRE(arena.block_size() == kHuge);
  CHECK(arena.MemoryUsage() == 0);

  char* first = arena.Allocate(100);
  std::memset(first, 0x33, 100);
  CHECK(reinterpret_cast<std::uintptr_t>(first) % kHuge == 0);  // one whole huge page
  const std::size_t one_block = arena.MemoryUsage();
  CHECK(one_block >= kHuge);
  CHECK(one_block < kHuge + 64);
  CHECK(arena.Allocate(28) == first + 100);

#if defined(__linux__)
  // The kernel records the advice as "hg" in the mapping's flags, whether or
  // not it has a huge page to give right now.
  const std::optional<std::string> flags = kv::test::SmapsField(first, "VmFlags");
  if (flags.has_value()) {
    INFO("VmFlags: " << *flags);
    CHECK((" " + *flags + " ").find(" hg ") != std::string::npos);
  }
#endif

  // Fill the block up to its last 4 KiB.
  std::size_t used = 128;
  while (used + 4096 < kHuge - 4096) {
    std::memset(arena.Allocate(4096), 0x22, 4096);
    used += 4096;
  }
  CHECK(arena.MemoryUsage() == one_block);
  char* tail = arena.Allocate(8);
  CHECK(tail == first + used);

  // More than a quarter block that does not fit: its own exact-size block,
  // not another 2 MiB, and the huge block keeps serving small requests.
  char* large = arena.Allocate(kHuge / 4 + 1);
  CHECK(arena.MemoryUsage() >= one_block + kHuge / 4 + 1);
  CHECK(arena.MemoryUsage() < one_block + kHuge / 4 + 1 + 64);
  std::memset(large, 0x11, kHuge / 4 + 1);
  CHECK(arena.Allocate(8) == tail + 8);

  // A small request that does not fit starts the next block, also aligned.
  const std::size_t before_second = arena.MemoryUsage();
  char* second = arena.Allocate(8192);
  CHECK(reinterpret_cast<std::uintptr_t>(second) % kHuge == 0);
  CHECK(arena.MemoryUsage() >= before_second + kHuge);
  CHECK(arena.AllocateAligned(24) == second + 8192);
  CHECK(std::all_of(first, first + 100, [](char c) { return c == 0x33; }));  // still there
}
