/// @file
/// Internal keys: how kv versions every user key.
///
/// An internal key is the user key followed by an 8-byte little-endian
/// trailer  (sequence << 8) | type.  Internal keys sort by user key ascending
/// (unsigned bytewise), then by trailer descending, so the newest version of
/// a key comes first and a lookup for (key, snapshot sequence) seeks to the
/// first entry with sequence <= snapshot.
///
/// Types:
/// @code
///   kDeletion          tombstone; the value is empty
///   kValue             a plain value
///   kValueWithExpiry   value bytes = fixed64 absolute expiry (microseconds
///                      since the Unix epoch, from Options::clock) + the user
///                      value. Once the clock passes the expiry the entry reads
///                      as a deletion.
/// @endcode
///
/// Sequence numbers are 56 bits: at most kMaxSequenceNumber.
#pragma once

#include <cassert>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "kv/coding.hpp"

namespace kv {

/// Orders every write: each entry of a batch gets the next number.
using SequenceNumber = std::uint64_t;
/// The largest sequence number (56 bits).
inline constexpr SequenceNumber kMaxSequenceNumber = (SequenceNumber{1} << 56) - 1;

/// The type byte of an internal key's trailer; see the file comment.
enum class ValueType : std::uint8_t {
  kDeletion = 0,         ///< tombstone; the value is empty
  kValue = 1,            ///< a plain value
  kValueWithExpiry = 2,  ///< fixed64 absolute expiry (µs) + the user value
};
/// The largest type: a seek key built with it sorts before every entry of
/// the same user key and sequence.
inline constexpr ValueType kValueTypeForSeek = ValueType::kValueWithExpiry;
/// Size of the (sequence << 8) | type trailer of an internal key.
inline constexpr std::size_t kTrailerBytes = 8;
/// Size of the expiry prefix of a kValueWithExpiry value.
inline constexpr std::size_t kExpiryBytes = 8;

/// True if `t` is a known ValueType.
inline bool IsValidValueType(std::uint8_t t) { return t <= 2; }

/// The trailer (seq << 8) | type. REQUIRES: seq <= kMaxSequenceNumber.
inline std::uint64_t PackTrailer(SequenceNumber seq, ValueType type) {
  assert(seq <= kMaxSequenceNumber);
  return (seq << 8) | static_cast<std::uint8_t>(type);
}

/// Appends the internal key for (user_key, seq, type) to `dst`.
inline void AppendInternalKey(std::string* dst, std::string_view user_key, SequenceNumber seq,
                              ValueType type) {
  dst->append(user_key.data(), user_key.size());
  PutFixed64(dst, PackTrailer(seq, type));
}
/// The internal key for (user_key, seq, type).
inline std::string MakeInternalKey(std::string_view user_key, SequenceNumber seq, ValueType type) {
  std::string k;
  k.reserve(user_key.size() + kTrailerBytes);
  AppendInternalKey(&k, user_key, seq, type);
  return k;
}

/// An internal key encoded into the object itself for user keys up to
/// kInlineBytes - kTrailerBytes long (on the heap beyond that): what a point
/// lookup seeks with, without allocating. Not copyable: view() points into it.
class InlineInternalKey {
 public:
  /// Room for the user key and the trailer before the heap is used.
  static constexpr std::size_t kInlineBytes = 128;

  /// Encodes (user_key, seq, type).
  InlineInternalKey(std::string_view user_key, SequenceNumber seq, ValueType type) {
    const std::size_t n = user_key.size() + kTrailerBytes;
    char* p = inline_;
    if (n > kInlineBytes) {
      heap_ = std::make_unique_for_overwrite<char[]>(n);
      p = heap_.get();
    }
    if (!user_key.empty()) std::memcpy(p, user_key.data(), user_key.size());
    EncodeFixed64(p + user_key.size(), PackTrailer(seq, type));
    view_ = std::string_view(p, n);
  }
  InlineInternalKey(const InlineInternalKey&) = delete;
  InlineInternalKey& operator=(const InlineInternalKey&) = delete;

  /// The encoded internal key; valid while this object lives.
  std::string_view view() const { return view_; }

