// Read-fault tests: a DB on the fault-injecting FS reads through random bit
// flips and random EIO errors (seeded), on table reads while serving Gets
// and scans, and on WAL / MANIFEST / CURRENT reads during recovery.
// Allowed outcomes:
//  - Get / scan: exactly the model's data, or a non-OK status (kDataLoss
//    for a bad checksum, kInternal for EIO). Never a wrong value, never a
//    live key reported missing, never a scan that silently skips keys.
//  - Once the faults stop, every read is right again: nothing damaged was
//    kept in the block cache or the table cache.
//  - Recovery: Open fails, or the DB holds a prefix (in commit order, whole
//    writes) of the history, never a value that was not written; the state
//    it settled on is the state the next Open finds.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fault_test_util.hpp"
#include "kv/db.hpp"
#include "kv/fault_injection_fs.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

using namespace std::chrono_literals;
using Model = std::map<std::string, std::string>;

const std::string kDir = "/db";

std::string KeyOf(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%05d", i);
  return buf;
}

// Outcome tallies of the reads made under faults.
struct Tally {
  std::uint64_t ok = 0;
  std::uint64_t not_found = 0;
  std::uint64_t errors = 0;
};

// Writes rounds of puts and deletes, each flushed to its own table, with a
// partial compaction in between, so the data spans several tables and
// levels. Returns the model.
Model Load(DB& db, std::mt19937_64& rng) {
  Model model;
  int counter = 0;
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 500; ++i) {
      const std::string k = KeyOf(static_cast<int>(rng() % 3000));
      if (rng() % 5 == 0) {
        REQUIRE_OK(db.Delete(k));
        model.erase(k);
      } else {
        const std::string v = "v" + std::to_string(++counter) + std::string(rng() % 80, 'x');
        REQUIRE_OK(db.Put(k, v));
        model[k] = v;
      }
    }
    REQUIRE_OK(db.Flush());
    if (round == 3) REQUIRE_OK(db.CompactRange(KeyOf(500), KeyOf(1500)));
  }
  return model;
}

// One Get: the model's answer or an error.
void CheckGet(DB& db, const Model& model, const std::string& k, bool fill_cache, Tally* t) {
  ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = fill_cache;
  std::string v;
  const absl::Status s = db.Get(ro, k, &v);
  auto m = model.find(k);
  INFO("Get " << k << ": " << s.ToString());
  if (s.ok()) {
    REQUIRE(m != model.end());
    REQUIRE(v == m->second);
    ++t->ok;
  } else if (absl::IsNotFound(s)) {
    REQUIRE(m == model.end());  // a live key reported missing is a wrong answer
    ++t->not_found;
  } else {
    REQUIRE((absl::IsDataLoss(s) || absl::IsInternal(s)));
    ++t->errors;
  }
}

// One scan of up to `limit` entries from `start` ("" = first): every pair
// yielded is live and right; a key may be skipped only if status() is
// non-OK by then; a clean end reaches the model's end.
void CheckScan(DB& db, const Model& model, const std::string& start, int limit, Tally* t) {
  ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<Iterator> it = db.NewIterator(ro);
  if (start.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(start);
  }
  auto expected = model.lower_bound(start);
  bool skipped = false;
  for (int n = 0; it->Valid() && n < limit; ++n, it->Next()) {
    const std::string k(it->key());
    INFO("scan from '" << start << "' at " << k << ": " << it->status().ToString());
    auto m = model.find(k);
    REQUIRE(m != model.end());          // never a key that is not live
    REQUIRE(it->value() == m->second);  // never a wrong value
    REQUIRE(expected != model.end());   // nothing past the end
    REQUIRE(k >= expected->first);      // in order, no repeats
    if (k != expected->first) {
      REQUIRE_FALSE(it->status().ok());  // a skip only with an error
      skipped = true;
    }
    expected = std::next(m);
  }
  const absl::Status s = it->status();
  if (s.ok()) {
    REQUIRE_FALSE(skipped);
    if (!it->Valid()) REQUIRE(expected == model.end());  // a clean end is the end
    ++t->ok;
  } else {
    INFO(s.ToString());
    REQUIRE((absl::IsDataLoss(s) || absl::IsInternal(s)));
    ++t->errors;
  }
}

// Everything right, with no faults.
void CheckAllCorrect(DB& db, const Model& model) {
  auto all = test::ReadAll(db);
  REQUIRE_OK(all);
  REQUIRE(*all == model);
  for (int i = 0; i < 3000; ++i) {
    const std::string k = KeyOf(i);
    auto got = db.Get(k);
    auto m = model.find(k);
    INFO(k << ": " << got.status().ToString());
    if (m == model.end()) {
      REQUIRE(absl::IsNotFound(got.status()));
    } else {
      REQUIRE_OK(got);
      REQUIRE(*got == m->second);
    }
  }
}

