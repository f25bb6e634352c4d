// Tests for kv/coding.hpp: fixed-width and varint encodings, their
// boundaries, and rejection of truncated or overflowing input; and for
// kv/checksum.hpp's two-piece checksum.
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kv/checksum.hpp"
#include "kv/coding.hpp"
#include "test_util.hpp"

#if defined(KV_XXH3_X86_DISPATCH)
#include <cpuid.h>
#endif

namespace kv {
namespace {

std::vector<std::uint64_t> BoundaryValues() {
  std::vector<std::uint64_t> v = {0,
                                  1,
                                  2,
                                  127,
                                  128,
                                  255,
                                  256,
                                  16383,
                                  16384,
                                  0xffff,
                                  0x10000,
                                  0xffffffffu,
                                  0x100000000ull,
                                  std::numeric_limits<std::uint64_t>::max() - 1,
                                  std::numeric_limits<std::uint64_t>::max()};
  for (int bits = 1; bits < 64; ++bits) {
    const std::uint64_t p = std::uint64_t{1} << bits;
    v.push_back(p - 1);
    v.push_back(p);
    v.push_back(p + 1);
  }
  return v;
}

TEST_CASE("coding: fixed-width little-endian round trips", "[coding]") {
  char buf[8];
  EncodeFixed32(buf, 0x04030201u);
  CHECK(std::string(buf, 4) == std::string("\x01\x02\x03\x04", 4));
  EncodeFixed64(buf, 0x0807060504030201ull);
  CHECK(std::string(buf, 8) == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EncodeFixed16(buf, 0xbeef);
  CHECK(static_cast<unsigned char>(buf[0]) == 0xef);
  CHECK(static_cast<unsigned char>(buf[1]) == 0xbe);
  CHECK(DecodeFixed16(buf) == 0xbeef);

  std::string s;
  for (std::uint64_t v : BoundaryValues()) {
    PutFixed64(&s, v);
    PutFixed32(&s, static_cast<std::uint32_t>(v));
  }
  std::string_view in = s;
  for (std::uint64_t v : BoundaryValues()) {
    std::uint64_t a = 0;
    std::uint32_t b = 0;
    REQUIRE(GetFixed64(&in, &a));
    REQUIRE(GetFixed32(&in, &b));
    CHECK(a == v);
    CHECK(b == static_cast<std::uint32_t>(v));
  }
  CHECK(in.empty());
  for (std::uint32_t v = 0; v < 0x10000; v += 7) {
    EncodeFixed16(buf, static_cast<std::uint16_t>(v));
    REQUIRE(DecodeFixed16(buf) == v);
  }
}

TEST_CASE("coding: LoadBigEndian64 orders like the bytes", "[coding]") {
  CHECK(LoadBigEndian64("\x01\x02\x03\x04\x05\x06\x07\x08") == 0x0102030405060708ull);
  CHECK(LoadBigEndian64("\xff\x00\x00\x00\x00\x00\x00\x00") == 0xff00000000000000ull);
  CHECK(LoadBigEndian64("abcdefgh") < LoadBigEndian64("abcdefgi"));
  CHECK(LoadBigEndian64("abcdefgh") < LoadBigEndian64("b\x00\x00\x00\x00\x00\x00\x00"));
}

TEST_CASE("coding: CopyShortBytes agrees with memcpy at every length", "[coding]") {
  std::mt19937_64 rng(test::TestSeed());
  for (std::size_t n = 0; n <= 40; ++n) {
    INFO("length " << n);
    std::string src(n, '\0');
    for (char& c : src) c = static_cast<char>(rng());
    // Guard bytes around the destination: nothing outside [0, n) is written.
    std::string dst(n + 16, '#');
    CopyShortBytes(dst.data() + 8, src.data(), n);
    REQUIRE(dst.substr(8, n) == src);
    REQUIRE(dst.substr(0, 8) == std::string(8, '#'));
    REQUIRE(dst.substr(8 + n) == std::string(8, '#'));
  }
}

TEST_CASE("coding: FirstMismatch finds the first differing byte from any start", "[coding]") {
  std::mt19937_64 rng(test::TestSeed());
  for (std::size_t n = 0; n <= 40; ++n) {
    for (int round = 0; round < 50; ++round) {
      std::string a(n, '\0');
      for (char& c : a) c = static_cast<char>(rng() % 3);  // many equal runs
      std::string b = a;
      // Differ at up to two random places, or nowhere.
      for (std::uint64_t k = rng() % 3; k > 0 && n > 0; --k)
        b[rng() % n] ^= static_cast<char>(1 + rng() % 255);
      const std::size_t from = n == 0 ? 0 : rng() % (n + 1);
      std::size_t expected = from;
      while (expected < n && a[expected] == b[expected]) ++expected;
      INFO("n=" << n << " from=" << from);
      REQUIRE(FirstMismatch(a.data(), b.data(), from, n) == expected);
    }
  }
}

TEST_CASE("coding: short fixed-width input is rejected", "[coding]") {
  const std::string s = "abcdefg";  // 7 bytes
  for (std::size_t n = 0; n < 8; ++n) {
    std::string_view in(s.data(), n);
    std::uint64_t v = 0;
    CHECK_FALSE(GetFixed64(&in, &v));
    std::string_view in32(s.data(), n);
    std::uint32_t w = 0;
    CHECK(GetFixed32(&in32, &w) == (n >= 4));
  }
}

TEST_CASE("coding: varint round trips and lengths", "[coding]") {
  std::string s;
  const auto values = BoundaryValues();
  for (std::uint64_t v : values) {
    const std::size_t before = s.size();
    PutVarint64(&s, v);
    CHECK(static_cast<int>(s.size() - before) == VarintLength(v));
    CHECK(VarintLength(v) <= kMaxVarint64Bytes);
  }
  CHECK(VarintLength(0) == 1);
  CHECK(VarintLength(127) == 1);
  CHECK(VarintLength(128) == 2);
  CHECK(VarintLength(std::numeric_limits<std::uint64_t>::max()) == 10);
  std::string_view in = s;
  for (std::uint64_t v : values) {
    std::uint64_t got = 0;
    REQUIRE(GetVarint64(&in, &got));
    CHECK(got == v);
  }
  CHECK(in.empty());

  // Random values across all magnitudes.
  std::mt19937_64 rng(kv::test::TestSeed());
  std::vector<std::uint64_t> rand;
  s.clear();
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 64);
    rand.push_back(v);
    PutVarint64(&s, v);
  }
  in = s;
  for (std::uint64_t v : rand) {
    std::uint64_t got = 0;
    REQUIRE(GetVarint64(&in, &got));
    REQUIRE(got == v);
  }
  CHECK(in.empty());
}

TEST_CASE("coding: varint32", "[coding]") {
  std::string s;
  for (std::uint32_t v : {0u, 1u, 127u, 128u, 0x3fffu, 0x4000u, 0xffffffffu}) PutVarint32(&s, v);
  std::string_view in = s;
  for (std::uint32_t v : {0u, 1u, 127u, 128u, 0x3fffu, 0x4000u, 0xffffffffu}) {
    std::uint32_t got = 0;
    REQUIRE(GetVarint32(&in, &got));
    CHECK(got == v);
  }
  // A value that does not fit 32 bits is rejected by the 32-bit decoder.
  std::string big;
  PutVarint64(&big, 0x100000000ull);
  std::string_view bin = big;
  std::uint32_t v32 = 0;
  CHECK_FALSE(GetVarint32(&bin, &v32));
}

TEST_CASE("coding: truncated varints are rejected", "[coding]") {
  for (std::uint64_t v : BoundaryValues()) {
    std::string s;
    PutVarint64(&s, v);
    for (std::size_t n = 0; n < s.size(); ++n) {
      std::string_view in(s.data(), n);
      std::uint64_t got = 0;
      INFO("value " << v << " cut to " << n << " bytes");
      REQUIRE_FALSE(GetVarint64(&in, &got));
      REQUIRE(DecodeVarint64(s.data(), s.data() + n, &got) == nullptr);
    }
  }
}

TEST_CASE("coding: overlong and overflowing varints are rejected", "[coding]") {
  std::uint64_t v = 0;
  // The largest value: nine 0xff then 0x01.
  std::string max(9, '\xff');
  max.push_back('\x01');
  std::string_view in = max;
  REQUIRE(GetVarint64(&in, &v));
  CHECK(v == std::numeric_limits<std::uint64_t>::max());

  // Tenth byte > 1 would need a 65th bit.
  for (int last = 2; last < 256; ++last) {
    std::string over(9, '\xff');
    over.push_back(static_cast<char>(last));
    std::string_view o = over;
    INFO("last byte " << last);
    REQUIRE_FALSE(GetVarint64(&o, &v));
  }
  // Eleven or more bytes with continuation bits never terminate in range.
  for (std::size_t n = 10; n <= 20; ++n) {
    std::string cont(n, '\x80');
    cont.push_back('\x00');
    std::string_view c = cont;
    CHECK_FALSE(GetVarint64(&c, &v));
  }
  // All-continuation input never reads past its end.
  std::string all(64, '\xff');
  for (std::size_t n = 0; n <= all.size(); ++n) {
    std::string_view a(all.data(), n);
    REQUIRE_FALSE(GetVarint64(&a, &v));
  }
}

TEST_CASE("coding: length-prefixed strings", "[coding]") {
  std::string s;
  const std::vector<std::string> items = {"", "a", std::string(200, 'x'), std::string(70000, 'y'),
                                          std::string("\0\1\2", 3)};
  for (const auto& it : items) PutLengthPrefixed(&s, it);
  std::string_view in = s;
  for (const auto& it : items) {
    std::string_view got;
    REQUIRE(GetLengthPrefixed(&in, &got));
    CHECK(got == it);
  }
  CHECK(in.empty());

  // Every truncation of a length-prefixed string fails cleanly.
  std::string one;
  PutLengthPrefixed(&one, std::string(300, 'q'));
  for (std::size_t n = 0; n < one.size(); ++n) {
    std::string_view cut(one.data(), n);
    std::string_view got;
    REQUIRE_FALSE(GetLengthPrefixed(&cut, &got));
  }
  // A huge declared length does not read past the end.
  std::string huge;
  PutVarint64(&huge, std::numeric_limits<std::uint64_t>::max());
  huge += "abc";
  std::string_view h = huge;
  std::string_view got;
  CHECK_FALSE(GetLengthPrefixed(&h, &got));
}

}  // namespace
}  // namespace kv

