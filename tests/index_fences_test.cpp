// IndexFences: for random sorted keys (shared prefixes, keys that are
// prefixes of others, 0x00 and 0xff bytes, plain and internal keys), the
// fence lower bound followed by full comparisons lands exactly where a
// search of the block does; the fences are refused for blocks whose entries
// are not all restart points.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "kv/block_builder.hpp"
#include "kv/index_fences.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

// Keys of `common` plus up to 13 bytes of a 6-letter alphabet with 0x00 and 0xff.
std::vector<std::string> RandomSortedKeys(std::mt19937_64& rng, std::size_t n,
                                          const std::string& common) {
  return test::RandomSortedKeys(rng, n,
                                std::string_view("\x00\x01"
                                                 "ab\xfe\xff",
                                                 6),
                                14, common);
}

std::shared_ptr<const Block> BuildBlock(const std::vector<std::string>& keys, int interval) {
  BlockBuilder b(interval);
  for (const std::string& k : keys) b.Add(k, "v");
  auto block = Block::FromContents(b.Finish());
  REQUIRE_OK(block);
  return *block;
}

// Where the fences put a search for `target`: the lower bound, then
// forward over smaller entries (as SSTableReader::SeekIndex does).
std::size_t FencedSeek(const IndexFences& fences, const Block* block, KeyComparator cmp,
                       std::string_view target, std::string_view target_user_key) {
  BlockIter it(block, cmp);
  const std::optional<std::uint32_t> first = fences.LowerBound(target_user_key);
  if (!first) {
    it.Seek(target);
  } else {
    for (it.SeekToRestart(*first); it.Valid() && cmp(it.key(), target) < 0;) it.Next();
  }
  REQUIRE_OK(it.status());
  return it.Valid() ? it.restart_index() : block->num_restarts();
}

TEST_CASE("IndexFences: fenced seeks land where block seeks do") {
  std::mt19937_64 rng(test::TestSeed());
  for (const std::string& common :
       {std::string(), std::string("user"), std::string("pre\x00", 4)}) {
    for (std::size_t n : {1, 2, 10, 500}) {
      const std::vector<std::string> keys = RandomSortedKeys(rng, n, common);
      auto block = BuildBlock(keys, 1);
      const IndexFences fences = IndexFences::Build(block.get(), /*internal_keys=*/false);
      REQUIRE(fences.enabled());
      std::vector<std::string> targets = {"", common, std::string(20, '\xff')};
      for (const std::string& k : keys) {
        targets.push_back(k);
        targets.push_back(k + '\0');
        if (!k.empty()) targets.push_back(k.substr(0, k.size() - 1));
      }
      for (const std::string& k : RandomSortedKeys(rng, 200, common)) targets.push_back(k);
      std::size_t used = 0;
      for (const std::string& t : targets) {
        const auto want =
            static_cast<std::size_t>(std::lower_bound(keys.begin(), keys.end(), t) - keys.begin());
        INFO("n=" << n << " target size " << t.size());
        REQUIRE(FencedSeek(fences, block.get(), CompareUserKeys, t, t) == want);
        used += fences.LowerBound(t).has_value() ? 1 : 0;
      }
      if (n >= 10) CHECK(used > targets.size() / 2);  // the fences answered most searches
    }
  }
}

