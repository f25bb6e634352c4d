// Compaction behaviour seen from outside the DB: which versions survive
// under snapshots (read straight from the table files), space reclaimed for
// deletes and expired TTL entries, trivial moves, bounded L0, and readers
// running concurrently with compactions.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "db/file_names.hpp"
#include "kv/db.hpp"
#include "kv/event_listener.hpp"
#include "kv/internal_key.hpp"
#include "kv/sstable_reader.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

// Every table in the DB directory, opened.
std::vector<std::shared_ptr<SSTableReader>> OpenTables(FileSystem& fs, const std::string& dir) {
  std::vector<std::shared_ptr<SSTableReader>> tables;
  auto children = fs.GetChildren(dir);
  REQUIRE_OK(children);
  for (const std::string& name : *children) {
    auto parsed = detail::ParseFileName(name);
    if (!parsed || parsed->kind != detail::FileKind::kTable) continue;
    const std::string path = JoinPath(dir, name);
    auto file = fs.NewRandomAccessFile(path);
    REQUIRE_OK(file);
    auto size = fs.GetFileSize(path);
    REQUIRE_OK(size);
    auto table = SSTableReader::Open(std::shared_ptr<RandomAccessFile>(std::move(*file)), path,
                                     *size, SSTableReaderOptions{});
    REQUIRE_OK(table);
    tables.push_back(*std::move(table));
  }
  return tables;
}

// Every internal entry of every table in the DB directory: the ground
// truth of what compaction kept.
std::multimap<std::string, ParsedInternalKey> TableEntries(FileSystem& fs, const std::string& dir,
                                                           std::vector<std::string>* keep_alive) {
  std::multimap<std::string, ParsedInternalKey> out;
  for (const std::shared_ptr<SSTableReader>& table : OpenTables(fs, dir)) {
    auto it = table->NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      keep_alive->emplace_back(it->key());
      ParsedInternalKey k;
      REQUIRE(ParseInternalKey(keep_alive->back(), &k));
      out.emplace(std::string(k.user_key), k);
    }
    REQUIRE_OK(it->status());
  }
  return out;
}

// Number of .sst files in the directory.
int CountTableFiles(FileSystem& fs, const std::string& dir) {
  auto names = fs.GetChildren(dir);
  REQUIRE_OK(names);
  int n = 0;
  for (const std::string& name : *names) {
    auto parsed = detail::ParseFileName(name);
    if (parsed && parsed->kind == detail::FileKind::kTable) ++n;
  }
  return n;
}

// kv.num-files-at-level<level>.
int FilesAtLevel(DB& db, int level) {
  return std::stoi(db.GetProperty("kv.num-files-at-level" + std::to_string(level)).value());
}

// Sum of kv.num-files-at-level<N> over every level.
int FilesInLevels(DB& db, int num_levels) {
  int n = 0;
  for (int level = 0; level < num_levels; ++level) n += FilesAtLevel(db, level);
  return n;
}

std::uint64_t TableBytes(FileSystem& fs, const std::string& dir) {
  std::uint64_t total = 0;
  auto children = fs.GetChildren(dir);
  REQUIRE_OK(children);
  for (const std::string& name : *children) {
    auto parsed = detail::ParseFileName(name);
    if (parsed && parsed->kind == detail::FileKind::kTable) {
      total += fs.GetFileSize(JoinPath(dir, name)).value();
    }
  }
  return total;
}

