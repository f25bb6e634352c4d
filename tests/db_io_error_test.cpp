// I/O error tests: one injected failure at each place the DB writes (WAL
// append and sync, table write and sync in a flush, manifest append and
// sync, directory sync, the CURRENT rename, compaction output, a new WAL
// file) must
//  - surface as an error from the failing call or from later writes,
//  - make the DB refuse every later write with that same error (sticky),
//    even though the file system works again, and wake writers that wait,
//  - leave reads working, with every acknowledged write readable,
//  - lose nothing acknowledged: after reopen (faults cleared) the DB holds
//    exactly the acknowledged writes (the one write that failed may or may
//    not be there; writes refused by the sticky error are not).
// A Watchdog turns any hang into an abort.
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "fault_test_util.hpp"
#include "kv/db.hpp"
#include "kv/fault_injection_fs.hpp"
#include "kv/mutex.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

using namespace std::chrono_literals;

const std::string kDir = "/db";

// A DB on the fault FS plus the model of what was acknowledged.
class Harness {
 public:
  explicit Harness(Options options = test::SmallOptions(nullptr)) : fs_(test::NewFaultFs()) {
    options.file_system = fs_;
    options_ = options;
    Open();
  }
  ~Harness() {
    // Close with a healthy FS, so nothing is left half-open.
    fs_->ClearFaults();
    db_.reset();
  }

  FaultInjectionFileSystem& fs() { return *fs_; }
  DB& db() { return *db_; }
  const Options& options() const { return options_; }

  void Open() {
    auto db = DB::Open(options_, kDir);
    REQUIRE_OK(db);
    db_ = std::move(db).value();
  }
  void Close() { db_.reset(); }

  std::string NextKey() { return absl::StrFormat("k%07d", next_++); }

  // A put of a fresh key; tracked as acknowledged or as the uncertain one.
  absl::Status Put(bool sync = false) {
    const std::string key = NextKey();
    const std::string value = key + std::string(100, 'v');
    absl::Status s = db_->Put(WriteOptions{.sync = sync}, key, value);
    Record(s, key, value);
    return s;
  }
  absl::Status DeleteSomeKey() {
    if (model_.empty()) return absl::OkStatus();
    const std::string key = model_.begin()->first;
    absl::Status s = db_->Delete(key);
    if (s.ok()) model_.erase(key);
    return s;
  }
  void Record(const absl::Status& s, const std::string& key, const std::string& value) {
    kv::MutexLock l(&mu_);
    if (s.ok()) {
      model_[key] = value;
    } else if (!saw_error_) {
      uncertain_[key] = value;  // the write that met the fault
    } else {
      refused_.insert(key);  // refused by the sticky error: must never appear
    }
    if (!s.ok()) saw_error_ = true;
  }

  // Fills the DB with acknowledged data in the memtable and in tables.
  void Populate(int n = 400) {
    for (int i = 0; i < n; ++i) {
      REQUIRE_OK(Put(i % 50 == 0));
      if (i % 10 == 0) REQUIRE_OK(DeleteSomeKey());
    }
    REQUIRE_OK(db_->Flush());
    for (int i = 0; i < 60; ++i) REQUIRE_OK(Put());
  }

  // Puts (a Flush every `flush_every`) until one fails; returns its error.
  absl::Status WriteUntilError(int max_writes, bool sync, int flush_every) {
    for (int i = 1; i <= max_writes; ++i) {
      absl::Status s = Put(sync);
      if (!s.ok()) return s;
      if (flush_every > 0 && i % flush_every == 0) {
        s = db_->Flush();
        if (!s.ok()) {
          kv::MutexLock l(&mu_);
          saw_error_ = true;
          return s;
        }
      }
    }
    return absl::OkStatus();
  }

  // Every later write fails with `error`, whatever its kind.
  void ExpectSticky(const absl::Status& error) {
    INFO("first error: " << error.ToString());
    REQUIRE(!error.ok());
    for (int i = 0; i < 3; ++i) {
      absl::Status s = Put(i == 1);
      INFO(s.ToString());
      REQUIRE(!s.ok());
      REQUIRE(s.code() == error.code());
    }
    WriteBatch batch;
    batch.Put(NextKey(), "batch");
    absl::Status s = db_->Write(WriteOptions{}, batch);
    REQUIRE(s.code() == error.code());
    {
      kv::MutexLock l(&mu_);
      refused_.insert(NextKey());  // never written: keeps numbering honest
    }
    REQUIRE(db_->Delete("k0000000").code() == error.code());
    REQUIRE(!db_->Flush().ok());
    REQUIRE(!db_->CompactRange(std::nullopt, std::nullopt).ok());
  }

