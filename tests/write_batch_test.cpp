// Tests for kv::WriteBatch (kv/write_batch.hpp) and its internal operations
// (kv/write_batch_internal.hpp): encoding, counting, reuse, TTL resolution,
// group-commit append, and decoding of malformed encodings.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kv/write_batch.hpp"
#include "kv/write_batch_internal.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

using detail::WriteBatchInternal;

struct Entry {
  bool is_put;
  std::string key, value;
  std::uint64_t expiry;
  bool operator==(const Entry& o) const {
    return is_put == o.is_put && key == o.key && value == o.value && expiry == o.expiry;
  }
};

class Recorder final : public detail::BatchHandler {
 public:
  void Put(std::string_view key, std::string_view value, std::uint64_t expiry) override {
    entries.push_back({true, std::string(key), std::string(value), expiry});
  }
  void Delete(std::string_view key) override {
    entries.push_back({false, std::string(key), "", 0});
  }
  std::vector<Entry> entries;
};

std::vector<Entry> Decode(const WriteBatch& b) {
  Recorder r;
  REQUIRE_OK(WriteBatchInternal::Iterate(WriteBatchInternal::Contents(b), &r));
  return r.entries;
}

constexpr std::uint64_t kNow = 1'700'000'000'000'000ull;  // µs

TEST_CASE("write batch: empty batch", "[write_batch]") {
  WriteBatch b;
  CHECK(b.Count() == 0);
  CHECK(b.ApproximateSize() == detail::kBatchHeaderBytes);
  CHECK(Decode(b).empty());
  CHECK(WriteBatchInternal::Sequence(b) == 0);
  CHECK_OK(WriteBatchInternal::InvalidReason(b));
  CHECK_FALSE(WriteBatchInternal::HasTtl(b));
}

TEST_CASE("write batch: Put, Delete, Count, size, Clear and reuse", "[write_batch]") {
  WriteBatch b;
  b.Put("k1", "v1");
  b.Delete("k2");
  b.Put("", "empty key is valid");
  b.Put("k3", "");
  CHECK(b.Count() == 4);
  const std::vector<Entry> want = {{true, "k1", "v1", 0},
                                   {false, "k2", "", 0},
                                   {true, "", "empty key is valid", 0},
                                   {true, "k3", "", 0}};
  CHECK(Decode(b) == want);
  // header + (tag + len + key [+ len + value]) per entry
  CHECK(b.ApproximateSize() ==
        12 + (1 + 1 + 2 + 1 + 2) + (1 + 1 + 2) + (1 + 1 + 0 + 1 + 18) + (1 + 1 + 2 + 1 + 0));
  CHECK(b.ApproximateSize() == WriteBatchInternal::Contents(b).size());

  WriteBatchInternal::SetSequence(&b, 12345);
  CHECK(WriteBatchInternal::Sequence(b) == 12345);
  CHECK(WriteBatchInternal::Count(b) == 4);

  b.Clear();
  CHECK(b.Count() == 0);
  CHECK(b.ApproximateSize() == detail::kBatchHeaderBytes);
  CHECK(WriteBatchInternal::Sequence(b) == 0);
  CHECK(Decode(b).empty());
  b.Put("again", "x");
  CHECK(b.Count() == 1);
  CHECK(Decode(b) == std::vector<Entry>{{true, "again", "x", 0}});

  // Copies are independent.
  WriteBatch c = b;
  c.Delete("only in c");
  CHECK(b.Count() == 1);
  CHECK(c.Count() == 2);
}

