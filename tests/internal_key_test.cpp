// Tests for kv/internal_key.hpp: the user-key order (an inline word-wise
// comparison that must agree with std::string_view::compare everywhere) and
// the internal-key order built on it.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kv/internal_key.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

int Sign(int v) { return (v > 0) - (v < 0); }

TEST_CASE("CompareUserKeys agrees with std::string_view::compare", "[internal_key]") {
  std::mt19937_64 rng(11);
  // Few distinct bytes, including NUL, 0x7f/0x80 (signedness) and 0xff, so
  // long shared prefixes and ties at every position are common.
  const char alphabet[] = {'\0', 'a', '\x7f', '\x80', '\xff'};
  auto random_key = [&](std::size_t max_len) {
    std::string k(rng() % (max_len + 1), '\0');
    for (char& c : k) c = alphabet[rng() % sizeof(alphabet)];
    return k;
  };
  for (int i = 0; i < 200000; ++i) {
    std::string a = random_key(40);
    std::string b;
    switch (rng() % 4) {
      case 0:  // unrelated
        b = random_key(40);
        break;
      case 1:  // a prefix of a, or a itself
        b = a.substr(0, rng() % (a.size() + 1));
        break;
      case 2:  // a with one byte changed
        b = a;
        if (!b.empty()) b[rng() % b.size()] = alphabet[rng() % sizeof(alphabet)];
        break;
      default:  // a with a suffix
        b = a + random_key(9);
        break;
    }
    INFO("a.size " << a.size() << " b.size " << b.size());
    const int want = Sign(std::string_view(a).compare(b));
    CHECK(Sign(CompareUserKeys(a, b)) == want);
    CHECK(Sign(CompareUserKeys(b, a)) == -want);
  }
}

TEST_CASE("CompareUserKeys: bytes compare unsigned in every word position", "[internal_key]") {
  for (std::size_t len = 1; len <= 24; ++len) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      std::string low(len, 'k'), high(len, 'k');
      low[pos] = '\x01';
      high[pos] = '\xfe';  // negative as a signed char
      CHECK(CompareUserKeys(low, high) < 0);
      CHECK(CompareUserKeys(high, low) > 0);
      CHECK(CompareUserKeys(low, low) == 0);
    }
  }
  CHECK(CompareUserKeys("", "") == 0);
  CHECK(CompareUserKeys("", std::string(1, '\0')) < 0);
  CHECK(CompareUserKeys("abcdefgh", "abcdefghi") < 0);
  CHECK(CompareUserKeys("abcdefghi", "abcdefgh") > 0);
}

TEST_CASE("CompareInternalKeys: user key ascending, then newest first", "[internal_key]") {
  const std::string a5 = MakeInternalKey("a", 5, ValueType::kValue);
  const std::string a7 = MakeInternalKey("a", 7, ValueType::kValue);
  const std::string a7del = MakeInternalKey("a", 7, ValueType::kDeletion);
  const std::string b1 = MakeInternalKey("b", 1, ValueType::kValue);
  CHECK(CompareInternalKeys(a7, a5) < 0);
  CHECK(CompareInternalKeys(a7, a7del) < 0);  // the larger type first at one sequence
  CHECK(CompareInternalKeys(a5, b1) < 0);
  CHECK(CompareInternalKeys(b1, a7) > 0);
  CHECK(CompareInternalKeys(a5, a5) == 0);
}

}  // namespace
}  // namespace kv

TEST_CASE("InlineInternalKey encodes like MakeInternalKey, inline and on the heap",
          "[internal_key]") {
  const std::size_t inline_user_bytes = kv::InlineInternalKey::kInlineBytes - kv::kTrailerBytes;
  for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{16}, inline_user_bytes,
                          inline_user_bytes + 1, std::size_t{5000}}) {
    INFO("user key bytes " << len);
    std::string user_key(len, '\0');
    for (std::size_t i = 0; i < len; ++i) user_key[i] = static_cast<char>(i * 37 + 11);
    const kv::InlineInternalKey k(user_key, 123456789, kv::ValueType::kValueWithExpiry);
    CHECK(k.view() == kv::MakeInternalKey(user_key, 123456789, kv::ValueType::kValueWithExpiry));
    const auto* object = reinterpret_cast<const char*>(&k);
    const bool inside = k.view().data() >= object && k.view().data() < object + sizeof(k);
    CHECK(inside == (len <= inline_user_bytes));  // inline exactly when it fits
  }
}