  // The DB (open) shows exactly the model, give or take the uncertain write.
  void ExpectModel() {
    auto all = test::ReadAll(*db_);
    REQUIRE_OK(all);
    for (const auto& [k, v] : model_) {
      INFO("acknowledged key " << k);
      auto it = all->find(k);
      REQUIRE(it != all->end());
      REQUIRE(it->second == v);
      auto got = db_->Get(k);
      REQUIRE_OK(got);
      REQUIRE(*got == v);
    }
    for (const auto& [k, v] : *all) {
      if (model_.count(k) != 0) continue;
      INFO("unexpected key " << k);
      REQUIRE(refused_.count(k) == 0);
      auto u = uncertain_.find(k);
      REQUIRE(u != uncertain_.end());
      REQUIRE(u->second == v);
    }
  }

  // Close, clear faults, reopen: all acknowledged writes are there and the
  // DB takes writes again.
  void ReopenAndCheck() {
    Close();
    fs_->ClearFaults();
    Open();
    ExpectModel();
    {
      kv::MutexLock l(&mu_);
      saw_error_ = false;
      // What is there now is the new truth.
      for (const auto& [k, v] : uncertain_) {
        if (db_->Get(k).ok()) model_[k] = v;
      }
      uncertain_.clear();
    }
    REQUIRE_OK(Put(true));
    REQUIRE_OK(db_->Flush());
    ExpectModel();
  }

  // Every acknowledged write is readable (other keys are not checked).
  void ExpectAcknowledged() {
    auto all = test::ReadAll(*db_);
    REQUIRE_OK(all);
    for (const auto& [k, v] : model_) {
      INFO("acknowledged key " << k);
      auto it = all->find(k);
      REQUIRE(it != all->end());
      REQUIRE(it->second == v);
    }
  }

 private:
  std::shared_ptr<FaultInjectionFileSystem> fs_;
  Options options_;
  std::unique_ptr<DB> db_;
  int next_ = 0;
  kv::Mutex mu_;  // Record may run on several threads
  std::map<std::string, std::string> model_;
  std::map<std::string, std::string> uncertain_;
  std::set<std::string> refused_;
  bool saw_error_ = false;
};

// One injected fault (an always-failing rule, cleared as soon as the DB
// reports an error so stickiness is tested on a healthy FS).
struct FaultCase {
  const char* name;
  FaultOp op;
  const char* path;  // substring of the failing file's path
  bool sync_writes;  // the workload uses sync writes
  int flush_every;   // the workload calls Flush every N writes (0: never)
};

TEST_CASE("io error: a failure at each write point is reported, sticky, and loses nothing",
          "[db][io_error]") {
  const FaultCase cases[] = {
      {"WAL append", FaultOp::kAppend, ".wal", false, 0},
      {"WAL sync", FaultOp::kSync, ".wal", true, 0},
      {"table append (flush)", FaultOp::kAppend, ".sst", false, 50},
      {"table sync (flush)", FaultOp::kSync, ".sst", false, 50},
      {"table create (flush)", FaultOp::kNewWritable, ".sst", false, 50},
      {"manifest append", FaultOp::kAppend, "MANIFEST", false, 50},
      {"manifest sync", FaultOp::kSync, "MANIFEST", false, 50},
      {"dir sync (flush)", FaultOp::kSyncDir, "", false, 50},
      {"dir sync (first sync write to a new WAL)", FaultOp::kSyncDir, "", true, 0},
      {"new WAL at memtable switch", FaultOp::kNewWritable, ".wal", false, 0},
      {"WAL close at memtable switch", FaultOp::kClose, ".wal", false, 0},
  };
  for (const FaultCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      test::Watchdog dog(60s, c.name);
      Harness h;
      h.Populate();
      if (std::string(c.name).find("first sync write") != std::string::npos) {
        // A fresh WAL whose name was never dir-synced.
        h.Close();
        h.Open();
      }
      const std::uint64_t before = h.fs().Count(c.op);
      h.fs().FailAlways(c.op, EIO, c.path);
      absl::Status error = h.WriteUntilError(3000, c.sync_writes, c.flush_every);
      h.fs().ClearFaults();
      INFO("calls of the op: " << h.fs().Count(c.op) - before);
      if (c.op == FaultOp::kClose && error.ok()) {
        // Close errors may legitimately be ignored if the data was synced;
        // nothing else to check then.
        h.ExpectModel();
        h.ReopenAndCheck();
        continue;
      }
      REQUIRE(!error.ok());
      h.ExpectSticky(error);
      h.ExpectModel();  // reads still work
      h.ReopenAndCheck();
    }
  }
}

