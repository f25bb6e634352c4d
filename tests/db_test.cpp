// Whole-DB tests: every call and status code of the public API (API.md),
// on the POSIX file system in a temp directory and on the in-memory one.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kv/db.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

using test::TempDir;

// Opens a DB in a fresh directory on the file system under test.
struct DBFixture {
  explicit DBFixture(bool in_memory, Options base = {}) : options(std::move(base)) {
    if (in_memory) {
      options.file_system = NewMemFileSystem();
      dir = "/db";
    } else {
      dir = temp.str() + "/db";
    }
  }
  std::unique_ptr<DB> Open() {
    auto db = DB::Open(options, dir);
    INFO(db.status().ToString());
    REQUIRE(db.ok());
    return std::move(db).value();
  }
  TempDir temp;
  Options options;
  std::string dir;
};

std::vector<std::string> ScanAll(DB& db, const ReadOptions& ro = {}) {
  std::vector<std::string> out;
  auto it = db.NewIterator(ro);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.push_back(std::string(it->key()) + "=" + std::string(it->value()));
  }
  REQUIRE_OK(it->status());
  return out;
}

TEST_CASE("put, get, delete and overwrite", "[db]") {
  for (bool mem : {true, false}) {
    DBFixture f(mem);
    auto db = f.Open();
    REQUIRE_OK(db->Put("a", "1"));
    REQUIRE_OK(db->Put("b", "2"));
    REQUIRE(db->Get("a").value() == "1");
    REQUIRE_OK(db->Put("a", "3"));
    REQUIRE(db->Get("a").value() == "3");
    REQUIRE_OK(db->Delete("a"));
    REQUIRE(absl::IsNotFound(db->Get("a").status()));
    REQUIRE(absl::IsNotFound(db->Get("never").status()));
    REQUIRE_OK(db->Delete("never"));  // deleting an absent key is OK
    std::string v;
    REQUIRE_OK(db->Get(ReadOptions{}, "b", &v));
    REQUIRE(v == "2");
  }
}

TEST_CASE("binary keys, empty key, large keys and values", "[db]") {
  DBFixture f(true);
  auto db = f.Open();
  const std::string nul_key("a\0b", 3);
  const std::string nul_value("\0\0x\0", 4);
  REQUIRE_OK(db->Put(nul_key, nul_value));
  REQUIRE_OK(db->Put("", "empty-key"));
  REQUIRE(db->Get(nul_key).value() == nul_value);
  REQUIRE(db->Get("").value() == "empty-key");
  REQUIRE(absl::IsNotFound(db->Get(std::string("a\0c", 3)).status()));

  const std::string big_key(64 << 10, 'k');
  const std::string big_value(8 << 20, 'v');
  REQUIRE_OK(db->Put(big_key, big_value));
  REQUIRE(db->Get(big_key).value() == big_value);

  // Order is unsigned bytewise: 0xff sorts after 'a'.
  REQUIRE_OK(db->Put(std::string("\xff", 1), "high"));
  auto it = db->NewIterator();
  it->SeekToLast();
  REQUIRE(it->Valid());
  REQUIRE(it->key() == std::string("\xff", 1));
  it->SeekToFirst();
  REQUIRE(it->key().empty());
}

TEST_CASE("64 MiB values are accepted, oversize keys are kInvalidArgument", "[db]") {
  DBFixture f(true);
  auto db = f.Open();
  const std::string huge(64 << 20, 'h');
  REQUIRE_OK(db->Put("huge", huge));
  REQUIRE(db->Get("huge").value().size() == huge.size());
  const std::string too_long_key(kMaxKeyBytes + 1, 'k');
  REQUIRE(absl::IsInvalidArgument(db->Put(too_long_key, "v")));
  WriteBatch batch;
  batch.Put("ok", "v");
  batch.Delete(too_long_key);
  REQUIRE(absl::IsInvalidArgument(db->Write({}, batch)));
  REQUIRE(absl::IsNotFound(db->Get("ok").status()));  // nothing of the batch applied
}