TEST_CASE("checksum: values are XXH3-64, on every path and size", "[coding]") {
  // Known answers (computed with libxxhash's plain XXH3_64bits_withSeed):
  // what is on disk must not depend on which code path hashed it.
  struct Known {
    std::size_t size;
    std::uint64_t unseeded, seeded;
  };
  const Known known[] = {
      {0, 0x2d06800538d394c2ull, 0x602b0e2cd6662c8bull},
      {100, 0x5da67eac6d4093d5ull, 0xba21393335a9a3baull},
      {1023, 0xa94ffcd2254368e4ull, 0x4de00b8ba99fe3eaull},
      {1024, 0x70bd377d9574f4bbull, 0xd8cf6b464541f232ull},
      {4096, 0x9ddd66c14af0daffull, 0xc7bc989f5d547a4dull},
      {65536, 0x04404b28125b4786ull, 0xbbde6d4d6ed56fbcull},
  };
  for (const Known& k : known) {
    std::string s(k.size, '\0');
    for (std::size_t i = 0; i < k.size; ++i) s[i] = static_cast<char>((i * 131 + 7) & 0xff);
    INFO("size " << k.size);
    CHECK(kv::Checksum64(s) == k.unseeded);
    CHECK(kv::Checksum64(s, 0x9e3779b97f4a7c15ull) == k.seeded);
    CHECK(kv::Checksum64(s) == XXH3_64bits_withSeed(s.data(), s.size(), 0));
  }
#if defined(KV_XXH3_X86_DISPATCH)
  SUCCEED("large inputs go through XXH3's x86 dispatcher");
#endif
}

