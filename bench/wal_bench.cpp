// WAL micro-benchmarks: appending 100-byte records to a real file under
// /tmp through FileSystem::Default(), without and with a sync per record,
// without and with the DB's 1 MiB preallocation (which on the POSIX file
// system also copies appends into a mapping of the reserved space), and
// reading them back. Reports records/s as items_per_second.
//
//   ./kv_wal_bench --benchmark_filter=WalAppend
#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "kv/env.hpp"
#include "kv/wal_reader.hpp"
#include "kv/wal_writer.hpp"

namespace {

// A scratch directory removed when the benchmark ends.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("kv_wal_bench_" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(std::uint64_t n) const {
    return (path_ / (std::to_string(n) + ".log")).string();
  }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<kv::wal::Writer> NewLog(kv::FileSystem& fs, const ScratchDir& dir,
                                        std::uint64_t number, bool preallocate,
                                        benchmark::State& state) {
  auto file = fs.NewWritableFile(dir.File(number));
  if (!file.ok()) {
    state.SkipWithError(file.status().ToString().c_str());
    return nullptr;
  }
  if (preallocate) (*file)->SetPreallocation(1 << 20);  // as DBImpl does for its WAL
  return std::make_unique<kv::wal::Writer>(std::move(file).value(), number);
}

// Arg 0: 1 = Sync() after every record. Arg 1: 1 = preallocate.
void BM_WalAppend(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  const bool preallocate = state.range(1) != 0;
  auto fs = kv::FileSystem::Default();
  ScratchDir dir;
  const std::string record(100, 'r');
  std::uint64_t number = 1;
  auto log = NewLog(*fs, dir, number, preallocate, state);
  if (log == nullptr) return;
  std::uint64_t in_file = 0;
  for (auto _ : state) {
    if (!log->AddRecord(record).ok() || (sync && !log->Sync().ok())) {
      state.SkipWithError("append failed");
      break;
    }
    // Keep /tmp usage bounded: a fresh log every 256Ki records (~28 MB).
    if (++in_file == (1u << 18)) {
      state.PauseTiming();
      (void)log->Close();
      std::filesystem::remove(dir.File(number));
      log = NewLog(*fs, dir, ++number, preallocate, state);
      in_file = 0;
      state.ResumeTiming();
      if (log == nullptr) break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * record.size()));
}
BENCHMARK(BM_WalAppend)
    ->ArgNames({"sync", "prealloc"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({1, 0})
    ->Args({1, 1})
    ->UseRealTime();

// Reads back 100k records of 100 bytes from a real file.
void BM_WalRead(benchmark::State& state) {
  auto fs = kv::FileSystem::Default();
  ScratchDir dir;
  constexpr int kRecords = 100000;
  {
    auto log = NewLog(*fs, dir, 1, /*preallocate=*/false, state);
    if (log == nullptr) return;
    const std::string record(100, 'r');
    for (int i = 0; i < kRecords; ++i) {
      if (!log->AddRecord(record).ok()) return state.SkipWithError("append failed");
    }
    if (!log->Close().ok()) return state.SkipWithError("close failed");
  }
  std::string scratch;
  std::string_view rec;
  for (auto _ : state) {
    auto file = fs->NewSequentialFile(dir.File(1));
    if (!file.ok()) return state.SkipWithError(file.status().ToString().c_str());
    kv::wal::Reader reader(std::move(file).value(), dir.File(1), 1);
    int n = 0;
    while (reader.ReadRecord(&rec, &scratch) == kv::wal::ReadOutcome::kRecord) ++n;
    if (n != kRecords) return state.SkipWithError("wrong record count");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kRecords);
}
BENCHMARK(BM_WalRead)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
