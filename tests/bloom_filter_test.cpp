// Tests for kv's blocked bloom filter: no false negatives, a measured
// false-positive rate close to the theoretical blocked-bloom rate, and
// malformed filter bytes.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "kv/bloom_filter.hpp"
#include "kv/checksum.hpp"
#include "kv/coding.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

std::string Key(std::uint64_t i) {
  std::string k = "user-key-";
  PutFixed64(&k, i);
  return k;
}

TEST_CASE("Bloom filter has no false negatives") {
  for (int bits : {1, 4, 10, 20}) {
    for (std::uint64_t n : {0, 1, 7, 100, 5000}) {
      BloomFilterBuilder b(bits);
      for (std::uint64_t i = 0; i < n; ++i) b.AddKey(Key(i));
      const kv::PageString filter = b.Finish();
      BloomFilterReader r;
      REQUIRE(r.Init(filter));
      for (std::uint64_t i = 0; i < n; ++i) REQUIRE(r.KeyMayMatch(Key(i)));
      if (n == 0) REQUIRE_FALSE(r.KeyMayMatch("anything"));
    }
  }
}

TEST_CASE("Bloom filter bytes are stable (on-disk format)") {
  // Filters live in tables on disk: the same keys must always give the same
  // bytes. The constant was taken from the first released builder.
  BloomFilterBuilder b(10);
  for (int i = 0; i < 1000; ++i) b.AddKey("key" + std::to_string(i));
  const kv::PageString filter = b.Finish();
  CHECK(filter.size() == 1285);
  CHECK(Checksum64(filter) == 0x3d8a259f907348e8ull);
}

TEST_CASE("Bloom filter size follows bits_per_key") {
  BloomFilterBuilder b(10);
  for (std::uint64_t i = 0; i < 1000; ++i) b.AddKey(Key(i));
  b.AddKey(Key(999));  // an adjacent duplicate (another version of one user key) is added once
  REQUIRE(b.num_hashes() == 1000);
  const kv::PageString filter = b.Finish();
  // ceil(1000 * 10 / 512) = 20 lines.
  REQUIRE(filter.size() == 20 * kBloomLineBytes + kBloomTrailerBytes);
  BloomFilterReader r;
  REQUIRE(r.Init(filter));
  REQUIRE(r.num_lines() == 20);
  REQUIRE(r.num_probes() == 7);
}

TEST_CASE("A Bloom filter sized ahead for its exact key count has the listing filter's bytes") {
  for (int bits : {1, 10, 23}) {
    for (std::uint64_t n : {1ull, 7ull, 1000ull, 50'000ull}) {
      INFO("bits " << bits << ", keys " << n);
      BloomFilterBuilder listing(bits);
      BloomFilterBuilder sized(bits, n);
      for (std::uint64_t i = 0; i < n; ++i) {
        listing.AddKey(Key(i));
        sized.AddKey(Key(i));
        if (i % 5 == 0) sized.AddKey(Key(i));  // another version of the same user key
      }
      CHECK(sized.num_hashes() == n);
      CHECK(sized.Finish() == listing.Finish());
      // Finish puts the sized builder back to the listing way.
      BloomFilterBuilder fresh(bits);
      for (std::uint64_t i = 0; i < 3 * n; ++i) {
        sized.AddKey(Key(n + i));
        fresh.AddKey(Key(n + i));
      }
      CHECK(sized.Finish() == fresh.Finish());
    }
  }
}

TEST_CASE("A Bloom filter sized for more or fewer keys than it gets has no false negatives") {
  constexpr std::uint64_t kKeys = 100'000;
  constexpr std::uint64_t kQueries = 200'000;
  auto false_positive_rate = [](const BloomFilterReader& r) {
    std::uint64_t hits = 0;
    for (std::uint64_t i = 0; i < kQueries; ++i) hits += r.KeyMayMatch(Key(kKeys + i)) ? 1 : 0;
    return static_cast<double>(hits) / kQueries;
  };
  BloomFilterBuilder exact(10), over(10, 2 * kKeys), under(10, kKeys / 4);
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    exact.AddKey(Key(i));
    over.AddKey(Key(i));
    under.AddKey(Key(i));
  }
  const kv::PageString exact_filter = exact.Finish(), over_filter = over.Finish(),
                       under_filter = under.Finish();
  BloomFilterReader exact_reader, over_reader, under_reader;
  REQUIRE(exact_reader.Init(exact_filter));
  REQUIRE(over_reader.Init(over_filter));
  REQUIRE(under_reader.Init(under_filter));
  // The line count follows the bound, not the keys: ceil(bound * 10 / 512).
  CHECK(over_reader.num_lines() == (2 * kKeys * 10 + 511) / 512);
  CHECK(under_reader.num_lines() == (kKeys / 4 * 10 + 511) / 512);
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    REQUIRE(over_reader.KeyMayMatch(Key(i)));
    REQUIRE(under_reader.KeyMayMatch(Key(i)));
  }
  // A roomier filter answers "maybe" less often for absent keys; a crowded one more.
  const double exact_rate = false_positive_rate(exact_reader);
  CHECK(false_positive_rate(over_reader) < exact_rate / 2);
  CHECK(false_positive_rate(under_reader) > exact_rate * 4);
}

