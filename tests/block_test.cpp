// Tests for kv::BlockBuilder / kv::Block / kv::BlockIter: round trips of
// random sorted keys checked against a sorted-vector model (every seek
// target, both directions), internal-key order, and corrupt bytes, in both
// block layouts (interleaved and split, narrow and wide).
#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kv/block.hpp"
#include "kv/block_builder.hpp"
#include "kv/internal_key.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

// Sorted unique random keys with many shared prefixes (drawn from a small
// alphabet, including 0x00 and 0xff bytes) and random values. Keys are
// shorter than `max_key_len`.
Entries RandomEntries(std::mt19937_64& rng, std::size_t n, std::size_t max_key_len = 12) {
  const std::vector<std::string> keys = test::RandomSortedKeys(rng, n,
                                                               std::string_view("\x00\x01"
                                                                                "abc\xfe\xff",
                                                                                7),
                                                               max_key_len);
  Entries out;
  for (const std::string& k : keys)
    out.emplace_back(k, std::string(rng() % 20, static_cast<char>('A' + rng() % 26)));
  return out;
}

constexpr BlockLayout kLayouts[] = {BlockLayout::kInterleaved, BlockLayout::kSplit};

std::shared_ptr<const Block> Build(const Entries& entries, int restart_interval,
                                   BlockLayout layout) {
  BlockBuilder b(restart_interval, layout);
  for (const auto& [k, v] : entries) b.Add(k, v);
  auto block = Block::FromContents(b.Finish());
  REQUIRE_OK(block);
  return *block;
}

// Checks that `it` is at model index `i` (n = end).
void ExpectAt(const BlockIter& it, const Entries& model, std::size_t i) {
  REQUIRE_OK(it.status());
  if (i == model.size()) {
    REQUIRE_FALSE(it.Valid());
    return;
  }
  REQUIRE(it.Valid());
  REQUIRE(it.key() == model[i].first);
  REQUIRE(it.value() == model[i].second);
}

// `borrowed`: the iterator does not hold a reference to the block.
void CheckBlock(const Entries& model, int restart_interval, BlockLayout layout,
                bool borrowed = false) {
  auto block = Build(model, restart_interval, layout);
  REQUIRE(block->split() == (layout == BlockLayout::kSplit));
  REQUIRE(reinterpret_cast<std::uintptr_t>(block->data()) % kBlockAlignment == 0);
  std::optional<BlockIter> owner;
  if (borrowed) {
    owner.emplace(block.get(), CompareUserKeys);
  } else {
    owner.emplace(block, CompareUserKeys);
  }
  BlockIter& it = *owner;

  // Forward scan.
  it.SeekToFirst();
  for (std::size_t i = 0; i < model.size(); ++i) {
    ExpectAt(it, model, i);
    // Every entry is a restart point at interval 1: the index is the ordinal.
    if (restart_interval == 1) REQUIRE(it.restart_index() == i);
    it.Next();
  }
  ExpectAt(it, model, model.size());
  // Backward scan.
  it.SeekToLast();
  for (std::size_t i = model.size(); i-- > 0;) {
    ExpectAt(it, model, i);
    it.Prev();
  }
  REQUIRE_FALSE(it.Valid());
  REQUIRE_OK(it.status());

  // A random walk of mixed moves: Prev right after Next, Seek or SeekToLast
  // must never step back through entries remembered for another position.
  std::mt19937_64 rng(model.size() * 31 + static_cast<std::size_t>(restart_interval));
  std::size_t at = model.size();  // where the model says `it` is (size: invalid)
  for (int step = 0; step < 3000 && !model.empty(); ++step) {
    const std::uint64_t move = rng() % 10;
    if (at == model.size() || move == 0) {
      at = rng() % model.size();
      it.Seek(model[at].first);
    } else if (move == 1) {
      it.SeekToLast();
      at = model.size() - 1;
    } else if (move < 6) {
      it.Prev();
      at = at == 0 ? model.size() : at - 1;
    } else {
      it.Next();
      ++at;
    }
    ExpectAt(it, model, at);
  }

  // Seek targets: every key, and keys just before/after/between them.
  std::vector<std::string> targets = {"", std::string(20, '\xff')};
  for (const auto& [k, v] : model) {
    targets.push_back(k);
    targets.push_back(k + '\0');
    targets.push_back(k + "b");
    if (!k.empty()) targets.push_back(k.substr(0, k.size() - 1));
  }
  for (const std::string& t : targets) {
    const auto lb =
        std::lower_bound(model.begin(), model.end(), t,
                         [](const auto& e, const std::string& x) { return e.first < x; });
    const auto i = static_cast<std::size_t>(lb - model.begin());
    it.Seek(t);
    ExpectAt(it, model, i);
    if (i < model.size()) {
      it.Next();
      ExpectAt(it, model, i + 1);
      it.Seek(t);
      it.Prev();
      if (i == 0) {
        REQUIRE_FALSE(it.Valid());
      } else {
        ExpectAt(it, model, i - 1);
      }
    }
  }
}

