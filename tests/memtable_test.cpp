#include "kv/memtable.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "kv/concurrent_bloom.hpp"
#include "kv/internal_key.hpp"
#include "test_util.hpp"

namespace {

using kv::MemTable;
using kv::ValueType;
using R = MemTable::LookupResult;

// A pool keeping `blocks` huge page blocks filled with 0xa5 bytes.
std::shared_ptr<kv::HugePageBlockPool> GarbagePool(std::size_t blocks) {
  auto pool = std::make_shared<kv::HugePageBlockPool>(blocks);
  kv::Arena arena(kv::ArenaBlocks::kHugePages, pool);
  const std::size_t quarter = kv::detail::kHugePageBlockBytes / 4;
  for (std::size_t i = 0; i < 4 * blocks; ++i) std::memset(arena.Allocate(quarter), 0xa5, quarter);
  return pool;  // the arena's blocks go back to it here
}

// Get that returns (result, value) for compact assertions.
std::pair<R, std::string> Lookup(const MemTable& mem, std::string_view key, kv::SequenceNumber seq,
                                 std::uint64_t now = 0) {
  std::string v = "<untouched>";
  const R r = mem.Get(key, seq, now, &v);
  return {r, r == R::kFound ? v : std::string()};
}

struct Entry {
  std::string key;  // internal key
  std::string value;
};

std::vector<Entry> ScanForward(const MemTable& mem) {
  std::vector<Entry> out;
  auto it = mem.NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.push_back({std::string(it->key()), std::string(it->value())});
  }
  REQUIRE_OK(it->status());
  return out;
}

}  // namespace

TEST_CASE("MemTable empty", "[memtable]") {
  MemTable mem;
  CHECK(mem.empty());
  CHECK(mem.num_entries() == 0);
  std::string v;
  CHECK(mem.Get("a", kv::kMaxSequenceNumber, 0, &v) == R::kAbsent);
  auto it = mem.NewIterator();
  it->SeekToFirst();
  CHECK_FALSE(it->Valid());
  it->SeekToLast();
  CHECK_FALSE(it->Valid());
  it->Seek(kv::MakeInternalKey("a", 1, ValueType::kValue));
  CHECK_FALSE(it->Valid());
  CHECK(it->status().ok());
}

TEST_CASE("MemTable versions and sequence visibility", "[memtable]") {
  // Without a bloom filter, with a tiny saturated one, and a real one.
  const std::size_t bloom_bytes = GENERATE(std::size_t{0}, std::size_t{64}, std::size_t{1} << 16);
  MemTable mem(bloom_bytes);
  mem.Add(10, ValueType::kValue, "k", "v10");
  mem.Add(20, ValueType::kValue, "k", "v20");
  mem.Add(30, ValueType::kDeletion, "k", "");
  mem.Add(40, ValueType::kValue, "k", "v40");
  mem.Add(15, ValueType::kValue, "j", "j15");
  mem.Add(25, ValueType::kValue, "l", "l25");
  CHECK(mem.num_entries() == 6);
  CHECK_FALSE(mem.empty());

  CHECK(Lookup(mem, "k", 9).first == R::kAbsent);
  CHECK(Lookup(mem, "k", 10) == std::pair{R::kFound, std::string("v10")});
  CHECK(Lookup(mem, "k", 19) == std::pair{R::kFound, std::string("v10")});
  CHECK(Lookup(mem, "k", 20) == std::pair{R::kFound, std::string("v20")});
  CHECK(Lookup(mem, "k", 29) == std::pair{R::kFound, std::string("v20")});
  CHECK(Lookup(mem, "k", 30).first == R::kDeleted);
  CHECK(Lookup(mem, "k", 39).first == R::kDeleted);
  CHECK(Lookup(mem, "k", 40) == std::pair{R::kFound, std::string("v40")});
  CHECK(Lookup(mem, "k", kv::kMaxSequenceNumber) == std::pair{R::kFound, std::string("v40")});
  // Neighbours do not leak into each other.
  CHECK(Lookup(mem, "j", 14).first == R::kAbsent);
  CHECK(Lookup(mem, "j", 100) == std::pair{R::kFound, std::string("j15")});
  CHECK(Lookup(mem, "l", 24).first == R::kAbsent);
  CHECK(Lookup(mem, "kk", 100).first == R::kAbsent);
  CHECK(Lookup(mem, "", 100).first == R::kAbsent);
  CHECK(Lookup(mem, "m", 100).first == R::kAbsent);

  // kDeleted leaves *value alone.
  std::string v = "keep";
  CHECK(mem.Get("k", 35, 0, &v) == R::kDeleted);
  CHECK(v == "keep");
}