TEST_CASE("write batches are atomic and reusable", "[db]") {
  DBFixture f(true);
  auto db = f.Open();
  WriteBatch batch;
  REQUIRE_OK(db->Write({}, batch));  // empty batch is OK
  batch.Put("x", "1");
  batch.Put("y", "2");
  batch.Delete("x");
  REQUIRE(batch.Count() == 3);
  REQUIRE(batch.ApproximateSize() > 12);
  REQUIRE_OK(db->Write({}, batch));
  REQUIRE(absl::IsNotFound(db->Get("x").status()));  // later entry in a batch wins
  REQUIRE(db->Get("y").value() == "2");
  batch.Clear();
  REQUIRE(batch.Count() == 0);
  batch.Put("z", "3");
  REQUIRE_OK(db->Write(WriteOptions{.sync = true}, batch));
  REQUIRE(db->Get("z").value() == "3");
}

TEST_CASE("iterators: order, seek, both directions, point in time", "[db]") {
  for (bool mem : {true, false}) {
    DBFixture f(mem);
    auto db = f.Open();
    for (const char* k : {"b", "d", "f", "h"}) REQUIRE_OK(db->Put(k, std::string(k) + "v"));
    REQUIRE_OK(db->Delete("f"));
    auto it = db->NewIterator();
    REQUIRE_OK(db->Put("c", "later"));  // invisible to `it`
    REQUIRE_OK(db->Delete("b"));        // invisible to `it`

    it->Seek("c");
    REQUIRE(it->Valid());
    REQUIRE(it->key() == "d");
    it->Next();
    REQUIRE(it->key() == "h");  // f is deleted
    it->Prev();
    REQUIRE(it->key() == "d");
    it->Prev();
    REQUIRE(it->key() == "b");
    it->Prev();
    REQUIRE(!it->Valid());
    it->SeekToLast();
    REQUIRE(it->key() == "h");
    REQUIRE(it->value() == "hv");
    it->Next();
    REQUIRE(!it->Valid());
    it->Seek("z");
    REQUIRE(!it->Valid());
    REQUIRE_OK(it->status());

    REQUIRE(ScanAll(*db) == std::vector<std::string>{"c=later", "d=dv", "h=hv"});
  }
}

// With everything flushed and compacted, an iterator has one source (its
// empty memtable is left out and nothing is merged): it must still be a
// point in time, walk both ways and turn.
TEST_CASE("iterators over a flushed DB: one source, still a point in time", "[db]") {
  DBFixture f(/*in_memory=*/false);
  auto db = f.Open();
  for (int i = 0; i < 200; i += 2) REQUIRE_OK(db->Put(absl::StrCat("k", 1000 + i), "old"));
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));  // flushes first
  REQUIRE(db->GetProperty("kv.num-files-at-level0").value() == "0");
  const std::vector<std::string> before = ScanAll(*db);
  REQUIRE(before.size() == 100);

  auto it = db->NewIterator();
  // Into the memtable that was empty when `it` was made: a key before all
  // others, one between two, an overwrite and a delete.
  REQUIRE_OK(db->Put("a", "new"));
  REQUIRE_OK(db->Put("k1001", "new"));
  REQUIRE_OK(db->Put("k1002", "new"));
  REQUIRE_OK(db->Delete("k1004"));
  std::vector<std::string> seen;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    seen.push_back(std::string(it->key()) + "=" + std::string(it->value()));
  }
  REQUIRE_OK(it->status());
  CHECK(seen == before);
  it->Seek("k1003");
  REQUIRE(it->Valid());
  CHECK(it->key() == "k1004");  // deleted after `it` was made
  it->Prev();
  REQUIRE(it->Valid());
  CHECK(it->key() == "k1002");
  CHECK(it->value() == "old");
  it->Next();
  it->Next();
  REQUIRE(it->Valid());
  CHECK(it->key() == "k1006");

  const std::vector<std::string> after = ScanAll(*db);
  CHECK(after.front() == "a=new");
  CHECK(after.size() == 101);  // + a, + k1001, - k1004
}

