// A crash at every step of a flush: for each file-system operation a flush
// performs (creating the table, appending, syncing, closing, the directory
// sync, the manifest append and sync, the new WAL, removing the old WAL...),
// make that operation fail as if the machine died right then, lose power,
// reopen, and check that every acknowledged write is there.
#include <cerrno>
#include <map>
#include <string>

#include "kv/db.hpp"
#include "kv/fault_injection_fs.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

constexpr int kKeys = 300;

std::string Key(int i) { return "key" + std::to_string(i); }
std::string Value(int i) { return std::string(40 + i % 7, static_cast<char>('a' + i % 26)); }

Options FlushOptions(std::shared_ptr<FileSystem> fs) {
  Options options{.memtable_bytes = 1 << 20};
  options.file_system = std::move(fs);
  return options;
}

// Writes the keys (the last write synced, which makes the whole WAL durable).
void Load(DB& db) {
  for (int i = 0; i < kKeys; ++i) {
    REQUIRE_OK(db.Put(WriteOptions{.sync = i + 1 == kKeys}, Key(i), Value(i)));
  }
}

// Runs `step` on a DB prepared by `prepare` with the nth `op` failing (the
// moment the machine dies), then loses power and returns the file system to
// reopen from.
template <typename Prepare, typename Step>
std::shared_ptr<FaultInjectionFileSystem> CrashDuring(FaultOp op, std::uint64_t n, Prepare prepare,
                                                      Step step) {
  auto fs = std::make_shared<FaultInjectionFileSystem>(NewMemFileSystem());
  {
    std::unique_ptr<DB> db = prepare(fs);
    fs->FailNth(op, static_cast<int>(n), EIO);
    step(*db);  // fails at the crash point (or later steps are skipped)
    // Nothing more reaches the disk, and the DB object goes.
    fs->SetActive(false);
  }
  REQUIRE_OK(fs->SimulatePowerLoss());
  fs->SetActive(true);
  fs->ClearFaults();
  return fs;
}

// The operations (all but reads) a step performs, by kind.
template <typename Prepare, typename Step>
std::map<FaultOp, std::uint64_t> CountOps(Prepare prepare, Step step) {
  auto fs = std::make_shared<FaultInjectionFileSystem>(NewMemFileSystem());
  std::unique_ptr<DB> db = prepare(fs);
  fs->ResetCounts();
  step(*db);
  std::map<FaultOp, std::uint64_t> ops;
  for (int op = 0; op < kNumFaultOps; ++op) {
    const auto kind = static_cast<FaultOp>(op);
    if (kind == FaultOp::kRead || kind == FaultOp::kOpenRead) continue;
    if (fs->Count(kind) > 0) ops[kind] = fs->Count(kind);
  }
  return ops;
}

void ExpectAll(DB& db) {
  for (int i = 0; i < kKeys; ++i) {
    auto v = db.Get(Key(i));
    INFO(Key(i));
    REQUIRE_OK(v);
    REQUIRE(*v == Value(i));
  }
}

TEST_CASE("flush: a crash at every file-system step loses no acknowledged write",
          "[db][flush][crash]") {
  auto prepare = [](const std::shared_ptr<FaultInjectionFileSystem>& fs) {
    auto db = std::move(DB::Open(FlushOptions(fs), "/db")).value();
    Load(*db);
    return db;
  };
  auto flush = [](DB& db) { (void)db.Flush(); };
  const auto ops_in_flush = CountOps(prepare, flush);
  REQUIRE(ops_in_flush.count(FaultOp::kSync) > 0);
  REQUIRE(ops_in_flush.count(FaultOp::kAppend) > 0);
  REQUIRE(ops_in_flush.count(FaultOp::kNewWritable) > 0);

  int crash_points = 0;
  for (const auto& [op, count] : ops_in_flush) {
    for (std::uint64_t n = 1; n <= count; ++n) {
      INFO("crash at " << FaultOpName(op) << " #" << n << " of the flush");
      auto fs = CrashDuring(op, n, prepare, flush);
      {
        auto db = DB::Open(FlushOptions(fs), "/db");
        REQUIRE_OK(db);
        ExpectAll(**db);
        // And the recovered DB keeps working: write, flush, reopen.
        REQUIRE_OK((*db)->Put(WriteOptions{.sync = true}, "after", "crash"));
        REQUIRE_OK((*db)->Flush());
      }
      auto db = DB::Open(FlushOptions(fs), "/db");
      REQUIRE_OK(db);
      ExpectAll(**db);
      REQUIRE((*db)->Get("after").value() == "crash");
      ++crash_points;
    }
  }
  INFO("crash points tested: " << crash_points);
  REQUIRE(crash_points >= 6);
}

TEST_CASE("compaction: a crash at every file-system step loses no acknowledged write",
          "[db][compaction][crash]") {
  // Two overlapping L0 tables, then a CompactRange that merges them.
  auto prepare = [](const std::shared_ptr<FaultInjectionFileSystem>& fs) {
    auto db = std::move(DB::Open(FlushOptions(fs), "/db")).value();
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < kKeys; i += 1 + round) {
        REQUIRE_OK(db->Put(WriteOptions{.sync = i + 2 >= kKeys}, Key(i), Value(i)));
      }
      REQUIRE_OK(db->Flush());
    }
    return db;
  };
  auto compact = [](DB& db) { (void)db.CompactRange(std::nullopt, std::nullopt); };
  int crash_points = 0;
  for (const auto& [op, count] : CountOps(prepare, compact)) {
    for (std::uint64_t n = 1; n <= count; ++n) {
      INFO("crash at " << FaultOpName(op) << " #" << n << " of the compaction");
      auto fs = CrashDuring(op, n, prepare, compact);
      auto db = DB::Open(FlushOptions(fs), "/db");
      REQUIRE_OK(db);
      ExpectAll(**db);
      ++crash_points;
    }
  }
  INFO("crash points tested: " << crash_points);
  REQUIRE(crash_points >= 4);
}

}  // namespace
}  // namespace kv
