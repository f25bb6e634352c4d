// VersionEdit encoding: round trips, and malformed input never crashes.
#include "db/version_edit.hpp"

#include <random>
#include <string>

#include "kv/coding.hpp"
#include "test_util.hpp"

namespace kv::detail {
namespace {

FileMetaData Meta(std::uint64_t number, std::string_view lo, std::string_view hi,
                  SequenceNumber lo_seq = 5, SequenceNumber hi_seq = 9) {
  FileMetaData f;
  f.number = number;
  f.file_size = 1000 + number;
  f.smallest = MakeInternalKey(lo, lo_seq, ValueType::kValue);
  f.largest = MakeInternalKey(hi, hi_seq, ValueType::kDeletion);
  f.smallest_seq = std::min(lo_seq, hi_seq);
  f.largest_seq = std::max(lo_seq, hi_seq);
  f.num_entries = 77;
  f.num_deletions = 3;
  return f;
}

VersionEdit FullEdit() {
  VersionEdit e;
  e.SetFormatVersion(kManifestFormatVersion);
  e.SetLogNumber(12);
  e.SetNextFileNumber(345678901234ull);
  e.SetLastSequence(kMaxSequenceNumber);
  e.SetCompactPointer(1, MakeInternalKey("mid", 4, ValueType::kValue));
  e.SetCompactPointer(3, MakeInternalKey(std::string("\0\xff", 2), 0, ValueType::kValue));
  e.RemoveFile(0, 7);
  e.RemoveFile(2, 1ull << 40);
  e.AddFile(0, Meta(20, "a", "z"));
  e.AddFile(5, Meta(21, std::string("k\0ey", 4), "\xff\xff"));
  e.AddFile(kMaxNumLevels - 1, Meta(22, "", "", 3, 3));  // empty user key
  return e;
}

std::string Encode(const VersionEdit& e) {
  std::string s;
  e.EncodeTo(&s);
  return s;
}

TEST_CASE("VersionEdit: empty edit round trips as zero bytes") {
  VersionEdit e;
  CHECK(Encode(e).empty());
  VersionEdit back;
  back.SetLogNumber(3);  // overwritten by DecodeFrom
  REQUIRE_OK(back.DecodeFrom(""));
  CHECK(back == e);
  CHECK_FALSE(back.log_number().has_value());
}

TEST_CASE("VersionEdit: every field round trips") {
  const VersionEdit e = FullEdit();
  VersionEdit back;
  REQUIRE_OK(back.DecodeFrom(Encode(e)));
  CHECK(back == e);
  CHECK(back.log_number() == 12u);
  CHECK(back.next_file_number() == 345678901234ull);
  CHECK(back.last_sequence() == kMaxSequenceNumber);
  CHECK(back.format_version() == kManifestFormatVersion);
  REQUIRE(back.new_files().size() == 3);
  CHECK(back.new_files()[1].first == 5);
  CHECK(back.new_files()[1].second == Meta(21, std::string("k\0ey", 4), "\xff\xff"));
  REQUIRE(back.removed_files().size() == 2);
  CHECK(back.removed_files()[1] == std::pair<int, std::uint64_t>(2, 1ull << 40));
  REQUIRE(back.compact_pointers().size() == 2);
  CHECK(back.compact_pointers()[0].first == 1);
  CHECK(Encode(back) == Encode(e));
}

TEST_CASE("VersionEdit: randomized round trips") {
  std::mt19937_64 rng(kv::test::TestSeed());
  INFO("seed " << kv::test::TestSeed());
  auto rand_key = [&] {
    std::string k(rng() % 12, '\0');
    for (char& c : k) c = static_cast<char>(rng() % 256);
    return k;
  };
  for (int iter = 0; iter < 300; ++iter) {
    VersionEdit e;
    if (rng() % 2) e.SetLogNumber(rng() >> (rng() % 64));
    if (rng() % 2) e.SetNextFileNumber(rng());
    if (rng() % 2) e.SetLastSequence(rng() & kMaxSequenceNumber);
    if (rng() % 4 == 0) e.SetFormatVersion(static_cast<std::uint32_t>(rng()));
    for (int i = static_cast<int>(rng() % 3); i > 0; --i) {
      e.SetCompactPointer(
          static_cast<int>(rng() % kMaxNumLevels),
          MakeInternalKey(rand_key(), rng() & kMaxSequenceNumber, ValueType::kValue));
    }
    for (int i = static_cast<int>(rng() % 4); i > 0; --i) {
      e.RemoveFile(static_cast<int>(rng() % kMaxNumLevels), rng());
    }
    for (int i = static_cast<int>(rng() % 4); i > 0; --i) {
      std::string a = rand_key(), b = rand_key();
      if (b < a) std::swap(a, b);
      const SequenceNumber s1 = rng() & kMaxSequenceNumber, s2 = rng() & kMaxSequenceNumber;
      // Same user key: the larger sequence sorts first.
      FileMetaData f = a == b ? Meta(rng(), a, b, std::max(s1, s2), std::min(s1, s2))
                              : Meta(rng(), a, b, s1, s2);
      f.file_size = rng();
      e.AddFile(static_cast<int>(rng() % kMaxNumLevels), f);
    }
    VersionEdit back;
    REQUIRE_OK(back.DecodeFrom(Encode(e)));
    REQUIRE(back == e);
  }
}

TEST_CASE("VersionEdit: every prefix decodes to an error or to exactly that prefix") {
  const std::string full = Encode(FullEdit());
  int ok_prefixes = 0;
  for (std::size_t n = 0; n < full.size(); ++n) {
    const std::string prefix = full.substr(0, n);  // own allocation: ASan sees overreads
    VersionEdit e;
    absl::Status s = e.DecodeFrom(prefix);
    if (s.ok()) {
      ++ok_prefixes;
      CHECK(Encode(e) == prefix);
    } else {
      CHECK(absl::IsDataLoss(s));
      CHECK(e == VersionEdit());  // cleared on error
    }
  }
  // Field boundaries: empty, after each of the 4 scalars, 2 pointers, 2 removals, 2 adds.
  CHECK(ok_prefixes == 11);
}

TEST_CASE("VersionEdit: flipping any byte never crashes") {
  const std::string full = Encode(FullEdit());
  int errors = 0;
  for (std::size_t i = 0; i < full.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string bad = full;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      VersionEdit e;
      absl::Status s = e.DecodeFrom(bad);
      if (!s.ok()) {
        ++errors;
        CHECK((absl::IsDataLoss(s) || absl::IsInvalidArgument(s)));
      }
    }
  }
  CHECK(errors > 0);
}

TEST_CASE("VersionEdit: specific malformed inputs") {
  auto decode = [](const std::string& s) {
    VersionEdit e;
    return e.DecodeFrom(s);
  };
  std::string s;
  SECTION("unknown tag") {
    PutVarint32(&s, 99);
    PutVarint64(&s, 1);
  }
  SECTION("repeated log number") {
    PutVarint32(&s, 2);
    PutVarint64(&s, 1);
    PutVarint32(&s, 2);
    PutVarint64(&s, 2);
  }
  SECTION("sequence beyond 56 bits") {
    PutVarint32(&s, 4);
    PutVarint64(&s, kMaxSequenceNumber + 1);
  }
  SECTION("level too deep") {
    PutVarint32(&s, 6);
    PutVarint32(&s, kMaxNumLevels);
    PutVarint64(&s, 1);
  }
  SECTION("overlong varint") {
    PutVarint32(&s, 2);
    s.append(11, '\xff');
  }
  SECTION("compact pointer shorter than a trailer") {
    PutVarint32(&s, 5);
    PutVarint32(&s, 1);
    PutLengthPrefixed(&s, "short");
  }
  SECTION("new file with a bad type byte or reversed range") {
    VersionEdit e;
    FileMetaData f = Meta(1, "a", "b");
    const bool bad_type = GENERATE(true, false);
    if (bad_type) {
      f.largest[f.largest.size() - kTrailerBytes] = '\x07';  // the type byte
    } else {
      std::swap(f.smallest, f.largest);
    }
    e.AddFile(1, f);
    e.EncodeTo(&s);
  }
  SECTION("new file with smallest_seq > largest_seq") {
    VersionEdit e;
    FileMetaData f = Meta(1, "a", "b");
    f.smallest_seq = f.largest_seq + 1;
    e.AddFile(1, f);
    e.EncodeTo(&s);
  }
  SECTION("string length beyond the input") {
    PutVarint32(&s, 5);
    PutVarint32(&s, 1);
    PutVarint64(&s, 1ull << 62);
    s.append("abcdefgh");
  }
  absl::Status st = decode(s);
  INFO(st.ToString());
  CHECK(absl::IsDataLoss(st));
}

TEST_CASE("VersionEdit: DebugString shows every field") {
  const std::string d = FullEdit().DebugString();
  INFO(d);
  CHECK(d.find("log_number: 12") != std::string::npos);
  CHECK(d.find("next_file_number: 345678901234") != std::string::npos);
  CHECK(d.find("remove_file: L2 #1099511627776") != std::string::npos);
  CHECK(d.find("add_file: L5 #21") != std::string::npos);
  CHECK(d.find("'k\\x00ey'@5:1") != std::string::npos);
  CHECK(d.find("compact_pointer: L1 'mid'@4:1") != std::string::npos);
}

}  // namespace
}  // namespace kv::detail
