// Corruption tests: a small closed DB (tables, one WAL with unflushed
// writes, MANIFEST, CURRENT) on the in-memory FS is damaged on disk (a
// flipped byte, a zeroed range, a truncation, at many positions of each
// file type), then opened (default and paranoid_checks) and read in full.
// Allowed outcomes:
//  - Open fails with kDataLoss or kInvalidArgument whose message names the
//    damaged file;
//  - Open succeeds and
//     * WAL damage: the DB holds the table data plus a prefix (in commit
//       order, whole batches) of the WAL's writes;
//     * other damage: every read either returns exactly the written data
//       or fails with kDataLoss naming the damaged file (an iterator may
//       stop early with that status but never yields a wrong pair).
// Never a crash, a hang (Watchdog) or a wrong value. A torn tail of the
// newest WAL (truncation anywhere in its last record) is always tolerated:
// Open succeeds, every earlier record is there.
#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fault_test_util.hpp"
#include "kv/db.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

using namespace std::chrono_literals;

const std::string kDir = "/db";

using Files = std::map<std::string, std::string>;  // name -> contents

struct Fixture {
  std::shared_ptr<FileSystem> fs = NewMemFileSystem();
  Files pristine;                             // the closed DB's files
  std::map<std::string, std::string> tables;  // the state held by tables
  std::vector<test::ModelOp> wal_ops;         // the writes only in the WAL
  std::map<std::string, std::string> full;    // tables + every WAL write
  std::string wal_name;
  std::uint64_t last_record_begin = 0;  // WAL size before the last write
  std::uint64_t last_record_end = 0;
  std::uint64_t manifest_last_edit_begin = 0;  // MANIFEST size before its last record
};

Options BaseOptions(std::shared_ptr<FileSystem> fs) {
  Options o = test::SmallOptions(std::move(fs));
  o.level0_compaction_trigger = 8;  // compactions only where the test asks
  o.memtable_bytes = 1 << 20;       // the WAL part stays in the WAL
  return o;
}

Files Snapshot(FileSystem& fs) {
  Files files;
  auto children = fs.GetChildren(kDir);
  REQUIRE_OK(children);
  for (const std::string& name : *children) {
    auto contents = ReadFileToString(fs, JoinPath(kDir, name));
    REQUIRE_OK(contents);
    files[name] = *contents;
  }
  return files;
}

void Restore(FileSystem& fs, const Files& files) {
  auto children = fs.GetChildren(kDir);
  REQUIRE_OK(children);
  for (const std::string& name : *children) REQUIRE_OK(fs.RemoveFile(JoinPath(kDir, name)));
  for (const auto& [name, contents] : files) {
    REQUIRE_OK(WriteStringToFile(fs, contents, JoinPath(kDir, name), /*sync=*/false));
  }
}

std::uint64_t FileSize(FileSystem& fs, const std::string& name) {
  auto size = fs.GetFileSize(JoinPath(kDir, name));
  REQUIRE_OK(size);
  return *size;
}

void Apply(std::map<std::string, std::string>* state, const test::ModelOp& op) {
  for (const auto& [k, v] : op.entries) {
    if (v) {
      (*state)[k] = *v;
    } else {
      state->erase(k);
    }
  }
}

