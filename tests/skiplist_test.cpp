#include "kv/skiplist.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <catch2/catch.hpp>

#include "kv/arena.hpp"
#include "test_util.hpp"

namespace {

// Keys are 8 bytes: a std::uint64_t in native byte order.
std::uint64_t KeyOf(const char* key) {
  std::uint64_t k = 0;
  std::memcpy(&k, key, sizeof(k));
  return k;
}

struct U64Cmp {
  int operator()(const char* a, const char* b) const { return (*this)(a, KeyOf(b)); }
  // Probes: the number itself, and a signed value, to check that Seek,
  // Contains and Insert accept types other than the key.
  int operator()(const char* a, std::uint64_t b) const {
    const std::uint64_t k = KeyOf(a);
    return k < b ? -1 : (k > b ? 1 : 0);
  }
  int operator()(const char* a, std::int64_t b) const {
    if (b < 0) return 1;
    return (*this)(a, static_cast<std::uint64_t>(b));
  }
};
using List = kv::SkipList<U64Cmp>;

// Writes `k` into a new node and links it.
void Insert(List& list, std::uint64_t k) {
  char* const key = list.AllocateKey(sizeof(k));
  std::memcpy(key, &k, sizeof(k));
  list.Insert(key);
}

}  // namespace

TEST_CASE("SkipList empty", "[skiplist]") {
  kv::Arena arena;
  List list(U64Cmp{}, &arena);
  CHECK_FALSE(list.Contains(std::uint64_t{10}));
  List::Iterator it(&list);
  CHECK_FALSE(it.Valid());
  it.SeekToFirst();
  CHECK_FALSE(it.Valid());
  it.Seek(std::uint64_t{100});
  CHECK_FALSE(it.Valid());
  it.SeekToLast();
  CHECK_FALSE(it.Valid());
}

TEST_CASE("SkipList single key and both ends", "[skiplist]") {
  kv::Arena arena;
  List list(U64Cmp{}, &arena);
  Insert(list, 7);
  List::Iterator it(&list);
  it.SeekToFirst();
  REQUIRE(it.Valid());
  CHECK(KeyOf(it.key()) == 7);
  it.Prev();
  CHECK_FALSE(it.Valid());
  it.SeekToLast();
  REQUIRE(it.Valid());
  CHECK(KeyOf(it.key()) == 7);
  it.Next();
  CHECK_FALSE(it.Valid());
  it.Seek(std::uint64_t{8});
  CHECK_FALSE(it.Valid());
  it.Seek(std::int64_t{-5});  // heterogeneous: below everything
  REQUIRE(it.Valid());
  CHECK(KeyOf(it.key()) == 7);
}

namespace {

// Checks `list` against `model` (keys below `range`): Contains for every
// key, full scans both ways, and random Seeks with a few steps each way.
// Contains and Seek descend through the upper levels, so a node linked out
// of order at any level shows up here.
void CheckMatchesModel(const List& list, const std::set<std::uint64_t>& model, std::uint64_t range,
                       std::mt19937_64& rng) {
  for (std::uint64_t k = 0; k < range; ++k) {
    if (list.Contains(k) != (model.count(k) == 1)) FAIL("Contains mismatch at " << k);
  }

  // Forward scan.
  List::Iterator it(&list);
  it.SeekToFirst();
  for (std::uint64_t k : model) {
    REQUIRE(it.Valid());
    REQUIRE(KeyOf(it.key()) == k);
    it.Next();
  }
  CHECK_FALSE(it.Valid());

  // Backward scan.
  it.SeekToLast();
  for (auto m = model.rbegin(); m != model.rend(); ++m) {
    REQUIRE(it.Valid());
    REQUIRE(KeyOf(it.key()) == *m);
    it.Prev();
  }
  CHECK_FALSE(it.Valid());

  // Seek to random targets, then step a little both ways.
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t target = rng() % (range + 10);
    it.Seek(target);
    auto m = model.lower_bound(target);
    if (m == model.end()) {
      REQUIRE_FALSE(it.Valid());
      continue;
    }
    REQUIRE(it.Valid());
    REQUIRE(KeyOf(it.key()) == *m);
    for (int step = 0; step < 3 && m != model.end(); ++step, ++m) {
      REQUIRE(it.Valid());
      REQUIRE(KeyOf(it.key()) == *m);
      it.Next();
    }
    it.Seek(target);
    m = model.lower_bound(target);
    for (int step = 0; step < 3; ++step) {
      REQUIRE(it.Valid());
      REQUIRE(KeyOf(it.key()) == *m);
      it.Prev();
      if (m == model.begin()) {
        REQUIRE_FALSE(it.Valid());
        break;
      }
      --m;
    }
  }
}

}  // namespace

