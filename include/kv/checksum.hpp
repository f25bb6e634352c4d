/// @file
/// Checksums for every on-disk record and block: XXH3 (xxHash), 64-bit.
///
/// Formats that store 32 bits keep the low half of the 64-bit hash. Stored
/// checksums are "masked" so that a checksum of data that itself embeds
/// checksums does not degenerate (the same trick as in many log formats).
#pragma once

#include <cstdint>
#include <string_view>

// XXH_STATIC_LINKING_ONLY exposes XXH3_state_t so a streaming state can live
// on the stack.
#ifndef XXH_STATIC_LINKING_ONLY
#define XXH_STATIC_LINKING_ONLY
#endif
#include <xxhash.h>
// KV_XXH3_X86_DISPATCH (set by cmake/Findxxhash.cmake when libxxhash exports
// it): XXH3's run-time dispatcher, which picks AVX2 or AVX-512 code. The
// plain entry points are built for the baseline CPU (SSE2 on x86-64), which
// is 2-7x slower on a 4 KiB block. Both compute the same values.
#if defined(KV_XXH3_X86_DISPATCH)
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#endif

namespace kv {

#if defined(KV_XXH3_X86_DISPATCH)
namespace detail {

/// True where the CPU has AVX and the OS saves its registers: only there
/// does XXH3's dispatcher pick AVX2/AVX-512 code, and only there may
/// VZEROUPPER run (elsewhere it is an invalid instruction).
inline bool OsEnablesAvx() {
  static const bool avx = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") != 0;
  }();
  return avx;
}

/// Clears the upper halves of the YMM registers. XXH3's AVX2 and AVX-512
/// code returns with them still "in use" (no VZEROUPPER), and until
/// something clears them every legacy-SSE instruction in that thread runs
/// with a false dependency on them. kv, like most host code, is built for
/// baseline x86-64, so it is all legacy SSE: a thread that had verified
/// one block checksum served Gets 20-30% slower for as long as it lived.
/// The clobbers keep the compiler from holding a value in a vector
/// register across this, in code built with AVX.
inline void ClearUpperVectorHalves() {
  if (OsEnablesAvx()) {
    asm volatile("vzeroupper" ::
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  }
}

}  // namespace detail
#endif

/// XXH3-64 of `data`, with an optional seed.
inline std::uint64_t Checksum64(std::string_view data, std::uint64_t seed = 0) {
#if defined(KV_XXH3_X86_DISPATCH)
  // Short inputs never reach XXH3's vector loop; skip the indirect call.
  if (data.size() >= 1024) {
    const std::uint64_t h = XXH3_64bits_withSeed_dispatch(data.data(), data.size(), seed);
    detail::ClearUpperVectorHalves();
    return h;
  }
#endif
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

/// Checksum over two adjacent pieces without concatenating them (e.g. a
/// record type byte followed by its payload).
inline std::uint64_t Checksum64(std::string_view a, std::string_view b) {
  // XXH3 gives the same value streamed or in one call; one call is cheaper.
  if (a.data() + a.size() == b.data())
    return Checksum64(std::string_view(a.data(), a.size() + b.size()));
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  return XXH3_64bits_digest(&state);
}

/// The low 32 bits of Checksum64(data).
inline std::uint32_t Checksum32(std::string_view data) {
  return static_cast<std::uint32_t>(Checksum64(data));
}

/// Rotate and add a constant so a stored checksum never equals the checksum
/// of the bytes that contain it.
inline std::uint32_t MaskChecksum(std::uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }
/// The inverse of MaskChecksum.
inline std::uint32_t UnmaskChecksum(std::uint32_t m) {
  const std::uint32_t rot = m - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace kv
