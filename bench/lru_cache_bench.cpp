// Micro-benchmarks of kv::ShardedLruCache: Lookup hits from 1, 2 and 4
// threads (16 shards, and 1 shard to show the cost of a single lock), Lookup
// misses, and Insert into a full cache (each insert evicts one entry).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "kv/lru_cache.hpp"

namespace {

using Cache = kv::ShardedLruCache<std::uint64_t>;

constexpr std::uint64_t kNumKeys = 1 << 16;  // Resident entries for hits.

kv::CacheKey KeyOf(std::uint64_t i) { return kv::CacheKey{i % 64, (i / 64) * 4096}; }

// A cache holding kNumKeys entries of charge 1, built once per shard count.
Cache& FilledCache(int shard_bits) {
  static std::unique_ptr<Cache> caches[2];
  auto& c = caches[shard_bits == 0 ? 0 : 1];
  if (!c) {
    c = std::make_unique<Cache>(kNumKeys, shard_bits);
    for (std::uint64_t i = 0; i < kNumKeys; ++i) {
      c->Insert(KeyOf(i), std::make_shared<const std::uint64_t>(i), 1);
    }
  }
  return *c;
}

// A random sequence of resident key indexes, different for each thread.
std::vector<std::uint64_t> RandomIndexes(int thread, std::size_t n) {
  std::mt19937_64 rng(42 + static_cast<std::uint64_t>(thread));
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = rng() % kNumKeys;
  return v;
}

void BM_LookupHit(benchmark::State& state) {
  const int shard_bits = static_cast<int>(state.range(0));
  static Cache* cache = nullptr;
  if (state.thread_index() == 0) cache = &FilledCache(shard_bits);
  const auto idx = RandomIndexes(state.thread_index(), 4096);
  std::vector<kv::CacheKey> keys;
  for (auto i : idx) keys.push_back(KeyOf(i));
  std::size_t i = 0;
  for (auto _ : state) {
    auto v = cache->Lookup(keys[i++ & 4095]);
    benchmark::DoNotOptimize(v.get());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupHit)->Arg(4)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_LookupHit)->Arg(0)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_LookupMiss(benchmark::State& state) {
  Cache& cache = FilledCache(4);
  std::uint64_t i = kNumKeys;
  for (auto _ : state) {
    auto v = cache.Lookup(KeyOf(i++));
    benchmark::DoNotOptimize(v.get());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupMiss);

// Insert distinct keys into a full cache: every insert evicts the LRU entry.
void BM_InsertEvict(benchmark::State& state) {
  static Cache* cache = nullptr;
  static std::unique_ptr<Cache> owner;
  if (state.thread_index() == 0) {
    owner = std::make_unique<Cache>(kNumKeys, 4);
    cache = owner.get();
  }
  const auto value = std::make_shared<const std::uint64_t>(7);
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    cache->Insert(KeyOf(i++), value, 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InsertEvict)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
