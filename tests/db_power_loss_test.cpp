// Power-loss tests: a randomized single-threaded workload (puts, deletes,
// batches, some sync writes, Flush, CompactRange) runs against the fault
// injecting FS with a tiny memtable; at a random point the machine "loses
// power" (everything not synced, and every name not dir-synced, is lost).
// After reopen the DB must hold exactly the model state after some prefix
// of the acknowledged writes, in commit order, and that prefix must reach
// at least the last write acknowledged with sync = true. Batches are
// all-or-nothing by construction of the check (a prefix is counted in whole
// writes). Each iteration runs several loss/reopen cycles on one DB.
//
// Torn writes: in most iterations the file system keeps a random prefix of
// each file's unsynced appends at power loss (sometimes with a garbled
// end), so recovery meets partial WAL, MANIFEST and table tails, not only
// clean cuts at the last Sync. The fault counters of all iterations are
// printed at the end.
//
// KV_STRESS_ITERATIONS=N runs N iterations instead of the CI default;
// KV_TEST_SEED picks the seed.
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fault_test_util.hpp"
#include "kv/db.hpp"
#include "kv/fault_injection_fs.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

const std::string kDir = "/db";

class Workload {
 public:
  Workload(std::uint64_t seed, int num_keys) : rng_(seed), num_keys_(num_keys) {}

  std::string Key() {
    return "key" + std::to_string(std::uniform_int_distribution<int>(0, num_keys_ - 1)(rng_));
  }
  std::string Value() {
    // Unique per write, so matching a prefix is meaningful.
    const std::size_t len = std::uniform_int_distribution<std::size_t>(0, 150)(rng_);
    std::string v = "v" + std::to_string(++counter_) + ":";
    v.append(len, static_cast<char>('a' + counter_ % 26));
    return v;
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  int num_keys_;
  std::uint64_t counter_ = 0;
};

// How an iteration's power losses treat unsynced appends.
enum class Tearing { kNone, kPrefix, kPrefixAndGarbage };

Tearing TearingFor(std::uint64_t iteration) {
  switch (iteration % 4) {
    case 0:
      return Tearing::kNone;
    case 1:
    case 2:
      return Tearing::kPrefix;
    default:
      return Tearing::kPrefixAndGarbage;
  }
}

// Runs one DB through `cycles` rounds of: random writes, power loss, reopen,
// check. Returns after REQUIRE failures like any test body; adds the
// faults injected to *faults.
void RunPowerLossIteration(std::uint64_t seed, int cycles, Tearing tearing, FaultCounters* faults) {
  INFO("seed " << seed << ", tearing " << static_cast<int>(tearing));
  auto fs = test::NewFaultFs();
  fs->SetSeed(seed);
  fs->SetTornWrites(tearing != Tearing::kNone, tearing == Tearing::kPrefixAndGarbage ? 0.5 : 0.0);
  struct AddFaults {
    FaultInjectionFileSystem& fs;
    FaultCounters* out;
    ~AddFaults() { *out += fs.GetFaultCounters(); }
  } add_faults{*fs, faults};
  const Options options = test::SmallOptions(fs);
  Workload w(seed, 400);
  std::mt19937_64& rng = w.rng();
  auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
  };

  std::map<std::string, std::string> base;  // the exact state at the last reopen
  auto opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  std::unique_ptr<DB> db = std::move(opened).value();

  for (int cycle = 0; cycle < cycles; ++cycle) {
    INFO("cycle " << cycle);
    std::vector<test::ModelOp> history;
    std::size_t last_sync = 0;  // history prefix that must survive
    // Mostly a few hundred writes; sometimes none (loss right after reopen).
    const int num_writes = chance(10) ? 0 : std::uniform_int_distribution<int>(1, 900)(rng);
    for (int n = 0; n < num_writes; ++n) {
      const int kind = std::uniform_int_distribution<int>(0, 99)(rng);
      WriteOptions wo;
      wo.sync = chance(5);
      test::ModelOp op;
      absl::Status s;
      if (kind < 60) {
        op.entries.emplace_back(w.Key(), w.Value());
        s = db->Put(wo, op.entries[0].first, *op.entries[0].second);
      } else if (kind < 80) {
        op.entries.emplace_back(w.Key(), std::nullopt);
        s = db->Delete(wo, op.entries[0].first);
      } else if (kind < 97) {
        WriteBatch batch;
        const int entries = std::uniform_int_distribution<int>(1, 12)(rng);
        for (int e = 0; e < entries; ++e) {
          if (chance(70)) {
            op.entries.emplace_back(w.Key(), w.Value());
            batch.Put(op.entries.back().first, *op.entries.back().second);
          } else {
            op.entries.emplace_back(w.Key(), std::nullopt);
            batch.Delete(op.entries.back().first);
          }
        }
        s = db->Write(wo, batch);
      } else if (kind < 99) {
        REQUIRE_OK(db->Flush());
        continue;
      } else {
        std::string a = w.Key(), b = w.Key();
        if (b < a) std::swap(a, b);
        REQUIRE_OK(db->CompactRange(a, b));
        continue;
      }
      REQUIRE_OK(s);
      history.push_back(std::move(op));
      if (wo.sync) last_sync = history.size();
    }

    REQUIRE_OK(test::CrashAndPowerLoss(*fs, &db));
    // Sometimes recovery itself crashes part-way (an injected failure of
    // its n-th sync / dir sync / append, then power loss): the next
    // recovery must still find everything the first one had to.
    if (chance(25)) {
      const FaultOp ops[] = {FaultOp::kSync, FaultOp::kSyncDir, FaultOp::kAppend, FaultOp::kRename,
                             FaultOp::kNewWritable};
      const FaultOp op = ops[std::uniform_int_distribution<int>(0, 4)(rng)];
      fs->FailNth(op, std::uniform_int_distribution<int>(1, 4)(rng), EIO);
      auto failed = DB::Open(options, kDir);
      fs->ClearFaults();
      if (failed.ok()) db = std::move(failed).value();  // the fault hit no call of Open
      REQUIRE_OK(test::CrashAndPowerLoss(*fs, &db));
    }

    auto reopened = DB::Open(options, kDir);
    REQUIRE_OK(reopened);
    db = std::move(reopened).value();
    auto recovered = test::ReadAll(*db);
    REQUIRE_OK(recovered);
    const std::vector<std::size_t> prefixes =
        test::MatchingPrefixes(base, history, *recovered, last_sync);
    INFO("writes " << history.size() << ", last sync-acknowledged " << last_sync
                   << ", recovered keys " << recovered->size());
    REQUIRE(!prefixes.empty());
    // Point lookups agree with the scan (they take other paths: bloom
    // filters, memtable vs. table lookups).
    for (const auto& [k, v] : *recovered) {
      auto got = db->Get(k);
      REQUIRE_OK(got);
      REQUIRE(*got == v);
    }
    for (int i = 0; i < 400; i += 7) {
      const std::string k = "key" + std::to_string(i);
      if (recovered->count(k) == 0) REQUIRE(absl::IsNotFound(db->Get(k).status()));
    }
    base = std::move(recovered).value();
  }
  db.reset();
}