TEST_CASE("Block round trip of random keys, all seek targets, both directions") {
  std::mt19937_64 rng(test::TestSeed());
  for (BlockLayout layout : kLayouts) {
    for (int restart_interval : {1, 2, 16}) {
      for (std::size_t n : {0, 1, 2, 15, 16, 17, 100, 1000}) {
        INFO("split=" << (layout == BlockLayout::kSplit) << " restart_interval=" << restart_interval
                      << " n=" << n);
        CheckBlock(RandomEntries(rng, n), restart_interval, layout);
        // Keys longer than the iterator's inline key scratch (rebuilt keys
        // then live on the heap, growing as longer ones come).
        CheckBlock(RandomEntries(rng, n, 200), restart_interval, layout);
        CheckBlock(RandomEntries(rng, n, 200), restart_interval, layout, /*borrowed=*/true);
      }
    }
  }
}

TEST_CASE("Split blocks past 64 KiB store wide restart pairs") {
  std::mt19937_64 rng(test::TestSeed());
  Entries model = RandomEntries(rng, 300);
  // ~300 values of 300-700 bytes: the values alone pass 0xffff bytes, so
  // the restart pairs need fixed32.
  for (auto& [k, v] : model)
    v = std::string(300 + rng() % 400, static_cast<char>('a' + rng() % 26));
  for (int restart_interval : {1, 16}) {
    BlockBuilder b(restart_interval, BlockLayout::kSplit);
    for (const auto& [k, v] : model) b.Add(k, v);
    const std::size_t estimate = b.CurrentSizeEstimate();
    const std::string contents(b.Finish());
    REQUIRE(contents.size() == estimate);
    REQUIRE(contents.size() > kMaxNarrowBlockOffset);
    auto block = Block::FromContents(contents);
    REQUIRE_OK(block);
    REQUIRE((*block)->split());
    REQUIRE((*block)->restart_bytes() == 8);
    CheckBlock(model, restart_interval, BlockLayout::kSplit);
  }
  // A split block just under the limit stays narrow.
  BlockBuilder narrow(16, BlockLayout::kSplit);
  narrow.Add("a", std::string(kMaxNarrowBlockOffset - 8, 'v'));
  auto block = Block::FromContents(narrow.Finish());
  REQUIRE_OK(block);
  REQUIRE((*block)->restart_bytes() == 4);
  BlockIter it(*block, CompareUserKeys);
  it.SeekToFirst();
  REQUIRE(it.Valid());
  REQUIRE(it.value().size() == kMaxNarrowBlockOffset - 8);
}

TEST_CASE("Block builder reuse after Reset and size estimate") {
  const BlockLayout layout = GENERATE(BlockLayout::kInterleaved, BlockLayout::kSplit);
  BlockBuilder b(4, layout);
  b.Add("a", "1");
  b.Add("b", "2");
  const std::size_t estimate = b.CurrentSizeEstimate();
  REQUIRE(b.Finish().size() == estimate);
  REQUIRE(b.CurrentSizeEstimate() == estimate);
  b.Reset();
  REQUIRE(b.empty());
  Entries model = {{"x", "9"}, {"y", ""}, {"z", std::string(300, 'z')}};
  for (const auto& [k, v] : model) b.Add(k, v);
  auto block = Block::FromContents(b.Finish());
  REQUIRE_OK(block);
  BlockIter it(*block, CompareUserKeys);
  it.SeekToFirst();
  for (std::size_t i = 0; i <= model.size(); ++i) {
    ExpectAt(it, model, i);
    if (it.Valid()) it.Next();
  }
}

