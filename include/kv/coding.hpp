/// @file
/// Byte encoding helpers shared by every on-disk format: fixed-width
/// little-endian integers and LEB128-style varints; and a copy of short
/// byte strings (keys) that avoids a library call.
///
/// Encoders append to a std::string. Decoders consume from the front of a
/// std::string_view and return false (leaving the input unspecified) when the
/// input is too short or malformed; they never read past the view.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kv {

/// Writes `v` as 4 little-endian bytes at `dst`.
inline void EncodeFixed32(char* dst, std::uint32_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  std::memcpy(dst, &v, sizeof(v));
}
/// Writes `v` as 8 little-endian bytes at `dst`.
inline void EncodeFixed64(char* dst, std::uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(dst, &v, sizeof(v));
}
// The fixed-width codecs are one load or store (and a byte swap on a
// big-endian host): GCC 12 compiled the portable shift-and-or loops to a
// load, shift and or per byte, and these run several times per lookup
// (restart points, trailers, block handles).
/// Reads 4 little-endian bytes at `p`.
inline std::uint32_t DecodeFixed32(const char* p) {
  std::uint32_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}
/// Reads 8 little-endian bytes at `p`.
inline std::uint64_t DecodeFixed64(const char* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}
/// Reads 8 bytes at `p` as a big-endian integer: comparing two such values
/// orders the 8-byte strings as unsigned bytewise comparison would.
/// (One load and a byte swap: compilers do not fuse the portable
/// shift-and-or loop into that, and this is on every key comparison.)
inline std::uint64_t LoadBigEndian64(const char* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}
/// The first index in [from, n) at which a and b differ, or n if they agree
/// there. Compares 8 bytes at a time. REQUIRES: from <= n; both hold n bytes.
inline std::size_t FirstMismatch(const char* a, const char* b, std::size_t from, std::size_t n) {
  std::size_t i = from;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x = 0, y = 0;
    std::memcpy(&x, a + i, sizeof(x));
    std::memcpy(&y, b + i, sizeof(y));
    if (x != y) {
      // The lowest-addressed differing byte: the low end on little-endian.
      const std::uint64_t diff = x ^ y;
      if constexpr (std::endian::native == std::endian::little) {
        return i + static_cast<std::size_t>(__builtin_ctzll(diff)) / 8;
      } else {
        return i + static_cast<std::size_t>(__builtin_clzll(diff)) / 8;
      }
    }
  }
  if (i < n && n >= 8) {
    // Fewer than 8 bytes left: one load of the last 8 covers them, with the
    // bytes before i (already known equal) masked off.
    const std::size_t start = n - 8;
    std::uint64_t x = 0, y = 0;
    std::memcpy(&x, a + start, sizeof(x));
    std::memcpy(&y, b + start, sizeof(y));
    const unsigned skip = static_cast<unsigned>(i - start) * 8;  // < 64
    std::uint64_t diff = x ^ y;
    if constexpr (std::endian::native == std::endian::little) {
      diff &= ~std::uint64_t{0} << skip;
      return diff == 0 ? n : start + static_cast<std::size_t>(__builtin_ctzll(diff)) / 8;
    } else {
      diff &= ~std::uint64_t{0} >> skip;
      return diff == 0 ? n : start + static_cast<std::size_t>(__builtin_clzll(diff)) / 8;
    }
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

/// Copies n bytes from src to dst (not overlapping). Keys and key suffixes
/// are mostly short, where a call into the library memcpy costs more than
/// the copy: up to 16 bytes are moved with two overlapping fixed-size loads
/// and stores, which the compiler inlines.
inline void CopyShortBytes(char* dst, const char* src, std::size_t n) {
  if (n >= 8 && n <= 16) {
    std::uint64_t head, tail;
    std::memcpy(&head, src, 8);
    std::memcpy(&tail, src + n - 8, 8);
    std::memcpy(dst, &head, 8);
    std::memcpy(dst + n - 8, &tail, 8);
  } else if (n >= 4 && n < 8) {
    std::uint32_t head, tail;
    std::memcpy(&head, src, 4);
    std::memcpy(&tail, src + n - 4, 4);
    std::memcpy(dst, &head, 4);
    std::memcpy(dst + n - 4, &tail, 4);
  } else if (n < 4) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, n);
  }
}