Fixture BuildFixture() {
  Fixture f;
  const Options options = BaseOptions(f.fs);
  auto opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  std::unique_ptr<DB> db = std::move(opened).value();
  // Tables: three rounds of distinct keys; the first two compacted to the
  // last level, the third an L0 table. No key has versions in two tables.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 60; ++i) {
      const std::string k = absl::StrCat("t", round, "-", i);
      const std::string v = absl::StrCat("value-", round, "-", i, std::string(i % 40, 'x'));
      REQUIRE_OK(db->Put(k, v));
      f.tables[k] = v;
    }
    if (round == 2) {
      auto names = f.fs->GetChildren(kDir);
      REQUIRE_OK(names);
      for (const std::string& name : *names) {
        if (absl::StartsWith(name, "MANIFEST-")) {
          f.manifest_last_edit_begin = FileSize(*f.fs, name);
        }
      }
    }
    REQUIRE_OK(db->Flush());
    if (round == 1) REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  }
  // The WAL: puts, deletes (of table keys and WAL keys) and batches.
  auto children = f.fs->GetChildren(kDir);
  REQUIRE_OK(children);
  for (const std::string& name : *children) {
    if (absl::EndsWith(name, ".wal")) f.wal_name = name;  // the only live one
  }
  REQUIRE(!f.wal_name.empty());
  std::mt19937_64 rng(test::TestSeed());
  for (int n = 0; n < 30; ++n) {
    test::ModelOp op;
    WriteBatch batch;
    const int entries = n % 3 == 0 ? 1 + static_cast<int>(rng() % 5) : 1;
    for (int e = 0; e < entries; ++e) {
      if (rng() % 4 == 0) {
        const std::string k = rng() % 2 ? absl::StrCat("t", rng() % 3, "-", rng() % 60)
                                        : absl::StrCat("w", rng() % 20);
        op.entries.emplace_back(k, std::nullopt);
        batch.Delete(k);
      } else {
        const std::string k = absl::StrCat("w", rng() % 20);
        const std::string v = absl::StrCat("wal-", n, "-", e, std::string(rng() % 30, 'y'));
        op.entries.emplace_back(k, v);
        batch.Put(k, v);
      }
    }
    if (n == 29) f.last_record_begin = FileSize(*f.fs, f.wal_name);
    REQUIRE_OK(db->Write(WriteOptions{.sync = n % 10 == 0}, batch));
    f.wal_ops.push_back(std::move(op));
  }
  f.last_record_end = FileSize(*f.fs, f.wal_name);
  db.reset();
  f.full = f.tables;
  for (const auto& op : f.wal_ops) Apply(&f.full, op);
  f.pristine = Snapshot(*f.fs);
  REQUIRE(FileSize(*f.fs, f.wal_name) == f.last_record_end);  // Close wrote nothing more
  return f;
}

enum class Damage { kFlip, kZero, kTruncate };

std::string Describe(Damage d, std::uint64_t pos) {
  const char* names[] = {"flip byte at", "zero 16 bytes at", "truncate at"};
  return absl::StrCat(names[static_cast<int>(d)], " ", pos);
}

std::string Damaged(const std::string& contents, Damage d, std::uint64_t pos) {
  std::string out = contents;
  switch (d) {
    case Damage::kFlip:
      out[pos] = static_cast<char>(out[pos] ^ 0x5a);
      break;
    case Damage::kZero:
      for (std::uint64_t i = pos; i < std::min<std::uint64_t>(pos + 16, out.size()); ++i) {
        out[i] = '\0';
      }
      break;
    case Damage::kTruncate:
      out.resize(pos);
      break;
  }
  return out;
}