enum class TableFault { kBitFlips, kReadErrors, kBoth };

void RunTableFaults(TableFault kind, std::uint64_t seed) {
  test::Watchdog dog(120s, "table read faults");
  INFO("seed " << seed);
  auto fs = test::NewFaultFs();
  fs->SetSeed(seed);
  Options options = test::SmallOptions(fs);
  options.block_cache_bytes = 32 << 10;  // small: most reads go to the file
  // No automatic compaction: once Load returns the DB is idle, so every
  // read under faults is the test's own (deterministic for a seed) and no
  // background job fails on a fault (a compaction reading a table under
  // faults would set a sticky background error: seen as a rare failure of
  // the final Put under CI load). So: memtables flushed only by Load's own
  // Flush calls (fewer L0 files than the trigger), and levels that never
  // outgrow their targets.
  options.memtable_bytes = 4 << 20;
  options.level0_compaction_trigger = 8;
  options.level1_target_bytes = std::uint64_t{1} << 30;
  auto opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  std::unique_ptr<DB> db = std::move(opened).value();
  std::mt19937_64 rng(seed);
  const Model model = Load(*db, rng);
  CheckAllCorrect(*db, model);
  // The idleness this test relies on: below the L0 trigger, data in several
  // tables on more than one level.
  auto files_at = [&](int level) {
    return std::stoi(db->GetProperty("kv.num-files-at-level" + std::to_string(level)).value());
  };
  REQUIRE(files_at(0) < options.level0_compaction_trigger);
  REQUIRE(files_at(0) > 0);
  int deeper = 0;
  for (int level = 1; level < options.num_levels; ++level) deeper += files_at(level);
  REQUIRE(deeper > 0);

  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    const double p = round == 0 ? 0.02 : round == 1 ? 0.1 : 0.5;
    if (kind != TableFault::kReadErrors) fs->SetReadBitFlipRate(p, ".sst");
    if (kind != TableFault::kBitFlips) fs->SetReadErrorRate(p, ".sst");
    Tally gets, scans;
    for (int i = 0; i < 1500; ++i) {
      CheckGet(*db, model, KeyOf(static_cast<int>(rng() % 3100)), rng() % 4 != 0, &gets);
    }
    for (int i = 0; i < 40; ++i) {
      const std::string start = rng() % 5 == 0 ? "" : KeyOf(static_cast<int>(rng() % 3000));
      CheckScan(*db, model, start, 300, &scans);
    }
    INFO("gets ok " << gets.ok << " not found " << gets.not_found << " errors " << gets.errors
                    << "; scans ok " << scans.ok << " errors " << scans.errors);
    std::printf(
        "table faults kind %d p=%.2f: gets %llu ok, %llu not found, %llu errors; scans "
        "%llu ok, %llu errors\n",
        static_cast<int>(kind), p, static_cast<unsigned long long>(gets.ok),
        static_cast<unsigned long long>(gets.not_found),
        static_cast<unsigned long long>(gets.errors), static_cast<unsigned long long>(scans.ok),
        static_cast<unsigned long long>(scans.errors));
    CHECK(gets.errors > 0);  // the faults were met, and reported
    CHECK(gets.ok > 0);
    // Faults off: everything is right again (no damaged block or table was
    // kept in a cache).
    fs->ClearFaults();
    CheckAllCorrect(*db, model);
  }
  const FaultCounters c = fs->GetFaultCounters();
  INFO(c.ToString());
  std::printf("table faults kind %d: %s\n", static_cast<int>(kind), c.ToString().c_str());
  std::fflush(stdout);
  if (kind != TableFault::kReadErrors) CHECK(c.bit_flips > 100);
  if (kind != TableFault::kBitFlips) CHECK(c.random_errors > 100);
  // The DB survived the faults: it still takes writes and reads them back.
  REQUIRE_OK(db->Put("after", "faults"));
  REQUIRE(*db->Get("after") == "faults");
  db.reset();
  // And a reopen finds it all.
  opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  Model with_after = model;
  with_after["after"] = "faults";
  auto all = test::ReadAll(**opened);
  REQUIRE_OK(all);
  REQUIRE(*all == with_after);
}

TEST_CASE("table read bit flips: a right value or an error, never a wrong value",
          "[db][read_fault]") {
  RunTableFaults(TableFault::kBitFlips, test::TestSeed());
}

TEST_CASE("table read errors: a right value or an error", "[db][read_fault]") {
  RunTableFaults(TableFault::kReadErrors, test::TestSeed() + 1);
}

TEST_CASE("table read bit flips and errors together", "[db][read_fault]") {
  RunTableFaults(TableFault::kBoth, test::TestSeed() + 2);
}