TEST_CASE("MemTable same sequence different types", "[memtable]") {
  // A write batch never does this, but the order must still be total and
  // Get must pick the higher type first (the seek key uses the largest type).
  MemTable mem;
  mem.Add(5, ValueType::kDeletion, "k", "");
  mem.Add(5, ValueType::kValue, "k", "v");
  CHECK(Lookup(mem, "k", 5) == std::pair{R::kFound, std::string("v")});
  const auto entries = ScanForward(mem);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == kv::MakeInternalKey("k", 5, ValueType::kValue));
  CHECK(entries[1].key == kv::MakeInternalKey("k", 5, ValueType::kDeletion));
}

TEST_CASE("MemTable expiry", "[memtable]") {
  // Without a bloom filter, with a tiny saturated one, and a real one.
  const std::size_t bloom_bytes = GENERATE(std::size_t{0}, std::size_t{64}, std::size_t{1} << 16);
  MemTable mem(bloom_bytes);
  mem.Add(1, ValueType::kValue, "k", "old");
  mem.Add(2, ValueType::kValueWithExpiry, "k", "fresh", /*expiry_micros=*/1000);
  mem.Add(3, ValueType::kValue, "p", "plain", /*expiry_micros=*/5);  // ignored

  CHECK(Lookup(mem, "k", 2, 0) == std::pair{R::kFound, std::string("fresh")});
  CHECK(Lookup(mem, "k", 2, 999) == std::pair{R::kFound, std::string("fresh")});
  // Expired at exactly the expiry, and the older version never comes back.
  CHECK(Lookup(mem, "k", 2, 1000).first == R::kDeleted);
  CHECK(Lookup(mem, "k", 2, 5000).first == R::kDeleted);
  CHECK(Lookup(mem, "k", 1, 5000) == std::pair{R::kFound, std::string("old")});
  CHECK(Lookup(mem, "p", 3, ~std::uint64_t{0}) == std::pair{R::kFound, std::string("plain")});

  // The iterator shows the stored value: fixed64 expiry, then the value.
  auto it = mem.NewIterator();
  it->Seek(kv::MakeInternalKey("k", 2, ValueType::kValueWithExpiry));
  REQUIRE(it->Valid());
  CHECK(it->key() == kv::MakeInternalKey("k", 2, ValueType::kValueWithExpiry));
  std::uint64_t expiry = 0;
  std::string_view user_value;
  REQUIRE(kv::SplitExpiringValue(it->value(), &expiry, &user_value));
  CHECK(expiry == 1000);
  CHECK(user_value == "fresh");
  it->Seek(kv::MakeInternalKey("p", 3, ValueType::kValue));
  REQUIRE(it->Valid());
  CHECK(it->value() == "plain");

  // An empty user value with expiry.
  mem.Add(4, ValueType::kValueWithExpiry, "e", "", 10);
  CHECK(Lookup(mem, "e", 4, 9) == std::pair{R::kFound, std::string()});
  CHECK(Lookup(mem, "e", 4, 10).first == R::kDeleted);
}

