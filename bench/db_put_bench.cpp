// DB::Put micro-benchmarks: single-threaded without sync, and with
// sync=true from 1..8 threads, which shows group commit: with one fdatasync
// per group, throughput grows with the number of concurrent writers.
//
//   build/bench/kv_db_put_bench --benchmark_filter=Sync
//
// Runs against the real file system under $TMPDIR (fdatasync is the point).
#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "kv/db.hpp"

namespace {

std::string BenchDir(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("kv_bench_") + name)).string();
}

// 16-byte keys, 100-byte values, like db_bench.
std::string Key(std::uint64_t i) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llu", static_cast<unsigned long long>(i));
  return std::string(buf, 16);
}

// One DB shared by all threads of a benchmark run.
std::unique_ptr<kv::DB> g_db;
std::atomic<std::uint64_t> g_counter{0};

void SetUpDb(const char* name) {
  const std::string dir = BenchDir(name);
  (void)kv::DB::Destroy(dir);
  g_db = std::move(kv::DB::Open({}, dir)).value();
  g_counter = 0;
}
void TearDownDb(const char* name) {
  g_db.reset();
  (void)kv::DB::Destroy(BenchDir(name));
}

void BM_PutNoSync(benchmark::State& state) {
  if (state.thread_index() == 0) SetUpDb("put");
  const std::string value(100, 'v');
  std::mt19937_64 rng(static_cast<std::uint64_t>(state.thread_index()) + 1);
  for (auto _ : state) {
    if (!g_db->Put(Key(rng()), value).ok()) state.SkipWithError("Put failed");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) TearDownDb("put");
}
BENCHMARK(BM_PutNoSync)->Threads(1)->Threads(4)->UseRealTime();

void BM_PutSync(benchmark::State& state) {
  if (state.thread_index() == 0) SetUpDb("putsync");
  const std::string value(100, 'v');
  for (auto _ : state) {
    const std::uint64_t i = g_counter.fetch_add(1);
    if (!g_db->Put(kv::WriteOptions{.sync = true}, Key(i), value).ok()) {
      state.SkipWithError("Put failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) TearDownDb("putsync");
}
BENCHMARK(BM_PutSync)->Threads(1)->Threads(2)->Threads(4)->Threads(8)->UseRealTime()->MinTime(2.0);

void BM_Get(benchmark::State& state) {
  if (state.thread_index() == 0) {
    SetUpDb("get");
    const std::string value(100, 'v');
    for (std::uint64_t i = 0; i < 100'000; ++i) (void)g_db->Put(Key(i), value);
    (void)g_db->Flush();
  }
  std::mt19937_64 rng(static_cast<std::uint64_t>(state.thread_index()) + 7);
  std::string value;
  for (auto _ : state) {
    if (!g_db->Get(kv::ReadOptions{}, Key(rng() % 100'000), &value).ok()) {
      state.SkipWithError("Get failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) TearDownDb("get");
}
BENCHMARK(BM_Get)->Threads(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
