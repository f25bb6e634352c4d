#include "kv/lru_cache.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace {

using Cache = kv::ShardedLruCache<std::string>;

std::shared_ptr<const std::string> Val(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// Lookup's value as a string, "" on a miss (tests never cache "").
std::string Get(Cache& c, std::uint64_t id, std::uint64_t off) {
  auto v = c.Lookup({id, off});
  return v ? *v : std::string();
}

TEST_CASE("LruCache: hit, miss and counters") {
  Cache c(1000);
  CHECK(c.capacity() == 1000);
  CHECK(c.Lookup({1, 0}) == nullptr);
  c.Insert({1, 0}, Val("a"), 10);
  c.Insert({1, 4096}, Val("b"), 10);
  c.Insert({2, 0}, Val("c"), 10);
  CHECK(Get(c, 1, 0) == "a");
  CHECK(Get(c, 1, 4096) == "b");
  CHECK(Get(c, 2, 0) == "c");
  CHECK(Get(c, 2, 4096).empty());
  CHECK(c.hits() == 3);
  CHECK(c.misses() == 2);
  CHECK(c.TotalCharge() == 30);
  CHECK(c.entries() == 3);
}

TEST_CASE("LruCache: insert replaces an existing entry") {
  Cache c(1000, 0);
  c.Insert({7, 7}, Val("old"), 100);
  c.Insert({7, 7}, Val("new"), 30);
  CHECK(Get(c, 7, 7) == "new");
  CHECK(c.TotalCharge() == 30);
  CHECK(c.entries() == 1);
}

TEST_CASE("LruCache: single shard evicts least recently used first") {
  Cache c(3, 0);
  c.Insert({0, 1}, Val("a"), 1);
  c.Insert({0, 2}, Val("b"), 1);
  c.Insert({0, 3}, Val("c"), 1);
  CHECK(Get(c, 0, 1) == "a");  // a is now most recent; b is the LRU.
  c.Insert({0, 4}, Val("d"), 1);
  CHECK(Get(c, 0, 2).empty());
  c.Insert({0, 5}, Val("e"), 1);  // Evicts c.
  CHECK(Get(c, 0, 3).empty());
  CHECK(Get(c, 0, 1) == "a");
  CHECK(Get(c, 0, 4) == "d");
  CHECK(Get(c, 0, 5) == "e");
  // A big entry evicts as many as needed, oldest first.
  c.Insert({0, 6}, Val("f"), 2);  // Order now f, e, d, a: evicts a then d.
  CHECK(Get(c, 0, 1).empty());
  CHECK(Get(c, 0, 4).empty());
  CHECK(Get(c, 0, 5) == "e");
  CHECK(Get(c, 0, 6) == "f");
  CHECK(c.TotalCharge() == 3);
}

TEST_CASE("LruCache: erase") {
  Cache c(100, 0);
  c.Insert({1, 1}, Val("a"), 10);
  c.Insert({1, 2}, Val("b"), 10);
  c.Erase({1, 1});
  c.Erase({9, 9});  // Absent: no-op.
  CHECK(Get(c, 1, 1).empty());
  CHECK(Get(c, 1, 2) == "b");
  CHECK(c.TotalCharge() == 10);
  c.Erase({1, 2});
  CHECK(c.TotalCharge() == 0);
  CHECK(c.entries() == 0);
  c.Insert({1, 1}, Val("again"), 10);
  CHECK(Get(c, 1, 1) == "again");
}

TEST_CASE("LruCache: capacity 0 disables the cache") {
  Cache c(0);
  c.Insert({1, 1}, Val("a"), 10);
  c.Insert({1, 2}, Val("b"), 0);
  CHECK(c.Lookup({1, 1}) == nullptr);
  CHECK(c.Lookup({1, 2}) == nullptr);
  CHECK(c.TotalCharge() == 0);
  CHECK(c.entries() == 0);
  CHECK(c.misses() == 2);
  CHECK(c.hits() == 0);
}

TEST_CASE("LruCache: an entry larger than its shard is not kept") {
  Cache c(100, 0);
  c.Insert({1, 1}, Val("small"), 50);
  c.Insert({1, 2}, Val("other"), 50);
  c.Insert({1, 1}, Val("huge"), 101);
  // Not kept, and the older value under the same key is gone too; the
  // unrelated entry is not evicted to make room.
  CHECK(Get(c, 1, 1).empty());
  CHECK(Get(c, 1, 2) == "other");
  CHECK(c.TotalCharge() == 50);
  c.Insert({1, 3}, Val("exact"), 100);  // Exactly the capacity: kept alone.
  CHECK(Get(c, 1, 3) == "exact");
  CHECK(c.TotalCharge() == 100);
}

TEST_CASE("LruCache: shard capacities add up to the capacity") {
  Cache c(10, 2);  // Shards of 3, 3, 2 and 2.
  for (std::uint64_t i = 0; i < 1000; ++i) {
    c.Insert({i, 0}, Val("x"), 1);
    REQUIRE(c.TotalCharge() <= 10);
  }
  CHECK(c.TotalCharge() == 10);
  CHECK(c.entries() == 10);
}

TEST_CASE("LruCache: a held value outlives its eviction") {
  Cache c(10, 0);
  auto v = Val("held");
  std::weak_ptr<const std::string> weak = v;
  c.Insert({1, 1}, std::move(v), 10);
  std::shared_ptr<const std::string> held = c.Lookup({1, 1});
  REQUIRE(held);
  c.Insert({1, 2}, Val("evictor"), 10);  // Evicts {1,1}.
  CHECK(c.Lookup({1, 1}) == nullptr);
  CHECK(*held == "held");
  CHECK(held.use_count() == 1);  // The cache dropped its reference.
  held.reset();
  CHECK(weak.expired());
  // Erase and replacement also only drop the cache's reference.
  auto e = c.Lookup({1, 2});
  c.Erase({1, 2});
  CHECK(*e == "evictor");
  CHECK(e.use_count() == 1);
}

// A straightforward model: a vector ordered most recent first.
struct ModelLru {
  struct E {
    std::uint64_t off;
    std::string v;
    std::size_t charge;
  };
  std::size_t capacity;
  std::vector<E> entries;

  std::size_t Usage() const {
    std::size_t u = 0;
    for (const E& e : entries) u += e.charge;
    return u;
  }
  std::optional<std::string> Lookup(std::uint64_t off) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].off == off) {
        E e = entries[i];
        entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
        entries.insert(entries.begin(), e);
        return e.v;
      }
    }
    return std::nullopt;
  }
  void Erase(std::uint64_t off) {
    std::erase_if(entries, [&](const E& e) { return e.off == off; });
  }
  void Insert(std::uint64_t off, std::string v, std::size_t charge) {
    Erase(off);
    if (charge > capacity) return;
    entries.insert(entries.begin(), E{off, std::move(v), charge});
    while (Usage() > capacity) entries.pop_back();
  }
};