TEST_CASE("MemTable iterator both directions and Seek", "[memtable]") {
  MemTable mem;
  mem.Add(3, ValueType::kValue, "b", "b3");
  mem.Add(1, ValueType::kValue, "a", "a1");
  mem.Add(7, ValueType::kDeletion, "b", "");
  mem.Add(2, ValueType::kValue, "c", "c2");
  mem.Add(5, ValueType::kValue, "b", "b5");

  const std::vector<std::pair<std::string, std::string>> expected = {
      {kv::MakeInternalKey("a", 1, ValueType::kValue), "a1"},
      {kv::MakeInternalKey("b", 7, ValueType::kDeletion), ""},
      {kv::MakeInternalKey("b", 5, ValueType::kValue), "b5"},
      {kv::MakeInternalKey("b", 3, ValueType::kValue), "b3"},
      {kv::MakeInternalKey("c", 2, ValueType::kValue), "c2"},
  };
  auto it = mem.NewIterator();
  it->SeekToFirst();
  for (const auto& [k, v] : expected) {
    REQUIRE(it->Valid());
    CHECK(it->key() == k);
    CHECK(it->value() == v);
    it->Next();
  }
  CHECK_FALSE(it->Valid());
  it->SeekToLast();
  for (auto e = expected.rbegin(); e != expected.rend(); ++e) {
    REQUIRE(it->Valid());
    CHECK(it->key() == e->first);
    it->Prev();
  }
  CHECK_FALSE(it->Valid());

  // Seek on internal keys: (b, 6) lands on (b, 5); (b, max) on (b, 7).
  it->Seek(kv::MakeInternalKey("b", 6, kv::kValueTypeForSeek));
  REQUIRE(it->Valid());
  CHECK(it->key() == expected[2].first);
  it->Prev();
  REQUIRE(it->Valid());
  CHECK(it->key() == expected[1].first);
  it->Seek(kv::MakeInternalKey("b", kv::kMaxSequenceNumber, kv::kValueTypeForSeek));
  REQUIRE(it->Valid());
  CHECK(it->key() == expected[1].first);
  it->Seek(kv::MakeInternalKey("b", 2, kv::kValueTypeForSeek));
  REQUIRE(it->Valid());
  CHECK(it->key() == expected[4].first);
  it->Seek(kv::MakeInternalKey("c", 1, kv::kValueTypeForSeek));
  CHECK_FALSE(it->Valid());
  // Exact hit.
  it->Seek(expected[3].first);
  REQUIRE(it->Valid());
  CHECK(it->key() == expected[3].first);
  // A target shorter than a trailer is read as a bare user key.
  it->Seek("b");
  REQUIRE(it->Valid());
  CHECK(it->key() == expected[1].first);
  it->Seek("");
  REQUIRE(it->Valid());
  CHECK(it->key() == expected[0].first);
}

TEST_CASE("MemTable empty keys, NUL bytes and high bytes", "[memtable]") {
  MemTable mem;
  const std::string nul1("a\0b", 3);
  const std::string nul2("a\0", 2);
  const std::string high("\xff\xfe", 2);
  mem.Add(1, ValueType::kValue, "", "empty-key");
  mem.Add(2, ValueType::kValue, nul1, std::string("v\0v", 3));
  mem.Add(3, ValueType::kValue, nul2, "short");
  mem.Add(4, ValueType::kValue, "a", "");
  mem.Add(5, ValueType::kValue, high, "high");

  CHECK(Lookup(mem, "", 10) == std::pair{R::kFound, std::string("empty-key")});
  CHECK(Lookup(mem, nul1, 10) == std::pair{R::kFound, std::string("v\0v", 3)});
  CHECK(Lookup(mem, nul2, 10) == std::pair{R::kFound, std::string("short")});
  CHECK(Lookup(mem, "a", 10) == std::pair{R::kFound, std::string()});
  CHECK(Lookup(mem, high, 10) == std::pair{R::kFound, std::string("high")});
  CHECK(Lookup(mem, std::string("a\0\0", 3), 10).first == R::kAbsent);

  // Unsigned bytewise order: "" < "a" < "a\0" < "a\0b" < "\xff\xfe".
  const auto entries = ScanForward(mem);
  REQUIRE(entries.size() == 5);
  const std::vector<std::string> order = {"", "a", nul2, nul1, high};
  for (std::size_t i = 0; i < order.size(); ++i) {
    CHECK(kv::ExtractUserKey(entries[i].key) == order[i]);
  }
}

TEST_CASE("MemTable keys of 64 KiB and more", "[memtable]") {
  MemTable mem;
  std::mt19937_64 rng(kv::test::TestSeed());
  std::vector<std::string> keys;
  for (std::size_t size : {std::size_t{65535}, std::size_t{65536}, std::size_t{200000}}) {
    std::string k(size, '\0');
    for (char& c : k) c = static_cast<char>(rng());
    keys.push_back(k);
  }
  // Two keys sharing a long prefix, differing in the last byte.
  keys.push_back(keys[1]);
  keys.back().back() = static_cast<char>(keys.back().back() ^ 1);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    mem.Add(i + 1, ValueType::kValue, keys[i], "v" + std::to_string(i));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CHECK(Lookup(mem, keys[i], 100) == std::pair{R::kFound, "v" + std::to_string(i)});
    CHECK(Lookup(mem, keys[i], i).first == R::kAbsent);
  }
  const auto entries = ScanForward(mem);
  REQUIRE(entries.size() == keys.size());
  for (std::size_t i = 1; i < entries.size(); ++i) {
    CHECK(kv::CompareInternalKeys(entries[i - 1].key, entries[i].key) < 0);
  }
  CHECK(mem.ApproximateMemoryUsage() >= 65535 + 65536 + 200000 + 65536);
}