// Iterators made while a writer fills an empty memtable: whatever a
// snapshot taken before an iterator sees, the iterator sees too (the
// memtable must not be left out once it holds writes the iterator's
// sequence covers).
TEST_CASE("iterators made during the first writes into an empty memtable miss none of them",
          "[db][concurrency]") {
  DBFixture f(/*in_memory=*/true);
  auto db = f.Open();
  REQUIRE_OK(db->Put("base", "v"));
  for (int round = 0; round < 200; ++round) {
    REQUIRE_OK(db->Flush());  // the memtable is empty again
    const std::string key = absl::StrCat("r", round);
    absl::Status put_status;
    std::thread writer([&] { put_status = db->Put(key, "v"); });
    for (int i = 0; i < 20; ++i) {
      std::unique_ptr<const Snapshot> snap = db->GetSnapshot();
      auto it = db->NewIterator();
      std::string ignored;
      const bool snapshot_sees = db->Get(ReadOptions{.snapshot = snap.get()}, key, &ignored).ok();
      it->Seek(key);
      const bool iterator_sees = it->Valid() && it->key() == key;
      if (snapshot_sees) REQUIRE(iterator_sees);
    }
    writer.join();
    REQUIRE_OK(put_status);
  }
}

TEST_CASE("snapshots see one point in time", "[db]") {
  DBFixture f(true);
  auto db = f.Open();
  REQUIRE_OK(db->Put("k", "old"));
  std::unique_ptr<const Snapshot> snap = db->GetSnapshot();
  REQUIRE_OK(db->Put("k", "new"));
  REQUIRE_OK(db->Put("other", "x"));
  REQUIRE_OK(db->Flush());
  ReadOptions ro{.snapshot = snap.get()};
  std::string v;
  REQUIRE_OK(db->Get(ro, "k", &v));
  REQUIRE(v == "old");
  REQUIRE(absl::IsNotFound(db->Get(ro, "other", &v)));
  REQUIRE(ScanAll(*db, ro) == std::vector<std::string>{"k=old"});
  REQUIRE(db->Get("k").value() == "new");
  snap.reset();
}

TEST_CASE("TTL: expiry via batch entry and WriteOptions, judged at read time", "[db][ttl]") {
  auto clock = std::make_shared<ManualClock>();
  DBFixture f(true, Options{.clock = clock});
  auto db = f.Open();
  REQUIRE_OK(db->Put(WriteOptions{.ttl = std::chrono::seconds(10)}, "short", "s"));
  WriteBatch batch;
  batch.Put("long", "l", std::chrono::seconds(100));
  batch.Put("forever", "f", std::chrono::seconds(0));  // explicit 0 wins over WriteOptions::ttl
  batch.Put("default", "d");                           // inherits WriteOptions::ttl
  REQUIRE_OK(db->Write(WriteOptions{.ttl = std::chrono::seconds(50)}, batch));

  clock->Advance(9'000'000);
  REQUIRE(db->Get("short").value() == "s");
  std::unique_ptr<const Snapshot> snap = db->GetSnapshot();  // judged at t=9s
  auto it = db->NewIterator();                               // judged at t=9s
  clock->Advance(2'000'000);                                 // t=11s
  REQUIRE(absl::IsNotFound(db->Get("short").status()));
  std::string v;
  REQUIRE_OK(db->Get(ReadOptions{.snapshot = snap.get()}, "short", &v));
  it->Seek("short");
  REQUIRE(it->Valid());
  REQUIRE(it->key() == "short");

  clock->Advance(40'000'000);  // t=51s
  REQUIRE(absl::IsNotFound(db->Get("default").status()));
  REQUIRE(db->Get("long").value() == "l");
  REQUIRE(db->Get("forever").value() == "f");
  REQUIRE_OK(db->Flush());  // expiry survives the trip to an SSTable
  REQUIRE(absl::IsNotFound(db->Get("default").status()));
  clock->Advance(50'000'000);  // t=101s
  REQUIRE(absl::IsNotFound(db->Get("long").status()));
  REQUIRE(db->Get("forever").value() == "f");
  REQUIRE(ScanAll(*db) == std::vector<std::string>{"forever=f"});

  REQUIRE(
      absl::IsInvalidArgument(db->Put(WriteOptions{.ttl = std::chrono::seconds(-1)}, "k", "v")));
  WriteBatch negative;
  negative.Put("k", "v", std::chrono::seconds(-5));
  REQUIRE(absl::IsInvalidArgument(db->Write({}, negative)));
  it.reset();
  snap.reset();
}