TEST_CASE("Block with internal keys orders versions newest first") {
  Entries model;
  for (int u = 0; u < 50; ++u) {
    const std::string user = "key" + std::to_string(1000 + u);
    for (SequenceNumber s = 5; s >= 1; --s) {
      model.emplace_back(MakeInternalKey(user, s * 10 + u, ValueType::kValue), std::to_string(s));
    }
  }
  BlockBuilder b(16);
  for (const auto& [k, v] : model) b.Add(k, v);
  auto block = Block::FromContents(b.Finish());
  REQUIRE_OK(block);
  BlockIter it(*block, CompareInternalKeys);
  // A seek at (user, snapshot) finds the newest version <= snapshot.
  it.Seek(MakeInternalKey("key1010", 35, kValueTypeForSeek));
  REQUIRE(it.Valid());
  ParsedInternalKey p;
  REQUIRE(ParseInternalKey(it.key(), &p));
  REQUIRE(p.user_key == "key1010");
  REQUIRE(p.sequence == 30);
  it.Seek(MakeInternalKey("key1010", 5, kValueTypeForSeek));
  REQUIRE(it.Valid());
  REQUIRE(ParseInternalKey(it.key(), &p));
  REQUIRE(p.user_key == "key1011");  // every version of key1010 is newer than 5
  it.SeekToLast();
  REQUIRE(ParseInternalKey(it.key(), &p));
  REQUIRE(p.user_key == "key1049");
  REQUIRE(p.sequence == 10 + 49);
}

// Sorted internal keys whose user keys are often prefixes of each other and
// share long prefixes (a small alphabet, lengths 0-19, crossing the 8-byte
// steps of the comparison), each with 1-3 versions. Sequences are spread
// over all 56 bits, so trailer bytes vary and sometimes match user-key bytes.
Entries RandomInternalEntries(std::mt19937_64& rng, std::size_t n) {
  const std::vector<std::string> users = test::RandomSortedKeys(rng, n,
                                                                std::string_view("\x00\x01"
                                                                                 "ab\xfe\xff",
                                                                                 6),
                                                                20);
  Entries out;
  for (const std::string& user : users) {
    std::vector<SequenceNumber> seqs;
    const std::size_t versions = 1 + rng() % 3;
    for (std::size_t v = 0; v < versions; ++v) {
      seqs.push_back(rng() % 4 == 0 ? rng() % 8 : rng() & kMaxSequenceNumber);
    }
    std::sort(seqs.rbegin(), seqs.rend());  // newest first: internal-key order
    seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
    for (SequenceNumber seq : seqs) {
      const auto type = static_cast<ValueType>(rng() % 3);
      out.emplace_back(MakeInternalKey(user, seq, type), std::string(rng() % 5, 'v'));
    }
  }
  return out;
}

// Encodes `entries` as a block by hand, storing at each non-restart entry a
// shared-prefix length drawn at random from [0, longest common prefix]: a
// shorter prefix than BlockBuilder would store, but as valid a block.
std::shared_ptr<const Block> BuildWithShortPrefixes(const Entries& entries, int restart_interval,
                                                    std::mt19937_64& rng) {
  std::string out;
  std::vector<std::uint32_t> restarts;
  std::string prev;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& [key, value] = entries[i];
    std::size_t shared = 0;
    if (i % static_cast<std::size_t>(restart_interval) == 0) {
      restarts.push_back(static_cast<std::uint32_t>(out.size()));
    } else {
      const std::size_t longest =
          FirstMismatch(prev.data(), key.data(), 0, std::min(prev.size(), key.size()));
      shared = rng() % (longest + 1);
    }
    PutVarint32(&out, static_cast<std::uint32_t>(shared));
    PutVarint32(&out, static_cast<std::uint32_t>(key.size() - shared));
    PutVarint32(&out, static_cast<std::uint32_t>(value.size()));
    out.append(key, shared);
    out.append(value);
    prev = key;
  }
  if (restarts.empty()) restarts.push_back(0);
  for (std::uint32_t r : restarts) PutFixed32(&out, r);
  PutFixed32(&out, static_cast<std::uint32_t>(restarts.size()));
  auto block = Block::FromContents(out);
  REQUIRE_OK(block);
  return *block;
}