TEST_CASE("SkipList randomized against std::set", "[skiplist]") {
  const std::uint64_t seed = kv::test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  kv::Arena arena;
  List list(U64Cmp{}, &arena, seed);
  std::set<std::uint64_t> model;
  const int kN = 20000;
  const std::uint64_t kRange = 50000;
  for (int i = 0; i < kN; ++i) {
    const std::uint64_t k = rng() % kRange;
    if (model.insert(k).second) Insert(list, k);
  }
  CheckMatchesModel(list, model, kRange, rng);
}

// Insert orders that do and do not fit the writer's cached splice (each
// key right after the previous one), and that switch between the two.
TEST_CASE("SkipList insert orders: ascending, descending, runs and interleaved streams",
          "[skiplist]") {
  const std::uint64_t seed = kv::test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  constexpr std::uint64_t kRange = 30000;
  std::vector<std::uint64_t> order;
  const std::string pattern =
      GENERATE(as<std::string>{}, "ascending", "descending", "ascending runs from random starts",
               "two interleaved ascending streams", "ascending with gaps filled later");
  INFO("pattern: " << pattern);
  if (pattern == "ascending") {
    for (std::uint64_t k = 0; k < kRange; ++k) order.push_back(k);
  } else if (pattern == "descending") {
    for (std::uint64_t k = kRange; k-- > 0;) order.push_back(k);
  } else if (pattern == "ascending runs from random starts") {
    while (order.size() < kRange / 2) {
      const std::uint64_t start = rng() % kRange;
      const std::uint64_t len = 1 + rng() % 64;
      for (std::uint64_t k = start; k < std::min(kRange, start + len); ++k) order.push_back(k);
    }
  } else if (pattern == "two interleaved ascending streams") {
    for (std::uint64_t k = 0; k < kRange / 2; ++k) {
      order.push_back(k);
      order.push_back(kRange / 2 + k);
    }
  } else {  // every third key first, then the two between each pair, ascending
    for (std::uint64_t k = 0; k < kRange; k += 3) order.push_back(k);
    for (std::uint64_t k = 0; k < kRange; ++k) {
      if (k % 3 != 0) order.push_back(k);
    }
  }

  kv::Arena arena;
  List list(U64Cmp{}, &arena, seed);
  std::set<std::uint64_t> model;
  for (std::uint64_t k : order) {
    if (model.insert(k).second) Insert(list, k);
  }
  CheckMatchesModel(list, model, kRange, rng);
}

// Insert with a probe of another type (U64Cmp compares keys with signed
// probes) builds the same list as Insert with the key itself.
TEST_CASE("SkipList insert with a probe orders as the key would", "[skiplist]") {
  const std::uint64_t seed = kv::test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  constexpr std::uint64_t kRange = 20000;
  kv::Arena arena;
  List list(U64Cmp{}, &arena, seed);
  std::set<std::uint64_t> model;
  for (int i = 0; i < 10000; ++i) {
    // Runs of ascending keys (the splice path) between random ones.
    const std::uint64_t k = i % 64 < 32 ? rng() % kRange : (i * 7) % kRange;
    if (model.insert(k).second) {
      char* const key = list.AllocateKey(sizeof(k));
      std::memcpy(key, &k, sizeof(k));
      list.Insert(key, static_cast<std::int64_t>(k));
    }
  }
  CheckMatchesModel(list, model, kRange, rng);
}

TEST_CASE("SkipList arena grows with inserts", "[skiplist]") {
  kv::Arena arena;
  List list(U64Cmp{}, &arena);
  const std::size_t before = arena.MemoryUsage();
  for (std::uint64_t k = 0; k < 10000; ++k) Insert(list, k);
  // Each node holds a key and at least one link.
  CHECK(arena.MemoryUsage() - before >= 10000 * 16);
}