// ---------------------------------------------------------------------------
// Recovery under read faults.

using Files = std::map<std::string, std::string>;

// A closed DB: tables (the first writes, flushed) plus a WAL holding
// `history` (not flushed), as files.
struct ClosedDb {
  Files files;
  Model base;                          // the state held by tables
  std::vector<test::ModelOp> history;  // the WAL's writes, in order
};

ClosedDb BuildClosedDb(std::uint64_t seed) {
  ClosedDb out;
  auto fs = NewMemFileSystem();
  Options options = test::SmallOptions(fs);
  options.memtable_bytes = 1 << 20;  // the WAL part stays in the WAL
  auto opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  std::unique_ptr<DB> db = std::move(opened).value();
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 300; ++i) {
    const std::string k = KeyOf(static_cast<int>(rng() % 500));
    const std::string v = "t" + std::to_string(i);
    REQUIRE_OK(db->Put(k, v));
    out.base[k] = v;
  }
  REQUIRE_OK(db->Flush());
  for (int i = 0; i < 600; ++i) {
    test::ModelOp op;
    WriteBatch batch;
    const int entries = rng() % 4 == 0 ? 1 + static_cast<int>(rng() % 6) : 1;
    for (int e = 0; e < entries; ++e) {
      const std::string k = KeyOf(static_cast<int>(rng() % 500));
      if (rng() % 5 == 0) {
        batch.Delete(k);
        op.entries.emplace_back(k, std::nullopt);
      } else {
        const std::string v =
            "w" + std::to_string(i) + "." + std::to_string(e) + std::string(rng() % 60, 'y');
        batch.Put(k, v);
        op.entries.emplace_back(k, v);
      }
    }
    REQUIRE_OK(db->Write(WriteOptions{}, batch));
    out.history.push_back(std::move(op));
  }
  db.reset();  // no flush at close: the WAL holds `history`
  auto children = fs->GetChildren(kDir);
  REQUIRE_OK(children);
  for (const std::string& name : *children) {
    auto data = ReadFileToString(*fs, JoinPath(kDir, name));
    REQUIRE_OK(data);
    out.files[name] = *data;
  }
  return out;
}

std::shared_ptr<FaultInjectionFileSystem> FsWith(const Files& files) {
  auto base = NewMemFileSystem();
  REQUIRE_OK(base->CreateDir(kDir));
  for (const auto& [name, data] : files) {
    REQUIRE_OK(WriteStringToFile(*base, data, JoinPath(kDir, name), /*sync=*/true));
  }
  return std::make_shared<FaultInjectionFileSystem>(std::move(base));
}

struct RecoveryTally {
  int failed = 0;            // Open failed
  int complete = 0;          // everything recovered
  int truncated = 0;         // a shorter prefix recovered
  int manifest_dropped = 0;  // a damaged last MANIFEST edit dropped (reported)
};

// From "kv.stats": the unreferenced tables recovery set aside because the
// MANIFEST's last edit looked torn (0 if none).
std::uint64_t OrphanTablesKept(DB& db) {
  const std::optional<std::string> stats = db.GetProperty("kv.stats");
  REQUIRE(stats.has_value());
  const std::string marker = " manifest torn-tail bytes (";
  const std::size_t at = stats->find(marker);
  REQUIRE(at != std::string::npos);
  return std::strtoull(stats->c_str() + at + marker.size(), nullptr, 10);
}

// Every live value was written at some point (in `base` or `history`).
bool OnlyWrittenValues(const ClosedDb& db, const Model& recovered) {
  std::map<std::string, std::set<std::string>> written;
  for (const auto& [k, v] : db.base) written[k].insert(v);
  for (const test::ModelOp& op : db.history) {
    for (const auto& [k, v] : op.entries) {
      if (v) written[k].insert(*v);
    }
  }
  for (const auto& [k, v] : recovered) {
    if (written[k].count(v) == 0) return false;
  }
  return true;
}