TEST_CASE("IndexFences over internal keys, with versions of one user key across entries") {
  std::mt19937_64 rng(test::TestSeed());
  std::vector<std::string> ikeys;
  for (const std::string& u : RandomSortedKeys(rng, 300, "k")) {
    const int versions = 1 + static_cast<int>(rng() % 3);
    for (int v = versions; v > 0; --v) {  // newest (largest sequence) first
      ikeys.push_back(MakeInternalKey(u, static_cast<SequenceNumber>(10 * v), ValueType::kValue));
    }
  }
  auto block = BuildBlock(ikeys, 1);
  const IndexFences fences = IndexFences::Build(block.get(), /*internal_keys=*/true);
  REQUIRE(fences.enabled());
  for (int i = 0; i < 3000; ++i) {
    const std::string& base = ikeys[rng() % ikeys.size()];
    const std::string t = MakeInternalKey(ExtractUserKey(base), rng() % 40, kValueTypeForSeek);
    const auto want =
        static_cast<std::size_t>(std::lower_bound(ikeys.begin(), ikeys.end(), t,
                                                  [](const std::string& a, const std::string& b) {
                                                    return CompareInternalKeys(a, b) < 0;
                                                  }) -
                                 ikeys.begin());
    REQUIRE(FencedSeek(fences, block.get(), CompareInternalKeys, t, ExtractUserKey(t)) == want);
  }
}

TEST_CASE("IndexFences stay exact when the last index key is a short successor") {
  // Separators of zero-padded decimal keys, then the successor of the
  // table's last key, as a table's index holds them.
  std::vector<std::string> keys;
  for (int i = 1000; i < 2000; ++i) keys.push_back(absl::StrFormat("%016d", i * 37));
  keys.push_back("1");
  auto block = BuildBlock(keys, 1);
  const IndexFences fences = IndexFences::Build(block.get(), /*internal_keys=*/false);
  REQUIRE(fences.enabled());
  // Every key but the last gets its own fence: the lower bound is the entry
  // itself, not the start of a linear walk.
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) REQUIRE(fences.LowerBound(keys[i]) == i);
  REQUIRE(FencedSeek(fences, block.get(), CompareUserKeys, "0000000000099999",
                     "0000000000099999") == keys.size() - 1);
}

TEST_CASE("IndexFences lower bound is exact for every table size and target") {
  // Keys "p" + 8 big-endian bytes: fence order is key order and every fence
  // is distinct, so LowerBound must equal std::lower_bound, for every
  // length of the search (each parity of each halving step).
  std::mt19937_64 rng(test::TestSeed());
  auto key_of = [](std::uint64_t v) {
    std::string k = "p";
    for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(v >> shift));
    return k;
  };
  std::size_t checked = 0;
  for (std::size_t n = 1; n <= 70; ++n) {
    std::vector<std::uint64_t> values;
    // Odd values: the targets v - 1 and v + 1 are never keys themselves.
    while (values.size() < n) values.push_back(rng() | 1);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    std::vector<std::string> keys;
    for (std::uint64_t v : values) keys.push_back(key_of(v));
    auto block = BuildBlock(keys, 1);
    const IndexFences fences = IndexFences::Build(block.get(), /*internal_keys=*/false);
    REQUIRE(fences.enabled());
    std::vector<std::uint64_t> targets = {0, ~std::uint64_t{0}};
    for (std::uint64_t v : values) {
      targets.insert(targets.end(), {v - 1, v, v + 1});
    }
    for (int i = 0; i < 20; ++i) targets.push_back(rng());
    for (std::uint64_t t : targets) {
      const std::string target = key_of(t);
      const std::optional<std::uint32_t> got = fences.LowerBound(target);
      if (!got) continue;  // outside the shared prefix (one-key tables)
      const auto want = static_cast<std::uint32_t>(
          std::lower_bound(values.begin(), values.end(), t) - values.begin());
      REQUIRE(*got == want);
      ++checked;
    }
  }
  CHECK(checked > 5000);
}

TEST_CASE("IndexFences are refused where entries are not all restart points") {
  std::mt19937_64 rng(test::TestSeed());
  const std::vector<std::string> keys = RandomSortedKeys(rng, 100, "x");
  CHECK_FALSE(IndexFences::Build(BuildBlock(keys, 4).get(), false).enabled());
  CHECK_FALSE(IndexFences().LowerBound("x").has_value());
  CHECK_FALSE(IndexFences::Build(BuildBlock({}, 1).get(), false).enabled());
}

}  // namespace
}  // namespace kv
