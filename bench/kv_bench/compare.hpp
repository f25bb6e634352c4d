// kv_bench --compare: runs every engine's workload set in its own child
// process (fork + exec of this binary), interleaving engines A B C A B C ...
// for --repeat rounds, then prints markdown tables of the medians, ratios to
// kv, latencies and per-child resources.
//
//   return RunCompare(config, {"kv", "leveldb"}, workloads, /*repeat=*/3);
#pragma once

#include <string>
#include <vector>

#include "workloads.hpp"

namespace kv::bench {

// Child protocol: with --child, main prints one tab-separated line per
// result ("RESULT\t..."), per fact ("INFO\t...") and the engine description
// ("DESCRIBE\t..."). ChildLine formats one result.
std::string ChildResultLine(const WorkloadResult& r);

// Returns the process exit code.
int RunCompare(const BenchConfig& config, const std::vector<std::string>& engines,
               const std::vector<std::string>& workloads, int repeat);

}  // namespace kv::bench