TEST_CASE("compaction keeps exactly the versions live snapshots can see", "[db][compaction]") {
  auto fs = NewMemFileSystem();
  Options options;
  options.file_system = fs;
  auto db = std::move(DB::Open(options, "/db")).value();
  REQUIRE_OK(db->Put("k", "v1"));
  REQUIRE_OK(db->Put("gone", "x"));
  auto s1 = db->GetSnapshot();
  REQUIRE_OK(db->Put("k", "v2"));
  REQUIRE_OK(db->Put("k", "v3"));  // shadows v2 in the same stripe as v2
  auto s2 = db->GetSnapshot();
  REQUIRE_OK(db->Put("k", "v4"));
  REQUIRE_OK(db->Delete("k"));
  REQUIRE_OK(db->Delete("gone"));
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));

  std::vector<std::string> storage;
  auto entries = TableEntries(*fs, "/db", &storage);
  // k: the tombstone (latest), v3 (for s2), v1 (for s1). v2 and v4 are
  // shadowed within their stripes.
  std::vector<std::pair<ValueType, SequenceNumber>> k_versions;
  for (auto [it, end] = entries.equal_range("k"); it != end; ++it) {
    k_versions.emplace_back(it->second.type, it->second.sequence);
  }
  REQUIRE(k_versions.size() == 3);
  // gone: its tombstone is newer than s1, which still sees the value.
  REQUIRE(entries.count("gone") == 2);

  std::string v;
  REQUIRE_OK(db->Get(ReadOptions{.snapshot = s1.get()}, "k", &v));
  REQUIRE(v == "v1");
  REQUIRE_OK(db->Get(ReadOptions{.snapshot = s2.get()}, "k", &v));
  REQUIRE(v == "v3");
  REQUIRE(absl::IsNotFound(db->Get("k").status()));

  // Without snapshots everything about both keys goes: the tombstones are
  // at the bottom and hide nothing any more.
  s1.reset();
  s2.reset();
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  storage.clear();
  entries = TableEntries(*fs, "/db", &storage);
  REQUIRE(entries.count("k") == 0);
  REQUIRE(entries.count("gone") == 0);
  REQUIRE(absl::IsNotFound(db->Get("k").status()));
}

TEST_CASE("a flush writes only the versions some reader can see", "[db][flush]") {
  auto fs = NewMemFileSystem();
  Options options;
  options.file_system = fs;
  auto db = std::move(DB::Open(options, "/db")).value();
  for (int i = 0; i < 100; ++i) REQUIRE_OK(db->Put("k", "v" + std::to_string(i)));
  auto snap = db->GetSnapshot();  // sees v99
  for (int i = 100; i < 200; ++i) REQUIRE_OK(db->Put("k", "v" + std::to_string(i)));
  REQUIRE_OK(db->Delete("gone"));
  REQUIRE_OK(db->Flush());
  std::vector<std::string> storage;
  auto entries = TableEntries(*fs, "/db", &storage);
  REQUIRE(entries.count("k") == 2);     // v199 for now, v99 for the snapshot
  REQUIRE(entries.count("gone") == 1);  // tombstones stay until compaction
  // The filter was sized ahead from the memtable's 201 entries (every
  // version), not from the table's 2 user keys (see SSTableOptions::max_keys).
  const auto tables = OpenTables(*fs, "/db");
  REQUIRE(tables.size() == 1);
  CHECK(tables[0]->properties().filter_bytes ==
        (201 * 10 + kBloomLineBits - 1) / kBloomLineBits * kBloomLineBytes + kBloomTrailerBytes);
  std::string v;
  REQUIRE_OK(db->Get(ReadOptions{.snapshot = snap.get()}, "k", &v));
  REQUIRE(v == "v99");
  REQUIRE(db->Get("k").value() == "v199");
}

