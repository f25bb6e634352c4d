#include "kv/huge_page_pool.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <catch2/catch.hpp>

#include "kv/arena.hpp"

namespace {

constexpr std::size_t kBlock = kv::detail::kHugePageBlockBytes;
// The largest request an arena still carves from its current block.
constexpr std::size_t kQuarter = kBlock / 4;

// Makes `arena` take `n` more huge page blocks, fills them with `fill`,
// and returns their addresses in the order taken.
std::vector<char*> TakeBlocks(kv::Arena* arena, int n, unsigned char fill) {
  std::vector<char*> starts;
  for (int i = 0; i < n * 4; ++i) {
    char* p = arena->Allocate(kQuarter);
    std::memset(p, fill, kQuarter);
    if (reinterpret_cast<std::uintptr_t>(p) % kBlock == 0) starts.push_back(p);
  }
  return starts;
}

}  // namespace

TEST_CASE("HugePageBlockPool: a dead arena's blocks serve the next arena, up to the capacity",
          "[arena]") {
  auto pool = std::make_shared<kv::HugePageBlockPool>(2);
  CHECK(pool->capacity_blocks() == 2);
  CHECK(pool->kept_blocks() == 0);

  std::set<char*> first_blocks;
  {
    kv::Arena first(kv::ArenaBlocks::kHugePages, pool);
    const std::vector<char*> taken = TakeBlocks(&first, 3, 0x5a);
    first_blocks.insert(taken.begin(), taken.end());
    REQUIRE(first_blocks.size() == 3);
    CHECK(pool->kept_blocks() == 0);  // nothing comes back while the arena lives
  }
  CHECK(pool->kept_blocks() == 2);  // the third went back to the system

  kv::Arena second(kv::ArenaBlocks::kHugePages, pool);
  char* a = second.Allocate(100);
  CHECK(first_blocks.count(a) == 1);
  CHECK(pool->kept_blocks() == 1);
  // Fills a's block, takes the last kept block, then a fresh one (which
  // may be mapped where the unkept block was, so only the count tells).
  const std::vector<char*> more = TakeBlocks(&second, 2, 0x11);
  REQUIRE(more.size() == 2);
  CHECK(first_blocks.count(more[0]) == 1);
  CHECK(more[0] != a);
  CHECK(pool->kept_blocks() == 0);
  CHECK(second.MemoryUsage() >= 3 * kBlock);
}

TEST_CASE("HugePageBlockPool::Trim unmaps kept blocks and keeps none until the next Take",
          "[arena]") {
  auto pool = std::make_shared<kv::HugePageBlockPool>(4);
  {
    kv::Arena arena(kv::ArenaBlocks::kHugePages, pool);
    TakeBlocks(&arena, 2, 0x66);
  }
  CHECK(pool->kept_blocks() == 2);
  auto retiring = std::make_unique<kv::Arena>(kv::ArenaBlocks::kHugePages, pool);
  TakeBlocks(retiring.get(), 3, 0x77);  // two kept blocks and a fresh one
  CHECK(pool->kept_blocks() == 0);
  pool->Trim();
  retiring.reset();  // given back after the trim: unmapped, not kept
  CHECK(pool->kept_blocks() == 0);
  {
    kv::Arena next(kv::ArenaBlocks::kHugePages, pool);  // a Take: keeping resumes
    TakeBlocks(&next, 2, 0x88);
  }
  CHECK(pool->kept_blocks() == 2);
  pool->Trim();
  CHECK(pool->kept_blocks() == 0);
}

TEST_CASE("HugePageBlockPool of capacity 0 keeps nothing", "[arena]") {
  auto pool = std::make_shared<kv::HugePageBlockPool>(0);
  {
    kv::Arena arena(kv::ArenaBlocks::kHugePages, pool);
    TakeBlocks(&arena, 2, 0x22);
  }
  CHECK(pool->kept_blocks() == 0);
}

TEST_CASE("An arena keeps its pool alive until its blocks are back", "[arena]") {
  auto pool = std::make_shared<kv::HugePageBlockPool>(4);
  std::weak_ptr<kv::HugePageBlockPool> watch = pool;
  auto arena = std::make_unique<kv::Arena>(kv::ArenaBlocks::kHugePages, pool);
  TakeBlocks(arena.get(), 1, 0x33);
  pool.reset();
  CHECK_FALSE(watch.expired());
  arena.reset();  // returns the block to the pool, then drops the last owner
  CHECK(watch.expired());
}

