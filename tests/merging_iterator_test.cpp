// MergingIterator: the merge of sorted children equals the sorted union, in
// both directions, across seeks and changes of direction (random walks
// against a std::vector model); and a child that fails, at a seek or
// mid-walk, stops the merge with its error instead of being skipped.
#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "db/merging_iterator.hpp"
#include "kv/internal_key.hpp"
#include "test_util.hpp"
#include "vector_iterator.hpp"

namespace kv::detail {
namespace {

using test::VectorIterator;
using Entries = VectorIterator::Entries;

std::string IKey(int user, SequenceNumber seq) {
  return MakeInternalKey(absl::StrFormat("key%05d", user), seq, ValueType::kValue);
}

bool Less(const std::pair<std::string, std::string>& a,
          const std::pair<std::string, std::string>& b) {
  return CompareInternalKeys(a.first, b.first) < 0;
}

// `n` children over random keys (each internal key in exactly one child;
// some children empty), and the sorted union.
std::vector<Entries> RandomChildren(std::mt19937_64& rng, int n, Entries* all) {
  std::vector<Entries> children(static_cast<std::size_t>(n));
  SequenceNumber seq = 1;
  for (int user = 0; user < 300; ++user) {
    const int versions = static_cast<int>(rng() % 3);
    for (int v = 0; v < versions; ++v) {
      auto& child = children[rng() % children.size()];
      child.emplace_back(IKey(user, seq), absl::StrFormat("v%d", seq));
      all->push_back(child.back());
      ++seq;
    }
  }
  for (Entries& c : children) std::sort(c.begin(), c.end(), Less);
  std::sort(all->begin(), all->end(), Less);
  return children;
}

std::unique_ptr<MergingIterator> Merge(const std::vector<Entries>& children) {
  std::vector<std::unique_ptr<Iterator>> its;
  for (const Entries& c : children) {
    its.push_back(std::make_unique<VectorIterator>(c, absl::OkStatus()));
  }
  return std::make_unique<MergingIterator>(std::move(its));
}

TEST_CASE("MergingIterator equals the sorted union under random walks") {
  std::mt19937_64 rng(test::TestSeed());
  for (int round = 0; round < 40; ++round) {
    Entries all;
    const auto children = RandomChildren(rng, 1 + static_cast<int>(rng() % 6), &all);
    auto it = Merge(children);

    // Full scans both ways.
    std::size_t i = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
      REQUIRE(i < all.size());
      REQUIRE(it->key() == all[i].first);
      REQUIRE(it->value() == all[i].second);
    }
    REQUIRE(i == all.size());
    for (it->SeekToLast(); it->Valid(); it->Prev()) {
      REQUIRE(i > 0);
      REQUIRE(it->key() == all[--i].first);
    }
    REQUIRE(i == 0);
    REQUIRE_OK(it->status());

    // Random walk: seeks, steps and turns, against a position in `all`.
    std::size_t pos = all.size();  // all.size() = invalid
    for (int step = 0; step < 2000; ++step) {
      const auto op = rng() % 10;
      if (op == 0 || pos == all.size()) {
        const std::string target = IKey(static_cast<int>(rng() % 310), rng() % 600);
        it->Seek(target);
        pos = static_cast<std::size_t>(
            std::lower_bound(all.begin(), all.end(), std::make_pair(target, std::string()), Less) -
            all.begin());
      } else if (op < 6) {
        it->Next();
        ++pos;
      } else {
        it->Prev();
        pos = pos == 0 ? all.size() : pos - 1;
      }
      REQUIRE_OK(it->status());
      if (pos == all.size()) {
        REQUIRE_FALSE(it->Valid());
      } else {
        REQUIRE(it->Valid());
        REQUIRE(it->key() == all[pos].first);
        REQUIRE(it->value() == all[pos].second);
      }
    }
  }
}

TEST_CASE("MergingIterator stops at a failed child, at a seek or mid-walk") {
  std::mt19937_64 rng(test::TestSeed());
  for (int round = 0; round < 60; ++round) {
    Entries all;
    const auto children = RandomChildren(rng, 2 + static_cast<int>(rng() % 4), &all);
    const std::size_t bad = rng() % children.size();
    const int fail_after = static_cast<int>(rng() % 40);  // 0: fails from the start
    std::vector<std::unique_ptr<Iterator>> its;
    const VectorIterator* bad_child = nullptr;
    for (std::size_t c = 0; c < children.size(); ++c) {
      auto child = std::make_unique<VectorIterator>(
          children[c], c == bad ? absl::DataLossError("bad table") : absl::OkStatus(),
          c == bad ? fail_after : 0);
      if (c == bad) bad_child = child.get();
      its.push_back(std::move(child));
    }
    MergingIterator it(std::move(its));
    // Once the bad child has failed, the merge is invalid and reports it:
    // never an entry from the other children past the failure.
    auto check = [&] {
      if (!bad_child->status().ok()) {
        REQUIRE_FALSE(it.Valid());
        REQUIRE(absl::IsDataLoss(it.status()));
      } else {
        REQUIRE_OK(it.status());
      }
    };
    const bool forward = rng() % 2 == 0;
    forward ? it.SeekToFirst() : it.SeekToLast();
    check();
    for (std::size_t steps = 0; it.Valid() && steps < 10 * all.size() + 10; ++steps) {
      // Mostly one way, with turns (which reposition every child).
      (rng() % 4 != 0) == forward ? it.Next() : it.Prev();
      check();
    }
    it.Seek(IKey(static_cast<int>(rng() % 300), 1000));
    check();
  }
}

}  // namespace
}  // namespace kv::detail