TEST_CASE("deleted and expired data leaves the disk after CompactRange", "[db][compaction][ttl]") {
  auto fs = NewMemFileSystem();
  auto clock = std::make_shared<ManualClock>();
  Options options{.memtable_bytes = 256 << 10, .target_file_bytes = 256 << 10};
  options.file_system = fs;
  options.clock = clock;
  auto db = std::move(DB::Open(options, "/db")).value();
  const std::string value(100, 'v');
  for (int i = 0; i < 10000; ++i) REQUIRE_OK(db->Put("del" + std::to_string(i), value));
  for (int i = 0; i < 10000; ++i) {
    REQUIRE_OK(
        db->Put(WriteOptions{.ttl = std::chrono::seconds(60)}, "ttl" + std::to_string(i), value));
  }
  for (int i = 0; i < 1000; ++i) REQUIRE_OK(db->Put("keep" + std::to_string(i), value));
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  const std::uint64_t full = TableBytes(*fs, "/db");
  REQUIRE(full > 2'000'000);

  for (int i = 0; i < 10000; ++i) REQUIRE_OK(db->Delete("del" + std::to_string(i)));
  clock->Advance(61'000'000);
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  const std::uint64_t after = TableBytes(*fs, "/db");
  // Only the 1000 "keep" entries remain (~5% of the data), plus table overhead.
  INFO("table bytes before " << full << ", after " << after);
  REQUIRE(after < full / 12);
  std::vector<std::string> storage;
  auto entries = TableEntries(*fs, "/db", &storage);
  REQUIRE(entries.size() == 1000);
  // The per-level counts (properties and kv.stats) account for every table.
  REQUIRE(CountTableFiles(*fs, "/db") > 0);
  REQUIRE(FilesInLevels(*db, options.num_levels) == CountTableFiles(*fs, "/db"));
  INFO(db->GetProperty("kv.stats").value());
  REQUIRE(db->GetProperty("kv.stats").value().find("L6") != std::string::npos);
  REQUIRE(db->Get("keep7").value() == value);
  REQUIRE(absl::IsNotFound(db->Get("ttl7").status()));
  REQUIRE(absl::IsNotFound(db->Get("del7").status()));
}

TEST_CASE("repeated CompactRange calls keep the data in the deepest level it was in",
          "[db][compaction]") {
  auto fs = NewMemFileSystem();
  Options options{.memtable_bytes = 64 << 10, .target_file_bytes = 64 << 10};
  options.file_system = fs;
  auto db = std::move(DB::Open(options, "/db")).value();
  // The one level holding files, or -1 if files are spread over several.
  auto only_level = [&] {
    int found = -1;
    for (int level = 0; level < options.num_levels; ++level) {
      if (FilesAtLevel(*db, level) == 0) continue;
      if (found >= 0) return -1;
      found = level;
    }
    return found;
  };
  const std::string value(100, 'v');
  std::map<std::string, std::string> model;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = absl::StrFormat("key%06d", i);
    REQUIRE_OK(db->Put(key, value));
    model[key] = value;
  }
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  const int level = only_level();
  INFO(db->GetProperty("kv.stats").value());
  REQUIRE(level >= 1);
  REQUIRE(level < options.num_levels - 1);  // room to sink, were it to
  for (int round = 0; round < 3; ++round) {
    // New versions of a tenth of the keys, and a full-range CompactRange.
    for (int i = round; i < 3000; i += 10) {
      const std::string key = absl::StrFormat("key%06d", i);
      const std::string v = value + std::to_string(round);
      REQUIRE_OK(db->Put(key, v));
      model[key] = v;
    }
    REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
    INFO("round " << round);
    REQUIRE(only_level() == level);
  }
  // One version per key left, all readable.
  std::vector<std::string> storage;
  REQUIRE(TableEntries(*fs, "/db", &storage).size() == model.size());
  for (const auto& [k, v] : model) REQUIRE(db->Get(k).value() == v);
}

// Keeps the CompactionJobInfo of every manual compaction that completes.
class ManualCompactionLog final : public EventListener {
 public:
  void OnCompactionCompleted(const CompactionJobInfo& info) override {
    if (!info.manual) return;
    std::lock_guard<std::mutex> l(mu_);
    infos_.push_back(info);
  }
  std::vector<CompactionJobInfo> TakeAll() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(infos_, {});
  }

 private:
  std::mutex mu_;
  std::vector<CompactionJobInfo> infos_;
};