TEST_CASE("power loss: recovered state is a prefix reaching the last sync write",
          "[db][power_loss]") {
  const std::uint64_t seed = test::TestSeed();
  const int iterations = test::StressIterations(60);
  const auto start = std::chrono::steady_clock::now();
  FaultCounters faults;
  for (int i = 0; i < iterations; ++i) {
    RunPowerLossIteration(seed + static_cast<std::uint64_t>(i) * 7919, /*cycles=*/6,
                          TearingFor(static_cast<std::uint64_t>(i)), &faults);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("power loss: seed %llu, %d iterations x 6 cycles in %.1f s: %s\n",
              static_cast<unsigned long long>(seed), iterations, secs, faults.ToString().c_str());
  std::fflush(stdout);
}

// Every write synced: nothing at all may be lost, at any loss point.
TEST_CASE("power loss: with sync on every write nothing acknowledged is lost", "[db][power_loss]") {
  std::mt19937_64 rng(test::TestSeed() + 1);
  auto fs = test::NewFaultFs();
  fs->SetSeed(test::TestSeed() + 1);
  fs->SetTornWrites(true, 0.5);  // only unsynced bytes tear: none of them acknowledged
  const Options options = test::SmallOptions(fs);
  std::map<std::string, std::string> model;
  auto opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  std::unique_ptr<DB> db = std::move(opened).value();
  for (int cycle = 0; cycle < 8; ++cycle) {
    const int n = std::uniform_int_distribution<int>(0, 300)(rng);
    for (int i = 0; i < n; ++i) {
      const std::string k = "k" + std::to_string(rng() % 200);
      if (rng() % 4 == 0) {
        REQUIRE_OK(db->Delete(WriteOptions{.sync = true}, k));
        model.erase(k);
      } else {
        const std::string v =
            std::to_string(cycle) + "/" + std::to_string(i) + std::string(rng() % 100, 'x');
        REQUIRE_OK(db->Put(WriteOptions{.sync = true}, k, v));
        model[k] = v;
      }
    }
    REQUIRE_OK(test::CrashAndPowerLoss(*fs, &db));
    auto reopened = DB::Open(options, kDir);
    REQUIRE_OK(reopened);
    db = std::move(reopened).value();
    auto got = test::ReadAll(*db);
    REQUIRE_OK(got);
    REQUIRE(*got == model);
  }
}

// A lost unsynced delete must not resurrect the key behind later data: the
// classic hole. Put(sync), Delete(no sync), Put other(sync) -> both the
// delete and the later put survive, or (only if the later put is lost,
// which sync forbids) neither.
TEST_CASE("power loss: an unsynced delete before a sync write survives", "[db][power_loss]") {
  auto fs = test::NewFaultFs();
  fs->SetSeed(test::TestSeed() + 2);
  const Options options = test::SmallOptions(fs);
  for (int variant = 0; variant < 6; ++variant) {
    INFO("variant " << variant);
    fs->SetTornWrites(variant >= 3, 0.5);
    const std::string dir = "/hole" + std::to_string(variant);
    auto opened = DB::Open(options, dir);
    REQUIRE_OK(opened);
    std::unique_ptr<DB> db = std::move(opened).value();
    REQUIRE_OK(db->Put(WriteOptions{.sync = true}, "victim", "old"));
    if (variant % 3 == 1) REQUIRE_OK(db->Flush());  // "old" in a table, the delete in the WAL
    REQUIRE_OK(db->Delete("victim"));
    if (variant % 3 == 2) {
      // Fill the memtable so the delete and the sync write land in
      // different WALs.
      for (int i = 0; i < 300; ++i)
        REQUIRE_OK(db->Put("fill" + std::to_string(i), std::string(100, 'f')));
    }
    REQUIRE_OK(db->Put(WriteOptions{.sync = true}, "later", "x"));
    REQUIRE_OK(test::CrashAndPowerLoss(*fs, &db));
    auto reopened = DB::Open(options, dir);
    REQUIRE_OK(reopened);
    db = std::move(reopened).value();
    REQUIRE(*db->Get("later") == "x");
    REQUIRE(absl::IsNotFound(db->Get("victim").status()));
  }
}

}  // namespace
}  // namespace kv
