// LevelIterator: walks the tables of a level as one sorted sequence in both
// directions, seeks across table boundaries and gaps, skips empty tables,
// opens tables lazily, and stops at (never skips) a table that fails.
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "db/level_iterator.hpp"
#include "db/table_slot.hpp"
#include "kv/internal_key.hpp"
#include "test_util.hpp"
#include "vector_iterator.hpp"

namespace kv::detail {
namespace {

using test::VectorIterator;

std::string IKey(const std::string& user_key) {
  return MakeInternalKey(user_key, 1, ValueType::kValue);
}

// A level of tables: table t holds the user keys in tables[t] (possibly
// none; its range then comes from `empty_range`).
struct FakeLevel {
  std::vector<std::vector<std::string>> tables;
  std::vector<FileRef> files;
  std::map<std::uint64_t, std::size_t> table_of_file;
  std::set<std::uint64_t> failing;  // file numbers that fail when opened
  int opens = 0;

  explicit FakeLevel(std::vector<std::vector<std::string>> t) : tables(std::move(t)) {
    std::string last = "a";
    for (std::size_t i = 0; i < tables.size(); ++i) {
      auto f = std::make_shared<FileMetaData>();
      f->number = 100 + i;
      // An empty table still covers a range between its neighbours.
      f->smallest = IKey(tables[i].empty() ? last + "0" : tables[i].front());
      f->largest = IKey(tables[i].empty() ? last + "1" : tables[i].back());
      last = tables[i].empty() ? last + "1" : tables[i].back();
      table_of_file[f->number] = i;
      files.push_back(std::move(f));
    }
  }
  // Pins a stand-in reader to every file's slot, as the table cache pins
  // real ones (LevelIterator only asks whether one is pinned).
  void PinAll() {
    const auto reader = test::StandInTableReader();
    for (const FileRef& f : files) REQUIRE(f->table_slot->TryPin(f->number, reader, nullptr));
  }
  LevelIterator Iterator() {
    return LevelIterator(files, [this](const FileMetaData& f) -> std::unique_ptr<kv::Iterator> {
      ++opens;
      std::vector<std::pair<std::string, std::string>> entries;
      for (const std::string& k : tables[table_of_file.at(f.number)]) {
        entries.emplace_back(IKey(k), "v" + k);
      }
      absl::Status error = failing.count(f.number) != 0
                               ? absl::DataLossError("table " + std::to_string(f.number))
                               : absl::OkStatus();
      return std::make_unique<VectorIterator>(std::move(entries), error);
    });
  }
  std::vector<std::string> AllKeys() const {
    std::vector<std::string> all;
    for (const auto& t : tables) all.insert(all.end(), t.begin(), t.end());
    return all;
  }
};

std::string UserKeyOf(const kv::Iterator& it) { return std::string(ExtractUserKey(it.key())); }

TEST_CASE("forward and backward over tables, skipping empty ones") {
  FakeLevel level({{"b", "c"}, {}, {"e"}, {"g", "h", "i"}, {}});
  LevelIterator it = level.Iterator();
  std::vector<std::string> seen;
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    seen.push_back(UserKeyOf(it));
    CHECK(it.value() == "v" + UserKeyOf(it));
  }
  REQUIRE_OK(it.status());
  CHECK(seen == level.AllKeys());
  seen.clear();
  for (it.SeekToLast(); it.Valid(); it.Prev()) seen.insert(seen.begin(), UserKeyOf(it));
  REQUIRE_OK(it.status());
  CHECK(seen == level.AllKeys());
}

TEST_CASE("Seek lands on the first key >= target, across boundaries and gaps") {
  FakeLevel level({{"b", "d"}, {"f", "h"}, {}, {"p", "r"}});
  LevelIterator it = level.Iterator();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a", "b"}, {"b", "b"}, {"c", "d"}, {"d", "d"}, {"e", "f"},
      {"h", "h"}, {"i", "p"}, {"q", "r"}, {"r", "r"}};
  for (const auto& [target, expected] : cases) {
    INFO("target " << target);
    it.Seek(IKey(target));
    REQUIRE(it.Valid());
    CHECK(UserKeyOf(it) == expected);
  }
  it.Seek(IKey("s"));
  CHECK_FALSE(it.Valid());
  REQUIRE_OK(it.status());
  // Prev from the first key of a table reaches the previous table's last.
  it.Seek(IKey("p"));
  it.Prev();
  REQUIRE(it.Valid());
  CHECK(UserKeyOf(it) == "h");
}

TEST_CASE("tables are opened lazily, one at a time") {
  FakeLevel level({{"a"}, {"b"}, {"c"}, {"d"}});
  LevelIterator it = level.Iterator();
  CHECK(level.opens == 0);
  it.Seek(IKey("c"));
  CHECK(level.opens == 1);
  it.Next();
  CHECK(level.opens == 2);
  it.Seek(IKey("d"));  // already open: not reopened
  CHECK(level.opens == 2);
}

