// kv_bench: a db_bench-style comparison of kv, LevelDB and RocksDB.
//
//   kv_bench --engine=kv --num=1000000 --benchmarks=fillseq,readrandom --db=/tmp/kvb
//   kv_bench --compare=kv,leveldb,rocksdb --repeat=3 --num=200000
//   kv_bench --benchmarks=amplification --compare=kv,leveldb,rocksdb --num=1000000
//
// Flags: --engine, --num, --key_size, --value_size, --benchmarks (comma
// list; default all), --db, --threads, --sync_ops, --seed, --compare,
// --repeat, --stats (print the engine's own stats to stderr after each
// workload). See docs/BENCHMARKS.md.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "amplification.hpp"
#include "compare.hpp"
#include "stats.hpp"
#include "workloads.hpp"

namespace kv::bench {
namespace {

void Usage() {
  std::fprintf(
      stderr,
      "usage: kv_bench [--engine=kv|leveldb|rocksdb] [--num=N] [--key_size=16] "
      "[--value_size=100]\n  [--benchmarks=a,b,...] [--db=DIR] [--threads=T] "
      "[--sync_ops=10000] [--seed=S] [--stats]\n  [--compare=kv,leveldb,rocksdb --repeat=N]\n"
      "  [--benchmarks=amplification (alone; see amplification.hpp)]\n"
      "engines compiled in: %s\nworkloads: %s\n",
      absl::StrJoin(AvailableEngines(), ",").c_str(), absl::StrJoin(AllWorkloads(), ",").c_str());
}

template <typename T>
bool ParseNumber(const std::string& s, T* out) {
  long long v = 0;
  if (!absl::SimpleAtoi(s, &v) || v < 0) return false;
  *out = static_cast<T>(v);
  return true;
}

std::string Settings(const BenchConfig& c) {
  return absl::StrFormat(
      "num=%d key_size=%d value_size=%d (incompressible) threads=%d sync_ops=%d; every engine: "
      "write buffer %d MiB, bloom %d bits/key, %d B blocks, %d MiB block cache, no compression, "
      "WAL on",
      c.num, c.key_size, c.value_size, c.threads, c.sync_ops, c.settings.write_buffer_bytes >> 20,
      c.settings.bloom_bits_per_key, c.settings.block_bytes, c.settings.block_cache_bytes >> 20);
}

int RunSingle(const BenchConfig& config, const std::vector<std::string>& workloads, bool child,
              bool print_stats) {
  Runner runner(config);
  if (absl::Status s = runner.Open(); !s.ok()) {
    std::fprintf(stderr, "kv_bench: open %s: %s\n", config.engine.c_str(), s.ToString().c_str());
    return 1;
  }
  if (child) {
    std::printf("DESCRIBE\t%s\n", runner.Describe().c_str());
  } else {
    std::printf("# kv_bench %s\n\n%s\n\n%s\n\n", config.engine.c_str(), Settings(config).c_str(),
                runner.Describe().c_str());
    std::printf("| workload | ops | ops/s | p50 us | p99 us | p99.9 us | note |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---|\n");
  }
  auto print = [&](const WorkloadResult& r) {
    if (child) {
      std::printf("%s\n", ChildResultLine(r).c_str());
      std::fprintf(stderr, "  %-8s %-16s %12.0f ops/s  p99 %.1f us  %s\n", config.engine.c_str(),
                   r.name.c_str(), r.ops_per_sec(), r.latency.Percentile(99) / 1e3, r.note.c_str());
    } else if (r.name == "settle") {
      std::printf("| settle | | %.2f s | | | | %s |\n", r.seconds, r.note.c_str());
    } else {
      absl::PrintF("| %s | %d | %.0f | %.2f | %.2f | %.2f | %s%s |\n", r.name, r.ops,
                   r.ops_per_sec(), r.latency.Percentile(50) / 1e3, r.latency.Percentile(99) / 1e3,
                   r.latency.Percentile(99.9) / 1e3,
                   r.syncs_per_write >= 0 ? absl::StrFormat("%.3f syncs/write; ", r.syncs_per_write)
                                          : std::string(),
                   r.note);
    }
    std::fflush(stdout);
  };
  for (const std::string& w : workloads) {
    std::unique_ptr<WorkloadResult> settle;
    absl::StatusOr<WorkloadResult> r = runner.Run(w, &settle);
    if (settle != nullptr) print(*settle);
    if (!r.ok()) {
      std::fprintf(stderr, "kv_bench: %s on %s: %s\n", w.c_str(), config.engine.c_str(),
                   r.status().ToString().c_str());
      return 1;
    }
    print(*r);
    if (print_stats) {
      std::fprintf(stderr, "--- %s stats after %s ---\n%s\n", config.engine.c_str(), w.c_str(),
                   runner.StatsText().c_str());
    }
  }
  const ProcessIo io = CurrentProcessIo();
  if (child) {
    std::printf("INFO\tdb_bytes_after_fill\t%llu\n",
                static_cast<unsigned long long>(runner.db_bytes_after_fill()));
    std::printf("INFO\twchar\t%llu\nINFO\twrite_bytes\t%llu\n",
                static_cast<unsigned long long>(io.wchar),
                static_cast<unsigned long long>(io.write_bytes));
  } else {
    std::printf("\nDB size after fill + settle: %.1f MiB; process wrote %.1f MiB (wchar)\n",
                static_cast<double>(runner.db_bytes_after_fill()) / 1048576.0,
                static_cast<double>(io.wchar) / 1048576.0);
  }
  return 0;
}

int Main(int argc, char** argv) {
  BenchConfig config;
  std::vector<std::string> workloads = AllWorkloads();
  std::vector<std::string> compare;
  int repeat = 1;
  bool child = false;
  bool print_stats = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::size_t eq = arg.find('=');
    const std::string flag = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    bool ok = true;
    if (flag == "--engine") {
      config.engine = value;
    } else if (flag == "--num") {
      ok = ParseNumber(value, &config.num) && config.num > 0;
    } else if (flag == "--key_size") {
      ok = ParseNumber(value, &config.key_size) && config.key_size >= 1 && config.key_size <= 40;
    } else if (flag == "--value_size") {
      ok = ParseNumber(value, &config.value_size) && config.value_size <= (1 << 20);
    } else if (flag == "--threads") {
      ok = ParseNumber(value, &config.threads) && config.threads >= 1;
    } else if (flag == "--sync_ops") {
      ok = ParseNumber(value, &config.sync_ops) && config.sync_ops > 0;
    } else if (flag == "--seed") {
      ok = ParseNumber(value, &config.seed);
    } else if (flag == "--db") {
      config.db = value;
    } else if (flag == "--benchmarks") {
      workloads = absl::StrSplit(value, ',', absl::SkipEmpty());
    } else if (flag == "--compare") {
      compare = absl::StrSplit(value, ',', absl::SkipEmpty());
    } else if (flag == "--repeat") {
      ok = ParseNumber(value, &repeat) && repeat >= 1;
    } else if (flag == "--child") {
      child = true;
    } else if (flag == "--stats") {
      print_stats = true;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "kv_bench: bad flag '%s'\n", arg.c_str());
      Usage();
      return 2;
    }
  }
  // Keys are the even numbers below 2*num, zero-padded to key_size.
  if (std::to_string(2 * config.num).size() > static_cast<std::size_t>(config.key_size)) {
    std::fprintf(stderr, "kv_bench: --key_size too small for --num\n");
    return 2;
  }
  if (workloads.size() == 1 && workloads[0] == "amplification") {
    return RunAmplificationCommand(
        config, compare.empty() ? std::vector<std::string>{config.engine} : compare);
  }
  if (!compare.empty()) {
    std::printf("Settings: %s\n\n", Settings(config).c_str());
    return RunCompare(config, compare, workloads, repeat);
  }
  return RunSingle(config, workloads, child, print_stats);
}

}  // namespace
}  // namespace kv::bench

int main(int argc, char** argv) { return kv::bench::Main(argc, argv); }
