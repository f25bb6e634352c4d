// Randomized model test: random puts, deletes, batches, snapshots,
// iterators (both directions), flushes, compactions and reopens, checked
// against a std::map model after every step that reads.
//
// Runs under a small memtable so it crosses many flushes and compactions.
// KV_TEST_SEED reproduces a failure; KV_MODEL_STEPS makes it longer.
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kv/db.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

using Model = std::map<std::string, std::string>;

std::string RandomKey(std::mt19937_64& rng) {
  // A small key space so overwrites, deletes and shadowing are common;
  // some keys with binary bytes and an empty key.
  const int n = static_cast<int>(rng() % 300);
  if (n == 0) return std::string();
  if (n == 1) return std::string("\0\xff", 2);
  return "k" + std::to_string(n);
}

std::string RandomValue(std::mt19937_64& rng) {
  const std::size_t len = rng() % 4 == 0 ? rng() % 2000 : rng() % 40;
  std::string v(len, '\0');
  for (char& c : v) c = static_cast<char>('a' + rng() % 26);
  return v;
}

// Compares a full scan, forwards or backwards, with the model.
void CheckScan(DB& db, const Model& model, const ReadOptions& ro, bool reverse) {
  auto it = db.NewIterator(ro);
  std::vector<std::pair<std::string, std::string>> got;
  if (reverse) {
    for (it->SeekToLast(); it->Valid(); it->Prev()) got.emplace_back(it->key(), it->value());
    std::reverse(got.begin(), got.end());
  } else {
    for (it->SeekToFirst(); it->Valid(); it->Next()) got.emplace_back(it->key(), it->value());
  }
  REQUIRE_OK(it->status());
  std::vector<std::pair<std::string, std::string>> want(model.begin(), model.end());
  REQUIRE(got == want);
}

// Seeks to a random target and walks a few steps in mixed directions.
void CheckSeekWalk(DB& db, const Model& model, const ReadOptions& ro, std::mt19937_64& rng) {
  auto it = db.NewIterator(ro);
  const std::string target = RandomKey(rng);
  it->Seek(target);
  auto m = model.lower_bound(target);
  for (int step = 0; step < 8; ++step) {
    if (m == model.end()) {
      REQUIRE(!it->Valid());
      break;
    }
    REQUIRE(it->Valid());
    REQUIRE(it->key() == m->first);
    REQUIRE(it->value() == m->second);
    if (rng() % 3 == 0) {
      if (m == model.begin()) {
        it->Prev();
        REQUIRE(!it->Valid());
        break;
      }
      it->Prev();
      --m;
    } else {
      it->Next();
      ++m;
    }
  }
  REQUIRE_OK(it->status());
}

void RunModelTest(Options options, const std::string& dir, int steps, std::uint64_t seed) {
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  Model model;
  auto db = std::move(DB::Open(options, dir)).value();
  struct HeldSnapshot {
    std::unique_ptr<const Snapshot> snapshot;
    Model model;
  };
  std::vector<HeldSnapshot> snapshots;

  for (int step = 0; step < steps; ++step) {
    const int op = static_cast<int>(rng() % 100);
    if (op < 45) {
      const std::string k = RandomKey(rng), v = RandomValue(rng);
      REQUIRE_OK(db->Put(WriteOptions{.sync = rng() % 50 == 0}, k, v));
      model[k] = v;
    } else if (op < 60) {
      const std::string k = RandomKey(rng);
      REQUIRE_OK(db->Delete(k));
      model.erase(k);
    } else if (op < 68) {
      WriteBatch batch;
      const int n = 1 + static_cast<int>(rng() % 20);
      for (int i = 0; i < n; ++i) {
        const std::string k = RandomKey(rng);
        if (rng() % 3 == 0) {
          batch.Delete(k);
          model.erase(k);
        } else {
          const std::string v = RandomValue(rng);
          batch.Put(k, v);
          model[k] = v;
        }
      }
      REQUIRE_OK(db->Write({}, batch));
    } else if (op < 80) {
      const std::string k = RandomKey(rng);
      auto got = db->Get(k);
      auto want = model.find(k);
      if (want == model.end()) {
        REQUIRE(absl::IsNotFound(got.status()));
      } else {
        REQUIRE_OK(got);
        REQUIRE(*got == want->second);
      }
    } else if (op < 84) {
      CheckSeekWalk(*db, model, {}, rng);
    } else if (op < 86) {
      CheckScan(*db, model, {}, rng() % 2 == 0);
    } else if (op < 89) {
      if (snapshots.size() < 4) {
        snapshots.push_back({db->GetSnapshot(), model});
      } else {
        snapshots.erase(snapshots.begin() + static_cast<long>(rng() % snapshots.size()));
      }
    } else if (op < 93) {
      if (!snapshots.empty()) {
        const HeldSnapshot& s = snapshots[rng() % snapshots.size()];
        ReadOptions ro{.snapshot = s.snapshot.get()};
        if (rng() % 2 == 0) {
          CheckSeekWalk(*db, s.model, ro, rng);
        } else {
          const std::string k = RandomKey(rng);
          std::string v;
          absl::Status st = db->Get(ro, k, &v);
          auto want = s.model.find(k);
          if (want == s.model.end()) {
            REQUIRE(absl::IsNotFound(st));
          } else {
            REQUIRE_OK(st);
            REQUIRE(v == want->second);
          }
        }
      }
    } else if (op < 95) {
      REQUIRE_OK(db->Flush());
    } else if (op < 97) {
      std::string a = RandomKey(rng), b = RandomKey(rng);
      if (b < a) std::swap(a, b);
      REQUIRE_OK(rng() % 2 == 0 ? db->CompactRange(a, b)
                                : db->CompactRange(std::nullopt, std::nullopt));
    } else {
      snapshots.clear();  // snapshots must not outlive their DB
      db.reset();
      db = std::move(DB::Open(options, dir)).value();
      CheckScan(*db, model, {}, false);
    }
  }
  for (const HeldSnapshot& s : snapshots) {
    CheckScan(*db, s.model, ReadOptions{.snapshot = s.snapshot.get()}, false);
  }
  snapshots.clear();
  CheckScan(*db, model, {}, false);
  CheckScan(*db, model, {}, true);
}

int Steps(int default_steps) {
  if (const char* s = std::getenv("KV_MODEL_STEPS")) return std::atoi(s);
  return default_steps;
}

TEST_CASE("model: in memory, tiny memtable and levels (many flushes and compactions)",
          "[db][model]") {
  Options options{.memtable_bytes = 16 << 10,
                  .block_bytes = 512,
                  .level0_compaction_trigger = 2,
                  .level1_target_bytes = 32 << 10,
                  .target_file_bytes = 16 << 10};
  options.file_system = NewMemFileSystem();
  for (std::uint64_t i = 0; i < 3; ++i) {
    RunModelTest(options, "/db" + std::to_string(i), Steps(4000), test::TestSeed() + i);
  }
}

TEST_CASE("model: POSIX files, 64 KiB memtable", "[db][model]") {
  test::TempDir dir;
  Options options{.memtable_bytes = 64 << 10, .bloom_bits_per_key = 0};
  RunModelTest(options, dir.str() + "/db", Steps(3000), test::TestSeed() + 100);
}

}  // namespace
}  // namespace kv