TEST_CASE("MemTable 64 MiB value", "[memtable]") {
  const kv::ArenaBlocks blocks = GENERATE(kv::ArenaBlocks::kSmall, kv::ArenaBlocks::kHugePages);
  MemTable mem(0, blocks);
  std::string big(std::size_t{64} << 20, 'x');
  big.front() = 'a';
  big.back() = 'z';
  mem.Add(1, ValueType::kValue, "big", big);
  mem.Add(2, ValueType::kValueWithExpiry, "bigx", big, 100);
  CHECK(mem.ApproximateMemoryUsage() >= 2 * big.size());
  std::string v;
  REQUIRE(mem.Get("big", 1, 0, &v) == R::kFound);
  CHECK(v == big);
  v.clear();
  REQUIRE(mem.Get("bigx", 2, 99, &v) == R::kFound);
  CHECK(v == big);
  auto it = mem.NewIterator();
  it->SeekToFirst();
  REQUIRE(it->Valid());
  CHECK(it->value().size() == big.size());
  it->Next();
  REQUIRE(it->Valid());
  CHECK(it->value().size() == big.size() + kv::kExpiryBytes);
}

TEST_CASE("MemTable randomized against a std::map model", "[memtable]") {
  const std::uint64_t seed = kv::test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);

  // Model: internal key -> (type, user value, expiry). std::map ordered by
  // kv::CompareInternalKeys.
  struct Cmp {
    bool operator()(const std::string& a, const std::string& b) const {
      return kv::CompareInternalKeys(a, b) < 0;
    }
  };
  struct Val {
    ValueType type;
    std::string value;
    std::uint64_t expiry;
  };
  std::map<std::string, Val, Cmp> model;
  // Without a bloom filter, with a tiny saturated one, and a real one.
  const std::size_t bloom_bytes = GENERATE(std::size_t{0}, std::size_t{64}, std::size_t{1} << 16);
  // Arenas of 4 KiB blocks, of fresh huge page blocks, and of huge page
  // blocks recycled full of garbage (what a DB's memtable gets from the one
  // flushed before it): nothing may rely on fresh memory being zero.
  const int arenas = GENERATE(0, 1, 2);
  INFO("arenas " << arenas);
  const std::shared_ptr<kv::HugePageBlockPool> pool = arenas == 2 ? GarbagePool(1) : nullptr;
  const kv::ArenaBlocks mem_blocks =
      arenas == 0 ? kv::ArenaBlocks::kSmall : kv::ArenaBlocks::kHugePages;
  MemTable mem(bloom_bytes, mem_blocks, pool);

  auto random_key = [&] {
    // A small alphabet with NULs so keys collide and share prefixes.
    const std::size_t len = rng() % 5;
    std::string k;
    for (std::size_t i = 0; i < len; ++i) k.push_back("\0ab\xff"[rng() % 4]);
    return k;
  };

  const int kOps = 5000;
  kv::SequenceNumber seq = 0;
  for (int i = 0; i < kOps; ++i) {
    seq += 1 + rng() % 3;
    const std::string key = random_key();
    const auto type = static_cast<ValueType>(rng() % 3);
    // Now and then a value around an eighth of an arena block (512 bytes
    // of a 4 KiB block, 256 KiB of a 2 MiB one: above it, values are
    // stored apart from their nodes) or well over it.
    const std::size_t eighth = kv::Arena(mem_blocks).block_size() / 8;
    const std::size_t big =
        rng() % 2 == 0 ? eighth - 8 + rng() % 16 : eighth * (2 + rng() % 4) + rng() % 100;
    const bool big_value = rng() % (mem_blocks == kv::ArenaBlocks::kSmall ? 10 : 1000) == 0;
    std::string value =
        type == ValueType::kDeletion ? "" : std::string(big_value ? big : rng() % 20, 'a' + i % 26);
    const std::uint64_t expiry = 100 + rng() % 1000;
    mem.Add(seq, type, key, value, expiry);
    model[kv::MakeInternalKey(key, seq, type)] = {type, value, expiry};
  }
  REQUIRE(mem.num_entries() == model.size());
  if (pool != nullptr) REQUIRE(pool->kept_blocks() == 0);  // the arena took the garbage block

  // Point lookups at random snapshots and clocks.
  for (int i = 0; i < 5000; ++i) {
    const std::string key = random_key();
    const kv::SequenceNumber snap = rng() % (seq + 2);
    const std::uint64_t now = rng() % 1300;
    R want = R::kAbsent;
    std::string want_value;
    auto m = model.lower_bound(kv::MakeInternalKey(key, snap, kv::kValueTypeForSeek));
    if (m != model.end() && kv::ExtractUserKey(m->first) == key) {
      const Val& val = m->second;
      if (val.type == ValueType::kDeletion ||
          (val.type == ValueType::kValueWithExpiry && val.expiry <= now)) {
        want = R::kDeleted;
      } else {
        want = R::kFound;
        want_value = val.value;
      }
    }
    INFO("key size " << key.size() << " snap " << snap << " now " << now);
    REQUIRE(Lookup(mem, key, snap, now) == std::pair{want, want_value});
  }

  // Full scans both ways.
  auto stored = [](const Val& v) {
    std::string s;
    if (v.type == ValueType::kValueWithExpiry) kv::PutFixed64(&s, v.expiry);
    return s + v.value;
  };
  auto it = mem.NewIterator();
  it->SeekToFirst();
  for (const auto& [k, v] : model) {
    REQUIRE(it->Valid());
    REQUIRE(it->key() == k);
    REQUIRE(it->value() == stored(v));
    it->Next();
  }
  REQUIRE_FALSE(it->Valid());
  it->SeekToLast();
  for (auto m = model.rbegin(); m != model.rend(); ++m) {
    REQUIRE(it->Valid());
    REQUIRE(it->key() == m->first);
    it->Prev();
  }
  REQUIRE_FALSE(it->Valid());

  // Seeks on random internal keys.
  for (int i = 0; i < 2000; ++i) {
    const std::string target =
        kv::MakeInternalKey(random_key(), rng() % (seq + 2), static_cast<ValueType>(rng() % 3));
    it->Seek(target);
    auto m = model.lower_bound(target);
    if (m == model.end()) {
      REQUIRE_FALSE(it->Valid());
    } else {
      REQUIRE(it->Valid());
      REQUIRE(it->key() == m->first);
    }
  }
}

