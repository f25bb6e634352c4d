// kv_bench --compare: child processes, medians, ratios, markdown tables.
#include "compare.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace kv::bench {
namespace {

// Release-build speed / Debian-build speed of each peer, measured on the
// development machine (Debian's packages keep assertions on).
const std::map<std::string, std::map<std::string, double>>& ReleaseFactors() {
  static const std::map<std::string, std::map<std::string, double>> kFactors = {
      {"leveldb",
       {{"fillseq", 0.80},
        {"fillrandom", 0.96},
        {"overwrite", 1.23},
        {"readrandom", 1.32},
        {"readmissing", 1.40},
        {"readseq", 1.34},
        {"seekrandom", 1.32},
        {"deleterandom", 0.97}}},
      {"rocksdb",
       {{"fillseq", 1.22},
        {"fillrandom", 1.57},
        {"overwrite", 1.20},
        {"readrandom", 0.93},
        {"readmissing", 1.05},
        {"readseq", 0.97},
        {"seekrandom", 1.08},
        {"deleterandom", 1.49}}},
  };
  return kFactors;
}

struct Row {
  double ops_per_sec = 0, p50 = 0, p99 = 0, p999 = 0, writer = -1, syncs = -1, seconds = 0;
};

struct ChildRun {
  bool ok = false;
  std::string describe;
  std::map<std::string, Row> rows;
  std::map<std::string, double> info;
  double peak_rss_mib = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

ChildRun RunChild(const BenchConfig& c, const std::string& engine,
                  const std::vector<std::string>& workloads) {
  ChildRun run;
  const std::filesystem::path dir = c.db / engine;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::vector<std::string> args = {"/proc/self/exe",
                                   "--child",
                                   "--engine=" + engine,
                                   "--db=" + dir.string(),
                                   absl::StrCat("--num=", c.num),
                                   absl::StrCat("--key_size=", c.key_size),
                                   absl::StrCat("--value_size=", c.value_size),
                                   absl::StrCat("--threads=", c.threads),
                                   absl::StrCat("--sync_ops=", c.sync_ops),
                                   absl::StrCat("--seed=", c.seed),
                                   "--benchmarks=" + absl::StrJoin(workloads, ",")};
  int fds[2];
  if (pipe(fds) != 0) return run;
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return run;
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  std::filesystem::remove_all(dir, ec);
  run.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  run.peak_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    auto num = [&](std::size_t i) {
      double d = 0;
      if (i < f.size()) (void)absl::SimpleAtod(f[i], &d);
      return d;
    };
    if (f[0] == "DESCRIBE" && f.size() > 1) run.describe = f[1];
    if (f[0] == "INFO" && f.size() > 2) run.info[f[1]] = num(2);
    if (f[0] == "RESULT" && f.size() >= 10 && !(f[1] == "settle" && run.rows.contains("settle"))) {
      run.rows[f[1]] = Row{.ops_per_sec = num(4),
                           .p50 = num(5),
                           .p99 = num(6),
                           .p999 = num(7),
                           .writer = num(8),
                           .syncs = num(9),
                           .seconds = num(3)};
    }
  }
  return run;
}

std::string Fmt(double v) {
  if (v >= 100) return absl::StrFormat("%.0f", v);
  if (v >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.2f", v);
}

}  // namespace

std::string ChildResultLine(const WorkloadResult& r) {
  return absl::StrFormat("RESULT\t%s\t%d\t%.6f\t%.1f\t%.3f\t%.3f\t%.3f\t%.1f\t%.4f", r.name, r.ops,
                         r.seconds, r.ops_per_sec(), r.latency.Percentile(50) / 1e3,
                         r.latency.Percentile(99) / 1e3, r.latency.Percentile(99.9) / 1e3,
                         r.writer_ops_per_sec, r.syncs_per_write);
}

int RunCompare(const BenchConfig& config, const std::vector<std::string>& engines,
               const std::vector<std::string>& workloads, int repeat) {
  // runs[engine] = one ChildRun per repeat.
  std::map<std::string, std::vector<ChildRun>> runs;
  std::map<std::string, std::string> describe;
  for (int rep = 0; rep < repeat; ++rep) {
    for (const std::string& e : engines) {
      std::fprintf(stderr, "kv_bench: round %d/%d, %s\n", rep + 1, repeat, e.c_str());
      ChildRun run = RunChild(config, e, workloads);
      if (!run.ok) {
        std::fprintf(stderr, "kv_bench: child for %s failed\n", e.c_str());
        return 1;
      }
      describe[e] = run.describe;
      runs[e].push_back(std::move(run));
    }
  }
  auto median = [&](const std::string& e, const std::string& w, double Row::*field) {
    std::vector<double> v;
    for (const ChildRun& r : runs[e]) {
      auto it = r.rows.find(w);
      if (it != r.rows.end()) v.push_back(it->second.*field);
    }
    return Median(v);
  };
  const bool have_kv = std::find(engines.begin(), engines.end(), "kv") != engines.end();

  std::printf("Engines:\n\n");
  for (const std::string& e : engines) std::printf("- %s\n", describe[e].c_str());
  std::printf("\n### Throughput (ops/s, median of %d run(s))\n\n", repeat);
  std::printf(
      "Ratio = kv ops/s / peer ops/s (>1: kv faster) against the Debian peer, which is "
      "built WITHOUT NDEBUG (assertions on; flatters kv by up to 1.6x). \"est. vs "
      "release\" divides the ratio by the measured release/Debian speed factor of that "
      "peer and workload (n/a where none was measured).\n\n");
  std::string header = "| workload |", rule = "|---|";
  for (const std::string& e : engines) {
    header += absl::StrCat(" ", e, " |");
    rule += "---:|";
    if (have_kv && e != "kv") {
      header += absl::StrCat(" kv/", e, " (Debian, asserts on) | est. kv/", e, " release |");
      rule += "---:|---:|";
    }
  }
  std::printf("%s\n%s\n", header.c_str(), rule.c_str());
  for (const std::string& w : workloads) {
    std::string line = absl::StrCat("| ", w, " |");
    const double kv_ops = have_kv ? median("kv", w, &Row::ops_per_sec) : 0;
    for (const std::string& e : engines) {
      const double ops = median(e, w, &Row::ops_per_sec);
      line += absl::StrCat(" ", Fmt(ops), " |");
      if (have_kv && e != "kv") {
        const double ratio = ops > 0 ? kv_ops / ops : 0;
        line += absl::StrCat(" ", absl::StrFormat("%.2fx", ratio), " |");
        const auto pf = ReleaseFactors().find(e);
        const double factor =
            pf == ReleaseFactors().end() || !pf->second.contains(w) ? 0 : pf->second.at(w);
        line += factor > 0 ? absl::StrFormat(" %.2fx |", ratio / factor) : std::string(" n/a |");
      }
    }
    std::printf("%s\n", line.c_str());
  }

  std::printf(
      "\n### Latency (microseconds, median of %d run(s); every op timed, but one step in 16 for "
      "readseq and readreverse)\n\n",
      repeat);
  std::printf("| workload | engine | ops/s | p50 | p99 | p99.9 | extra |\n");
  std::printf("|---|---|---:|---:|---:|---:|---|\n");
  for (const std::string& w : workloads) {
    for (const std::string& e : engines) {
      std::string extra;
      const double writer = median(e, w, &Row::writer);
      const double syncs = median(e, w, &Row::syncs);
      if (writer >= 0) extra += absl::StrFormat("writer %s puts/s", Fmt(writer));
      if (syncs >= 0) extra += absl::StrFormat("%.3f fsync+fdatasync per write", syncs);
      std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", w.c_str(), e.c_str(),
                  Fmt(median(e, w, &Row::ops_per_sec)).c_str(),
                  Fmt(median(e, w, &Row::p50)).c_str(), Fmt(median(e, w, &Row::p99)).c_str(),
                  Fmt(median(e, w, &Row::p999)).c_str(), extra.c_str());
    }
  }

