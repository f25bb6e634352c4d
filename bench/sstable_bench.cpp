// SSTable micro-benchmarks: table build throughput, and point lookups
// (hits and misses) in a 1M-key table read with pread from a file in the
// page cache, with and without a block cache.
//
//   kv_sstable_bench --benchmark_filter=Get
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include "kv/sstable_reader.hpp"
#include "kv/sstable_writer.hpp"

namespace kv {
namespace {

constexpr std::uint64_t kTableKeys = 1'000'000;
constexpr std::size_t kValueBytes = 100;

// Collects the table in memory.
class StringSink final : public WritableFile {
 public:
  absl::Status Append(std::string_view data) override {
    out_.append(data.data(), data.size());
    return absl::OkStatus();
  }
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::Status Close() override { return absl::OkStatus(); }
  std::uint64_t Size() const override { return out_.size(); }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// pread over a file descriptor (what a POSIX RandomAccessFile does).
class PreadFile final : public RandomAccessFile {
 public:
  explicit PreadFile(int fd) : fd_(fd) {}
  ~PreadFile() override { ::close(fd_); }
  absl::StatusOr<std::string_view> Read(std::uint64_t offset, std::size_t n,
                                        char* scratch) const override {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return absl::InternalError(std::strerror(errno));
      if (r == 0) break;
      done += static_cast<std::size_t>(r);
    }
    return std::string_view(scratch, done);
  }
  absl::StatusOr<std::uint64_t> Size() const override { return 0; }

 private:
  int fd_;
};

std::string UserKey(std::uint64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "key%013llu", static_cast<unsigned long long>(i));
  return buf;
}

// Even user keys 0, 2, 4, ... are in the table; odd ones are misses.
std::string BuildTableBytes(std::uint64_t n) {
  auto sink = std::make_unique<StringSink>();
  StringSink* raw = sink.get();
  SSTableWriter w(std::move(sink), {});
  const std::string value(kValueBytes, 'v');
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!w.Add(MakeInternalKey(UserKey(2 * i), i + 1, ValueType::kValue), value).ok()) abort();
  }
  if (!w.Finish().ok()) abort();
  return std::move(raw->out());
}

void BM_SSTableBuild(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  std::vector<std::string> keys;
  for (std::uint64_t i = 0; i < n; ++i) {
    keys.push_back(MakeInternalKey(UserKey(i), i + 1, ValueType::kValue));
  }
  const std::string value(kValueBytes, 'v');
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    SSTableWriter w(std::make_unique<StringSink>(), {});
    for (const std::string& k : keys) {
      if (!w.Add(k, value).ok()) abort();
    }
    if (!w.Finish().ok()) abort();
    bytes += w.FileSize();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_SSTableBuild)->Arg(100'000)->Unit(benchmark::kMillisecond);

// The 1M-key table, written once to a temp file.
struct SharedTable {
  std::string path;
  std::uint64_t size = 0;
  SharedTable() {
    const std::string bytes = BuildTableBytes(kTableKeys);
    path = (std::filesystem::temp_directory_path() /
            ("kv_sstable_bench_" + std::to_string(::getpid()) + ".sst"))
               .string();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) abort();
    std::fclose(f);
    size = bytes.size();
  }
  ~SharedTable() { std::filesystem::remove(path); }
  std::shared_ptr<SSTableReader> Open(BlockCache* cache) const {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) abort();
    auto table = SSTableReader::Open(std::make_shared<PreadFile>(fd), path, size,
                                     {.cache_id = 1, .block_cache = cache});
    if (!table.ok()) abort();
    return *table;
  }
};
const SharedTable& Table() {
  static const SharedTable* table = new SharedTable();  // leaked: lives for the process
  return *table;
}

// range(0): 1 = hits, 0 = misses. range(1): 1 = 64 MiB block cache.
void BM_Get(benchmark::State& state) {
  const bool hit = state.range(0) == 1;
  std::unique_ptr<BlockCache> cache;
  if (state.range(1) == 1) cache = std::make_unique<BlockCache>(std::size_t{256} << 20);
  auto table = Table().Open(cache.get());
  std::mt19937_64 rng(42);
  std::uint64_t found = 0;
  std::string seek;
  for (auto _ : state) {
    const std::uint64_t u = 2 * (rng() % kTableKeys) + (hit ? 0 : 1);
    const std::string user = UserKey(u);
    seek.clear();
    AppendInternalKey(&seek, user, kMaxSequenceNumber, kValueTypeForSeek);
    const absl::Status s = table->Get({}, seek, [&](std::string_view k, std::string_view) {
      found += ExtractUserKey(k) == user ? 1 : 0;
      return false;
    });
    if (!s.ok()) abort();
  }
  if (hit && found != static_cast<std::uint64_t>(state.iterations())) abort();
  state.counters["found"] = static_cast<double>(found);
  state.counters["file_MB"] = static_cast<double>(Table().size) / 1e6;
  if (cache)
    state.counters["cache_hit_rate"] =
        static_cast<double>(cache->hits()) / static_cast<double>(cache->hits() + cache->misses());
}
BENCHMARK(BM_Get)
    ->ArgNames({"hit", "cache"})
    ->Args({1, 0})
    ->Args({0, 0})
    ->Args({1, 1})
    ->Args({0, 1});

void BM_Scan(benchmark::State& state) {
  auto table = Table().Open(nullptr);
  for (auto _ : state) {
    auto it = table->NewIterator({});
    std::uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    if (n != kTableKeys) abort();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTableKeys));
}
BENCHMARK(BM_Scan)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kv

BENCHMARK_MAIN();