TEST_CASE("CompactRange moves a table with nothing under it down, rewriting it only at the bottom",
          "[db][compaction]") {
  auto fs = NewMemFileSystem();
  auto log = std::make_shared<ManualCompactionLog>();
  Options options{.memtable_bytes = 64 << 10, .target_file_bytes = 64 << 10};
  options.file_system = fs;
  options.listeners = {log};
  auto db = std::move(DB::Open(options, "/db")).value();
  const std::string value(100, 'v');
  for (int i = 0; i < 3000; ++i) REQUIRE_OK(db->Put(absl::StrFormat("key%06d", i), value));
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  int deepest = 0;
  for (int level = 0; level < options.num_levels; ++level) {
    if (FilesAtLevel(*db, level) > 0) deepest = level;
  }
  REQUIRE(deepest >= 1);
  log->TakeAll();

  // A few keys after every existing one: one L0 table that overlaps nothing.
  for (int i = 0; i < 200; ++i) REQUIRE_OK(db->Put(absl::StrFormat("new%06d", i), value));
  REQUIRE_OK(db->Flush());
  REQUIRE(FilesAtLevel(*db, 0) == 1);
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  int moves = 0;
  for (const CompactionJobInfo& info : log->TakeAll()) {
    INFO("L" << info.input_level << " -> L" << info.output_level
             << (info.trivial_move ? " (move)" : ""));
    if (info.trivial_move) {
      ++moves;
      CHECK(info.output_level == info.input_level + 1);
      CHECK(info.output_level <= deepest);
    } else {
      CHECK(info.input_level == deepest);  // no rewrite on the way down
      CHECK(info.output_level == deepest);
    }
  }
  CHECK(moves == deepest);  // L0 -> L1, ..., down to the deepest level
  // Everything, the moved table's keys included, is in the deepest level.
  CHECK(FilesAtLevel(*db, deepest) > 0);
  for (int level = 0; level < options.num_levels; ++level) {
    if (level != deepest) CHECK(FilesAtLevel(*db, level) == 0);
  }
  REQUIRE(db->Get("new000199").value() == value);
  REQUIRE(db->Get("key002999").value() == value);
}

TEST_CASE("a read before a compaction does not keep the replaced tables on disk",
          "[db][compaction]") {
  auto fs = NewMemFileSystem();
  Options options{.memtable_bytes = 64 << 10, .target_file_bytes = 64 << 10};
  options.file_system = fs;
  auto db = std::move(DB::Open(options, "/db")).value();
  const std::string value(100, 'v');
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 2000; ++i) REQUIRE_OK(db->Put("k" + std::to_string(i), value));
    REQUIRE_OK(db->Flush());
    // Reads pin (and the DB caches) the current sources: memtables and
    // version, whose tables the compaction below replaces.
    REQUIRE(db->Get("k7").value() == value);
  }
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  // No read since: the replaced tables must already be gone.
  REQUIRE(FilesInLevels(*db, options.num_levels) == CountTableFiles(*fs, "/db"));
  REQUIRE(db->Get("k1999").value() == value);
}

TEST_CASE("an expired entry above an older value becomes a tombstone, never resurrecting it",
          "[db][compaction][ttl]") {
  auto fs = NewMemFileSystem();
  auto clock = std::make_shared<ManualClock>();
  Options options{
      .level0_compaction_trigger = 100, .level0_slowdown_trigger = 100, .level0_stop_trigger = 100};
  options.file_system = fs;
  options.clock = clock;
  auto db = std::move(DB::Open(options, "/db")).value();
  REQUIRE_OK(db->Put("k", "old"));
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));  // "old" now sits in L1
  REQUIRE_OK(db->Put(WriteOptions{.ttl = std::chrono::seconds(5)}, "k", "short-lived"));
  REQUIRE_OK(db->Put("other", "x"));
  REQUIRE_OK(db->Flush());  // the TTL entry in L0, above "old"
  clock->Advance(6'000'000);
  REQUIRE(absl::IsNotFound(db->Get("k").status()));
  // Compact only L0 into L1? Use a full range compaction: "old" must not
  // come back at any step.
  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  REQUIRE(absl::IsNotFound(db->Get("k").status()));
  auto it = db->NewIterator();
  it->Seek("k");
  REQUIRE(it->Valid());
  REQUIRE(it->key() == "other");
}