// A ManualClock that counts the NowMicros calls made on the thread that
// created it (the background thread reads the clock too, when it pleases).
class CountingClock final : public Clock {
 public:
  std::uint64_t NowMicros() override {
    if (std::this_thread::get_id() == owner_) ++calls_;
    return base_.NowMicros();
  }
  std::uint64_t MonotonicMicros() override { return base_.MonotonicMicros(); }
  void SleepForMicros(std::uint64_t micros) override { base_.SleepForMicros(micros); }
  void Advance(std::uint64_t micros) { base_.Advance(micros); }
  std::uint64_t calls() const { return calls_.load(); }

 private:
  ManualClock base_;
  const std::thread::id owner_ = std::this_thread::get_id();
  std::atomic<std::uint64_t> calls_{0};
};

TEST_CASE("Get reads the clock only when it meets an entry with an expiry time", "[db][ttl]") {
  auto clock = std::make_shared<CountingClock>();
  DBFixture f(true, Options{.clock = clock});
  auto db = f.Open();
  const WriteOptions ttl10s{.ttl = std::chrono::seconds(10)};
  REQUIRE_OK(db->Put("table-plain", "tp"));
  REQUIRE_OK(db->Put(ttl10s, "table-ttl", "tt"));
  REQUIRE_OK(db->Flush());
  REQUIRE_OK(db->Put("mem-plain", "mp"));
  REQUIRE_OK(db->Put(ttl10s, "mem-ttl", "mt"));

  const std::uint64_t before = clock->calls();
  CHECK(db->Get("table-plain").value() == "tp");
  CHECK(db->Get("mem-plain").value() == "mp");
  CHECK(absl::IsNotFound(db->Get("absent").status()));
  CHECK(clock->calls() == before);  // no expiring entry met: no clock read
  CHECK(db->Get("mem-ttl").value() == "mt");
  CHECK(clock->calls() == before + 1);
  CHECK(db->Get("table-ttl").value() == "tt");
  CHECK(clock->calls() == before + 2);

  // The lazily read time still decides expiry, in both places.
  clock->Advance(10'000'000);
  CHECK(absl::IsNotFound(db->Get("mem-ttl").status()));
  CHECK(absl::IsNotFound(db->Get("table-ttl").status()));
  CHECK(db->Get("table-plain").value() == "tp");
}

// A clock that, once armed, writes to another DB from inside NowMicros:
// the clock is read inside DB::Write (TTL resolution), so this is a Put
// re-entered on the same thread while the outer Put's batch is in use.
class ReenteringClock final : public Clock {
 public:
  std::uint64_t NowMicros() override {
    if (DB* target = std::exchange(target_, nullptr)) {
      inner_status_ = target->Put({}, "inner", "from-the-clock");
    }
    return base_.NowMicros();
  }
  std::uint64_t MonotonicMicros() override { return base_.MonotonicMicros(); }
  void SleepForMicros(std::uint64_t micros) override { base_.SleepForMicros(micros); }
  void Arm(DB* target) { target_ = target; }
  absl::Status inner_status() const { return inner_status_; }

 private:
  ManualClock base_;
  DB* target_ = nullptr;
  absl::Status inner_status_ = absl::UnknownError("the clock never wrote");
};

TEST_CASE("Put re-entered on the same thread does not clobber the outer write", "[db]") {
  auto clock = std::make_shared<ReenteringClock>();
  DBFixture outer_fixture(true, Options{.clock = clock});
  DBFixture inner_fixture(true);
  auto outer = outer_fixture.Open();
  auto inner = inner_fixture.Open();
  clock->Arm(inner.get());
  REQUIRE_OK(outer->Put(WriteOptions{.ttl = std::chrono::seconds(60)}, "outer", "value"));
  REQUIRE_OK(clock->inner_status());
  CHECK(ScanAll(*outer) == std::vector<std::string>{"outer=value"});
  CHECK(ScanAll(*inner) == std::vector<std::string>{"inner=from-the-clock"});
  // The per-thread batch still works afterwards, for big and small writes.
  const std::string big(1 << 20, 'b');
  REQUIRE_OK(outer->Put("big", big));
  REQUIRE_OK(outer->Delete("outer"));
  REQUIRE_OK(outer->Put("small", "s"));
  CHECK(outer->Get("big").value() == big);
  CHECK(ScanAll(*outer).size() == 2);
}