  std::printf("\n### Resources (median over runs; one child process per engine and run)\n\n");
  std::printf(
      "| engine | settle s (flush+compact after fill) | DB size after fill+settle MiB | "
      "peak RSS MiB | written via write syscalls MiB (wchar) | written to storage MiB "
      "(write_bytes) |\n|---|---:|---:|---:|---:|---:|\n");
  for (const std::string& e : engines) {
    auto info = [&](const std::string& key) {
      std::vector<double> v;
      for (const ChildRun& r : runs[e]) {
        auto it = r.info.find(key);
        if (it != r.info.end()) v.push_back(it->second);
      }
      return Median(v) / 1048576.0;
    };
    std::vector<double> rss, settle;
    for (const ChildRun& r : runs[e]) {
      rss.push_back(r.peak_rss_mib);
      auto it = r.rows.find("settle");  // the first settle of the run
      if (it != r.rows.end()) settle.push_back(it->second.seconds);
    }
    std::printf("| %s | %s | %.1f | %.1f | %.1f | %.1f |\n", e.c_str(), Fmt(Median(settle)).c_str(),
                info("db_bytes_after_fill"), Median(rss), info("wchar"), info("write_bytes"));
  }
  std::printf(
      "\nkv copies WAL appends into a mapping of the log file rather than calling write(2), so "
      "its wchar leaves the WAL out; write_bytes counts what reached storage for every "
      "engine.\n");
  return 0;
}

}  // namespace kv::bench