// A one-shot failure of the n-th call of an op (wherever it lands: WAL,
// table, manifest, info log) never loses acknowledged data.
TEST_CASE("io error: FailNth anywhere loses nothing acknowledged", "[db][io_error]") {
  const FaultOp ops[] = {FaultOp::kAppend, FaultOp::kSync, FaultOp::kSyncDir, FaultOp::kNewWritable,
                         FaultOp::kRemove};
  for (FaultOp op : ops) {
    for (int n : {1, 2, 3, 5, 8, 13, 21, 40}) {
      INFO(FaultOpName(op) << " #" << n);
      test::Watchdog dog(60s, "FailNth");
      Harness h;
      h.Populate(100);
      h.fs().FailNth(op, n, EIO);
      absl::Status error = h.WriteUntilError(600, /*sync=*/n % 2 == 0, /*flush_every=*/40);
      if (!error.ok()) {
        h.ExpectSticky(error);
      }
      h.ExpectModel();
      h.ReopenAndCheck();
    }
  }
}

TEST_CASE("io error: CURRENT rename failing during Open", "[db][io_error]") {
  test::Watchdog dog(60s, "rename");
  Harness h;
  h.Populate();
  h.Close();
  h.fs().FailAlways(FaultOp::kRename, EIO, "CURRENT");
  auto failed = DB::Open(h.options(), kDir);
  REQUIRE(!failed.ok());
  INFO(failed.status().ToString());
  h.fs().ClearFaults();
  h.Open();
  h.ExpectModel();
  // And a crash (power loss) right after the failed Open loses nothing.
  h.Close();
  h.fs().FailAlways(FaultOp::kRename, EIO, "CURRENT");
  REQUIRE(!DB::Open(h.options(), kDir).ok());
  h.fs().ClearFaults();
  REQUIRE_OK(h.fs().SimulatePowerLoss());
  h.Open();
  h.ExpectModel();
}

TEST_CASE("io error: each failing call of Open leaves a DB that opens later", "[db][io_error]") {
  const FaultOp ops[] = {FaultOp::kAppend,   FaultOp::kSync,        FaultOp::kSyncDir,
                         FaultOp::kRename,   FaultOp::kNewWritable, FaultOp::kRead,
                         FaultOp::kOpenRead, FaultOp::kTruncate,    FaultOp::kRemove};
  test::Watchdog dog(120s, "open faults");
  Harness h;
  h.Populate();
  // Leave unflushed data in the WAL so Open has a replay + flush to do.
  for (int i = 0; i < 40; ++i) REQUIRE_OK(h.Put());
  h.Close();
  for (FaultOp op : ops) {
    for (int n = 1; n <= 6; ++n) {
      INFO(FaultOpName(op) << " #" << n);
      h.fs().FailNth(op, n, EIO);
      {
        auto db = DB::Open(h.options(), kDir);
        h.fs().ClearFaults();
      }  // closes whatever opened
      h.Open();
      h.ExpectModel();
      h.Close();
    }
  }
}

TEST_CASE("io error: compaction output failure", "[db][io_error]") {
  test::Watchdog dog(60s, "compaction");
  Options o = test::SmallOptions(nullptr);
  o.level0_compaction_trigger = 8;  // only the manual compaction below runs
  Harness h(o);
  h.Populate();
  for (int t = 0; t < 3; ++t) {
    for (int i = 0; i < 50; ++i) REQUIRE_OK(h.Put());
    REQUIRE_OK(h.db().Flush());
  }
  h.fs().FailAlways(FaultOp::kAppend, EIO, ".sst");
  absl::Status error = h.db().CompactRange(std::nullopt, std::nullopt);
  h.fs().ClearFaults();
  REQUIRE(!error.ok());
  h.ExpectSticky(error);
  h.ExpectModel();
  h.ReopenAndCheck();
  REQUIRE_OK(h.db().CompactRange(std::nullopt, std::nullopt));
  h.ExpectModel();
}