TEST_CASE("write batch: binary keys and values, large entries", "[write_batch]") {
  std::mt19937_64 rng(kv::test::TestSeed());
  WriteBatch b;
  std::vector<Entry> want;
  for (int i = 0; i < 200; ++i) {
    std::string k(rng() % 300, '\0'), v(rng() % 3000, '\0');
    for (auto& c : k) c = static_cast<char>(rng());
    for (auto& c : v) c = static_cast<char>(rng());
    if (rng() % 3 == 0) {
      b.Delete(k);
      want.push_back({false, k, "", 0});
    } else {
      b.Put(k, v);
      want.push_back({true, k, v, 0});
    }
  }
  const std::string big_key(std::size_t{64} << 10, 'K');  // 64 KiB keys are accepted
  b.Put(big_key, std::string(std::size_t{1} << 20, 'V'));
  want.push_back({true, big_key, std::string(std::size_t{1} << 20, 'V'), 0});
  CHECK(b.Count() == want.size());
  CHECK(Decode(b) == want);
  CHECK_OK(WriteBatchInternal::InvalidReason(b));
}

TEST_CASE("write batch: oversize key and negative TTL are flagged", "[write_batch]") {
  WriteBatch ok;
  ok.Put(std::string(kMaxKeyBytes, 'k'), "v");  // exactly the limit
  CHECK_OK(WriteBatchInternal::InvalidReason(ok));

  WriteBatch big;
  big.Put("fine", "v");
  big.Put(std::string(kMaxKeyBytes + 1, 'k'), "v");
  CHECK(absl::IsInvalidArgument(WriteBatchInternal::InvalidReason(big)));
  CHECK(WriteBatchInternal::InvalidReason(big).message().find("key") != absl::string_view::npos);

  WriteBatch del;
  del.Delete(std::string(kMaxKeyBytes + 1, 'k'));
  CHECK(absl::IsInvalidArgument(WriteBatchInternal::InvalidReason(del)));

  WriteBatch neg;
  neg.Put("k", "v", std::chrono::seconds{-1});
  CHECK(absl::IsInvalidArgument(WriteBatchInternal::InvalidReason(neg)));
  CHECK(WriteBatchInternal::InvalidReason(neg).message().find("TTL") != absl::string_view::npos);

  // The first reason sticks; Clear forgets it.
  neg.Put(std::string(kMaxKeyBytes + 1, 'k'), "v");
  CHECK(WriteBatchInternal::InvalidReason(neg).message().find("TTL") != absl::string_view::npos);
  neg.Clear();
  CHECK_OK(WriteBatchInternal::InvalidReason(neg));
  CHECK_FALSE(WriteBatchInternal::HasTtl(neg));
}