// About `count` positions spread over [0, size), plus the edges.
std::vector<std::uint64_t> Positions(std::uint64_t size, int count) {
  std::vector<std::uint64_t> out;
  if (size == 0) return out;
  for (int i = 0; i < count; ++i) out.push_back(size * static_cast<std::uint64_t>(i) / count);
  for (std::uint64_t p : {std::uint64_t{1}, size / 2 + 1, size - 1, size > 8 ? size - 8 : 0}) {
    if (p < size) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A failure must be kDataLoss / kInvalidArgument naming the damaged file.
void CheckReportedError(const absl::Status& s, const std::string& file) {
  INFO(s.ToString());
  REQUIRE((absl::IsDataLoss(s) || absl::IsInvalidArgument(s)));
  REQUIRE(absl::StrContains(s.message(), file));
}

// Reads everything from an opened DB whose file `file` (not a WAL) was
// damaged: exact data, or kDataLoss naming the file; never a wrong pair.
// `allow_missing`: keys may be missing (not wrong) without an error.
void CheckReadsAfterTableLevelDamage(DB& db, const Fixture& f, const std::string& file,
                                     bool allow_missing) {
  std::unique_ptr<Iterator> it = db.NewIterator();
  std::size_t seen = 0;
  std::string previous;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++seen) {
    const std::string key(it->key());
    INFO("iterator yields " << key);
    if (seen > 0) REQUIRE(previous < key);
    auto expected = f.full.find(key);
    REQUIRE(expected != f.full.end());
    REQUIRE(it->value() == expected->second);
    previous = key;
  }
  if (it->status().ok()) {
    if (!allow_missing) REQUIRE(seen == f.full.size());
  } else {
    CheckReportedError(it->status(), file);
  }
  it.reset();
  // Point lookups of every key ever written (present or not).
  std::string value;
  for (const auto& [k, v] : f.tables) {
    (void)v;
    absl::Status s = db.Get(ReadOptions{}, k, &value);
    INFO("Get " << k);
    auto expected = f.full.find(k);
    if (s.ok()) {
      REQUIRE(expected != f.full.end());
      REQUIRE(value == expected->second);
    } else if (absl::IsNotFound(s)) {
      if (!allow_missing) REQUIRE(expected == f.full.end());
    } else {
      CheckReportedError(s, file);
    }
  }
}

// The recovered DB equals the tables plus a prefix of the WAL writes.
void CheckWalPrefix(DB& db, const Fixture& f, std::size_t min_prefix) {
  auto all = test::ReadAll(db);
  REQUIRE_OK(all);
  const auto prefixes = test::MatchingPrefixes(f.tables, f.wal_ops, *all, min_prefix);
  INFO("recovered keys " << all->size());
  REQUIRE(!prefixes.empty());
}

enum class Kind { kWal, kTable, kManifest, kCurrent };

void RunDamageMatrix(Kind kind, int positions) {
  test::Watchdog dog(300s, "corruption matrix");
  Fixture f = BuildFixture();
  std::vector<std::string> targets;
  for (const auto& [name, contents] : f.pristine) {
    (void)contents;
    const bool match = (kind == Kind::kWal && absl::EndsWith(name, ".wal")) ||
                       (kind == Kind::kTable && absl::EndsWith(name, ".sst")) ||
                       (kind == Kind::kManifest && absl::StartsWith(name, "MANIFEST-")) ||
                       (kind == Kind::kCurrent && name == "CURRENT");
    if (match) targets.push_back(name);
  }
  REQUIRE(!targets.empty());
  if (kind == Kind::kTable && targets.size() > 2) {
    targets = {targets.front(), targets.back()};  // a last-level table and the L0 one
  }
  int opened_ok = 0, refused = 0;
  for (const std::string& target : targets) {
    const std::string& contents = f.pristine.at(target);
    for (Damage d : {Damage::kFlip, Damage::kZero, Damage::kTruncate}) {
      for (std::uint64_t pos : Positions(contents.size(), positions)) {
        for (bool paranoid : {false, true}) {
          INFO(target << " (" << contents.size() << " bytes): " << Describe(d, pos)
                      << (paranoid ? ", paranoid" : ""));
          Restore(*f.fs, f.pristine);
          REQUIRE_OK(
              WriteStringToFile(*f.fs, Damaged(contents, d, pos), JoinPath(kDir, target), false));
          Options options = BaseOptions(f.fs);
          options.paranoid_checks = paranoid;
          auto db = DB::Open(options, kDir);
          if (!db.ok()) {
            CheckReportedError(db.status(), target);
            ++refused;
            continue;
          }
          ++opened_ok;
          if (kind == Kind::kWal) {
            CheckWalPrefix(**db, f, 0);
          } else {
            // A truncated MANIFEST, or damage in its last record, is taken
            // for a torn tail and the edits from there on are dropped: the
            // known bug shown by the [bug] test below. Only "no wrong data" is checked there.
            const bool known_bug = kind == Kind::kManifest &&
                                   (d == Damage::kTruncate || pos >= f.manifest_last_edit_begin);
            CheckReadsAfterTableLevelDamage(**db, f, target, known_bug);
          }
          // Whatever recovery kept, it keeps: a second open agrees.
          std::optional<std::map<std::string, std::string>> first;
          if (auto all = test::ReadAll(**db); all.ok()) first = *all;
          db = absl::CancelledError("closed");
          auto again = DB::Open(options, kDir);
          if (first && kind == Kind::kWal) {
            REQUIRE_OK(again);
            auto all = test::ReadAll(**again);
            REQUIRE_OK(all);
            REQUIRE(*all == *first);
          }
        }
      }
    }
  }
  INFO("opened " << opened_ok << ", refused " << refused);
  REQUIRE(refused > 0);  // the damage was noticed somewhere
  if (kind != Kind::kCurrent) REQUIRE(opened_ok > 0);
}

TEST_CASE("corruption: damaged WAL", "[db][corruption]") { RunDamageMatrix(Kind::kWal, 24); }
TEST_CASE("corruption: damaged SSTable", "[db][corruption]") { RunDamageMatrix(Kind::kTable, 16); }
TEST_CASE("corruption: damaged MANIFEST", "[db][corruption]") {
  RunDamageMatrix(Kind::kManifest, 24);
}
TEST_CASE("corruption: damaged CURRENT", "[db][corruption]") {
  RunDamageMatrix(Kind::kCurrent, 16);
}

TEST_CASE("corruption: a torn tail of the newest WAL is tolerated silently", "[db][corruption]") {
  test::Watchdog dog(120s, "torn tail");
  Fixture f = BuildFixture();
  REQUIRE(f.last_record_end > f.last_record_begin);
  const std::string& wal = f.pristine.at(f.wal_name);
  for (std::uint64_t t = f.last_record_begin; t <= f.last_record_end; ++t) {
    for (bool paranoid : {false, true}) {
      INFO("truncate " << f.wal_name << " at " << t << " (last record " << f.last_record_begin
                       << ".." << f.last_record_end << ")" << (paranoid ? ", paranoid" : ""));
      Restore(*f.fs, f.pristine);
      REQUIRE_OK(WriteStringToFile(*f.fs, wal.substr(0, t), JoinPath(kDir, f.wal_name), false));
      Options options = BaseOptions(f.fs);
      options.paranoid_checks = paranoid;
      auto db = DB::Open(options, kDir);
      REQUIRE_OK(db);
      auto all = test::ReadAll(**db);
      REQUIRE_OK(all);
      std::map<std::string, std::string> expected = f.tables;
      const std::size_t records = t == f.last_record_end ? f.wal_ops.size() : f.wal_ops.size() - 1;
      for (std::size_t i = 0; i < records; ++i) Apply(&expected, f.wal_ops[i]);
      REQUIRE(*all == expected);
      // The DB takes writes and reopens with them.
      REQUIRE_OK((*db)->Put("after", "tear"));
      db = absl::CancelledError("closed");
      auto again = DB::Open(options, kDir);
      REQUIRE_OK(again);
      REQUIRE(*(*again)->Get("after") == "tear");
    }
  }
}

// Regression (found by this suite): a MANIFEST truncated after its first
// record, or damaged inside its last record, reads as a torn tail — which a
// crash mid-append also produces. It used to be accepted silently and the
// tables of the cut-off edits deleted as garbage. Now paranoid_checks fails
// Open with kDataLoss; default recovery reports the torn tail in kv.stats and
// keeps every table the manifest no longer names as NNNNNN.sst.orphan.
TEST_CASE("corruption: truncated or last-record-damaged MANIFEST is reported, tables kept",
          "[db][corruption]") {
  Fixture f = BuildFixture();
  std::string manifest;
  for (const auto& [name, contents] : f.pristine) {
    (void)contents;
    if (absl::StartsWith(name, "MANIFEST-")) manifest = name;
  }
  REQUIRE(!manifest.empty());
  const std::string& contents = f.pristine.at(manifest);
  const std::pair<Damage, std::uint64_t> damages[] = {{Damage::kFlip, contents.size() - 1},
                                                      {Damage::kTruncate, contents.size() - 1},
                                                      {Damage::kTruncate, contents.size() / 2}};
  for (const auto& [d, pos] : damages) {
    for (bool paranoid : {false, true}) {
      INFO(manifest << " " << Describe(d, pos) << (paranoid ? ", paranoid" : ", default"));
      Restore(*f.fs, f.pristine);
      REQUIRE_OK(
          WriteStringToFile(*f.fs, Damaged(contents, d, pos), JoinPath(kDir, manifest), false));
      Options options = BaseOptions(f.fs);
      options.paranoid_checks = paranoid;
      auto db = DB::Open(options, kDir);
      if (db.ok()) {
        REQUIRE(!paranoid);
        auto all = test::ReadAll(**db);
        REQUIRE_OK(all);
        INFO("Open succeeded with " << all->size() << " of " << f.full.size() << " keys");
        if (all->size() != f.full.size()) {
          // Not silent: reported, and the tables are kept, not deleted.
          const std::string stats = (*db)->GetProperty("kv.stats").value();
          INFO(stats);
          CHECK(stats.find(" 0 manifest torn-tail bytes") == std::string::npos);
          bool orphan_kept = false;
          auto names = f.fs->GetChildren(kDir);
          REQUIRE_OK(names);
          for (const std::string& name : *names) {
            orphan_kept = orphan_kept || absl::EndsWith(name, ".sst.orphan");
          }
          CHECK(orphan_kept);
        }
      } else {
        INFO(db.status().ToString());
        CHECK(absl::IsDataLoss(db.status()));
        CHECK(db.status().message().find(manifest) != std::string_view::npos);
      }
    }
  }
}

}  // namespace
}  // namespace kv