TEST_CASE("LruCache: randomized single shard against a model") {
  const std::uint64_t seed = kv::test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (std::size_t capacity : {1, 16, 100}) {
    Cache c(capacity, 0);
    ModelLru m{capacity, {}};
    for (int step = 0; step < 20000; ++step) {
      const std::uint64_t off = rng() % 40;
      const int op = static_cast<int>(rng() % 10);
      if (op < 5) {
        const auto got = c.Lookup({3, off});
        const auto want = m.Lookup(off);
        REQUIRE(static_cast<bool>(got) == want.has_value());
        if (got) REQUIRE(*got == *want);
      } else if (op < 9) {
        const std::size_t charge = rng() % (capacity / 4 + 3);
        const std::string v = std::to_string(step);
        c.Insert({3, off}, Val(v), charge);
        m.Insert(off, v, charge);
      } else {
        c.Erase({3, off});
        m.Erase(off);
      }
      REQUIRE(c.TotalCharge() == m.Usage());
      REQUIRE(c.TotalCharge() <= capacity);
      REQUIRE(c.entries() == m.entries.size());
    }
  }
}

struct Tagged {
  kv::CacheKey key;
  std::uint64_t version;
};

TEST_CASE("LruCache: concurrent insert, lookup and erase") {
  const std::uint64_t seed = kv::test::TestSeed();
  kv::ShardedLruCache<Tagged> c(4096, 2);
  std::atomic<bool> stop{false};
  std::atomic<bool> mismatch{false};
  std::atomic<std::uint64_t> lookups{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
      std::uint64_t n = 0;
      std::uint64_t version = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const kv::CacheKey key{rng() % 8, (rng() % 256) * 4096};
        const int op = static_cast<int>(rng() % 10);
        if (op < 6) {
          auto v = c.Lookup(key);
          ++n;
          if (v && !(v->key == key)) mismatch = true;
        } else if (op < 9) {
          c.Insert(key, std::make_shared<const Tagged>(Tagged{key, ++version}), 1 + rng() % 64);
        } else {
          c.Erase(key);
        }
      }
      lookups += n;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    CHECK(c.TotalCharge() <= c.capacity());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (auto& th : threads) th.join();
  CHECK_FALSE(mismatch.load());
  CHECK(c.hits() + c.misses() == lookups.load());
  CHECK(c.hits() > 0);
  CHECK(c.TotalCharge() <= c.capacity());
}

}  // namespace
