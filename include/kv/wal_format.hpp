/// @file
/// The on-disk record format shared by the write-ahead log and the MANIFEST
/// (a "log file"): named constants, fragment encoding and the file header.
/// kv::wal::Writer and kv::wal::Reader are the users; docs/FORMAT.md has the
/// same layout in prose.
///
/// A log file is a sequence of 32 KiB blocks. A logical record is cut into
/// fragments that never cross a block boundary:
///
/// @code
///   fragment := checksum: fixed32 | length: fixed16 | type: uint8 | payload[length]
/// @endcode
///
/// `checksum` is MaskChecksum(low 32 bits of XXH3-64(type byte + payload)).
/// The type byte and the payload are contiguous, so one XXH3 call covers both.
/// When fewer than kFragmentHeaderSize bytes remain in a block, the writer
/// fills them with zeros and starts the next fragment in the next block.
///
/// The first fragment of a non-empty file is a kLogHeader fragment whose
/// payload is
///
/// @code
///   magic: fixed64 (kLogMagic) | version: fixed32 | kind: fixed32 | log_number: fixed64
/// @endcode
///
/// so a reader rejects a file of another kind or version and notices a log
/// file renamed to the wrong number.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kv/checksum.hpp"
#include "kv/coding.hpp"

/// The log file format (WAL and MANIFEST), its writer and its reader.
namespace kv::wal {

/// Log files are cut into blocks of this size; no fragment crosses one.
inline constexpr std::size_t kBlockSize = 32 * 1024;
/// checksum (4) + length (2) + type (1).
inline constexpr std::size_t kFragmentHeaderSize = 7;
/// The largest payload one fragment can carry (an empty block minus a header).
inline constexpr std::size_t kMaxFragmentPayload = kBlockSize - kFragmentHeaderSize;

/// Fragment types. Zero is never written, so zero-filled regions (block
/// trailers, preallocated space) never parse as a fragment.
enum class RecordType : std::uint8_t {
  kZero = 0,       // reserved / invalid
  kFull = 1,       // a whole logical record
  kFirst = 2,      // first fragment of a record spanning several blocks
  kMiddle = 3,     // an inner fragment
  kLast = 4,       // the final fragment
  kLogHeader = 5,  // the file header (always the first fragment at offset 0)
};
/// The largest valid fragment type byte.
inline constexpr std::uint8_t kMaxRecordType = static_cast<std::uint8_t>(RecordType::kLogHeader);

/// What a log file holds. Stored in the header so a MANIFEST is never
/// replayed as a WAL or the other way round.
enum class LogKind : std::uint32_t {
  kWal = 1,       ///< a write-ahead log: one WriteBatch per record
  kManifest = 2,  ///< a MANIFEST: one version edit per record
};

/// Bytes 89 6b 76 4c 4f 47 0a 1a = `"\x89kvLOG\n\x1a"` on disk: the high-bit
/// byte and the newline / ^Z catch text-mode and 7-bit transfer damage.
inline constexpr std::uint64_t kLogMagic = 0x1a0a474f4c766b89ull;
/// The version in the header of every log file this build writes and reads.
inline constexpr std::uint32_t kLogFormatVersion = 1;
/// magic (8) + version (4) + kind (4) + log number (8).
inline constexpr std::size_t kLogHeaderPayloadSize = 24;
/// Bytes the header occupies at the start of the file.
inline constexpr std::size_t kLogHeaderFragmentSize = kFragmentHeaderSize + kLogHeaderPayloadSize;

/// The masked checksum stored for a fragment. `type_and_payload` is the type
/// byte immediately followed by the payload.
inline std::uint32_t FragmentChecksum(std::string_view type_and_payload) {
  return MaskChecksum(static_cast<std::uint32_t>(Checksum64(type_and_payload)));
}

/// Appends one encoded fragment to `dst`.
/// REQUIRES: payload.size() <= kMaxFragmentPayload.
inline void AppendFragment(std::string* dst, RecordType type, std::string_view payload) {
  assert(payload.size() <= kMaxFragmentPayload);
  const std::size_t start = dst->size();
  dst->resize(start + kFragmentHeaderSize);
  char* h = dst->data() + start;
  EncodeFixed16(h + 4, static_cast<std::uint16_t>(payload.size()));
  h[6] = static_cast<char>(type);
  dst->append(payload.data(), payload.size());
  const std::string_view covered(dst->data() + start + 6, 1 + payload.size());
  EncodeFixed32(dst->data() + start, FragmentChecksum(covered));
}

/// The payload of the kLogHeader fragment.
inline std::string EncodeLogHeader(LogKind kind, std::uint64_t log_number) {
  std::string out;
  out.reserve(kLogHeaderPayloadSize);
  PutFixed64(&out, kLogMagic);
  PutFixed32(&out, kLogFormatVersion);
  PutFixed32(&out, static_cast<std::uint32_t>(kind));
  PutFixed64(&out, log_number);
  return out;
}

/// "WAL", "MANIFEST" or "unknown", for messages.
inline std::string_view LogKindName(std::uint32_t kind) {
  switch (kind) {
    case static_cast<std::uint32_t>(LogKind::kWal):
      return "WAL";
    case static_cast<std::uint32_t>(LogKind::kManifest):
      return "MANIFEST";
    default:
      return "unknown";
  }
}

}  // namespace kv::wal
