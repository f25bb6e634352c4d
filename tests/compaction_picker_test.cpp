// The leveled compaction picker: scores, L0 transitive overlap, boundary
// widening, compact-pointer rotation, trivial moves, range compactions.
#include "db/compaction_picker.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "db/version.hpp"
#include "test_util.hpp"

namespace kv::detail {
namespace {

FileMetaData Meta(std::uint64_t number, std::string_view lo, std::string_view hi,
                  std::uint64_t size = 1000, SequenceNumber lo_seq = 100,
                  SequenceNumber hi_seq = 100) {
  FileMetaData f;
  f.number = number;
  f.file_size = size;
  f.smallest = MakeInternalKey(lo, lo_seq, ValueType::kValue);
  f.largest = MakeInternalKey(hi, hi_seq, ValueType::kValue);
  f.smallest_seq = std::min(lo_seq, hi_seq);
  f.largest_seq = std::max(lo_seq, hi_seq);
  return f;
}

Options TestOptions() {
  Options o;
  o.num_levels = 5;
  o.level0_compaction_trigger = 4;
  o.level1_target_bytes = 10000;  // L2 100000, L3 1000000
  o.level_size_ratio = 10;
  o.target_file_bytes = 1000;  // trivial move: <= 10000 grandparent bytes
  return o;
}

struct Add {
  int level;
  FileMetaData f;
};

std::shared_ptr<const Version> MakeVersion(const Options& o, const std::vector<Add>& adds) {
  VersionEdit e;
  for (const Add& a : adds) e.AddFile(a.level, a.f);
  VersionBuilder b(o, nullptr);
  REQUIRE_OK(b.Apply(e));
  auto v = b.Build();
  REQUIRE_OK(v);
  return *v;
}

std::vector<std::uint64_t> Sorted(const std::vector<FileRef>& files) {
  std::vector<std::uint64_t> out;
  for (const FileRef& f : files) out.push_back(f->number);
  std::sort(out.begin(), out.end());
  return out;
}
using N = std::vector<std::uint64_t>;

TEST_CASE("Picker: nothing to do below every trigger") {
  const Options o = TestOptions();
  auto v = MakeVersion(o, {{0, Meta(1, "a", "b")},
                           {0, Meta(2, "a", "b", 1000, 200, 200)},
                           {1, Meta(3, "a", "z", 9999)},
                           {4, Meta(4, "a", "z", 1ull << 40)}});  // last level never compacts
  std::vector<std::string> pointers;
  CHECK_FALSE(PickCompaction(*v, o, &pointers).has_value());
  CHECK(pointers.size() == 5);
}

TEST_CASE("Picker: L0 takes every file overlapping the oldest one transitively") {
  const Options o = TestOptions();
  auto v = MakeVersion(o, {
                              {0, Meta(1, "a", "c", 1000, 10, 10)},  // oldest
                              {0, Meta(2, "b", "f", 1000, 20, 20)},
                              {0, Meta(3, "e", "h", 1000, 30, 30)},
                              {0, Meta(4, "x", "z", 1000, 40, 40)},  // disjoint: stays
                              {1, Meta(5, "a", "b")},
                              {1, Meta(6, "g", "i")},
                              {1, Meta(7, "j", "k")},  // beyond h: stays
                              {2, Meta(8, "a", "z")},
                          });
  std::vector<std::string> pointers;
  auto c = PickCompaction(*v, o, &pointers);
  REQUIRE(c.has_value());
  CHECK(c->level == 0);
  CHECK(c->output_level == 1);
  CHECK(Sorted(c->inputs[0]) == N{1, 2, 3});
  CHECK(Sorted(c->inputs[1]) == N{5, 6});
  CHECK(Sorted(c->grandparents) == N{8});
  CHECK_FALSE(c->is_trivial_move);
  CHECK(c->SmallestUserKey() == "a");
  CHECK(c->LargestUserKey() == "i");
  CHECK(c->InputBytes() == 5000);
}

TEST_CASE("Picker: the highest score wins") {
  const Options o = TestOptions();
  std::vector<Add> adds;
  for (int i = 0; i < 5; ++i) {  // L0 score 1.25
    adds.push_back({0, Meta(10 + i, "a", "b", 100, 10 + i, 10 + i)});
  }
  adds.push_back({2, Meta(20, "c", "d", 300000)});  // L2 score 3
  auto v = MakeVersion(o, adds);
  std::vector<std::string> pointers;
  auto c = PickCompaction(*v, o, &pointers);
  REQUIRE(c.has_value());
  CHECK(c->level == 2);
  CHECK(Sorted(c->inputs[0]) == N{20});
  CHECK(c->is_trivial_move);
}

TEST_CASE("Picker: boundary user keys pull in neighbours") {
  const Options o = TestOptions();
  // L1 is over its target. #1 ends with k@90 and #2 starts with k@40: the
  // two versions of "k" must move down together.
  auto v = MakeVersion(o, {
                              {1, Meta(1, "a", "k", 6000, 50, 90)},
                              {1, Meta(2, "k", "m", 6000, 40, 60)},
                              {1, Meta(3, "m", "p", 6000, 30, 10)},  // shares "m" with #2
                              {1, Meta(4, "q", "t", 6000)},
                          });
  std::vector<std::string> pointers;
  SECTION("picking the left file widens to the right") {
    auto c = PickCompaction(*v, o, &pointers);
    REQUIRE(c.has_value());
    CHECK(Sorted(c->inputs[0]) == N{1, 2, 3});
    CHECK_FALSE(c->is_trivial_move);
    CHECK(pointers[1] == v->files(1)[2]->largest);
  }
  SECTION("picking the middle file widens both ways") {
    pointers.assign(5, "");
    pointers[1] = v->files(1)[0]->largest;  // next pick starts at #2
    auto c = PickCompaction(*v, o, &pointers);
    REQUIRE(c.has_value());
    CHECK(Sorted(c->inputs[0]) == N{1, 2, 3});
  }
  SECTION("a lone file stays alone") {
    pointers.assign(5, "");
    pointers[1] = v->files(1)[2]->largest;
    auto c = PickCompaction(*v, o, &pointers);
    REQUIRE(c.has_value());
    CHECK(Sorted(c->inputs[0]) == N{4});
    CHECK(c->is_trivial_move);
  }
}

TEST_CASE("Picker: compact pointers rotate through a level") {
  const Options o = TestOptions();
  auto v = MakeVersion(o, {
                              {1, Meta(1, "a", "b", 5000)},
                              {1, Meta(2, "c", "d", 5000)},
                              {1, Meta(3, "e", "f", 5000)},
                          });
  std::vector<std::string> pointers;
  std::vector<std::uint64_t> picked;
  for (int i = 0; i < 4; ++i) {
    auto c = PickCompaction(*v, o, &pointers);
    REQUIRE(c.has_value());
    REQUIRE(c->inputs[0].size() == 1);
    picked.push_back(c->inputs[0][0]->number);
    CHECK(pointers[1] == c->inputs[0][0]->largest);
  }
  CHECK(picked == N{1, 2, 3, 1});
}

TEST_CASE("Picker: trivial move needs no output overlap and little grandparent overlap") {
  const Options o = TestOptions();
  std::vector<std::string> pointers;
  SECTION("nothing below: trivial") {
    auto v = MakeVersion(o, {{1, Meta(1, "a", "c", 20000)}, {2, Meta(2, "d", "e")}});
    auto c = PickCompaction(*v, o, &pointers);
    REQUIRE(c.has_value());
    CHECK(c->is_trivial_move);
    CHECK(c->inputs[1].empty());
  }
  SECTION("overlap in the output level: a merge") {
    auto v = MakeVersion(o, {{1, Meta(1, "a", "c", 20000)}, {2, Meta(2, "c", "e")}});
    auto c = PickCompaction(*v, o, &pointers);
    REQUIRE(c.has_value());
    CHECK_FALSE(c->is_trivial_move);
    CHECK(Sorted(c->inputs[1]) == N{2});
  }
  SECTION("too many grandparent bytes: a rewrite") {
    auto v = MakeVersion(o, {{1, Meta(1, "a", "c", 20000)},
                             {3, Meta(2, "a", "b", 6000)},
                             {3, Meta(3, "b1", "c", 6000)}});
    auto c = PickCompaction(*v, o, &pointers);
    REQUIRE(c.has_value());
    CHECK(Sorted(c->grandparents) == N{2, 3});
    CHECK_FALSE(c->is_trivial_move);
  }
  SECTION("a lone L0 file moves down") {
    Options o1 = o;
    o1.level0_compaction_trigger = 1;
    auto v = MakeVersion(o1, {{0, Meta(1, "a", "c")}, {1, Meta(2, "d", "e")}});
    auto c = PickCompaction(*v, o1, &pointers);
    REQUIRE(c.has_value());
    CHECK(c->level == 0);
    CHECK(c->is_trivial_move);
  }
}

TEST_CASE("Picker: inputs grow when that takes no more output files") {
  const Options o = TestOptions();
  auto v = MakeVersion(o, {
                              {1, Meta(1, "a", "b", 6000)},
                              {1, Meta(2, "c", "d", 6000)},
                              {1, Meta(3, "x", "y", 6000)},
                              {2, Meta(4, "a", "d", 1000)},
                          });
  std::vector<std::string> pointers;
  auto c = PickCompaction(*v, o, &pointers);
  REQUIRE(c.has_value());
  CHECK(Sorted(c->inputs[0]) == N{1, 2});
  CHECK(Sorted(c->inputs[1]) == N{4});
  CHECK(pointers[1] == v->files(1)[1]->largest);

  // Not when the grown input would exceed 25 target files.
  Options small = o;
  small.target_file_bytes = 500;  // limit 12500 < 6000 * 2 + 1000
  std::vector<std::string> pointers2;
  auto c2 = PickCompaction(*v, small, &pointers2);
  REQUIRE(c2.has_value());
  CHECK(Sorted(c2->inputs[0]) == N{1});
}

TEST_CASE("Picker: range compaction") {
  const Options o = TestOptions();
  auto v = MakeVersion(o, {
                              {0, Meta(1, "a", "c", 100, 10, 10)},
                              {0, Meta(2, "b", "e", 100, 20, 20)},
                              {0, Meta(3, "x", "z", 100, 30, 30)},
                              {1, Meta(4, "a", "b", 100)},
                              {1, Meta(5, "c", "d", 100)},
                              {1, Meta(6, "m", "n", 100)},
                              {2, Meta(7, "a", "z", 100)},
                              {4, Meta(8, "a", "z", 100)},
                          });
  auto c = PickRangeCompaction(*v, o, 0, "a", "a");
  REQUIRE(c.has_value());
  CHECK(Sorted(c->inputs[0]) == N{1, 2});  // transitive: b-e joins a-c
  CHECK(Sorted(c->inputs[1]) == N{4, 5});
  CHECK_FALSE(c->is_trivial_move);

  auto c1 = PickRangeCompaction(*v, o, 1, "m", std::nullopt);
  REQUIRE(c1.has_value());
  // #7 spans a..z, so taking #4 and #5 as well costs no more output-level files.
  CHECK(Sorted(c1->inputs[0]) == N{4, 5, 6});
  CHECK(Sorted(c1->inputs[1]) == N{7});
  CHECK_FALSE(c1->is_trivial_move);  // even though it could move: a rewrite drops garbage

  auto all = PickRangeCompaction(*v, o, 1, std::nullopt, std::nullopt);
  REQUIRE(all.has_value());
  CHECK(Sorted(all->inputs[0]) == N{4, 5, 6});

  CHECK_FALSE(PickRangeCompaction(*v, o, 1, "o", "w").has_value());
  CHECK_FALSE(PickRangeCompaction(*v, o, 3, std::nullopt, std::nullopt).has_value());
  CHECK_FALSE(PickRangeCompaction(*v, o, 4, std::nullopt, std::nullopt).has_value());
}

TEST_CASE("Picker: range compaction of a deep level is bounded, boundaries kept whole") {
  Options o = TestOptions();
  o.target_file_bytes = 100;  // limit 2500 bytes per step
  std::vector<Add> adds;
  for (int i = 0; i < 10; ++i) {
    const std::string lo(1, static_cast<char>('a' + 2 * i));
    const std::string hi(1, static_cast<char>('b' + 2 * i));
    adds.push_back({2, Meta(static_cast<std::uint64_t>(i + 1), lo, hi, 1000)});
  }
  // #11 starts with the same user key "f" that #3 ends with.
  adds[2] = {2, Meta(3, "e", "f", 1000, 100, 90)};
  adds[3] = {2, Meta(4, "f", "h", 1000, 80, 70)};
  auto v = MakeVersion(o, adds);
  auto c = PickRangeCompaction(*v, o, 2, std::nullopt, std::nullopt);
  REQUIRE(c.has_value());
  CHECK(Sorted(c->inputs[0]) == N{1, 2, 3, 4});  // 3 files reach the limit, #4 shares "f"
}

TEST_CASE("Picker: a range compaction allowed to move moves one file with nothing below") {
  Options o = TestOptions();
  auto v = MakeVersion(o, {
                              {0, Meta(1, "a", "c", 100)},
                              {1, Meta(2, "a", "b", 100)},
                              {1, Meta(3, "d", "f", 100, 100, 90)},
                              {1, Meta(4, "f", "g", 100, 80, 70)},  // shares "f" with #3
                              {1, Meta(5, "p", "q", 100)},
                              {2, Meta(6, "a", "b", 100)},
                          });
  // L0 #1 overlaps L1 #2: a merge, moving or not.
  auto l0 = PickRangeCompaction(*v, o, 0, std::nullopt, std::nullopt, /*allow_move=*/true);
  REQUIRE(l0.has_value());
  CHECK_FALSE(l0->is_trivial_move);
  // From "c" in L1: #3 and #4 share "f", so they cannot move one at a time.
  auto split = PickRangeCompaction(*v, o, 1, "c", std::nullopt, true);
  REQUIRE(split.has_value());
  CHECK(Sorted(split->inputs[0]) == N{3, 4, 5});
  CHECK_FALSE(split->is_trivial_move);
  // From "p": #5 alone, nothing in L2 under it: it moves.
  auto move = PickRangeCompaction(*v, o, 1, "p", std::nullopt, true);
  REQUIRE(move.has_value());
  CHECK(Sorted(move->inputs[0]) == N{5});
  CHECK(move->output_level == 2);
  CHECK(move->is_trivial_move);
  // Not allowed: the same pick is a rewrite.
  auto rewrite = PickRangeCompaction(*v, o, 1, "p", std::nullopt);
  REQUIRE(rewrite.has_value());
  CHECK_FALSE(rewrite->is_trivial_move);

  // A lone L0 file with nothing under it moves; one of two overlapping L0 files does not.
  auto lone = MakeVersion(o, {{0, Meta(7, "x", "y", 100)}, {2, Meta(8, "a", "b", 100)}});
  auto lone_pick = PickRangeCompaction(*lone, o, 0, std::nullopt, std::nullopt, true);
  REQUIRE(lone_pick.has_value());
  CHECK(lone_pick->is_trivial_move);
  auto two = MakeVersion(o, {{0, Meta(9, "x", "y", 100)}, {0, Meta(10, "y", "z", 100)}});
  auto two_pick = PickRangeCompaction(*two, o, 0, std::nullopt, std::nullopt, true);
  REQUIRE(two_pick.has_value());
  CHECK(Sorted(two_pick->inputs[0]) == N{9, 10});
  CHECK_FALSE(two_pick->is_trivial_move);
}

TEST_CASE("Picker: in-place range compaction takes a bounded run of files older than the call") {
  Options o = TestOptions();
  o.target_file_bytes = 100;  // limit 2500 bytes per step
  std::vector<Add> adds;
  // L2: a-b #1, c-d #2, e-f #30 (written by this call), g-h #4, i-j #5, k-l #6, m-n #7.
  const std::uint64_t numbers[] = {1, 2, 30, 4, 5, 6, 7};
  for (int i = 0; i < 7; ++i) {
    const std::string lo(1, static_cast<char>('a' + 2 * i));
    const std::string hi(1, static_cast<char>('b' + 2 * i));
    adds.push_back({2, Meta(numbers[i], lo, hi, 1000)});
  }
  adds.push_back({3, Meta(8, "a", "c", 100)});  // grandparent of #1 and #2
  auto v = MakeVersion(o, adds);
  auto c = PickInPlaceRangeCompaction(*v, o, 2, std::nullopt, std::nullopt, 10);
  REQUIRE(c.has_value());
  CHECK(c->level == 2);
  CHECK(c->output_level == 2);
  CHECK(Sorted(c->inputs[0]) == N{1, 2});  // the run stops at #30
  CHECK(c->inputs[1].empty());
  CHECK(Sorted(c->grandparents) == N{8});
  CHECK_FALSE(c->is_trivial_move);

  // From "e" on: #30 is skipped, then #4 #5 #6 reach the limit.
  auto rest = PickInPlaceRangeCompaction(*v, o, 2, "e", std::nullopt, 10);
  REQUIRE(rest.has_value());
  CHECK(Sorted(rest->inputs[0]) == N{4, 5, 6});

  CHECK_FALSE(PickInPlaceRangeCompaction(*v, o, 2, "e", "f", 10).has_value());  // only #30
  CHECK_FALSE(PickInPlaceRangeCompaction(*v, o, 2, std::nullopt, std::nullopt, 1).has_value());
  CHECK_FALSE(PickInPlaceRangeCompaction(*v, o, 0, std::nullopt, std::nullopt, 10).has_value());
  CHECK_FALSE(PickInPlaceRangeCompaction(*v, o, 4, std::nullopt, std::nullopt, 10).has_value());
}

TEST_CASE("Picker: in-place range compaction keeps a user key split across files whole") {
  Options o = TestOptions();
  // #1 ends with user key "f" (a newer version), #31 (already rewritten) starts with it.
  auto v = MakeVersion(o, {{1, Meta(1, "a", "f", 1000, 100, 90)},
                           {1, Meta(31, "f", "h", 1000, 80, 70)},
                           {1, Meta(2, "i", "k", 1000)}});
  auto c = PickInPlaceRangeCompaction(*v, o, 1, std::nullopt, std::nullopt, 10);
  REQUIRE(c.has_value());
  // #31 joins although this call wrote it: dropping #1's newer "f" alone
  // could uncover #31's older one.
  CHECK(Sorted(c->inputs[0]) == N{1, 31});
}

}  // namespace
}  // namespace kv::detail