TEST_CASE("a WAL left with its preallocated zero tail (a crash) recovers every write",
          "[db][recovery]") {
  DBFixture f(false);
  const std::string crash_image = f.temp.str() + "/crash-image";
  std::uint64_t wal_length_on_disk = 0;
  {
    auto db = f.Open();
    for (int i = 0; i < 100; ++i) {
      REQUIRE_OK(
          db->Put(WriteOptions{.sync = true}, "k" + std::to_string(i), "v" + std::to_string(i)));
    }
    // Copy the directory while the DB is open: its WAL has not been closed
    // (trimmed), as after a crash or power loss.
    std::filesystem::copy(f.dir, crash_image);
    for (const auto& e : std::filesystem::directory_iterator(crash_image)) {
      if (e.path().extension() == ".wal")
        wal_length_on_disk = std::max<std::uint64_t>(wal_length_on_disk, e.file_size());
    }
  }
  // The image really has a zero tail: the WAL is reserved a MiB ahead
  // (where the file system can reserve space at all).
  if (test::CanPreallocate(f.temp.str())) {
    CHECK(wal_length_on_disk >= (1u << 20));
  } else {
    WARN("this file system cannot reserve space: the WAL has no zero tail here");
  }
  for (int round = 0; round < 2; ++round) {
    auto db = DB::Open(f.options, crash_image);
    REQUIRE_OK(db);
    for (int i = 0; i < 100; ++i) {
      CHECK((*db)->Get("k" + std::to_string(i)).value() == "v" + std::to_string(i));
    }
    if (round == 0) {
      REQUIRE_OK((*db)->Put(WriteOptions{.sync = true}, "after", "reopen"));
    } else {
      CHECK((*db)->Get("after").value() == "reopen");
    }
    const std::optional<std::string> stats = (*db)->GetProperty("kv.stats");
    REQUIRE(stats.has_value());
    CHECK(stats->find("0 torn-tail bytes dropped, 0 bytes dropped as corruption") !=
          std::string::npos);
  }
}

TEST_CASE("TTL is absolute: reopening does not extend it", "[db][ttl]") {
  auto clock = std::make_shared<ManualClock>();
  DBFixture f(true, Options{.clock = clock});
  {
    auto db = f.Open();
    REQUIRE_OK(db->Put(WriteOptions{.ttl = std::chrono::seconds(10)}, "k", "v"));
  }
  clock->Advance(11'000'000);
  auto db = f.Open();
  REQUIRE(absl::IsNotFound(db->Get("k").status()));
}

TEST_CASE("reopen finds everything, across flushes", "[db][recovery]") {
  for (bool mem : {true, false}) {
    DBFixture f(mem, Options{.memtable_bytes = 64 << 10});
    {
      auto db = f.Open();
      for (int i = 0; i < 3000; ++i) {
        REQUIRE_OK(db->Put("key" + std::to_string(i), std::string(50, 'a' + i % 26)));
      }
      for (int i = 0; i < 3000; i += 3) REQUIRE_OK(db->Delete("key" + std::to_string(i)));
    }
    auto db = f.Open();
    for (int i = 0; i < 3000; ++i) {
      auto v = db->Get("key" + std::to_string(i));
      if (i % 3 == 0) {
        REQUIRE(absl::IsNotFound(v.status()));
      } else {
        REQUIRE(v.value() == std::string(50, 'a' + i % 26));
      }
    }
    // Sequence numbers keep growing across reopen: a new write wins.
    REQUIRE_OK(db->Put("key1", "newest"));
    REQUIRE(db->Get("key1").value() == "newest");
  }
}