// Opens a copy of `db` with read faults on paths containing `where`; checks
// the allowed outcomes; adds the faults injected to *faults.
void RecoverUnderFaults(const ClosedDb& db, const std::string& where, bool bit_flips, double p,
                        bool paranoid, std::uint64_t seed, RecoveryTally* tally,
                        FaultCounters* faults) {
  INFO("seed " << seed << " faults on '" << where << "' p " << p
               << (bit_flips ? " bit flips" : " read errors") << (paranoid ? " paranoid" : ""));
  auto fs = FsWith(db.files);
  fs->SetSeed(seed);
  Options options = test::SmallOptions(fs);
  options.memtable_bytes = 1 << 20;
  options.paranoid_checks = paranoid;
  if (bit_flips) {
    fs->SetReadBitFlipRate(p, where);
  } else {
    fs->SetReadErrorRate(p, where);
  }
  auto opened = DB::Open(options, kDir);
  fs->ClearFaults();
  *faults += fs->GetFaultCounters();
  if (!opened.ok()) {
    ++tally->failed;
    return;
  }
  std::unique_ptr<DB> d = std::move(opened).value();
  auto recovered = test::ReadAll(*d);
  REQUIRE_OK(recovered);
  REQUIRE(OnlyWrittenValues(db, *recovered));  // never a value that was not written
  const std::vector<std::size_t> prefixes =
      test::MatchingPrefixes(db.base, db.history, *recovered, 0);
  if (prefixes.empty()) {
    // Not a prefix: allowed only when the MANIFEST's last edit read as torn.
    // That is indistinguishable from a crash mid-append, so recovery drops
    // it, but it reports the fact and keeps the tables it named (as
    // .sst.orphan) instead of deleting them.
    REQUIRE(OrphanTablesKept(*d) > 0);
    ++tally->manifest_dropped;
  } else if (prefixes.back() == db.history.size()) {
    ++tally->complete;
  } else {
    ++tally->truncated;
  }
  // What recovery settled on is what the next Open finds (a dropped WAL
  // tail does not come back).
  d.reset();
  auto again = DB::Open(options, kDir);
  REQUIRE_OK(again);
  auto second = test::ReadAll(**again);
  REQUIRE_OK(second);
  REQUIRE(*second == *recovered);
}

TEST_CASE("recovery under read bit flips and read errors: a written prefix or an error",
          "[db][read_fault][recovery]") {
  test::Watchdog dog(180s, "recovery under read faults");
  const std::uint64_t seed = test::TestSeed();
  const ClosedDb db = BuildClosedDb(seed);
  FaultCounters faults;
  struct Variant {
    const char* where;
    bool bit_flips;
    double p;
    bool paranoid;
  };
  const Variant variants[] = {
      {".wal", true, 0.05, false},    {".wal", true, 0.3, false},
      {".wal", true, 0.05, true},     {".wal", false, 0.1, false},
      {"MANIFEST", true, 0.3, false}, {"MANIFEST", false, 0.3, false},
      {"CURRENT", true, 0.5, false},  {"", true, 0.02, false},
      {"", false, 0.02, false},       {"", true, 0.1, true},
  };
  int v = 0;
  for (const Variant& var : variants) {
    RecoveryTally tally;
    for (int trial = 0; trial < 25; ++trial) {
      RecoverUnderFaults(db, var.where, var.bit_flips, var.p, var.paranoid,
                         seed * 1000 + static_cast<std::uint64_t>(v * 100 + trial), &tally,
                         &faults);
    }
    std::printf(
        "recovery with %s on '%s' p=%.2f%s: %d failed, %d complete, %d truncated, %d "
        "manifest edit dropped (of 25)\n",
        var.bit_flips ? "bit flips" : "read errors", var.where, var.p,
        var.paranoid ? " paranoid" : "", tally.failed, tally.complete, tally.truncated,
        tally.manifest_dropped);
    ++v;
  }
  std::printf("recovery read faults: %s\n", faults.ToString().c_str());
  std::fflush(stdout);
  CHECK(faults.bit_flips > 0);
  CHECK(faults.random_errors > 0);
}

// Regression: a read error (EIO) while replaying the WAL was treated like
// media corruption. Without paranoid_checks, recovery kept the prefix before
// it, renamed the WAL to .wal.dropped and flushed: acknowledged writes intact
// on disk were lost for good because of one transient read error. Open now
// fails with the I/O error (nothing dropped), as it does for the MANIFEST.
TEST_CASE("a read error during WAL replay fails Open instead of dropping writes",
          "[db][read_fault][recovery]") {
  const ClosedDb db = BuildClosedDb(test::TestSeed());
  int dropped = 0;
  for (std::uint64_t trial = 0; trial < 20; ++trial) {
    auto fs = FsWith(db.files);
    fs->SetSeed(trial);
    Options options = test::SmallOptions(fs);
    options.memtable_bytes = 1 << 20;
    fs->SetReadErrorRate(0.2, ".wal");
    auto opened = DB::Open(options, kDir);
    fs->ClearFaults();
    if (!opened.ok()) continue;  // the right outcome
    auto recovered = test::ReadAll(**opened);
    REQUIRE_OK(recovered);
    const auto prefixes = test::MatchingPrefixes(db.base, db.history, *recovered, 0);
    REQUIRE_FALSE(prefixes.empty());
    if (prefixes.back() != db.history.size()) ++dropped;
  }
  CHECK(dropped == 0);
}

}  // namespace
}  // namespace kv
