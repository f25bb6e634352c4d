// Latency histogram and process counters for kv_bench.
//
//   Histogram h;                        // one per thread, Merge() at the end
//   h.Add(nanos);
//   h.Percentile(99.0);                 // nanoseconds, within ~3%
//
//   SyncCounts before = CurrentSyncCounts();   // fsync/fdatasync calls so far
//
// Sync counting works by interposition: kv_bench defines fdatasync() and
// fsync() itself (forwarding to libc through dlsym(RTLD_NEXT)), so calls from
// kv (linked statically) and from libleveldb.so / librocksdb.so (which bind to
// the executable's exported definition first) are all counted the same way.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace kv::bench {

// Log-linear buckets: each power of two is split into 16, so any recorded
// value is reported within 1/32 of itself.
class Histogram {
 public:
  void Add(std::uint64_t nanos);
  void Merge(const Histogram& other);
  std::uint64_t count() const { return count_; }
  // p in (0, 100]. 0 when empty.
  double Percentile(double p) const;

 private:
  static constexpr int kSubBits = 4;
  static constexpr int kBuckets = 64 << kSubBits;
  static int BucketOf(std::uint64_t v);
  static double BucketMid(int b);
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
};

struct SyncCounts {
  std::uint64_t fdatasync = 0;
  std::uint64_t fsync = 0;
  std::uint64_t total() const { return fdatasync + fsync; }
};
SyncCounts CurrentSyncCounts();

// This process's /proc/self/io counters (0 where unavailable).
struct ProcessIo {
  std::uint64_t wchar = 0;        // bytes passed to write-like syscalls
  std::uint64_t write_bytes = 0;  // bytes this process caused to reach storage
};
ProcessIo CurrentProcessIo();

// Sum of regular file sizes under dir (0 if absent).
std::uint64_t DirectoryBytes(const std::string& dir);

}  // namespace kv::bench