TEST_CASE("Open option errors and directory lock", "[db]") {
  TempDir t;
  const std::string dir = t.str() + "/db";
  // No DB and no create_if_missing: kInvalidArgument, nothing created.
  auto r = DB::Open(Options{.create_if_missing = false}, dir);
  REQUIRE(absl::IsInvalidArgument(r.status()));
  REQUIRE(!std::filesystem::exists(dir));
  REQUIRE(absl::IsInvalidArgument(DB::Open(Options{.memtable_bytes = 1}, dir).status()));
  REQUIRE(absl::IsInvalidArgument(DB::Open(Options{.bloom_bits_per_key = -1}, dir).status()));
  REQUIRE(!std::filesystem::exists(dir));

  auto db = DB::Open({}, dir);
  REQUIRE_OK(db);
  // A second Open of the same directory fails and touches nothing.
  auto before = std::distance(std::filesystem::directory_iterator(dir), {});
  auto second = DB::Open({}, dir);
  REQUIRE(absl::IsFailedPrecondition(second.status()));
  REQUIRE(std::distance(std::filesystem::directory_iterator(dir), {}) == before);
  REQUIRE(absl::IsFailedPrecondition(DB::Destroy(dir)));
  REQUIRE_OK((*db)->Put("k", "v"));
  db->reset();

  // An existing DB with error_if_exists.
  REQUIRE(absl::IsInvalidArgument(DB::Open(Options{.error_if_exists = true}, dir).status()));
  // An existing empty directory is not a DB: error_if_exists is fine.
  const std::string empty_dir = t.str() + "/empty";
  std::filesystem::create_directories(empty_dir);
  {
    auto fresh = DB::Open(Options{.error_if_exists = true}, empty_dir);
    REQUIRE_OK(fresh);
  }

  // Destroy removes kv's files and the directory, but not other files.
  REQUIRE_OK(DB::Destroy(dir));
  REQUIRE(!std::filesystem::exists(dir));
  REQUIRE_OK(DB::Destroy(dir));  // absent: OK
  {
    auto again = DB::Open({}, empty_dir);
    REQUIRE_OK(again);
  }
  { std::ofstream(empty_dir + "/user-file.txt") << "mine"; }
  REQUIRE_OK(DB::Destroy(empty_dir));
  REQUIRE(std::filesystem::exists(empty_dir + "/user-file.txt"));
}

TEST_CASE("flush and properties", "[db]") {
  DBFixture f(true);
  auto db = f.Open();
  REQUIRE(db->GetProperty("kv.num-files-at-level0").value() == "0");
  REQUIRE_OK(db->Put("a", "1"));
  REQUIRE_OK(db->Flush());
  REQUIRE(db->GetProperty("kv.num-files-at-level0").value() == "1");
  REQUIRE(db->Get("a").value() == "1");
  REQUIRE_OK(db->Flush());  // empty memtable: nothing to do
  REQUIRE(db->GetProperty("kv.num-files-at-level0").value() == "1");
  REQUIRE(!db->GetProperty("kv.no-such-property").has_value());
  REQUIRE(!db->GetProperty("kv.num-files-at-level99").has_value());
  const std::string stats = db->GetProperty("kv.stats").value();
  REQUIRE(stats.find("Writes: 1") != std::string::npos);
  const std::string prom = db->GetProperty("kv.prometheus").value();
  REQUIRE(prom.find("# TYPE kv_writes_total counter") != std::string::npos);
  REQUIRE(prom.find("kv_writes_total 1") != std::string::npos);
}

using kv::test::StatsNumberAfter;

// "Memtable bytes: N" from kv.stats.
std::uint64_t MemTableBytes(DB& db) { return StatsNumberAfter(db, "Memtable bytes: "); }

TEST_CASE("memtables of 32 MiB and up use huge page arenas, smaller ones 4 KiB blocks", "[db]") {
  // One small Put: a huge page arena holds a 2 MiB block; a small one a few
  // KiB (plus, in both, the memtable's bloom filter: 1/64 of it).
  const std::size_t memtable_bytes = GENERATE(std::size_t{1} << 20, std::size_t{32} << 20);
  INFO("memtable_bytes " << memtable_bytes);
  DBFixture f(true, Options{.memtable_bytes = memtable_bytes});
  auto db = f.Open();
  REQUIRE_OK(db->Put("k", "v"));
  const std::uint64_t arena = MemTableBytes(*db) - memtable_bytes / 64;
  if (memtable_bytes >= (std::size_t{32} << 20)) {
    CHECK(arena >= (std::uint64_t{2} << 20));
  } else {
    CHECK(arena < (std::uint64_t{64} << 10));
  }
  CHECK(db->Get("k").value() == "v");
}

// "kept for reuse: M" (bytes of memtable blocks) from kv.stats.
std::uint64_t MemTableBytesKept(DB& db) { return StatsNumberAfter(db, "kept for reuse: "); }

// Holds the first flush at its start until released, after telling the
// test it began.
class FlushGate final : public EventListener {
 public:
  void OnFlushBegin(const FlushJobInfo&) override { gate_.Hold(); }
  void AwaitBegin() { gate_.AwaitHeld(); }
  void Release() { gate_.Release(); }

