// Histogram, fsync interposition and /proc counters for kv_bench.
#include "stats.hpp"

#include <dlfcn.h>

#include <atomic>
#include <bit>
#include <filesystem>
#include <fstream>

namespace kv::bench {

int Histogram::BucketOf(std::uint64_t v) {
  if (v < (1u << kSubBits)) return static_cast<int>(v);
  const int msb = 63 - std::countl_zero(v);
  const int shift = msb - kSubBits;
  const auto sub = static_cast<int>((v >> shift) & ((1u << kSubBits) - 1));
  return ((shift + 1) << kSubBits) + sub;
}

double Histogram::BucketMid(int b) {
  if (b < (1 << kSubBits)) return b;
  const int shift = (b >> kSubBits) - 1;
  const auto sub = static_cast<std::uint64_t>(b & ((1 << kSubBits) - 1));
  const std::uint64_t lo = ((1ull << kSubBits) | sub) << shift;
  return static_cast<double>(lo) + static_cast<double>(1ull << shift) / 2.0;
}

void Histogram::Add(std::uint64_t nanos) {
  ++buckets_[static_cast<std::size_t>(BucketOf(nanos))];
  ++count_;
}

void Histogram::Merge(const Histogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
}

double Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(count_) + 0.5);
  std::uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[static_cast<std::size_t>(b)];
    if (seen >= rank && seen > 0) return BucketMid(b);
  }
  return BucketMid(kBuckets - 1);
}

namespace {
std::atomic<std::uint64_t> g_fdatasync{0};
std::atomic<std::uint64_t> g_fsync{0};
using SyncFn = int (*)(int);
SyncFn Real(const char* name) { return reinterpret_cast<SyncFn>(dlsym(RTLD_NEXT, name)); }
}  // namespace

SyncCounts CurrentSyncCounts() {
  return SyncCounts{g_fdatasync.load(std::memory_order_relaxed),
                    g_fsync.load(std::memory_order_relaxed)};
}

ProcessIo CurrentProcessIo() {
  ProcessIo io;
  std::ifstream in("/proc/self/io");
  std::string name;
  std::uint64_t value = 0;
  while (in >> name >> value) {
    if (name == "wchar:") io.wchar = value;
    if (name == "write_bytes:") io.write_bytes = value;
  }
  return io;
}

std::uint64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  std::uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) total += it->file_size(ec2);
  }
  return total;
}

}  // namespace kv::bench

// Interposed libc entry points (see stats.hpp). Exported from the executable
// (ENABLE_EXPORTS) so shared libraries bind to them.
extern "C" int fdatasync(int fd) {
  static const kv::bench::SyncFn real = kv::bench::Real("fdatasync");
  kv::bench::g_fdatasync.fetch_add(1, std::memory_order_relaxed);
  return real(fd);
}
extern "C" int fsync(int fd) {
  static const kv::bench::SyncFn real = kv::bench::Real("fsync");
  kv::bench::g_fsync.fetch_add(1, std::memory_order_relaxed);
  return real(fd);
}