TEST_CASE("write batch: TTL resolution", "[write_batch]") {
  WriteBatch in;
  in.Put("plain", "1");
  in.Put("ttl0", "2", std::chrono::seconds{0});
  in.Put("ttl60", "3", std::chrono::seconds{60});
  in.Delete("gone");
  CHECK(WriteBatchInternal::HasTtl(in));

  // An unresolved TTL entry is never valid on disk.
  Recorder r;
  CHECK(absl::IsInvalidArgument(WriteBatchInternal::Iterate(WriteBatchInternal::Contents(in), &r)));

  SECTION("no default TTL") {
    CHECK(WriteBatchInternal::NeedsTtlResolution(in, 0));
    WriteBatch out;
    REQUIRE_OK(WriteBatchInternal::ResolveTtl(in, 0, kNow, &out));
    CHECK(out.Count() == 4);
    CHECK(Decode(out) == std::vector<Entry>{{true, "plain", "1", 0},
                                            {true, "ttl0", "2", 0},
                                            {true, "ttl60", "3", kNow + 60'000'000},
                                            {false, "gone", "", 0}});
    CHECK_FALSE(WriteBatchInternal::HasTtl(out));
    CHECK_FALSE(WriteBatchInternal::NeedsTtlResolution(out, 0));
  }
  SECTION("a default TTL applies to plain puts; an explicit 0 TTL wins over it") {
    WriteBatch out;
    REQUIRE_OK(WriteBatchInternal::ResolveTtl(in, 3600, kNow, &out));
    CHECK(Decode(out) == std::vector<Entry>{{true, "plain", "1", kNow + 3600'000'000ull},
                                            {true, "ttl0", "2", 0},
                                            {true, "ttl60", "3", kNow + 60'000'000},
                                            {false, "gone", "", 0}});
    // Already-resolved entries survive a second resolution unchanged.
    WriteBatch again;
    REQUIRE_OK(WriteBatchInternal::ResolveTtl(out, 0, kNow + 5, &again));
    CHECK(Decode(again) == Decode(out));
  }
  SECTION("a batch without TTLs needs resolution only under a default TTL") {
    WriteBatch plain;
    plain.Put("a", "b");
    CHECK_FALSE(WriteBatchInternal::NeedsTtlResolution(plain, 0));
    CHECK(WriteBatchInternal::NeedsTtlResolution(plain, 10));
    WriteBatch empty;
    CHECK_FALSE(WriteBatchInternal::NeedsTtlResolution(empty, 10));
  }
  SECTION("huge TTLs saturate instead of wrapping") {
    WriteBatch h;
    h.Put("k", "v", std::chrono::seconds{std::numeric_limits<std::int64_t>::max()});
    WriteBatch out;
    REQUIRE_OK(WriteBatchInternal::ResolveTtl(h, 0, kNow, &out));
    const auto e = Decode(out);
    REQUIRE(e.size() == 1);
    CHECK(e[0].expiry == ~std::uint64_t{0});
    CHECK(detail::ExpiryFromTtl(kNow, 0) == kNow);
    CHECK(detail::ExpiryFromTtl(~std::uint64_t{0} - 10, 1) == ~std::uint64_t{0});
  }
  SECTION("the invalid reason carries over") {
    WriteBatch bad;
    bad.Put("k", "v", std::chrono::seconds{-5});
    WriteBatch out;
    REQUIRE_OK(WriteBatchInternal::ResolveTtl(bad, 0, kNow, &out));
    CHECK(absl::IsInvalidArgument(WriteBatchInternal::InvalidReason(out)));
  }
}

TEST_CASE("write batch: SetContents and Append (group commit)", "[write_batch]") {
  WriteBatch a;
  a.Put("a1", "x");
  a.Delete("a2");
  WriteBatchInternal::SetSequence(&a, 100);
  WriteBatch b;
  b.Put("b1", "y");
  WriteBatchInternal::SetSequence(&b, 999);
  WriteBatchInternal::Append(&a, b);
  CHECK(a.Count() == 3);
  CHECK(WriteBatchInternal::Sequence(a) == 100);
  CHECK(Decode(a) ==
        std::vector<Entry>{{true, "a1", "x", 0}, {false, "a2", "", 0}, {true, "b1", "y", 0}});

  WriteBatch copy;
  REQUIRE_OK(WriteBatchInternal::SetContents(&copy, WriteBatchInternal::Contents(a)));
  CHECK(WriteBatchInternal::Sequence(copy) == 100);
  CHECK(Decode(copy) == Decode(a));
  for (std::size_t n = 0; n < detail::kBatchHeaderBytes; ++n) {
    CHECK(absl::IsInvalidArgument(WriteBatchInternal::SetContents(&copy, std::string(n, '\0'))));
  }

  WriteBatch t;
  t.Put("t", "v", std::chrono::seconds{5});
  WriteBatch plain;
  WriteBatchInternal::Append(&plain, t);
  CHECK(WriteBatchInternal::HasTtl(plain));
}

// Reported to the integrator: Append does not carry the source's invalid
// reason into the merged batch, so DB::Write must check every batch before
// merging. Documented here so a change in behaviour is noticed.
TEST_CASE("write batch: Append keeps the destination's invalid reason only", "[write_batch]") {
  WriteBatch dst;
  dst.Put("ok", "v");
  WriteBatch src;
  src.Put("k", "v", std::chrono::seconds{-1});
  WriteBatchInternal::Append(&dst, src);
  CHECK(WriteBatchInternal::InvalidReason(dst).ok());
}