 private:
  test::OneShotGate gate_;
};

TEST_CASE("while writes go on, a flushed huge page memtable hands its blocks to the next one",
          "[db]") {
  const std::uint64_t kBlock = std::uint64_t{2} << 20;  // a huge page block
  auto gate = std::make_shared<FlushGate>();
  DBFixture f(true, Options{.memtable_bytes = std::size_t{32} << 20, .listeners = {gate}});
  auto db = f.Open();
  CHECK(MemTableBytesKept(*db) == 0);
  // ~5 MB of entries (~1,040 bytes each, ~2,000 to a block): three blocks.
  const std::string value(1000, 'v');
  for (int i = 0; i < 5000; ++i) REQUIRE_OK(db->Put(absl::StrCat("key", i), value));
  // A write lands in the next memtable while the flush runs, as when a
  // write switches memtables: the retired blocks are kept for reuse.
  absl::Status flushed;
  std::thread flusher([&] { flushed = db->Flush(); });
  gate->AwaitBegin();
  REQUIRE_OK(db->Put("during", "flush"));
  gate->Release();
  flusher.join();
  REQUIRE_OK(flushed);
  CHECK(MemTableBytesKept(*db) == 3 * kBlock);
  const std::string prom = db->GetProperty("kv.prometheus").value();
  CHECK(prom.find(absl::StrCat("kv_memtable_blocks_kept_bytes ", 3 * kBlock)) != std::string::npos);

  // The next memtable takes one back once its first block is full, and
  // reads are right over a block full of the old memtable's bytes.
  for (int i = 0; i < 2100; ++i) REQUIRE_OK(db->Put(absl::StrCat("next", i), value));
  CHECK(MemTableBytesKept(*db) == 2 * kBlock);
  CHECK(db->Get("during").value() == "flush");
  CHECK(db->Get("next2099").value() == value);
  CHECK(db->Get("key4999").value() == value);
  auto it = db->NewIterator();
  it->Seek("during");
  REQUIRE(it->Valid());
  CHECK(it->key() == "during");
  it->Next();
  REQUIRE(it->Valid());
  CHECK(it->key() == "key0");
}

TEST_CASE("a flushed huge page memtable leaves at most half a memtable's blocks kept", "[db]") {
  // Kept blocks stay resident while reads map in the flushed table: the
  // pool holds (kept + in use) at most half a memtable's blocks + 1.
  const std::uint64_t kBlock = std::uint64_t{2} << 20;
  const std::uint64_t kCapacityBlocks = (std::uint64_t{32} << 20) / kBlock / 2 + 1;
  auto gate = std::make_shared<FlushGate>();
  DBFixture f(true, Options{.memtable_bytes = std::size_t{32} << 20, .listeners = {gate}});
  auto db = f.Open();
  // ~25 MB of entries: 12 blocks.
  const std::string value(1000, 'v');
  for (int i = 0; i < 24000; ++i) REQUIRE_OK(db->Put(absl::StrCat("key", i), value));
  absl::Status flushed;
  std::thread flusher([&] { flushed = db->Flush(); });
  gate->AwaitBegin();
  REQUIRE_OK(db->Put("during", "flush"));  // the next memtable takes a block
  gate->Release();
  flusher.join();
  REQUIRE_OK(flushed);
  CHECK(MemTableBytesKept(*db) == (kCapacityBlocks - 1) * kBlock);
  CHECK(db->Get("key23999").value() == value);
  CHECK(db->Get("during").value() == "flush");
}

TEST_CASE("a flush with nothing written since the switch returns the memtable blocks", "[db]") {
  DBFixture f(true, Options{.memtable_bytes = std::size_t{32} << 20});
  auto db = f.Open();
  const std::string value(1000, 'v');
  for (int i = 0; i < 3000; ++i) REQUIRE_OK(db->Put(absl::StrCat("key", i), value));
  REQUIRE_OK(db->Flush());  // write-idle: the 3 blocks are unmapped, not kept
  CHECK(MemTableBytesKept(*db) == 0);
  // Writing again maps fresh blocks: none were kept, and none is retired yet.
  for (int i = 0; i < 3000; ++i) REQUIRE_OK(db->Put(absl::StrCat("more", i), value));
  CHECK(MemTableBytesKept(*db) == 0);
  CHECK(db->Get("key7").value() == value);
  CHECK(db->Get("more2999").value() == value);
  REQUIRE_OK(db->Flush());
  CHECK(MemTableBytesKept(*db) == 0);
  CHECK(db->Get("more7").value() == value);
}

