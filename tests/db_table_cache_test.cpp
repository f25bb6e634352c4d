// The DB's open table readers: pinned to their tables' metadata up to half
// of Options::max_open_files, the rest in an LRU, never more than
// max_open_files open at once.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "db/table_slot.hpp"
#include "db/version_edit.hpp"
#include "kv/db.hpp"
#include "test_util.hpp"

namespace {

using kv::DB;
using kv::Options;

using kv::test::MappedFilesRssKib;
using kv::test::StatsNumberAfter;

std::uint64_t PinnedReaders(DB& db) { return StatsNumberAfter(db, "Table readers: "); }
std::uint64_t LruReaders(DB& db) { return StatsNumberAfter(db, " pinned, "); }
// Times the DB released its tables' mapped pages after reads stopped.
std::uint64_t IdlePageReleases(DB& db) { return StatsNumberAfter(db, "mapped pages released "); }

// Table files this process has open (file descriptors naming a .sst).
int OpenTableFiles() {
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::filesystem::path target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.extension() == ".sst") ++n;
  }
  return n;
}

// A DB in `dir` whose `keys` keys (200-byte values) sit in many small
// tables after a full compaction, with max_open_files = 10.
std::unique_ptr<DB> OpenWithSmallTables(
    const std::string& dir, int keys, const std::string& value,
    std::chrono::milliseconds release_idle = Options{}.release_idle_table_pages) {
  Options options{.memtable_bytes = 64 << 10,
                  .release_idle_table_pages = release_idle,
                  .target_file_bytes = 16 << 10,
                  .max_open_files = 10};
  auto opened = DB::Open(options, dir);
  REQUIRE_OK(opened);
  for (int i = 0; i < keys; ++i) REQUIRE_OK((*opened)->Put(absl::StrCat("key", 10000 + i), value));
  REQUIRE_OK((*opened)->CompactRange(std::nullopt, std::nullopt));
  return std::move(opened).value();
}

}  // namespace

TEST_CASE("table readers are pinned on first read, and reads through them are right", "[db]") {
  kv::test::TempDir tmp;
  auto opened = DB::Open({}, tmp.str() + "/db");
  REQUIRE_OK(opened);
  DB& db = **opened;
  for (int i = 0; i < 100; ++i) REQUIRE_OK(db.Put(absl::StrCat("key", i), absl::StrCat("v", i)));
  REQUIRE_OK(db.Flush());
  CHECK(db.Get("key7").value() == "v7");
  CHECK(PinnedReaders(db) == 1);
  CHECK(LruReaders(db) == 0);
  CHECK(db.Get("key8").value() == "v8");
  CHECK(!db.Get("key100").ok());
  CHECK(PinnedReaders(db) == 1);
}

TEST_CASE("never more than max_open_files tables open: half pinned, half in the LRU", "[db]") {
  kv::test::TempDir tmp;
  const std::string dir = tmp.str() + "/db";
  const int kKeys = 3000;
  const std::string pad(200, 'p');
  const std::unique_ptr<DB> opened = OpenWithSmallTables(dir, kKeys, pad);
  DB& db = *opened;
  int tables = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    tables += e.path().extension() == ".sst" ? 1 : 0;
  }
  INFO("tables " << tables);
  REQUIRE(tables >= 25);  // far more than max_open_files

  // Three passes over every key: each table is opened, most are closed again.
  for (int pass = 0; pass < 3; ++pass) {
    for (int i = 0; i < kKeys; i += 7) {
      REQUIRE(db.Get(absl::StrCat("key", 10000 + i)).value() == pad);
      REQUIRE(OpenTableFiles() <= 10);
    }
  }
  CHECK(PinnedReaders(db) == 5);
  CHECK(LruReaders(db) == 5);
  CHECK(OpenTableFiles() == 10);

  // A scan opens every table again through the same bound.
  auto it = db.NewIterator();
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++n;
    REQUIRE(OpenTableFiles() <= 11);  // the LRU's 5, the 5 pinned, and the one being read
  }
  REQUIRE_OK(it->status());
  CHECK(n == kKeys);
}

TEST_CASE("tables retired by compaction give their pins back", "[db]") {
  kv::test::TempDir tmp;
  const std::unique_ptr<DB> opened =
      OpenWithSmallTables(tmp.str() + "/db", 300, std::string(201, 'x'));
  DB& db = *opened;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) {
      REQUIRE_OK(
          db.Put(absl::StrCat("key", 10000 + i), absl::StrCat(round, std::string(200, 'x'))));
    }
    REQUIRE_OK(db.CompactRange(std::nullopt, std::nullopt));
    for (int i = 0; i < 300; i += 3) {
      REQUIRE(db.Get(absl::StrCat("key", 10000 + i)).value() ==
              absl::StrCat(round, std::string(200, 'x')));
    }
    // Every live table was read, and they are few enough to all be pinned:
    // the retired tables' pins came back (otherwise the first round's
    // would use up the budget and send these tables to the LRU).
    std::uint64_t live = 0;
    for (int level = 0; level < 7; ++level) {
      live += std::stoull(db.GetProperty(absl::StrCat("kv.num-files-at-level", level)).value());
    }
    INFO("round " << round << ", live tables " << live);
    REQUIRE(live >= 2);
    REQUIRE(live <= 5);
    CHECK(PinnedReaders(db) == live);
    CHECK(LruReaders(db) == 0);
    CHECK(OpenTableFiles() == static_cast<int>(live));
  }
}