// Seeks `block` (built from `model`, internal keys) to targets around every
// key: each version, the sequences next to it, the newest and oldest
// possible, and user keys just before, after and inside it. Each must land
// where lower_bound in the model does.
void CheckInternalKeySeeks(const std::shared_ptr<const Block>& block, const Entries& model) {
  std::vector<std::string> targets = {
      MakeInternalKey("", kMaxSequenceNumber, kValueTypeForSeek),
      MakeInternalKey(std::string(21, '\xff'), 0, ValueType::kDeletion)};
  for (const auto& [key, value] : model) {
    const std::string user(ExtractUserKey(key));
    const SequenceNumber seq = ExtractTrailer(key) >> 8;
    for (SequenceNumber s :
         {seq, seq + 1, seq == 0 ? 0 : seq - 1, kMaxSequenceNumber, SequenceNumber{0}}) {
      if (s > kMaxSequenceNumber) continue;
      targets.push_back(MakeInternalKey(user, s, kValueTypeForSeek));
      targets.push_back(MakeInternalKey(user, s, ValueType::kDeletion));
    }
    for (const std::string& u : {user + '\0', user + '\xff', user.substr(0, user.size() / 2),
                                 user.empty() ? user : user.substr(0, user.size() - 1)}) {
      targets.push_back(MakeInternalKey(u, seq, kValueTypeForSeek));
    }
  }
  const auto less = [](const auto& e, const std::string& t) {
    return CompareInternalKeys(e.first, t) < 0;
  };
  BlockIter it(block, CompareInternalKeys, nullptr, 0, kTrailerBytes);
  for (const std::string& t : targets) {
    const auto i = static_cast<std::size_t>(std::lower_bound(model.begin(), model.end(), t, less) -
                                            model.begin());
    it.Seek(t);
    ExpectAt(it, model, i);
    if (i < model.size()) {
      it.Next();
      ExpectAt(it, model, i + 1);
    }
  }
}

TEST_CASE("Block seeks over internal keys land where the model's lower_bound does") {
  std::mt19937_64 rng(test::TestSeed());
  const BlockLayout layout = GENERATE(BlockLayout::kInterleaved, BlockLayout::kSplit);
  for (int restart_interval : {1, 2, 3, 16}) {
    for (std::size_t n : {1, 5, 40, 300}) {
      INFO("restart_interval=" << restart_interval << " n=" << n);
      const Entries model = RandomInternalEntries(rng, n);
      BlockBuilder b(restart_interval, layout);
      for (const auto& [k, v] : model) b.Add(k, v);
      auto block = Block::FromContents(b.Finish());
      REQUIRE_OK(block);
      CheckInternalKeySeeks(*block, model);
    }
  }
}

TEST_CASE("Block seeks over internal keys do not rely on stored prefixes being the longest") {
  // The scan decides many entries from the stored shared-prefix length
  // alone; a writer may store a shorter prefix than the longest common one.
  std::mt19937_64 rng(test::TestSeed() + 1);
  for (int restart_interval : {2, 16}) {
    for (int round = 0; round < 20; ++round) {
      INFO("restart_interval=" << restart_interval << " round=" << round);
      const Entries model = RandomInternalEntries(rng, 60);
      CheckInternalKeySeeks(BuildWithShortPrefixes(model, restart_interval, rng), model);
    }
  }
}

TEST_CASE("Block iterator treats keys shorter than min_key_bytes as corruption") {
  BlockBuilder b(2);
  b.Add("abcdefgh1", "x");
  b.Add("abcdefgh2", "y");
  b.Add("short", "z");  // not an internal key
  auto block = Block::FromContents(b.Finish());
  REQUIRE_OK(block);
  const std::string file = "f.sst";
  BlockIter it(*block, CompareUserKeys, &file, 1000, kTrailerBytes);
  it.SeekToFirst();
  REQUIRE(it.Valid());
  it.Next();
  REQUIRE(it.Valid());
  it.Next();
  REQUIRE_FALSE(it.Valid());
  REQUIRE(absl::IsDataLoss(it.status()));
  INFO(it.status().ToString());
  REQUIRE(it.status().message().find("f.sst") != std::string::npos);
  REQUIRE(it.status().message().find("offset 10") != std::string::npos);  // 1000 + entry offset
  BlockIter it2(*block, CompareUserKeys, &file, 0, kTrailerBytes);
  it2.Seek("zzzzzzzzz");  // the binary search reads the short restart key
  REQUIRE_FALSE(it2.Valid());
  REQUIRE(absl::IsDataLoss(it2.status()));
}

TEST_CASE("Block rejects malformed restart arrays") {
  CHECK(absl::IsDataLoss(Block::FromContents("").status()));
  CHECK(absl::IsDataLoss(Block::FromContents("abc").status()));
  std::string zero_restarts(4, '\0');
  CHECK(absl::IsDataLoss(Block::FromContents(zero_restarts).status()));
  std::string too_many = "\x00\x00\x00\x00\x05\x00\x00\x00";
  CHECK(absl::IsDataLoss(Block::FromContents(std::string(too_many.data(), 8)).status()));
  // The wide flag without the split flag means nothing.
  std::string wide_only(4, '\0');
  PutFixed32(&wide_only, 1 | kBlockWideFlag);
  CHECK(absl::IsDataLoss(Block::FromContents(wide_only).status()));
  // A wide split block needs 8 bytes per restart.
  std::string wide(4, '\0');
  PutFixed32(&wide, 1 | kBlockWideFlag | kBlockSplitFlag);
  CHECK(absl::IsDataLoss(Block::FromContents(wide).status()));
}