TEST_CASE("memtables below 32 MiB keep no blocks after a flush", "[db]") {
  DBFixture f(true, Options{.memtable_bytes = std::size_t{1} << 20});
  auto db = f.Open();
  for (int i = 0; i < 100; ++i) REQUIRE_OK(db->Put(absl::StrCat("key", i), "value"));
  REQUIRE_OK(db->Flush());
  CHECK(MemTableBytesKept(*db) == 0);
  CHECK(db->Get("key7").value() == "value");
}

// "N sync groups gathered" (after "writers per group, ") from kv.stats.
std::uint64_t SyncGroupsGathered(DB& db) { return StatsNumberAfter(db, "writers per group, "); }

// A clock that takes 100 us to read the monotonic time. The leader reads it
// around each WAL sync, so every sync (in memory: instant) lasts and
// measures like a disk's, and concurrent writers queue up behind it.
class SlowSyncClock final : public Clock {
 public:
  std::uint64_t NowMicros() override { return Clock::Default()->NowMicros(); }
  std::uint64_t MonotonicMicros() override {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
    return Clock::Default()->MonotonicMicros();
  }
  void SleepForMicros(std::uint64_t micros) override { Clock::Default()->SleepForMicros(micros); }
};

TEST_CASE("sync writers: a lone one never waits, concurrent ones gather into groups",
          "[db][concurrency]") {
  DBFixture f(true, Options{.clock = std::make_shared<SlowSyncClock>()});
  auto db = f.Open();
  const WriteOptions sync{.sync = true};
  // One thread: nobody else is in flight, so no leader waits (no latency
  // is added to a lone writer).
  for (int i = 0; i < 50; ++i) REQUIRE_OK(db->Put(sync, "solo" + std::to_string(i), "v"));
  CHECK(SyncGroupsGathered(*db) == 0);

  // Eight threads of back-to-back sync writes: a leader that finds fewer
  // queued than the last group had waits for them (briefly) at least once.
  constexpr int kThreads = 8, kPerThread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!db->Put(sync, absl::StrCat("t", t, "-", i), "v").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(SyncGroupsGathered(*db) > 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) CHECK(db->Get(absl::StrCat("t", t, "-", i)).ok());
  }
}

// Catch2 v2 assertions are not thread-safe: worker threads count failures
// in atomics and the main thread checks them.
TEST_CASE("many threads write and read concurrently", "[db][concurrency]") {
  DBFixture f(true, Options{.memtable_bytes = 256 << 10});
  auto db = f.Open();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::atomic<int> write_errors{0}, read_errors{0}, scan_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!db->Put(WriteOptions{.sync = i % 100 == 0}, key, key).ok()) ++write_errors;
        auto v = db->Get(key);
        if (!v.ok() || *v != key) ++read_errors;
      }
    });
  }
  std::thread reader([&] {
    for (int round = 0; round < 20; ++round) {
      auto it = db->NewIterator();
      std::string prev;
      bool first = true;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (!first && std::string(it->key()) <= prev) ++scan_errors;
        if (it->key() != it->value()) ++scan_errors;
        prev = std::string(it->key());
        first = false;
      }
      if (!it->status().ok()) ++scan_errors;
    }
  });
  // Flush() queues with the writers (it needs the WAL): it must be woken
  // to lead, and must wake the writers behind it.
  std::atomic<int> flush_errors{0};
  std::thread flusher([&] {
    for (int round = 0; round < 20; ++round) {
      if (!db->Flush().ok()) ++flush_errors;
    }
  });
  for (auto& th : threads) th.join();
  reader.join();
  flusher.join();
  REQUIRE(flush_errors == 0);
  REQUIRE(write_errors == 0);
  REQUIRE(read_errors == 0);
  REQUIRE(scan_errors == 0);
  REQUIRE(ScanAll(*db).size() == kThreads * kPerThread);
}

}  // namespace
}  // namespace kv