// One writer inserts while two readers scan and seek. Every key carries a
// checksum of itself, and its index in the writer's fixed sequence.
// - `started` is raised BEFORE each Insert: a reader that sees key i must
//   later read started > i (the key's link happens-after the increment).
// - `finished` is raised AFTER each Insert: a full scan that begins after
//   reading finished = n must see all of keys 0..n-1.
TEST_CASE("SkipList concurrent readers with one writer", "[skiplist][concurrency]") {
  const std::uint64_t seed = kv::test::TestSeed();
  INFO("seed " << seed);
  constexpr std::size_t kMaxKeys = 200000;
  std::mt19937_64 rng(seed);
  auto make_key = [](std::uint64_t base) {
    base &= 0xffffffffffffULL;  // 48 bits of payload, 16 bits of check
    const std::uint64_t check = (base * 0x9E3779B97F4A7C15ULL) >> 48;
    return (base << 16) | check;
  };
  auto key_ok = [&](std::uint64_t k) { return make_key(k >> 16) == k; };

  std::vector<std::uint64_t> keys;
  std::unordered_map<std::uint64_t, std::size_t> index_of;
  keys.reserve(kMaxKeys);
  index_of.reserve(kMaxKeys);
  while (keys.size() < kMaxKeys) {
    const std::uint64_t k = make_key(rng());
    if (index_of.emplace(k, keys.size()).second) keys.push_back(k);
  }

  kv::Arena arena;
  List list(U64Cmp{}, &arena, seed);
  std::atomic<std::size_t> started{0};
  std::atomic<std::size_t> finished{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> scans{0};

  auto reader = [&](std::uint64_t reader_seed) {
    std::mt19937_64 r(reader_seed);
    List::Iterator it(&list);
    auto check_key = [&](std::uint64_t k) {
      if (!key_ok(k)) {
        errors.fetch_add(1);
        return;
      }
      auto found = index_of.find(k);
      if (found == index_of.end() || found->second >= started.load(std::memory_order_acquire)) {
        errors.fetch_add(1);
      }
    };
    while (!stop.load(std::memory_order_acquire)) {
      if (r() % 2 == 0) {
        // Full forward scan.
        const std::size_t must_see = finished.load(std::memory_order_acquire);
        std::size_t seen_old = 0;
        bool have_prev = false;
        std::uint64_t prev = 0;
        for (it.SeekToFirst(); it.Valid(); it.Next()) {
          const std::uint64_t k = KeyOf(it.key());
          check_key(k);
          if (have_prev && !(prev < k)) errors.fetch_add(1);
          auto found = index_of.find(k);
          if (found != index_of.end() && found->second < must_see) ++seen_old;
          prev = k;
          have_prev = true;
        }
        if (seen_old != must_see) errors.fetch_add(1);
        scans.fetch_add(1);
      } else {
        // A burst of seeks, each followed by a few steps.
        for (int i = 0; i < 200; ++i) {
          const std::uint64_t target = r();
          it.Seek(target);
          std::uint64_t prev = target;
          bool first = true;
          for (int step = 0; step < 5 && it.Valid(); ++step, it.Next()) {
            const std::uint64_t k = KeyOf(it.key());
            check_key(k);
            if (first ? k < prev : !(prev < k)) errors.fetch_add(1);
            prev = k;
            first = false;
          }
        }
      }
    }
  };

  std::thread r1(reader, seed + 1);
  std::thread r2(reader, seed + 2);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  std::size_t inserted = 0;
  while (inserted < kMaxKeys) {
    if ((inserted & 1023) == 0 && std::chrono::steady_clock::now() > deadline) break;
    started.store(inserted + 1, std::memory_order_release);
    Insert(list, keys[inserted]);
    ++inserted;
    finished.store(inserted, std::memory_order_release);
  }
  // Let the readers see the final state at least once more.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop.store(true, std::memory_order_release);
  r1.join();
  r2.join();
  INFO("inserted " << inserted << " keys, " << scans.load() << " full scans");
  CHECK(errors.load() == 0);
  CHECK(scans.load() > 0);
  CHECK(inserted > 1000);

  // Afterwards, the list holds exactly the inserted keys, in order.
  std::set<std::uint64_t> model(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(inserted));
  List::Iterator it(&list);
  it.SeekToFirst();
  for (std::uint64_t k : model) {
    REQUIRE(it.Valid());
    REQUIRE(KeyOf(it.key()) == k);
    it.Next();
  }
  CHECK_FALSE(it.Valid());
}