TEST_CASE("sequential fills are moved, not rewritten; L0 stays bounded", "[db][compaction]") {
  auto fs = NewMemFileSystem();
  Options options{.memtable_bytes = 64 << 10,
                  .level0_compaction_trigger = 2,
                  .level1_target_bytes = 256 << 10,
                  .target_file_bytes = 64 << 10};
  options.file_system = fs;
  auto db = std::move(DB::Open(options, "/db")).value();
  const std::string value(100, 'v');
  char key[32];
  int max_l0 = 0;
  for (int i = 0; i < 20000; ++i) {
    std::snprintf(key, sizeof key, "key%08d", i);
    REQUIRE_OK(db->Put(key, value));
    if (i % 500 == 0) {
      max_l0 = std::max(max_l0, std::stoi(db->GetProperty("kv.num-files-at-level0").value()));
    }
  }
  const std::string stats = db->GetProperty("kv.stats").value();
  INFO(stats);
  REQUIRE(stats.find("trivial moves: 0") == std::string::npos);
  REQUIRE(max_l0 < options.level0_stop_trigger);
  for (int i = 0; i < 20000; i += 997) {
    std::snprintf(key, sizeof key, "key%08d", i);
    REQUIRE(db->Get(key).value() == value);
  }
}

TEST_CASE("L0 slowdowns are applied and counted in kv.stats and kv.prometheus",
          "[db][compaction][stall]") {
  // Slow down from the first L0 file on: every write that finds an L0 file
  // waiting for compaction is delayed once.
  Options options{.memtable_bytes = 16 << 10,
                  .level0_compaction_trigger = 1,
                  .level0_slowdown_trigger = 1,
                  .level0_stop_trigger = 8};
  options.file_system = NewMemFileSystem();
  auto db = std::move(DB::Open(options, "/db")).value();
  for (int i = 0; i < 3000; ++i) REQUIRE_OK(db->Put("k" + std::to_string(i), std::string(64, 'x')));
  const std::string stats = db->GetProperty("kv.stats").value();
  INFO(stats);
  REQUIRE(stats.find(" 0 slowdowns") == std::string::npos);
  const std::string prom = db->GetProperty("kv.prometheus").value();
  REQUIRE(prom.find("kv_slowdowns_total 0\n") == std::string::npos);
  REQUIRE(prom.find("# TYPE kv_stall_micros_total counter") != std::string::npos);
}

TEST_CASE("closing during background compaction is prompt and loses nothing",
          "[db][compaction][close]") {
  auto fs = NewMemFileSystem();
  Options options{.memtable_bytes = 32 << 10,
                  .level0_compaction_trigger = 2,
                  .level1_target_bytes = 64 << 10,
                  .target_file_bytes = 16 << 10};
  options.file_system = fs;
  for (int round = 0; round < 5; ++round) {
    auto db = std::move(DB::Open(options, "/db")).value();
    for (int i = 0; i < 2000; ++i) {
      REQUIRE_OK(
          db->Put("r" + std::to_string(round) + "-" + std::to_string(i), std::string(50, 'v')));
    }
    db.reset();  // background work is most likely mid-compaction here
  }
  // Reopen with triggers that schedule no background work, so the directory
  // listing below cannot race with a new compaction's output.
  Options quiet = options;
  quiet.level0_compaction_trigger = quiet.level0_slowdown_trigger = quiet.level0_stop_trigger =
      1000;
  quiet.level1_target_bytes = 1ull << 40;
  auto db = std::move(DB::Open(quiet, "/db")).value();
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 2000; i += 37) {
      REQUIRE(db->Get("r" + std::to_string(round) + "-" + std::to_string(i)).value() ==
              std::string(50, 'v'));
    }
  }
  // Abandoned compaction outputs were removed at Open: every table on disk
  // belongs to a level.
  REQUIRE(FilesInLevels(*db, options.num_levels) == CountTableFiles(*fs, "/db"));
}