std::set<std::string> TableFiles(FileSystem& fs) {
  std::set<std::string> out;
  auto children = fs.GetChildren(kDir);
  REQUIRE_OK(children);
  for (const std::string& name : *children) {
    if (name.size() > 4 && name.substr(name.size() - 4) == ".sst") out.insert(name);
  }
  return out;
}

TEST_CASE("io error: ENOSPC during compaction", "[db][io_error]") {
  test::Watchdog dog(60s, "ENOSPC");
  Options o = test::SmallOptions(nullptr);
  // No background compactions: only CompactRange compacts. Flush() does not
  // wait for a running compaction (it flushes between two of its keys), so
  // one could end after `inputs` below is taken and delete some of them,
  // as it should.
  o.level0_compaction_trigger = o.level0_slowdown_trigger = o.level0_stop_trigger = 1000;
  o.level1_target_bytes = std::uint64_t{1} << 40;
  Harness h(o);
  h.Populate();
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 60; ++i) REQUIRE_OK(h.Put());
    REQUIRE_OK(h.db().Flush());
  }
  const std::set<std::string> inputs = TableFiles(h.fs());
  REQUIRE(inputs.size() >= 4);
  h.fs().FailAlways(FaultOp::kAppend, ENOSPC, ".sst");
  absl::Status error = h.db().CompactRange(std::nullopt, std::nullopt);
  INFO(error.ToString());
  REQUIRE(!error.ok());
  // The disk stays full: writes fail, reads work, no input is gone.
  for (int i = 0; i < 5; ++i) {
    absl::Status s = h.Put();
    REQUIRE(!s.ok());
    REQUIRE(s.code() == error.code());
  }
  h.ExpectModel();
  const std::set<std::string> after = TableFiles(h.fs());
  for (const std::string& f : inputs) {
    INFO("input " << f);
    REQUIRE(after.count(f) == 1);
  }
  // Still full at Close and at a reopen attempt: Open may fail (it writes a
  // table only if the WAL holds data) but must not destroy anything.
  h.Close();
  {
    auto db = DB::Open(h.options(), kDir);
    if (db.ok()) {
      auto all = test::ReadAll(**db);
      REQUIRE_OK(all);
    }
  }
  for (const std::string& f : inputs) REQUIRE(TableFiles(h.fs()).count(f) == 1);
  // Space freed: everything is back and the DB works.
  h.fs().ClearFaults();
  h.Open();
  h.ExpectModel();
  h.ReopenAndCheck();
  REQUIRE_OK(h.db().CompactRange(std::nullopt, std::nullopt));
  h.ExpectModel();
}

// Writers blocked behind a failing flush (memtable full, flush failing) and
// writers queued behind a failing WAL write all return, with the error.
TEST_CASE("io error: concurrent writers are woken with the error", "[db][io_error]") {
  struct Case {
    const char* name;
    FaultOp op;
    const char* path;
  };
  const Case cases[] = {{"flush", FaultOp::kAppend, ".sst"},
                        {"WAL append", FaultOp::kAppend, ".wal"},
                        {"WAL sync", FaultOp::kSync, ".wal"}};
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      test::Watchdog dog(60s, c.name);
      Harness h;
      h.Populate(100);
      constexpr int kThreads = 4;
      std::atomic<int> started{0};
      std::vector<absl::Status> errors(kThreads);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          ++started;
          for (int i = 0; i < 20000; ++i) {
            const std::string key = absl::StrFormat("t%d-%06d", t, i);
            const std::string value = key + std::string(200, 'w');
            absl::Status s = h.db().Put(WriteOptions{.sync = i % 8 == 0}, key, value);
            h.Record(s, key, value);
            if (!s.ok()) {
              errors[static_cast<std::size_t>(t)] = s;
              return;
            }
          }
        });
      }
      while (started.load() < kThreads) std::this_thread::yield();
      std::this_thread::sleep_for(5ms);
      h.fs().FailAlways(c.op, EIO, c.path);
      for (auto& th : threads) th.join();
      h.fs().ClearFaults();
      for (const absl::Status& e : errors) {
        INFO(e.ToString());
        REQUIRE(!e.ok());
        REQUIRE(e.code() == errors[0].code());
      }
      h.ExpectSticky(errors[0]);
      h.Close();
      h.fs().ClearFaults();
      h.Open();
      // Several writes of one group can meet the fault together, so only
      // the acknowledged ones are checked here.
      h.ExpectAcknowledged();
    }
  }
}

