// kv_bench's amplification workload: write/space amplification, the largest
// L0 and write stalls of one engine after a random load plus two random
// overwrites of every key.
//
//   kv_bench --benchmarks=amplification --compare=kv,leveldb,rocksdb --num=1000000
//
// Per engine: a fresh DB in --db; N distinct keys written in random order,
// then every key overwritten twice (a new random order each pass), values
// incompressible. L0 is sampled every 10,000 writes. Then the memtable is
// flushed (no compaction requested) and background work left to finish
// ("settled": no pending work known and the level shapes and table bytes
// written unchanged for 2 s); then a full CompactRange. See docs/BENCHMARKS.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine.hpp"
#include "workloads.hpp"

namespace kv::bench {

struct AmplificationResult {
  std::string engine;
  std::string describe;
  std::uint64_t user_bytes = 0;  // key + value bytes of every write
  std::uint64_t live_bytes = 0;  // num * (key_size + value_size)
  double write_seconds = 0;      // load + both overwrite passes
  double settle_seconds = 0;     // flush + waiting for background work
  WriteCounters counters;        // at "settled"
  std::uint64_t table_file_bytes_settled = 0;
  std::uint64_t table_file_bytes_compacted = 0;
  int max_l0_files = 0;
  std::uint64_t max_write_nanos = 0;
  std::string stats_settled;    // the engine's stats text at "settled"
  std::string stats_compacted;  // ... and after CompactRange
};

// Runs the workload on one engine (config.engine is ignored).
[[nodiscard]] absl::StatusOr<AmplificationResult> RunAmplification(const BenchConfig& config,
                                                                   const std::string& engine);

// Runs it on each engine and prints a Markdown table plus each engine's
// stats text. Returns the process exit code.
int RunAmplificationCommand(const BenchConfig& config, const std::vector<std::string>& engines);

}  // namespace kv::bench