TEST_CASE("write batch: Iterate rejects malformed encodings without crashing", "[write_batch]") {
  WriteBatch b;
  b.Put("key1", "value1");
  b.Delete("key2");
  b.Put("k", std::string(200, 'v'));
  WriteBatch resolved;
  b.Put("exp", "e", std::chrono::seconds{30});
  REQUIRE_OK(WriteBatchInternal::ResolveTtl(b, 0, kNow, &resolved));
  const std::string good(WriteBatchInternal::Contents(resolved));
  REQUIRE(Decode(resolved).size() == 4);

  SECTION("every truncation") {
    for (std::size_t n = 0; n < good.size(); ++n) {
      // A fresh heap copy of exactly n bytes so ASan catches any over-read.
      std::unique_ptr<char[]> buf(new char[n == 0 ? 1 : n]);
      std::copy_n(good.data(), n, buf.get());
      Recorder r;
      INFO("truncated to " << n);
      REQUIRE_FALSE(WriteBatchInternal::Iterate(std::string_view(buf.get(), n), &r).ok());
    }
  }
  SECTION("every byte flipped") {
    std::mt19937_64 rng(kv::test::TestSeed());
    for (std::size_t i = 0; i < good.size(); ++i) {
      for (int k = 0; k < 8; ++k) {
        std::string bad = good;
        bad[i] = static_cast<char>(bad[i] ^ (1 << k));
        Recorder r;
        const absl::Status s = WriteBatchInternal::Iterate(bad, &r);
        INFO("byte " << i << " bit " << k << ": " << s.ToString());
        if (i < 8) {
          REQUIRE_OK(s);  // the sequence number is not checked by Iterate
        } else if (!s.ok()) {
          REQUIRE(absl::IsInvalidArgument(s));
        }
        // Whatever was decoded lies within the batch.
        for (const auto& e : r.entries) REQUIRE(e.key.size() + e.value.size() <= bad.size());
      }
    }
  }
  SECTION("count mismatch and unknown tags") {
    std::string more = good;
    EncodeFixed32(more.data() + 8, 5);
    Recorder r;
    CHECK(absl::IsInvalidArgument(WriteBatchInternal::Iterate(more, &r)));
    std::string tag = good.substr(0, detail::kBatchHeaderBytes);
    EncodeFixed32(tag.data() + 8, 1);
    tag += '\x07';
    PutLengthPrefixed(&tag, "k");
    CHECK(absl::IsInvalidArgument(WriteBatchInternal::Iterate(tag, &r)));
  }
  SECTION("random bytes") {
    std::mt19937_64 rng(kv::test::TestSeed() + 3);
    for (int iter = 0; iter < 2000; ++iter) {
      std::string junk(rng() % 64, '\0');
      for (auto& c : junk) c = static_cast<char>(rng() % 4 == 0 ? rng() % 4 : rng());
      Recorder r;
      (void)WriteBatchInternal::Iterate(junk, &r);
      for (const auto& e : r.entries) REQUIRE(e.key.size() + e.value.size() <= junk.size());
    }
  }
}

// A moved-from WriteBatch has an empty encoding (std::string's move leaves
// it empty in practice), so Count()/Put() on it read and write past the end
// of the string. Reported to the integrator; hidden because it is UB today.
TEST_CASE("write batch: moved-from batch is reusable", "[write_batch]") {
  WriteBatch a;
  a.Put("k", "v");
  WriteBatch b = std::move(a);
  CHECK(b.Count() == 1);
  a.Clear();  // fine
  CHECK(a.Count() == 0);
  WriteBatch c;
  c.Put("x", "y");
  WriteBatch d = std::move(c);
  c.Put("k", "v");  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(c.Count() == 1);
}

}  // namespace
}  // namespace kv