TEST_CASE("MemTable Get and iterate while one writer adds", "[memtable][concurrency]") {
  // Without a bloom filter, with a tiny saturated one, and a real one.
  const std::size_t bloom_bytes = GENERATE(std::size_t{0}, std::size_t{64}, std::size_t{1} << 16);
  // Arenas of 4 KiB blocks, of fresh huge page blocks, and of huge page
  // blocks recycled full of garbage (what a DB's memtable gets from the one
  // flushed before it): nothing may rely on fresh memory being zero.
  const int arenas = GENERATE(0, 1, 2);
  INFO("arenas " << arenas);
  MemTable mem(bloom_bytes, arenas == 0 ? kv::ArenaBlocks::kSmall : kv::ArenaBlocks::kHugePages,
               arenas == 2 ? GarbagePool(1) : nullptr);
  constexpr int kKeys = 1000;
  std::atomic<kv::SequenceNumber> published{0};
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  // Key i gets versions at seq = round * kKeys + i + 1 with value "<seq>".
  std::thread reader([&] {
    std::string v;
    std::mt19937_64 r(kv::test::TestSeed());
    while (!stop.load(std::memory_order_acquire)) {
      const kv::SequenceNumber snap = published.load(std::memory_order_acquire);
      const int i = static_cast<int>(r() % kKeys);
      const std::string key = "key" + std::to_string(i);
      const R res = mem.Get(key, snap, 0, &v);
      // Newest version of key i at or below snap.
      if (snap < static_cast<kv::SequenceNumber>(i + 1)) {
        if (res != R::kAbsent) errors.fetch_add(1);
      } else {
        const kv::SequenceNumber want = ((snap - i - 1) / kKeys) * kKeys + i + 1;
        if (res != R::kFound || v != std::to_string(want)) errors.fetch_add(1);
      }
      if (r() % 64 == 0) {
        auto it = mem.NewIterator();
        std::string prev;
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          if (!prev.empty() && kv::CompareInternalKeys(prev, it->key()) >= 0) errors.fetch_add(1);
          prev.assign(it->key());
        }
      }
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  kv::SequenceNumber seq = 0;
  while (std::chrono::steady_clock::now() < deadline && seq < 200000) {
    for (int i = 0; i < kKeys; ++i) {
      ++seq;
      mem.Add(seq, ValueType::kValue, "key" + std::to_string(i), std::to_string(seq));
      published.store(seq, std::memory_order_release);
    }
  }
  stop.store(true, std::memory_order_release);
  reader.join();
  CHECK(errors.load() == 0);
  CHECK(mem.num_entries() == seq);
}

TEST_CASE("ConcurrentBloomFilter: no false negatives, few false positives", "[memtable]") {
  kv::ConcurrentBloomFilter none(0);
  CHECK(none.bytes() == 0);
  CHECK(none.HashMayMatch(kv::BloomHash("anything")));

  constexpr int kKeys = 100000;
  kv::ConcurrentBloomFilter bloom(kKeys * 20 / 8);  // 20 bits per key
  CHECK(bloom.bytes() % 64 == 0);
  // Nothing added yet: nothing matches.
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(bloom.HashMayMatch(kv::BloomHash(std::to_string(i))));
  const bool single_writer = GENERATE(false, true);
  INFO("AddHashSingleWriter: " << single_writer);
  for (int i = 0; i < kKeys; ++i) {
    const std::uint64_t h = kv::BloomHash("key" + std::to_string(i));
    if (single_writer) {
      bloom.AddHashSingleWriter(h);
    } else {
      bloom.AddHash(h);
    }
  }
  int missing = 0, false_positives = 0;
  for (int i = 0; i < kKeys; ++i) {
    missing += bloom.HashMayMatch(kv::BloomHash("key" + std::to_string(i))) ? 0 : 1;
    false_positives += bloom.HashMayMatch(kv::BloomHash("absent" + std::to_string(i))) ? 1 : 0;
  }
  CHECK(missing == 0);
  // Blocked bloom at 20 bits/key and 6 probes: about 0.1%.
  const double expected = kv::BlockedBloomFalsePositiveRate(512.0 / 20, 6);
  INFO("false positives " << false_positives << " expected rate " << expected);
  CHECK(false_positives < kKeys * expected * 2 + 20);
}

TEST_CASE("ConcurrentBloomFilter: both ways of adding set the same bits", "[memtable]") {
  kv::ConcurrentBloomFilter atomic_adds(1 << 12), single_writer(1 << 12);
  for (int i = 0; i < 3000; ++i) {
    atomic_adds.AddHash(kv::BloomHash("k" + std::to_string(i)));
    single_writer.AddHashSingleWriter(kv::BloomHash("k" + std::to_string(i)));
  }
  int differ = 0, matches = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t h = kv::BloomHash("probe" + std::to_string(i));
    differ += atomic_adds.HashMayMatch(h) != single_writer.HashMayMatch(h) ? 1 : 0;
    matches += atomic_adds.HashMayMatch(h) ? 1 : 0;
  }
  CHECK(differ == 0);
  CHECK(matches > 0);  // the filter is loaded enough that the probes mean something
}

TEST_CASE("MemTable with a bloom filter: absent keys skip, present keys are found", "[memtable]") {
  MemTable mem(1 << 16);
  const std::size_t empty_usage = mem.ApproximateMemoryUsage();
  CHECK(empty_usage >= (1u << 16));  // the filter counts
  for (int i = 0; i < 2000; ++i) {
    mem.Add(static_cast<kv::SequenceNumber>(i + 1), ValueType::kValue, "k" + std::to_string(i),
            "v" + std::to_string(i));
  }
  for (int i = 0; i < 2000; ++i) {
    CHECK(Lookup(mem, "k" + std::to_string(i), 1 << 20) ==
          std::make_pair(R::kFound, "v" + std::to_string(i)));
    CHECK(Lookup(mem, "x" + std::to_string(i), 1 << 20).first == R::kAbsent);
  }
}