TEST_CASE("TableSlot: copies of a FileMetaData share one slot; the first pin wins", "[db]") {
  using kv::detail::FileMetaData;
  FileMetaData meta;
  meta.number = 7;
  const FileMetaData copy = meta;
  FileMetaData other;
  other.number = 7;
  CHECK(copy == meta);
  CHECK(other == meta);  // slots never make metadata unequal

  const auto reader = kv::test::StandInTableReader();  // the slot never calls it
  int budget_released = 0;
  std::shared_ptr<void> budget(&budget_released, [](void* p) { ++*static_cast<int*>(p); });
  CHECK(meta.table_slot->reader(7) == nullptr);
  CHECK(meta.table_slot->TryPin(7, reader, budget));
  CHECK_FALSE(copy.table_slot->TryPin(7, reader, budget));
  CHECK(copy.table_slot->reader(7) == reader.get());
  CHECK(copy.table_slot->owner() == reader);
  CHECK(copy.table_slot->reader(8) == nullptr);   // pinned for another table
  CHECK(other.table_slot->reader(7) == nullptr);  // built separately: its own slot
  budget.reset();
  CHECK(budget_released == 0);  // the slot still holds it
  {
    FileMetaData moved = std::move(meta);
    (void)moved;
  }
  CHECK(budget_released == 0);  // `copy` still holds the slot
}

TEST_CASE("threads reading fresh tables at once share the pins and stay within the bound",
          "[db][concurrency]") {
  kv::test::TempDir tmp;
  const int kKeys = 2000;
  const std::string value(200, 'v');
  const std::unique_ptr<DB> opened = OpenWithSmallTables(tmp.str() + "/db", kKeys, value);
  DB& db = *opened;

  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&db, &wrong, &value, t] {
      for (int pass = 0; pass < 2; ++pass) {
        for (int i = t; i < kKeys; i += 3) {
          auto got = db.Get(absl::StrCat("key", 10000 + i));
          if (!got.ok() || *got != value) wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& r : readers) r.join();
  CHECK(wrong.load() == 0);
  CHECK(PinnedReaders(db) == 5);
  CHECK(LruReaders(db) <= 5);
  CHECK(OpenTableFiles() <= 10);
}

// Reads every key of OpenWithSmallTables (every table gets opened).
void ReadAll(DB& db, int keys, const std::string& value) {
  for (int i = 0; i < keys; ++i) REQUIRE(db.Get(absl::StrCat("key", 10000 + i)).value() == value);
}

// OpenWithSmallTables with `release_idle`, then every key read once: the
// tables' mapped pages are resident.
std::unique_ptr<DB> OpenAndReadAll(const std::string& dir, int keys, const std::string& value,
                                   std::chrono::milliseconds release_idle) {
  std::unique_ptr<DB> db = OpenWithSmallTables(dir, keys, value, release_idle);
  ReadAll(*db, keys, value);
  return db;
}

TEST_CASE("pages mapped by reads are released once reads stop, and reads stay right", "[db]") {
  kv::test::TempDir tmp;
  const int kKeys = 3000;
  const std::string value(200, 'v');
  // max_open_files 10: some readers are pinned, some in the LRU; both kinds
  // are released.
  const std::unique_ptr<DB> opened =
      OpenAndReadAll(tmp.str() + "/db", kKeys, value, std::chrono::milliseconds(500));
  DB& db = *opened;
  // What the mapped reads left (a release comes only after 0.5 s or more
  // without a read).
  const std::uint64_t releases = IdlePageReleases(db);
  REQUIRE(MappedFilesRssKib(".sst") > 0);

  // No read from here: the next release comes 0.5-1 s after the last one.
  for (int waited_ms = 0; IdlePageReleases(db) == releases && waited_ms < 20000; waited_ms += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(IdlePageReleases(db) > releases);
  CHECK(MappedFilesRssKib(".sst") == 0);
  CHECK(OpenTableFiles() == 10);  // released pages, not closed files

  // Reads map the pages back in and see the same data.
  ReadAll(db, kKeys, value);
  CHECK(MappedFilesRssKib(".sst") > 0);
}

TEST_CASE("release_idle_table_pages = 0 keeps mapped pages", "[db]") {
  kv::test::TempDir tmp;
  const int kKeys = 1000;
  const std::string value(200, 'v');
  const std::unique_ptr<DB> opened =
      OpenAndReadAll(tmp.str() + "/db", kKeys, value, std::chrono::milliseconds(0));
  DB& db = *opened;
  REQUIRE(MappedFilesRssKib(".sst") > 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(IdlePageReleases(db) == 0);
  CHECK(MappedFilesRssKib(".sst") > 0);
}
