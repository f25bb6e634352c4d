// Shared helpers for kv's fuzz targets (tests/fuzz/fuzz_*.cpp).
//
//   KV_FUZZ_ENTRY(wal_reader) {            // the target's entry point
//     kv::fuzz::Input in(data, size);
//     const std::uint8_t mode = in.Byte();
//     ...
//     KV_FUZZ_CHECK(records == expected, "reader returned a wrong record");
//     return 0;
//   }
//
// KV_FUZZ_ENTRY(name) defines `extern "C" int LLVMFuzzerTestOneInput(data,
// size)` when KV_LIBFUZZER is defined (one libFuzzer binary per target), and
// `int kv_fuzz_<name>(data, size)` otherwise, so every target can be linked
// into the one corpus-replay test (fuzz_corpus_replay.cpp).
//
// KV_FUZZ_CHECK(cond, msg) prints the message and abort()s: a real invariant
// violation (a crash for libFuzzer, a failed test for the replay).
//
// kv::fuzz::Input hands out the fuzzer's bytes front to back; once they run
// out every read returns zeros/empty, so a target never reads out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#if defined(KV_LIBFUZZER)
#define KV_FUZZ_ENTRY(name) \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
#else
#define KV_FUZZ_ENTRY(name) int kv_fuzz_##name(const std::uint8_t* data, std::size_t size)
#endif

#define KV_FUZZ_CHECK(cond, msg)                                                             \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n  %s\n", __FILE__, __LINE__, \
                   #cond, std::string(msg).c_str());                                         \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace kv::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : p_(reinterpret_cast<const char*>(data)), left_(size) {}

  bool empty() const { return left_ == 0; }
  std::size_t remaining() const { return left_; }

  std::uint8_t Byte() {
    if (left_ == 0) return 0;
    --left_;
    return static_cast<std::uint8_t>(*p_++);
  }
  std::uint16_t U16() { return static_cast<std::uint16_t>(Byte() | (Byte() << 8)); }
  std::uint32_t U32() { return U16() | (std::uint32_t{U16()} << 16); }
  bool Bool() { return (Byte() & 1) != 0; }

  // Up to n bytes (fewer if the input runs out).
  std::string_view Bytes(std::size_t n) {
    if (n > left_) n = left_;
    std::string_view out(p_, n);
    p_ += n;
    left_ -= n;
    return out;
  }
  // A string of Byte() % (max_len + 1) bytes.
  std::string_view ShortString(std::size_t max_len) { return Bytes(Byte() % (max_len + 1)); }
  // Everything left.
  std::string_view Rest() { return Bytes(left_); }

 private:
  const char* p_;
  std::size_t left_;
};

// `n` deterministic filler bytes derived from `seed` (lets a few input bytes
// describe large records/values).
inline std::string Filler(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

}  // namespace kv::fuzz