#if defined(KV_XXH3_X86_DISPATCH)
TEST_CASE("checksum: the vector dispatcher leaves no upper YMM state in use", "[coding]") {
  // XGETBV with ECX=1 reads which register states are in use; bit 2 is the
  // upper halves of the YMM registers. If a checksum leaves it set, every
  // legacy-SSE instruction after it in the thread runs slower.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!kv::detail::OsEnablesAvx() || __get_cpuid_count(0xD, 1, &eax, &ebx, &ecx, &edx) == 0 ||
      (eax & (1u << 2)) == 0) {
    SUCCEED("this CPU has no AVX or cannot report register state in use");
    return;
  }
  const auto upper_halves_in_use = [] {
    unsigned lo = 0, hi = 0;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
    return (lo & 0x4u) != 0;
  };
  const std::string block(4096, 'k');  // large enough for the dispatcher's vector code
  const std::uint64_t h = kv::Checksum64(block);
  const bool in_use = upper_halves_in_use();
  CHECK(h == XXH3_64bits_withSeed(block.data(), block.size(), 0));
  CHECK_FALSE(in_use);
}
#endif

TEST_CASE("checksum: two pieces hash like their concatenation, adjacent or not", "[coding]") {
  std::mt19937_64 rng(kv::test::TestSeed());
  for (std::size_t n : {0, 1, 16, 240, 241, 4096, 5000}) {
    std::string bytes(n + 1, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::string_view all(bytes);
    const std::uint64_t whole = kv::Checksum64(all);
    // Adjacent pieces (the one-call path) and copies in separate buffers
    // (the streaming path) agree with one call over the whole.
    CHECK(kv::Checksum64(all.substr(0, n), all.substr(n)) == whole);
    const std::string head(all.substr(0, n / 2)), tail(all.substr(n / 2));
    CHECK(kv::Checksum64(head, tail) == whole);
    CHECK(kv::UnmaskChecksum(kv::MaskChecksum(static_cast<std::uint32_t>(whole))) ==
          static_cast<std::uint32_t>(whole));
  }
}