/// Reads 2 little-endian bytes at `p`.
inline std::uint16_t DecodeFixed16(const char* p) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) |
                                    (static_cast<unsigned char>(p[1]) << 8));
}
/// Writes `v` as 2 little-endian bytes at `dst`.
inline void EncodeFixed16(char* dst, std::uint16_t v) {
  dst[0] = static_cast<char>(v & 0xff);
  dst[1] = static_cast<char>(v >> 8);
}

/// A std::basic_string of chars with any allocator (std::string, kv::PageString):
/// what the Put* appenders below write to.
template <class Alloc>
using CharString = std::basic_string<char, std::char_traits<char>, Alloc>;

/// Appends `v` as 4 little-endian bytes.
template <class Alloc>
inline void PutFixed32(CharString<Alloc>* dst, std::uint32_t v) {
  char buf[4];
  EncodeFixed32(buf, v);
  dst->append(buf, 4);
}
/// Appends `v` as 8 little-endian bytes.
template <class Alloc>
inline void PutFixed64(CharString<Alloc>* dst, std::uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  dst->append(buf, 8);
}

/// Maximum encoded length of a 64-bit varint.
inline constexpr int kMaxVarint64Bytes = 10;

/// Writes `v` as a varint at `dst` and returns one past the last byte written.
inline char* EncodeVarint64(char* dst, std::uint64_t v) {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}
/// Appends `v` as a varint (1 to kMaxVarint64Bytes bytes).
template <class Alloc>
inline void PutVarint64(CharString<Alloc>* dst, std::uint64_t v) {
  char buf[kMaxVarint64Bytes];
  dst->append(buf, EncodeVarint64(buf, v) - buf);
}
/// Appends `v` as a varint (1 to 5 bytes).
template <class Alloc>
inline void PutVarint32(CharString<Alloc>* dst, std::uint32_t v) {
  PutVarint64(dst, v);
}
/// The number of bytes the varint encoding of `v` takes.
inline int VarintLength(std::uint64_t v) {
  int len = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++len;
  }
  return len;
}

/// Parses a varint from [p, limit). Returns one past its last byte, or
/// nullptr if the input ends early or the value overflows 64 bits.
inline const char* DecodeVarint64(const char* p, const char* limit, std::uint64_t* v) {
  std::uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
    const std::uint64_t byte = static_cast<unsigned char>(*p++);
    if (shift == 63 && byte > 1) return nullptr;  // would overflow
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}
/// DecodeVarint64, also returning nullptr if the value exceeds 32 bits.
inline const char* DecodeVarint32(const char* p, const char* limit, std::uint32_t* v) {
  std::uint64_t wide = 0;
  const char* next = DecodeVarint64(p, limit, &wide);
  if (next == nullptr || wide > 0xffffffffu) return nullptr;
  *v = static_cast<std::uint32_t>(wide);
  return next;
}

/// Consumes a varint from the front of `*in`; false if malformed.
inline bool GetVarint64(std::string_view* in, std::uint64_t* v) {
  const char* next = DecodeVarint64(in->data(), in->data() + in->size(), v);
  if (next == nullptr) return false;
  in->remove_prefix(static_cast<std::size_t>(next - in->data()));
  return true;
}
/// Consumes a varint that fits in 32 bits from the front of `*in`; false if
/// malformed or too large.
inline bool GetVarint32(std::string_view* in, std::uint32_t* v) {
  const char* next = DecodeVarint32(in->data(), in->data() + in->size(), v);
  if (next == nullptr) return false;
  in->remove_prefix(static_cast<std::size_t>(next - in->data()));
  return true;
}
/// Consumes 4 little-endian bytes from the front of `*in`; false if short.
inline bool GetFixed32(std::string_view* in, std::uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeFixed32(in->data());
  in->remove_prefix(4);
  return true;
}
/// Consumes 8 little-endian bytes from the front of `*in`; false if short.
inline bool GetFixed64(std::string_view* in, std::uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64(in->data());
  in->remove_prefix(8);
  return true;
}

/// A length-prefixed byte string: varint length, then the bytes.
/// @{
inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s.data(), s.size());
}
inline bool GetLengthPrefixed(std::string_view* in, std::string_view* out) {
  std::uint64_t len = 0;
  if (!GetVarint64(in, &len) || len > in->size()) return false;
  *out = in->substr(0, static_cast<std::size_t>(len));
  in->remove_prefix(static_cast<std::size_t>(len));
  return true;
}
/// @}

}  // namespace kv