TEST_CASE("Split blocks report values and restart pairs out of range as corruption") {
  BlockBuilder b(2, BlockLayout::kSplit);
  b.Add("k1", "value1");
  b.Add("k2", "value2");
  b.Add("k3", "value3");
  // Entries at 0, 5 and 9 (restart 1), values at 14, 20 and 26, restart
  // pairs (0, 14) and (9, 26) at 32.
  const std::string good(b.Finish());
  const std::size_t restarts = good.size() - 4 - 2 * 4;
  REQUIRE(restarts == 32);
  REQUIRE(DecodeFixed16(good.data() + restarts + 2) == 14);
  const std::string file = "t.sst";
  auto open = [&](const std::string& bytes) {
    auto block = Block::FromContents(bytes);
    REQUIRE_OK(block);
    return *block;
  };
  SECTION("a restart pair's value offset past the values") {
    std::string bad = good;
    EncodeFixed16(bad.data() + restarts + 4 + 2, 33);
    BlockIter it(open(bad), CompareUserKeys, &file, 0);
    it.Seek("k4");  // from restart 1
    REQUIRE_FALSE(it.Valid());
    REQUIRE(absl::IsDataLoss(it.status()));
    REQUIRE(it.status().message().find("t.sst") != std::string::npos);
  }
  SECTION("a value length past the values") {
    std::string bad = good;
    REQUIRE(bad[2] == 6);  // entry 0: shared 0, unshared 2, value_len 6
    bad[2] = 7;
    BlockIter it(open(bad), CompareUserKeys, &file, 100);
    it.SeekToFirst();
    REQUIRE(it.Valid());  // 14..21 still lies inside the values
    REQUIRE(it.value() == "value1v");
    it.Next();  // entry 1 now claims 21..27, also inside them
    REQUIRE(it.Valid());
    it.Next();  // entry 2's value would end at 33
    REQUIRE_FALSE(it.Valid());
    REQUIRE(absl::IsDataLoss(it.status()));
    REQUIRE(it.status().message().find("offset 109") != std::string::npos);  // 100 + entry 2
  }
  SECTION("a restart entry offset past the entries") {
    std::string bad = good;
    EncodeFixed16(bad.data() + restarts + 4, 20);
    BlockIter it(open(bad), CompareUserKeys);
    it.Seek("k3");  // the binary search reads restart 1's key
    REQUIRE_FALSE(it.Valid());
    REQUIRE(absl::IsDataLoss(it.status()));
  }
  SECTION("the values' start past the restart array") {
    std::string bad = good;
    EncodeFixed16(bad.data() + restarts + 2, 33);
    BlockIter it(open(bad), CompareUserKeys);
    REQUIRE(absl::IsDataLoss(it.status()));
    it.SeekToFirst();
    REQUIRE_FALSE(it.Valid());
  }
}

// Drives an iterator over a possibly-corrupt block in every way; it must
// stay in bounds (ASan checks) and terminate.
void Exercise(std::shared_ptr<const Block> block, const Entries& model) {
  BlockIter it(std::move(block), CompareUserKeys);
  int steps = 0;
  for (it.SeekToFirst(); it.Valid() && steps < 1000; it.Next()) ++steps;
  for (it.SeekToLast(); it.Valid() && steps < 2000; it.Prev()) ++steps;
  for (const auto& [k, v] : model) {
    it.Seek(k);
    if (it.Valid()) it.Prev();
    if (it.Valid()) it.Next();
  }
  if (!it.status().ok()) REQUIRE(absl::IsDataLoss(it.status()));
}

TEST_CASE("Corrupt blocks never read out of bounds") {
  std::mt19937_64 rng(test::TestSeed());
  const Entries model = RandomEntries(rng, 40);
  const BlockLayout layout = GENERATE(BlockLayout::kInterleaved, BlockLayout::kSplit);
  BlockBuilder b(4, layout);
  for (const auto& [k, v] : model) b.Add(k, v);
  const std::string good(b.Finish());
  for (std::size_t pos = 0; pos < good.size(); ++pos) {
    for (unsigned char x : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[pos] = static_cast<char>(bad[pos] ^ x);
      auto block = Block::FromContents(bad);
      if (block.ok()) Exercise(*block, model);
    }
  }
  for (std::size_t len = 0; len < good.size(); ++len) {
    auto block = Block::FromContents(std::string_view(good).substr(0, len));
    if (block.ok()) Exercise(*block, model);
  }
}

}  // namespace
}  // namespace kv
