// The amplification workload (see amplification.hpp).
#include "amplification.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "kv/status_macros.hpp"

namespace kv::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kSampleEvery = 10'000;
constexpr auto kQuietPeriod = std::chrono::seconds(2);
constexpr auto kSettleTimeout = std::chrono::minutes(10);

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Bytes of table files (.sst, .ldb) directly in dir; other files (WAL,
// MANIFEST, LOG, kv's .sst.orphan) do not count.
std::uint64_t TableFileBytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".sst" && ext != ".ldb") continue;
    std::error_code size_ec;
    const std::uint64_t size = entry.file_size(size_ec);
    if (!size_ec) total += size;
  }
  return total;
}

// Everything that moves while background work runs.
std::vector<std::int64_t> Shape(Engine& e, const WriteCounters& c) {
  std::vector<std::int64_t> shape;
  for (int level = 0; level < e.NumLevels(); ++level) shape.push_back(e.FilesAtLevel(level));
  shape.push_back(static_cast<std::int64_t>(c.table_bytes));
  return shape;
}

// Waits until the engine reports no pending work (where it can tell) and
// the shape has not changed for kQuietPeriod. Tracks L0 in *max_l0.
absl::Status WaitForBackground(Engine& e, int* max_l0) {
  const Clock::time_point deadline = Clock::now() + kSettleTimeout;
  std::vector<std::int64_t> last;
  Clock::time_point quiet_since = Clock::now();
  while (Clock::now() < deadline) {
    KV_ASSIGN_OR_RETURN(WriteCounters c, e.Counters());
    std::vector<std::int64_t> shape = Shape(e, c);
    *max_l0 = std::max(*max_l0, static_cast<int>(shape[0]));
    const bool busy = e.BackgroundBusy().value_or(false);
    if (busy || shape != last) {
      last = std::move(shape);
      quiet_since = Clock::now();
    } else if (Clock::now() - quiet_since >= kQuietPeriod) {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError("background work did not settle within 10 minutes");
}

std::string Mib(std::uint64_t bytes) {
  return absl::StrFormat("%.1f", static_cast<double>(bytes) / 1048576.0);
}

std::string Ratio(std::uint64_t num, std::uint64_t den) {
  return den == 0 ? "-"
                  : absl::StrFormat("%.2f", static_cast<double>(num) / static_cast<double>(den));
}

}  // namespace

absl::StatusOr<AmplificationResult> RunAmplification(const BenchConfig& config,
                                                     const std::string& engine) {
  std::error_code ec;
  std::filesystem::remove_all(config.db, ec);
  std::filesystem::create_directories(config.db, ec);
  EngineSettings settings = config.settings;
  settings.collect_statistics = true;
  KV_ASSIGN_OR_RETURN(std::unique_ptr<Engine> e, OpenEngine(engine, settings, config.db));

  AmplificationResult r;
  r.engine = engine;
  r.describe = e->Describe();
  const auto entry_bytes = static_cast<std::uint64_t>(config.key_size + config.value_size);
  r.live_bytes = config.num * entry_bytes;

  std::mt19937_64 rng(config.seed);
  std::string pool(std::size_t{1} << 20, '\0');
  for (char& c : pool) c = static_cast<char>(rng());
  const auto value_size = static_cast<std::size_t>(config.value_size);
  std::vector<std::uint64_t> order(config.num);
  std::iota(order.begin(), order.end(), 0);

  const Clock::time_point start = Clock::now();
  std::uint64_t writes = 0;
  std::string key;
  for (int pass = 0; pass < 3; ++pass) {  // load, overwrite, overwrite
    std::shuffle(order.begin(), order.end(), rng);
    for (const std::uint64_t k : order) {
      key = absl::StrFormat("%0*d", config.key_size, k);
      const std::size_t offset = rng() % (pool.size() - value_size);
      const Clock::time_point t0 = Clock::now();
      KV_RETURN_IF_ERROR(e->Put(key, std::string_view(pool).substr(offset, value_size), false));
      const auto nanos = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
      r.max_write_nanos = std::max(r.max_write_nanos, nanos);
      if (++writes % kSampleEvery == 0)
        r.max_l0_files = std::max(r.max_l0_files, e->FilesAtLevel(0));
    }
    std::fprintf(stderr, "  %s: pass %d done after %.1f s\n", engine.c_str(), pass,
                 Seconds(Clock::now() - start));
  }
  r.write_seconds = Seconds(Clock::now() - start);
  r.user_bytes = writes * entry_bytes;

  const Clock::time_point settle_start = Clock::now();
  KV_RETURN_IF_ERROR(e->FlushMemtable());
  r.max_l0_files = std::max(r.max_l0_files, e->FilesAtLevel(0));
  KV_RETURN_IF_ERROR(WaitForBackground(*e, &r.max_l0_files));
  r.settle_seconds = Seconds(Clock::now() - settle_start);
  KV_ASSIGN_OR_RETURN(r.counters, e->Counters());
  r.table_file_bytes_settled = TableFileBytes(config.db);
  r.stats_settled = e->StatsText();

  KV_RETURN_IF_ERROR(e->Settle());                             // flush + full CompactRange
  KV_RETURN_IF_ERROR(WaitForBackground(*e, &r.max_l0_files));  // let obsolete files go
  r.table_file_bytes_compacted = TableFileBytes(config.db);
  r.stats_compacted = e->StatsText();
  return r;
}

int RunAmplificationCommand(const BenchConfig& config, const std::vector<std::string>& engines) {
  std::vector<AmplificationResult> results;
  for (const std::string& engine : engines) {
    std::fprintf(stderr, "amplification: %s, num=%llu\n", engine.c_str(),
                 static_cast<unsigned long long>(config.num));
    absl::StatusOr<AmplificationResult> r = RunAmplification(config, engine);
    if (!r.ok()) {
      std::fprintf(stderr, "kv_bench: amplification on %s: %s\n", engine.c_str(),
                   r.status().ToString().c_str());
      return 1;
    }
    results.push_back(*std::move(r));
  }
  std::printf(
      "num=%llu keys, %d-byte keys, %d-byte values; user bytes written %s MiB, live %s MiB\n\n",
      static_cast<unsigned long long>(config.num), config.key_size, config.value_size,
      Mib(results.front().user_bytes).c_str(), Mib(results.front().live_bytes).c_str());
  for (const AmplificationResult& r : results) std::printf("- %s\n", r.describe.c_str());
  std::printf(
      "\n| engine | write s | settle s | flush MiB | compaction MiB | write amp | WAL MiB (/user) "
      "| space amp settled | space amp after CompactRange | max L0 files | stall time | max write "
      "latency |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const AmplificationResult& r : results) {
    const WriteCounters& c = r.counters;
    const std::string flush = c.flush_bytes ? Mib(*c.flush_bytes) : "(in total)";
    const std::string compaction =
        c.flush_bytes ? Mib(c.table_bytes - *c.flush_bytes) : Mib(c.table_bytes) + " (total)";
    const std::string wal = c.wal_bytes ? absl::StrFormat("%s (%s)", Mib(*c.wal_bytes),
                                                          Ratio(*c.wal_bytes, r.user_bytes))
                                        : "n/a";
    const std::string stall =
        c.stall_micros ? absl::StrFormat("%.3f s", static_cast<double>(*c.stall_micros) / 1e6)
                       : "n/a (no counter)";
    absl::PrintF("| %s | %.1f | %.1f | %s | %s | %s | %s | %s | %s | %d | %s | %.1f ms |\n",
                 r.engine, r.write_seconds, r.settle_seconds, flush, compaction,
                 Ratio(c.table_bytes, r.user_bytes), wal,
                 Ratio(r.table_file_bytes_settled, r.live_bytes),
                 Ratio(r.table_file_bytes_compacted, r.live_bytes), r.max_l0_files, stall,
                 static_cast<double>(r.max_write_nanos) / 1e6);
  }
  for (const AmplificationResult& r : results) {
    std::printf("\n%s stats when settled:\n%s\n%s stats after CompactRange:\n%s\n",
                r.engine.c_str(), r.stats_settled.c_str(), r.engine.c_str(),
                r.stats_compacted.c_str());
  }
  return 0;
}

}  // namespace kv::bench
