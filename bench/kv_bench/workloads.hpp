// kv_bench's workloads, with the same semantics on every engine.
//
//   Runner runner(config);                       // opens config.engine in config.db
//   absl::StatusOr<WorkloadResult> r = runner.Run("fillseq");
//
// Keys are decimal, zero-padded to key_size; the DB holds the even numbers
// 2*i for i in [0, num), so "missing" keys (odd numbers) interleave with the
// present ones. Values are incompressible random bytes.
//
// Fresh DB (directory emptied first): fillseq, fillrandom, fillsync,
// fillsync4, fillsync16. Every read workload (readrandom, readmissing,
// readseq, readreverse, seekrandom, readwhilewriting, mixed) is preceded by
// Engine::Settle() if anything was written since the last settle; the settle
// is timed and reported as its own row.
//
// Latency: every op is timed, except in readseq and readreverse, which time
// one step in 16 (a step is about as cheap as the clock read itself).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine.hpp"
#include "stats.hpp"

namespace kv::bench {

struct BenchConfig {
  std::string engine = "kv";
  std::filesystem::path db = "/tmp/kv_bench";
  std::uint64_t num = 1'000'000;
  int key_size = 16;
  int value_size = 100;
  int threads = 1;  // overwrite, readrandom, readmissing, seekrandom, deleterandom, mixed
  std::uint64_t sync_ops = 10'000;
  std::uint64_t seed = 301;
  EngineSettings settings;
};

// Every workload name, in the default run order.
const std::vector<std::string>& AllWorkloads();

struct WorkloadResult {
  std::string name;
  std::uint64_t ops = 0;
  double seconds = 0;
  Histogram latency;               // per-op nanoseconds (scans: sampled)
  double writer_ops_per_sec = -1;  // readwhilewriting: the writer's rate
  double syncs_per_write = -1;     // fillsync*: (fdatasync + fsync) calls / writes
  std::string note;
  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

class Runner {
 public:
  explicit Runner(BenchConfig config);
  // Opens the engine on the (possibly existing) directory.
  [[nodiscard]] absl::Status Open();
  // Runs one workload. A read workload first settles the DB if it is dirty
  // and, if so, returns the settle row in *settle (name "settle").
  [[nodiscard]] absl::StatusOr<WorkloadResult> Run(const std::string& name,
                                                   std::unique_ptr<WorkloadResult>* settle);
  std::string Describe() const { return engine_ ? engine_->Describe() : ""; }
  // The engine's own statistics text (kv.stats, leveldb.stats, rocksdb.stats).
  std::string StatsText() const { return engine_ ? engine_->StatsText() : ""; }
  // Directory size right after the first settle (0 if none yet).
  std::uint64_t db_bytes_after_fill() const { return db_bytes_after_fill_; }

 private:
  [[nodiscard]] absl::Status Reopen(bool fresh);
  [[nodiscard]] absl::Status Settle(std::unique_ptr<WorkloadResult>* settle);
  std::string Key(std::uint64_t n) const;
  std::string_view Value(std::uint64_t* pos) const;

  // Runs fn(thread, &histogram) on `threads` threads; ops are counted by fn.
  template <typename Fn>
  absl::Status RunThreads(int threads, Fn fn, WorkloadResult* r);

  BenchConfig config_;
  std::string value_pool_;
  std::unique_ptr<Engine> engine_;
  bool dirty_ = false;
  bool filled_ = false;
  std::uint64_t db_bytes_after_fill_ = 0;
};

}  // namespace kv::bench
