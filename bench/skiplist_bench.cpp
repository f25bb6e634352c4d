// Micro-benchmarks for the memtable building blocks: SkipList insert/lookup
// of 1M random 16-byte keys, and MemTable Add/Get/scan.
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "kv/arena.hpp"
#include "kv/memtable.hpp"
#include "kv/skiplist.hpp"

namespace {

constexpr std::size_t kNumKeys = 1'000'000;

using Key16 = std::array<char, 16>;
// List keys are the 16 bytes of a Key16, copied into the node.
struct Key16Cmp {
  int operator()(const char* a, const char* b) const { return std::memcmp(a, b, 16); }
  int operator()(const char* a, const Key16& b) const { return std::memcmp(a, b.data(), 16); }
};
using List16 = kv::SkipList<Key16Cmp>;

void Insert(List16& list, const Key16& k) {
  char* const key = list.AllocateKey(k.size());
  std::memcpy(key, k.data(), k.size());
  list.Insert(key, k);
}

const std::vector<Key16>& RandomKeys() {
  static const std::vector<Key16> keys = [] {
    std::mt19937_64 rng(301);
    std::vector<Key16> out(kNumKeys);
    for (Key16& k : out) {
      const std::uint64_t a = rng(), b = rng();
      std::memcpy(k.data(), &a, 8);
      std::memcpy(k.data() + 8, &b, 8);
    }
    return out;
  }();
  return keys;
}

// Inserts 1M random keys into a fresh list per iteration.
void BM_SkipListInsert(benchmark::State& state) {
  const auto& keys = RandomKeys();
  for (auto _ : state) {
    kv::Arena arena;
    List16 list(Key16Cmp{}, &arena);
    for (const Key16& k : keys) Insert(list, k);
    benchmark::DoNotOptimize(arena.MemoryUsage());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * keys.size()));
}
BENCHMARK(BM_SkipListInsert)->Unit(benchmark::kMillisecond)->Iterations(3);

// Random point lookups (Contains) in a list of 1M keys.
void BM_SkipListLookup(benchmark::State& state) {
  const auto& keys = RandomKeys();
  kv::Arena arena;
  List16 list(Key16Cmp{}, &arena);
  for (const Key16& k : keys) Insert(list, k);
  std::mt19937_64 rng(7);
  std::size_t found = 0;
  for (auto _ : state) {
    found += list.Contains(keys[rng() % keys.size()]) ? 1 : 0;
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_SkipListLookup);

// Full in-order scan of 1M keys.
void BM_SkipListScan(benchmark::State& state) {
  const auto& keys = RandomKeys();
  kv::Arena arena;
  List16 list(Key16Cmp{}, &arena);
  for (const Key16& k : keys) Insert(list, k);
  for (auto _ : state) {
    List16::Iterator it(&list);
    std::size_t n = 0;
    for (it.SeekToFirst(); it.Valid(); it.Next()) ++n;
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * keys.size()));
}
BENCHMARK(BM_SkipListScan)->Unit(benchmark::kMillisecond);

std::string_view AsView(const Key16& k) { return {k.data(), k.size()}; }

// Arg 0: arenas of 4 KiB blocks; 1: huge page blocks (what a DB with a
// memtable of 32 MiB or more uses).
kv::ArenaBlocks BlocksArg(const benchmark::State& state) {
  return state.range(0) == 0 ? kv::ArenaBlocks::kSmall : kv::ArenaBlocks::kHugePages;
}

// MemTable::Add of 1M random 16-byte keys with 100-byte values.
void BM_MemTableAdd(benchmark::State& state) {
  const auto& keys = RandomKeys();
  const std::string value(100, 'v');
  for (auto _ : state) {
    kv::MemTable mem(0, BlocksArg(state));
    kv::SequenceNumber seq = 0;
    for (const Key16& k : keys) mem.Add(++seq, kv::ValueType::kValue, AsView(k), value);
    benchmark::DoNotOptimize(mem.ApproximateMemoryUsage());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * keys.size()));
}
BENCHMARK(BM_MemTableAdd)->Unit(benchmark::kMillisecond)->Iterations(3)->Arg(0)->Arg(1);

// MemTable::Get of random present keys in a 1M-entry memtable.
void BM_MemTableGet(benchmark::State& state) {
  const auto& keys = RandomKeys();
  const std::string value(100, 'v');
  kv::MemTable mem(0, BlocksArg(state));
  kv::SequenceNumber seq = 0;
  for (const Key16& k : keys) mem.Add(++seq, kv::ValueType::kValue, AsView(k), value);
  std::mt19937_64 rng(7);
  std::string out;
  std::size_t found = 0;
  for (auto _ : state) {
    const auto r = mem.Get(AsView(keys[rng() % keys.size()]), seq, 0, &out);
    found += r == kv::MemTable::LookupResult::kFound ? 1 : 0;
  }
  if (found != static_cast<std::size_t>(state.iterations())) state.SkipWithError("missing key");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_MemTableGet)->Arg(0)->Arg(1);

// MemTable::Get of absent keys (a miss still walks the whole tower).
void BM_MemTableGetMiss(benchmark::State& state) {
  const auto& keys = RandomKeys();
  kv::MemTable mem(0, BlocksArg(state));
  kv::SequenceNumber seq = 0;
  for (const Key16& k : keys) mem.Add(++seq, kv::ValueType::kValue, AsView(k), "v");
  std::mt19937_64 rng(8);
  std::string out;
  char probe[16];
  for (auto _ : state) {
    const std::uint64_t a = rng(), b = rng();
    std::memcpy(probe, &a, 8);
    std::memcpy(probe + 8, &b, 8);
    benchmark::DoNotOptimize(mem.Get(std::string_view(probe, 16), seq, 0, &out));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_MemTableGetMiss)->Arg(0)->Arg(1);

// Full in-order scan of a 1M-entry memtable reading every key and value,
// as a flush does.
void BM_MemTableScan(benchmark::State& state) {
  const auto& keys = RandomKeys();
  const std::string value(100, 'v');
  kv::MemTable mem(0, BlocksArg(state));
  kv::SequenceNumber seq = 0;
  for (const Key16& k : keys) mem.Add(++seq, kv::ValueType::kValue, AsView(k), value);
  for (auto _ : state) {
    std::unique_ptr<kv::Iterator> it = mem.NewIterator();
    std::size_t bytes = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes +=
          static_cast<unsigned char>(it->key()[0]) + static_cast<unsigned char>(it->value()[99]);
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * keys.size()));
}
BENCHMARK(BM_MemTableScan)->Unit(benchmark::kMillisecond)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