// Read errors: a failing read returns an error, never a wrong value.
TEST_CASE("io error: failing reads give errors, not wrong data", "[db][io_error]") {
  Options o = test::SmallOptions(nullptr);
  o.block_cache_bytes = 0;
  Harness h(o);
  h.Populate();
  REQUIRE_OK(h.db().Flush());
  const auto all = test::ReadAll(h.db());
  REQUIRE_OK(all);
  int errors = 0;
  for (int n = 1; n <= 30; ++n) {
    h.fs().FailNth(FaultOp::kRead, n, EIO);
    std::string value;
    int i = 0;
    for (const auto& [k, v] : *all) {
      if (i++ % 7 != 0) continue;
      absl::Status s = h.db().Get(ReadOptions{.fill_cache = false}, k, &value);
      if (s.ok()) {
        REQUIRE(value == v);
      } else {
        REQUIRE(!absl::IsNotFound(s));
        ++errors;
      }
    }
    h.fs().ClearFaults();
    h.fs().FailNth(FaultOp::kRead, n, EIO);
    // A scan may stop early or skip what it could not read (reporting it
    // in status()), but every pair it yields is a written one, in order.
    std::unique_ptr<Iterator> it = h.db().NewIterator(ReadOptions{.fill_cache = false});
    std::string previous;
    std::size_t seen = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++seen) {
      const std::string key(it->key());
      if (seen > 0) REQUIRE(previous < key);
      auto expected = all->find(key);
      REQUIRE(expected != all->end());
      REQUIRE(it->value() == expected->second);
      previous = key;
    }
    if (it->status().ok()) {
      REQUIRE(seen == all->size());
    } else {
      ++errors;
    }
    h.fs().ClearFaults();
  }
  REQUIRE(errors > 0);
  h.ExpectModel();
}

// Regression (found by this suite): a read error in one source of the
// merged DB iterator made that source drop out while the others went on, so
// a scan yielded an OLDER version of a key (or a key deleted in the failing
// table) as if it were current. The iterator now stops with the error.
TEST_CASE("io error: a failing newer table must not expose older versions", "[db][io_error]") {
  Options o = test::SmallOptions(nullptr);
  o.level0_compaction_trigger = 8;
  o.block_cache_bytes = 0;
  Harness h(o);
  REQUIRE_OK(h.db().Put("a", "old"));
  REQUIRE_OK(h.db().Put("c", "deleted-later"));
  REQUIRE_OK(h.db().CompactRange(std::nullopt, std::nullopt));  // a, c in the last level
  const std::set<std::string> old_tables = TableFiles(h.fs());
  REQUIRE_OK(h.db().Put("a", "new"));
  REQUIRE_OK(h.db().Delete("c"));
  REQUIRE_OK(h.db().Flush());  // newer a and the tombstone of c in an L0 table
  std::string l0;
  for (const std::string& f : TableFiles(h.fs())) {
    if (old_tables.count(f) == 0) l0 = f;
  }
  REQUIRE(!l0.empty());
  h.fs().FailAlways(FaultOp::kRead, EIO, l0);
  h.fs().FailAlways(FaultOp::kOpenRead, EIO, l0);

  std::string value;
  absl::Status s = h.db().Get(ReadOptions{.fill_cache = false}, "a", &value);
  INFO("Get(a): " << s.ToString() << " value " << value);
  CHECK((!s.ok() || value == "new"));
  s = h.db().Get(ReadOptions{.fill_cache = false}, "c", &value);
  INFO("Get(c): " << s.ToString());
  CHECK((!s.ok() && !absl::IsNotFound(s)) == true);

  std::unique_ptr<Iterator> it = h.db().NewIterator(ReadOptions{.fill_cache = false});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    INFO("iterator yields " << it->key() << " = " << it->value() << " (status "
                            << it->status().ToString() << ")");
    CHECK(it->key() == "a");
    CHECK(it->value() == "new");
  }
  CHECK(!it->status().ok());
  h.fs().ClearFaults();
}

}  // namespace
}  // namespace kv