TEST_CASE("readers and iterators run correctly during background compactions",
          "[db][compaction][concurrency]") {
  Options options{.memtable_bytes = 32 << 10,
                  .level0_compaction_trigger = 2,
                  .level1_target_bytes = 128 << 10,
                  .target_file_bytes = 32 << 10};
  options.file_system = NewMemFileSystem();
  auto db = std::move(DB::Open(options, "/db")).value();
  // Stable keys: written once, never changed; readers check them while a
  // writer churns other keys and compactions run underneath.
  for (int i = 0; i < 2000; ++i)
    REQUIRE_OK(db->Put("stable" + std::to_string(i), std::to_string(i)));
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::thread writer([&] {
    std::mt19937_64 rng(test::TestSeed());
    for (int i = 0; i < 20000 && errors == 0; ++i) {
      const std::string k = "churn" + std::to_string(rng() % 3000);
      absl::Status s = rng() % 4 == 0 ? db->Delete(k) : db->Put(k, std::string(80, 'c'));
      if (!s.ok()) ++errors;
    }
    stop = true;
  });
  auto reader = [&](int seed) {
    std::mt19937_64 rng(test::TestSeed() + static_cast<std::uint64_t>(seed));
    while (!stop) {
      const int i = static_cast<int>(rng() % 2000);
      auto v = db->Get("stable" + std::to_string(i));
      if (!v.ok() || *v != std::to_string(i)) ++errors;
      if (rng() % 50 == 0) {
        auto it = db->NewIterator();
        int n = 0;
        for (it->Seek("stable"); it->Valid() && it->key().substr(0, 6) == "stable"; it->Next()) ++n;
        if (n != 2000 || !it->status().ok()) ++errors;
      }
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  writer.join();
  r1.join();
  r2.join();
  REQUIRE(errors == 0);
  const std::string stats = db->GetProperty("kv.stats").value();
  INFO(stats);
  REQUIRE(stats.find("compactions: 0 ") == std::string::npos);
}

// Checks that every data block of every table in `dir` has a restart point
// each `interval` entries; returns the number of data blocks.
std::size_t CheckRestartIntervals(FileSystem& fs, const std::string& dir, int interval) {
  std::size_t blocks = 0;
  for (const std::shared_ptr<SSTableReader>& table : OpenTables(fs, dir)) {
    BlockIter idx(table->IndexBlock(), CompareInternalKeys);
    for (idx.SeekToFirst(); idx.Valid(); idx.Next()) {
      auto handle = table->DecodeIndexValue(idx);
      REQUIRE_OK(handle);
      auto block = table->DataBlock({}, *handle);
      REQUIRE_OK(block);
      BlockIter entries(*block, CompareInternalKeys);
      std::uint32_t count = 0;
      for (entries.SeekToFirst(); entries.Valid(); entries.Next()) ++count;
      REQUIRE_OK(entries.status());
      REQUIRE((*block)->num_restarts() == (count + interval - 1) / interval);
      ++blocks;
    }
    REQUIRE_OK(idx.status());
  }
  return blocks;
}

TEST_CASE("block_restart_interval is validated and shapes flush and compaction outputs",
          "[db][compaction]") {
  for (int bad : {0, -1, 1025}) {
    Options options;
    options.file_system = NewMemFileSystem();
    options.block_restart_interval = bad;
    REQUIRE(absl::IsInvalidArgument(DB::Open(options, "/db").status()));
  }
  for (int interval : {1, 3, 16, 1024}) {
    INFO("interval " << interval);
    auto fs = NewMemFileSystem();
    Options options;
    options.file_system = fs;
    options.block_restart_interval = interval;
    auto db = std::move(DB::Open(options, "/db")).value();
    auto key = [](int i) { return absl::StrFormat("key%06d", i); };
    for (int i = 0; i < 3000; ++i) REQUIRE_OK(db->Put(key(i), std::string(i % 50, 'v')));
    REQUIRE_OK(db->Flush());
    REQUIRE(CheckRestartIntervals(*fs, "/db", interval) > 2);  // a flush's output
    for (int i = 0; i < 3000; i += 2) REQUIRE_OK(db->Put(key(i), "new"));
    REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
    REQUIRE(CheckRestartIntervals(*fs, "/db", interval) > 2);  // a compaction's output
    // Every key reads back, by Get and by a scan in each direction.
    for (int i = 0; i < 3000; ++i) {
      auto v = db->Get(key(i));
      REQUIRE_OK(v);
      REQUIRE(*v == (i % 2 == 0 ? std::string("new") : std::string(i % 50, 'v')));
    }
    auto it = db->NewIterator({});
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) REQUIRE(it->key() == key(n++));
    REQUIRE(n == 3000);
    for (it->SeekToLast(); it->Valid(); it->Prev()) REQUIRE(it->key() == key(--n));
    REQUIRE(n == 0);
    REQUIRE_OK(it->status());
  }
}

// Holds the first compaction at its start until released, and records the
// order in which flushes and compactions complete.
class CompactionGate final : public EventListener {
 public:
  void OnCompactionBegin(const CompactionJobInfo&) override { gate_.Hold(); }
  void OnFlushCompleted(const FlushJobInfo&) override { Record("flush"); }
  void OnCompactionCompleted(const CompactionJobInfo&) override { Record("compaction"); }

  void AwaitBegin() { gate_.AwaitHeld(); }
  void Release() { gate_.Release(); }
  // Waits until `n` events are recorded; returns them.
  std::vector<std::string> AwaitEvents(std::size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return events_.size() >= n; });
    return events_;
  }

 private:
  void Record(const char* what) {
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back(what);
    cv_.notify_all();
  }
  test::OneShotGate gate_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

}  // namespace