 private:
  char inline_[kInlineBytes];
  std::unique_ptr<char[]> heap_;
  std::string_view view_;
};

/// A decoded internal key; user_key views the encoded bytes.
struct ParsedInternalKey {
  std::string_view user_key;           ///< the key without its trailer
  SequenceNumber sequence = 0;         ///< the trailer's sequence number
  ValueType type = ValueType::kValue;  ///< the trailer's type
};

/// The user key part of an internal key.
/// REQUIRES: internal_key.size() >= kTrailerBytes
inline std::string_view ExtractUserKey(std::string_view internal_key) {
  assert(internal_key.size() >= kTrailerBytes);
  return internal_key.substr(0, internal_key.size() - kTrailerBytes);
}
/// The trailer of an internal key, (sequence << 8) | type.
/// REQUIRES: internal_key.size() >= kTrailerBytes
inline std::uint64_t ExtractTrailer(std::string_view internal_key) {
  return DecodeFixed64(internal_key.data() + internal_key.size() - kTrailerBytes);
}

/// Returns false if the key is too short or its type byte is unknown.
[[nodiscard]] inline bool ParseInternalKey(std::string_view internal_key, ParsedInternalKey* out) {
  if (internal_key.size() < kTrailerBytes) return false;
  const std::uint64_t trailer = ExtractTrailer(internal_key);
  const auto type = static_cast<std::uint8_t>(trailer & 0xff);
  if (!IsValidValueType(type)) return false;
  out->user_key = ExtractUserKey(internal_key);
  out->sequence = trailer >> 8;
  out->type = static_cast<ValueType>(type);
  return true;
}

/// Unsigned bytewise comparison of user keys: <0, 0 or >0, ordered exactly
/// as std::string_view::compare orders them. Compares 8 bytes at a time
/// inline: keys are short, and a call to memcmp per comparison was a fifth
/// of a memtable insert's instructions.
inline int CompareUserKeys(std::string_view a, std::string_view b) {
  const std::size_t common = a.size() < b.size() ? a.size() : b.size();
  std::size_t i = 0;
  for (; i + 8 <= common; i += 8) {
    const std::uint64_t x = LoadBigEndian64(a.data() + i);
    const std::uint64_t y = LoadBigEndian64(b.data() + i);
    if (x != y) return x < y ? -1 : 1;
  }
  for (; i < common; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

/// The order of internal keys described above.
/// REQUIRES: both keys are at least kTrailerBytes long.
inline int CompareInternalKeys(std::string_view a, std::string_view b) {
  const int r = CompareUserKeys(ExtractUserKey(a), ExtractUserKey(b));
  if (r != 0) return r;
  const std::uint64_t ta = ExtractTrailer(a);
  const std::uint64_t tb = ExtractTrailer(b);
  if (ta > tb) return -1;
  if (ta < tb) return 1;
  return 0;
}

/// Splits a kValueWithExpiry value into its expiry and the user value.
/// Returns false if the value is too short to hold the expiry.
[[nodiscard]] inline bool SplitExpiringValue(std::string_view stored, std::uint64_t* expiry_micros,
                                             std::string_view* user_value) {
  if (stored.size() < kExpiryBytes) return false;
  *expiry_micros = DecodeFixed64(stored.data());
  *user_value = stored.substr(kExpiryBytes);
  return true;
}

/// True if an entry of this type and stored value is expired at the time
/// `now_micros()` returns, which is asked only for an entry with an expiry
/// time (a Get reads the clock only then).
template <typename NowMicros>
requires std::is_invocable_r_v<std::uint64_t, NowMicros&>
bool IsExpired(ValueType type, std::string_view stored_value, NowMicros&& now_micros) {
  if (type != ValueType::kValueWithExpiry) return false;
  std::uint64_t expiry = 0;
  std::string_view v;
  if (!SplitExpiringValue(stored_value, &expiry, &v)) return true;  // malformed: never returned
  return expiry <= now_micros();
}
/// True if an entry of this type and stored value is expired at `now_micros`.
inline bool IsExpired(ValueType type, std::string_view stored_value, std::uint64_t now_micros) {
  return IsExpired(type, stored_value, [now_micros] { return now_micros; });
}

}  // namespace kv