TEST_CASE("the last 8 pinned tables left stay open as spares and are reused, not reopened") {
  std::vector<std::vector<std::string>> tables;
  for (int t = 0; t < 12; ++t) tables.push_back({absl::StrFormat("k%02d", t)});
  FakeLevel level(tables);
  level.PinAll();
  LevelIterator it = level.Iterator();
  auto seek_table = [&](int t) {
    it.Seek(IKey(absl::StrFormat("k%02d", t)));
    REQUIRE(it.Valid());
    CHECK(UserKeyOf(it) == absl::StrFormat("k%02d", t));
  };
  for (int round = 0; round < 3; ++round) {
    for (int t = 0; t < 9; ++t) seek_table(t);  // the current one plus 8 spares
  }
  CHECK(level.opens == 9);
  seek_table(9);  // new: table 0, left longest ago, is dropped
  CHECK(level.opens == 10);
  seek_table(1);
  CHECK(level.opens == 10);
  seek_table(0);
  CHECK(level.opens == 11);
  // A spare is positioned afresh: walking backward from table 5 into table
  // 4 (a spare, last left at its first key) starts at its last key.
  seek_table(5);
  it.Prev();
  REQUIRE(it.Valid());
  CHECK(UserKeyOf(it) == "k04");
  CHECK(level.opens == 11);
}

TEST_CASE("tables whose reader is not pinned are never kept as spares") {
  FakeLevel level({{"a"}, {"b"}, {"c"}});
  LevelIterator it = level.Iterator();
  for (int round = 0; round < 3; ++round) {
    for (const char* k : {"a", "b", "c"}) {
      it.Seek(IKey(k));
      REQUIRE(it.Valid());
      CHECK(UserKeyOf(it) == k);
    }
  }
  CHECK(level.opens == 9);  // each table reopened every time: bounded by the table cache
}

TEST_CASE("a failing table stops the iterator with its error, in both directions") {
  FakeLevel level({{"a", "b"}, {"c", "d"}, {"e", "f"}});
  level.PinAll();             // spares allowed, so the failed one is not kept only for its error
  level.failing.insert(101);  // the middle table
  LevelIterator it = level.Iterator();
  std::vector<std::string> seen;
  for (it.SeekToFirst(); it.Valid(); it.Next()) seen.push_back(UserKeyOf(it));
  CHECK(seen == std::vector<std::string>{"a", "b"});  // never "e", "f"
  CHECK(absl::IsDataLoss(it.status()));
  seen.clear();
  for (it.SeekToLast(); it.Valid(); it.Prev()) seen.push_back(UserKeyOf(it));
  CHECK(seen == std::vector<std::string>{"f", "e"});
  CHECK(absl::IsDataLoss(it.status()));
  it.Seek(IKey("c"));
  CHECK_FALSE(it.Valid());
  CHECK(absl::IsDataLoss(it.status()));
  it.Seek(IKey("e"));  // a healthy table again
  REQUIRE(it.Valid());
  REQUIRE_OK(it.status());
  // The failed table is never kept as a spare: coming back reopens it.
  const int opens = level.opens;
  it.Seek(IKey("c"));
  CHECK(level.opens == opens + 1);
  CHECK(absl::IsDataLoss(it.status()));
}

TEST_CASE("random seeks and walks match the concatenated keys") {
  std::mt19937_64 rng(kv::test::TestSeed());
  std::vector<std::vector<std::string>> tables;
  int next = 0;
  for (int t = 0; t < 20; ++t) {
    std::vector<std::string> keys;
    const int n = static_cast<int>(rng() % 4);  // some tables empty
    for (int i = 0; i < n; ++i) {
      next += 1 + static_cast<int>(rng() % 3);
      keys.push_back(absl::StrFormat("k%05d", next));
    }
    tables.push_back(std::move(keys));
  }
  FakeLevel level(tables);
  // Unpinned: a table iterator per visit; pinned: 8 spares over 20 tables.
  const bool pinned = GENERATE(false, true);
  if (pinned) level.PinAll();
  const std::vector<std::string> all = level.AllKeys();
  LevelIterator it = level.Iterator();
  for (int round = 0; round < 500; ++round) {
    const std::string target = absl::StrFormat("k%05d", static_cast<int>(rng() % (next + 2)));
    auto pos = std::lower_bound(all.begin(), all.end(), target);
    it.Seek(IKey(target));
    for (int step = 0; step < 5; ++step) {
      INFO("target " << target << " step " << step);
      REQUIRE(it.Valid() == (pos != all.end()));
      if (pos == all.end()) break;
      CHECK(UserKeyOf(it) == *pos);
      if (rng() % 2 == 0) {
        it.Next();
        ++pos;
      } else {
        it.Prev();
        if (pos == all.begin()) {
          REQUIRE_FALSE(it.Valid());
          break;
        }
        --pos;
      }
    }
  }
}

}  // namespace
}  // namespace kv::detail