TEST_CASE("Bloom filter false-positive rate matches the blocked-bloom theory") {
  std::mt19937_64 rng(test::TestSeed());
  constexpr int kBits = 10;
  constexpr std::uint64_t kKeys = 100'000;
  constexpr std::uint64_t kQueries = 1'000'000;
  BloomFilterBuilder b(kBits);
  const std::uint64_t base = rng();
  for (std::uint64_t i = 0; i < kKeys; ++i) b.AddKey(Key(base + i));
  const kv::PageString filter = b.Finish();
  BloomFilterReader r;
  REQUIRE(r.Init(filter));
  for (std::uint64_t i = 0; i < kKeys; ++i) REQUIRE(r.KeyMayMatch(Key(base + i)));
  std::uint64_t false_positives = 0;
  for (std::uint64_t i = 0; i < kQueries; ++i) {
    false_positives += r.KeyMayMatch(Key(base + kKeys + i)) ? 1 : 0;  // never added
  }
  const double observed = static_cast<double>(false_positives) / kQueries;
  const double keys_per_line = static_cast<double>(kKeys) / r.num_lines();
  const double theory = BlockedBloomFalsePositiveRate(keys_per_line, r.num_probes());
  // The unblocked bloom filter with the same bits and probes, for scale.
  const double k = r.num_probes();
  const double standard = std::pow(1 - std::exp(-k / (512.0 * r.num_lines() / kKeys)), k);
  std::printf(
      "bloom 10 bits/key: observed FP %.4f%%, blocked-bloom theory %.4f%%, "
      "standard bloom %.4f%%\n",
      observed * 100, theory * 100, standard * 100);
  // Expected false positives ~ theory * kQueries ~ 9500, sd ~ 100: a bound
  // 10% above theory is > 9 sd away, yet catches a poorly mixed probe scheme.
  CHECK(observed < theory * 1.10);
  CHECK(observed > theory * 0.90);
  CHECK(theory < 0.0125);  // within the ~1% class promised for 10 bits/key
}

TEST_CASE("Bloom filter rejects malformed bytes") {
  BloomFilterReader r;
  CHECK_FALSE(r.Init(""));
  CHECK(r.KeyMayMatch("x"));  // an invalid filter never rules anything out
  std::string bad(64, '\0');
  bad.push_back(7);
  PutFixed32(&bad, 2);  // says two lines, holds one
  CHECK_FALSE(r.Init(bad));
  std::string zero_probes(64, '\0');
  zero_probes.push_back(0);
  PutFixed32(&zero_probes, 1);
  CHECK_FALSE(r.Init(zero_probes));
  std::string ok(64, '\0');
  ok.push_back(3);
  PutFixed32(&ok, 1);
  CHECK(r.Init(ok));
  CHECK_FALSE(r.KeyMayMatch("x"));  // all bits clear
}

TEST_CASE("Blocked-bloom theory sanity") {
  // With very few keys per line the blocked and standard formulas agree.
  const double blocked = BlockedBloomFalsePositiveRate(1.0, 1);
  CHECK(blocked == Approx(1.0 / 512).epsilon(0.01));
  CHECK(BlockedBloomFalsePositiveRate(51.2, 7) > BlockedBloomFalsePositiveRate(25.6, 7));
}

}  // namespace
}  // namespace kv
