// Helpers shared by the DB-level reliability tests (db_power_loss_test,
// db_io_error_test, db_corruption_test): a fault-injecting in-memory file
// system, small-DB options that make flushes and compactions frequent, a
// full-DB reader, a crash helper and a watchdog that turns a hang into a
// test failure.
//
//   auto fs = kv::test::NewFaultFs();
//   auto db = kv::DB::Open(kv::test::SmallOptions(fs), "/db");
//   ...
//   kv::test::CrashAndPowerLoss(*fs, &db);   // destroy the DB as a crashed machine
//   kv::test::Watchdog dog(std::chrono::seconds(30), "what could hang");
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/db.hpp"
#include "kv/fault_injection_fs.hpp"
#include "test_util.hpp"

namespace kv::test {

inline std::shared_ptr<FaultInjectionFileSystem> NewFaultFs() {
  return std::make_shared<FaultInjectionFileSystem>(NewMemFileSystem());
}

// A 16 KiB memtable and tiny level targets: a few hundred writes flush and
// compact several times.
inline Options SmallOptions(std::shared_ptr<FileSystem> fs) {
  Options o;
  o.memtable_bytes = 16 << 10;
  o.block_bytes = 1 << 10;
  o.block_cache_bytes = 256 << 10;
  o.level0_compaction_trigger = 2;
  o.level1_target_bytes = 64 << 10;
  o.level_size_ratio = 4;
  o.target_file_bytes = 16 << 10;
  o.file_system = std::move(fs);
  return o;
}

// Every live key -> value, through one iterator (a consistent view).
inline absl::StatusOr<std::map<std::string, std::string>> ReadAll(DB& db) {
  std::map<std::string, std::string> out;
  std::unique_ptr<Iterator> it = db.NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace(std::string(it->key()), std::string(it->value()));
  }
  if (!it->status().ok()) return it->status();
  return out;
}

// The machine stops: no more mutations reach the FS, the DB object is
// destroyed, unsynced data and un-dirsynced names are dropped, and the FS is
// "rebooted".
inline absl::Status CrashAndPowerLoss(FaultInjectionFileSystem& fs, std::unique_ptr<DB>* db) {
  fs.SetActive(false);
  db->reset();
  absl::Status s = fs.SimulatePowerLoss();
  fs.SetActive(true);
  return s;
}

// Aborts the process (a test failure that cannot be missed) if not destroyed
// within `limit`: a hang in the code under test becomes a crash with a
// message instead of a stuck CI job.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what)
      : what_(std::move(what)), thread_([this, limit] {
          std::unique_lock<std::mutex> l(mu_);
          if (!cv_.wait_for(l, limit, [this] { return done_; })) {
            std::fprintf(stderr, "WATCHDOG: hang detected: %s\n", what_.c_str());
            std::fflush(stderr);
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string what_;
  std::thread thread_;
};

// One acknowledged write: entries applied in order (nullopt = delete).
struct ModelOp {
  std::vector<std::pair<std::string, std::optional<std::string>>> entries;
};

// The lengths p >= min_prefix such that `recovered` equals `base` with the
// first p writes of `history` applied (empty: no such prefix).
inline std::vector<std::size_t> MatchingPrefixes(
    const std::map<std::string, std::string>& base, const std::vector<ModelOp>& history,
    const std::map<std::string, std::string>& recovered, std::size_t min_prefix) {
  // mismatches = number of keys whose model value differs from `recovered`.
  std::map<std::string, std::string> model = base;
  std::size_t mismatches = 0;
  for (const auto& [k, v] : model) {
    auto it = recovered.find(k);
    if (it == recovered.end() || it->second != v) ++mismatches;
  }
  for (const auto& [k, v] : recovered) {
    if (model.count(k) == 0) ++mismatches;
  }
  auto differs = [&](const std::string& k) {
    auto m = model.find(k);
    auto r = recovered.find(k);
    if (m == model.end()) return r != recovered.end();
    return r == recovered.end() || r->second != m->second;
  };
  std::vector<std::size_t> matches;
  if (min_prefix == 0 && mismatches == 0) matches.push_back(0);
  for (std::size_t i = 0; i < history.size(); ++i) {
    for (const auto& [k, v] : history[i].entries) {
      const bool before = differs(k);
      if (v) {
        model[k] = *v;
      } else {
        model.erase(k);
      }
      const bool after = differs(k);
      if (before && !after) --mismatches;
      if (!before && after) ++mismatches;
    }
    if (i + 1 >= min_prefix && mismatches == 0) matches.push_back(i + 1);
  }
  return matches;
}

// KV_STRESS_ITERATIONS from the environment, else `default_iterations`.
inline int StressIterations(int default_iterations) {
  if (const char* s = std::getenv("KV_STRESS_ITERATIONS")) {
    const int n = std::atoi(s);
    if (n > 0) return n;
  }
  return default_iterations;
}

}  // namespace kv::test