TEST_CASE("a memtable that fills during a compaction is flushed before the compaction ends",
          "[db][compaction][flush][stall]") {
  // One thread does both. Were the flush to wait for the compaction, every
  // writer would stop once the next memtable filled too.
  auto gate = std::make_shared<CompactionGate>();
  Options options{.level0_compaction_trigger = 2, .listeners = {gate}};
  options.file_system = NewMemFileSystem();
  auto db = std::move(DB::Open(options, "/db")).value();
  for (int round = 0; round < 2; ++round) {  // two overlapping L0 tables: a compaction
    for (int i = 0; i < 1000; ++i) REQUIRE_OK(db->Put("key" + std::to_string(i), "v"));
    REQUIRE_OK(db->Flush());
  }
  gate->AwaitBegin();  // the compaction holds the background thread
  REQUIRE(gate->AwaitEvents(2) == std::vector<std::string>{"flush", "flush"});

  REQUIRE_OK(db->Put("late", "write"));
  absl::Status flushed;
  std::thread flusher([&] { flushed = db->Flush(); });  // switches memtables, then waits
  // Wait for the switch: kv.stats names the immutable memtable.
  while (db->GetProperty("kv.stats").value().find("immutable memtable") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  gate->Release();
  flusher.join();
  REQUIRE_OK(flushed);
  // The compaction met the waiting memtable at its first key and flushed
  // it, then went on.
  CHECK(gate->AwaitEvents(4) == std::vector<std::string>{"flush", "flush", "flush", "compaction"});
  CHECK(db->Get("late").value() == "write");
  CHECK(db->Get("key999").value() == "v");
  CHECK(db->GetProperty("kv.num-files-at-level0").value() == "1");
}

}  // namespace kv