TEST_CASE("Arenas without a pool and small-block arenas ignore pools", "[arena]") {
  auto pool = std::make_shared<kv::HugePageBlockPool>(4);
  {
    kv::Arena small(kv::ArenaBlocks::kSmall, pool);
    std::memset(small.Allocate(1000), 1, 1000);
    kv::Arena unpooled(kv::ArenaBlocks::kHugePages);
    TakeBlocks(&unpooled, 1, 0x44);
  }
  CHECK(pool->kept_blocks() == 0);
}

TEST_CASE("HugePageBlockPool keeps only what the live arenas can still grow into", "[arena]") {
  // A DB's case: the retiring memtable's blocks come back while the next
  // memtable has already taken fresh ones.
  auto pool = std::make_shared<kv::HugePageBlockPool>(4);
  auto retiring = std::make_unique<kv::Arena>(kv::ArenaBlocks::kHugePages, pool);
  TakeBlocks(retiring.get(), 3, 0x55);
  kv::Arena next(kv::ArenaBlocks::kHugePages, pool);
  TakeBlocks(&next, 2, 0x66);       // fresh: nothing is kept yet
  retiring.reset();                 // 3 come back; 2 are out
  CHECK(pool->kept_blocks() == 2);  // 2 kept + 2 out = the capacity; the third is unmapped
  TakeBlocks(&next, 2, 0x77);       // grows into both kept blocks
  CHECK(pool->kept_blocks() == 0);
}

namespace {

// Polls `done` for up to 20 s: the prefault thread runs on its own time.
// Only a broken pool makes it time out.
template <typename Done>
bool Eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

#if defined(__linux__)
// Pages of `block` resident right now (mincore).
std::size_t ResidentPages(char* block) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident(kBlock / page);
  REQUIRE(::mincore(block, kBlock, resident.data()) == 0);
  std::size_t n = 0;
  for (unsigned char r : resident) n += r & 1;
  return n;
}
#endif

}  // namespace

TEST_CASE("HugePageBlockPool clears blocks ahead only while a memtable grows", "[arena]") {
  kv::HugePageBlockPool pool(/*capacity_blocks=*/4, /*prefault_blocks=*/2);
  // Nothing is made ahead before the first Take: a DB nobody writes maps nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(pool.prefaulted_blocks() == 0);

  char* first = pool.Take();  // fresh: nothing was ready
  CHECK(pool.prefaulted_blocks_taken() == 0);
  REQUIRE(Eventually([&] { return pool.prefaulted_blocks() == 2; }));
  char* second = pool.Take();  // a ready block
  CHECK(pool.prefaulted_blocks_taken() == 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Every page was faulted in (and cleared) before the Take.
  CHECK(ResidentPages(second) == kBlock / static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
#endif
  CHECK(std::all_of(second, second + kBlock, [](char c) { return c == 0; }));
  REQUIRE(Eventually([&] { return pool.prefaulted_blocks() == 2; }));  // refilled
  CHECK(pool.kept_blocks() == 0);  // ready blocks are not counted as kept

  pool.Trim();  // no memtable growing: the ready blocks go back too
  CHECK(pool.prefaulted_blocks() == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(pool.prefaulted_blocks() == 0);  // and no refill until the next Take
  pool.Give(first);
  pool.Give(second);
  CHECK(pool.kept_blocks() == 0);  // trimmed: unmapped
  char* third = pool.Take();
  REQUIRE(Eventually([&] { return pool.prefaulted_blocks() == 2; }));
  pool.Give(third);
}  // the destructor stops the thread and unmaps the ready blocks (ASan: no leak)

TEST_CASE("An arena takes prefaulted blocks after kept ones", "[arena]") {
  auto pool = std::make_shared<kv::HugePageBlockPool>(/*capacity_blocks=*/4, /*prefault_blocks=*/1);
  {
    kv::Arena retired(kv::ArenaBlocks::kHugePages, pool);
    TakeBlocks(&retired, 1, 0x11);
  }
  CHECK(pool->kept_blocks() == 1);
  REQUIRE(Eventually([&] { return pool->prefaulted_blocks() == 1; }));
  kv::Arena next(kv::ArenaBlocks::kHugePages, pool);
  TakeBlocks(&next, 1, 0x22);  // the kept block: free, and the prefaulted one stays ready
  CHECK(pool->kept_blocks() == 0);
  CHECK(pool->prefaulted_blocks_taken() == 0);
  TakeBlocks(&next, 1, 0x33);
  CHECK(pool->prefaulted_blocks_taken() == 1);
}
