/// @file
/// The SSTable file format's small pieces: block handles, the on-disk block
/// trailer, the fixed-size footer, the properties block, and ReadBlock().
///
/// File layout (byte-exact description in docs/FORMAT.md):
///
/// @code
///   data block 0 .. data block N-1      each: contents, type (1), checksum (4)
///   filter block    (absent if bloom_bits_per_key == 0)
///   index block     one entry per data block: separator key -> BlockHandle
///   properties block
///   footer          kFooterBytes, fixed size, at the very end
/// @endcode
///
/// Every block is followed by a 5-byte trailer: a compression type byte (only
/// kNoCompression = 0 exists) and the masked low 32 bits of XXH3-64 over the
/// contents followed by the type byte (kv/checksum.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/block.hpp"
#include "kv/block_builder.hpp"
#include "kv/checksum.hpp"
#include "kv/coding.hpp"
#include "kv/env.hpp"
#include "kv/internal_key.hpp"
#include "kv/status_macros.hpp"

namespace kv {

/// "kvSSTbl1" read as a little-endian 64-bit integer.
inline constexpr std::uint64_t kSSTableMagic = 0x316c62745353766bull;
/// The format version written in the footer and properties block. Version
/// 2 tables have split data blocks (kv/block_builder.hpp); version 1 tables,
/// whose blocks are all interleaved, are still read.
inline constexpr std::uint32_t kSSTableFormatVersion = 2;
/// The oldest format version this build reads.
inline constexpr std::uint32_t kOldestSSTableFormatVersion = 1;
/// True if this build reads and writes tables of format `version`.
inline constexpr bool IsSupportedSSTableFormatVersion(std::uint32_t version) {
  return version >= kOldestSSTableFormatVersion && version <= kSSTableFormatVersion;
}
/// Type byte + masked checksum after every block.
inline constexpr std::size_t kBlockTrailerBytes = 5;
/// The only block type byte: contents stored as is.
inline constexpr std::uint8_t kNoCompression = 0;

/// Where a block lives: its offset in the file and the size of its contents
/// (excluding the 5-byte trailer).
struct BlockHandle {
  std::uint64_t offset = 0;  ///< file offset of the block's contents
  std::uint64_t size = 0;    ///< bytes of contents, without the trailer

  /// The longest EncodeTo output.
  static constexpr std::size_t kMaxEncodedBytes = 2 * kMaxVarint64Bytes;

  /// Varint offset, varint size (the form used as index block values).
  void EncodeTo(std::string* dst) const {
    PutVarint64(dst, offset);
    PutVarint64(dst, size);
  }
  /// Consumes the EncodeTo form from the front of `*in`; false if malformed.
  [[nodiscard]] bool DecodeFrom(std::string_view* in) {
    return GetVarint64(in, &offset) && GetVarint64(in, &size);
  }
  /// True for {0, 0}, which means "no such block" (e.g. no filter).
  bool empty() const { return offset == 0 && size == 0; }
  /// Memberwise equality.
  friend bool operator==(const BlockHandle&, const BlockHandle&) = default;
};

/// The 5 bytes that follow `contents` on disk.
inline std::string BlockTrailer(std::string_view contents, std::uint8_t type) {
  std::string trailer(1, static_cast<char>(type));
  PutFixed32(&trailer, MaskChecksum(static_cast<std::uint32_t>(Checksum64(contents, trailer))));
  return trailer;
}

/// The footer: the last kFooterBytes of every table.
/// @code
///   0  index.offset      fixed64     8  index.size      fixed64
///   16 filter.offset     fixed64     24 filter.size     fixed64  ({0,0}: no filter)
///   32 properties.offset fixed64     40 properties.size fixed64
///   48 format_version    fixed32
///   52 checksum          fixed32  masked low 32 bits of XXH3-64 of bytes [0, 52)
///   56 magic             fixed64  kSSTableMagic
/// @endcode
struct Footer {
  /// The footer's fixed size.
  static constexpr std::size_t kFooterBytes = 64;

  BlockHandle index;                                     ///< the index block
  BlockHandle filter;                                    ///< the filter block; {0, 0} if none
  BlockHandle properties;                                ///< the properties block
  std::uint32_t format_version = kSSTableFormatVersion;  ///< the table's format version

  /// The kFooterBytes bytes of this footer, checksum and magic included.
  std::string Encode() const {
    std::string out;
    out.reserve(kFooterBytes);
    for (const BlockHandle* h : {&index, &filter, &properties}) {
      PutFixed64(&out, h->offset);
      PutFixed64(&out, h->size);
    }
    PutFixed32(&out, format_version);
    PutFixed32(&out, MaskChecksum(Checksum32(out)));
    PutFixed64(&out, kSSTableMagic);
    return out;
  }

  /// Decodes exactly kFooterBytes. The error message does not name the file;
  /// the caller adds it.
  [[nodiscard]] static absl::StatusOr<Footer> Decode(std::string_view in) {
    if (in.size() != kFooterBytes) return absl::DataLossError("footer has the wrong size");
    if (DecodeFixed64(in.data() + 56) != kSSTableMagic) {
      return absl::DataLossError("bad magic number (not a kv SSTable)");
    }
    const std::uint32_t stored = UnmaskChecksum(DecodeFixed32(in.data() + 52));
    if (stored != Checksum32(in.substr(0, 52))) {
      return absl::DataLossError("footer checksum mismatch");
    }
    Footer f;
    const char* p = in.data();
    for (BlockHandle* h : {&f.index, &f.filter, &f.properties}) {
      h->offset = DecodeFixed64(p);
      h->size = DecodeFixed64(p + 8);
      p += 16;
    }
    f.format_version = DecodeFixed32(in.data() + 48);
    if (!IsSupportedSSTableFormatVersion(f.format_version)) {
      return absl::DataLossError(
          absl::StrCat("unsupported SSTable format version ", f.format_version));
    }
    return f;
  }
};

/// Facts about a table, stored in its properties block.
struct TableProperties {
  std::uint64_t num_entries = 0;           ///< entries (all versions, tombstones included)
  std::uint64_t num_deletions = 0;         ///< entries of type kDeletion (internal keys only)
  std::uint64_t num_data_blocks = 0;       ///< data blocks
  std::uint64_t data_bytes = 0;            ///< data blocks with their trailers
  std::uint64_t index_bytes = 0;           ///< index block contents
  std::uint64_t filter_bytes = 0;          ///< filter block contents (0: no filter)
  std::string smallest_key;                ///< first key of the table (empty if no entries)
  std::string largest_key;                 ///< last key of the table
  SequenceNumber smallest_seq = 0;         ///< internal keys only; 0 if no entries
  SequenceNumber largest_seq = 0;          ///< internal keys only; 0 if no entries
  std::uint64_t raw_key_bytes = 0;         ///< sum of key sizes as added
  std::uint64_t raw_value_bytes = 0;       ///< sum of value sizes as added
  std::uint64_t creation_time_micros = 0;  ///< SSTableOptions::creation_time_micros
  std::uint32_t format_version = kSSTableFormatVersion;  ///< the table's format version
  bool internal_keys = true;  ///< keys are kv internal keys (else plain bytewise)

  /// Encodes as the contents of a block (name -> value, names sorted
  /// bytewise, numbers as varint64, keys as raw bytes).
  std::string EncodeBlock() const {
    std::map<std::string, std::string> m;
    auto num = [&m](const char* name, std::uint64_t v) { PutVarint64(&m[name], v); };
    num("kv.creation-time", creation_time_micros);
    num("kv.data-bytes", data_bytes);
    num("kv.deletions", num_deletions);
    num("kv.entries", num_entries);
    num("kv.filter-bytes", filter_bytes);
    num("kv.format-version", format_version);
    num("kv.index-bytes", index_bytes);
    num("kv.internal-keys", internal_keys ? 1 : 0);
    num("kv.largest-seq", largest_seq);
    num("kv.num-data-blocks", num_data_blocks);
    num("kv.raw-key-bytes", raw_key_bytes);
    num("kv.raw-value-bytes", raw_value_bytes);
    num("kv.smallest-seq", smallest_seq);
    m["kv.largest-key"] = largest_key;
    m["kv.smallest-key"] = smallest_key;
    BlockBuilder b(1);
    for (const auto& [name, value] : m) b.Add(name, value);
    return std::string(b.Finish());
  }

  /// Decodes a properties block. Unknown names are ignored (newer writers
  /// may add some); a missing or malformed known one is kDataLoss.
  [[nodiscard]] static absl::StatusOr<TableProperties> DecodeBlock(
      std::shared_ptr<const Block> block) {
    TableProperties p;
    std::uint64_t internal = 0, version = 0;
    struct Num {
      const char* name;
      std::uint64_t* dst;
      bool seen;
    };
    Num nums[] = {
        {"kv.creation-time", &p.creation_time_micros, false},
        {"kv.data-bytes", &p.data_bytes, false},
        {"kv.deletions", &p.num_deletions, false},
        {"kv.entries", &p.num_entries, false},
        {"kv.filter-bytes", &p.filter_bytes, false},
        {"kv.format-version", &version, false},
        {"kv.index-bytes", &p.index_bytes, false},
        {"kv.internal-keys", &internal, false},
        {"kv.largest-seq", &p.largest_seq, false},
        {"kv.num-data-blocks", &p.num_data_blocks, false},
        {"kv.raw-key-bytes", &p.raw_key_bytes, false},
        {"kv.raw-value-bytes", &p.raw_value_bytes, false},
        {"kv.smallest-seq", &p.smallest_seq, false},
    };
    bool seen_smallest = false, seen_largest = false;
    BlockIter it(std::move(block), CompareUserKeys);
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      const std::string_view name = it.key();
      if (name == "kv.smallest-key") {
        p.smallest_key = std::string(it.value());
        seen_smallest = true;
        continue;
      }
      if (name == "kv.largest-key") {
        p.largest_key = std::string(it.value());
        seen_largest = true;
        continue;
      }
      for (Num& n : nums) {
        if (name != n.name) continue;
        std::string_view v = it.value();
        if (!GetVarint64(&v, n.dst) || !v.empty()) {
          return absl::DataLossError(absl::StrCat("malformed table property ", n.name));
        }
        n.seen = true;
      }
    }
    KV_RETURN_IF_ERROR(it.status());
    for (const Num& n : nums) {
      if (!n.seen) return absl::DataLossError(absl::StrCat("missing table property ", n.name));
    }
    if (!seen_smallest || !seen_largest) {
      return absl::DataLossError("missing table property kv.smallest-key/kv.largest-key");
    }
    if (internal > 1 || version > 0xffffffffu) {
      return absl::DataLossError("malformed table property kv.internal-keys/kv.format-version");
    }
    p.internal_keys = internal == 1;
    p.format_version = static_cast<std::uint32_t>(version);
    return p;
  }
};

namespace detail {
/// kDataLoss for the block at `handle` of `file_name`.
inline absl::Status BlockError(const std::string& file_name, const BlockHandle& handle,
                               absl::string_view what) {
  return absl::DataLossError(absl::StrCat(file_name, ": ", what, " in block at offset ",
                                          handle.offset, " (size ", handle.size, ")"));
}
/// OK if the block at `handle` (plus its trailer) lies inside a file of
/// `file_size` bytes.
inline absl::Status CheckBlockHandle(const std::string& file_name, std::uint64_t file_size,
                                     const BlockHandle& handle) {
  if (handle.offset > file_size || handle.size > file_size - handle.offset ||
      file_size - handle.offset - handle.size < kBlockTrailerBytes) {
    return BlockError(file_name, handle, "block handle outside the file");
  }
  return absl::OkStatus();
}
/// Checks the trailer after the block contents in `with_trailer` (exactly
/// handle.size + kBlockTrailerBytes bytes): the type byte always, the
/// checksum if `verify_checksum`.
inline absl::Status CheckBlockTrailer(const std::string& file_name, const BlockHandle& handle,
                                      std::string_view with_trailer, bool verify_checksum) {
  const auto size = static_cast<std::size_t>(handle.size);
  const auto type = static_cast<std::uint8_t>(with_trailer[size]);
  if (verify_checksum) {
    const std::uint32_t stored = UnmaskChecksum(DecodeFixed32(with_trailer.data() + size + 1));
    // The checksum covers the contents and the type byte, which are
    // adjacent: one call over both (the same value as hashing them in two
    // pieces, and much cheaper than the streaming API).
    const auto actual = static_cast<std::uint32_t>(Checksum64(with_trailer.substr(0, size + 1)));
    if (stored != actual) return BlockError(file_name, handle, "checksum mismatch");
  }
  if (type != kNoCompression) {
    return BlockError(file_name, handle,
                      absl::StrCat("unsupported compression type ", static_cast<int>(type)));
  }
  return absl::OkStatus();
}
}  // namespace detail

/// Reads the block at `handle` from `file` (of `file_size` bytes), checks its
/// trailer (the type byte always, the checksum if `verify_checksum`) and
/// returns its contents in 64-byte aligned memory. Any problem, including a
/// handle outside the file or a short read, is kDataLoss naming `file_name`
/// and the block offset.
[[nodiscard]] inline absl::StatusOr<AlignedBuffer> ReadBlockContents(const RandomAccessFile& file,
                                                                     const std::string& file_name,
                                                                     std::uint64_t file_size,
                                                                     const BlockHandle& handle,
                                                                     bool verify_checksum) {
  KV_RETURN_IF_ERROR(detail::CheckBlockHandle(file_name, file_size, handle));
  const std::size_t n = static_cast<std::size_t>(handle.size) + kBlockTrailerBytes;
  AlignedBuffer buf(n);
  KV_ASSIGN_OR_RETURN(std::string_view got, file.Read(handle.offset, n, buf.data()));
  if (got.size() != n) {
    return detail::BlockError(file_name, handle, "truncated read (file shorter than expected)");
  }
  if (got.data() != buf.data()) std::memcpy(buf.data(), got.data(), n);
  KV_RETURN_IF_ERROR(detail::CheckBlockTrailer(file_name, handle, std::string_view(buf.data(), n),
                                               verify_checksum));
  buf.Shrink(static_cast<std::size_t>(handle.size));
  return buf;
}

/// The error of parsing a block of `file_name`, restated as kDataLoss
/// naming the file and the block offset.
[[nodiscard]] inline absl::Status BlockParseError(const absl::Status& s,
                                                  const std::string& file_name,
                                                  const BlockHandle& handle) {
  return absl::DataLossError(
      absl::StrCat(file_name, ": ", s.message(), " in block at offset ", handle.offset));
}

/// Parses `block` read from `file_name`, naming the file and block on error.
[[nodiscard]] inline absl::StatusOr<std::shared_ptr<const Block>> NameBlockError(
    absl::StatusOr<std::shared_ptr<const Block>> block, const std::string& file_name,
    const BlockHandle& handle) {
  if (!block.ok()) return BlockParseError(block.status(), file_name, handle);
  return block;
}

/// ReadBlockContents + Block parsing, with the same error reporting.
[[nodiscard]] inline absl::StatusOr<std::shared_ptr<const Block>> ReadBlock(
    const RandomAccessFile& file, const std::string& file_name, std::uint64_t file_size,
    const BlockHandle& handle, bool verify_checksum) {
  KV_ASSIGN_OR_RETURN(AlignedBuffer buf,
                      ReadBlockContents(file, file_name, file_size, handle, verify_checksum));
  return NameBlockError(Block::FromBuffer(std::move(buf)), file_name, handle);
}

/// How a mapped block is about to be read; it decides how the block is
/// brought into the CPU cache (detail::WarmBlock).
enum class BlockAccess {
  /// A point lookup or seek: the search touches the trailer, the restart
  /// array, a restart key, a run of entries and a value, scattered over the
  /// block, each load waiting on the one before.
  kSearch,
  /// A forward scan stepping into the block: it reads the lines in order.
  kForwardScan,
  /// A backward scan stepping into the block: restart array first, then
  /// each restart interval from the back.
  kBackwardScan,
};

namespace detail {
/// Blocks larger than this are not warmed at all (see WarmBlock).
inline constexpr std::size_t kMaxWarmedBlockBytes = 16 << 10;

/// Starts loading the lines of a mapped block that the caller reads next,
/// which are usually cold: in no CPU cache, and their pages maybe not in
/// the TLB. Prefetched together, dependent misses overlap. Larger blocks
/// (a huge value) are left alone: a search reads little of them.
///
/// - kSearch: the last line (the search starts at the restart array) and
///   the first kSearchPrefetchBytes (the restart keys and entries it
///   binary-searches and scans; in a split block, all its keys when they
///   are short). Not the rest, and no real loads first: while XXH3's
///   vector code left the reading thread's upper YMM halves in use (see
///   kv/checksum.hpp), loading the block's pages before prefetching it
///   made Gets 30% faster and prefetching the whole block was level with
///   its first KiB; since that fix both cost time, on tables mapped with
///   2 MiB and with 4 KiB pages alike. kv_bench, 3 rounds against the
///   whole block after loads: readrandom +3-10%, seekrandom +14-25%.
/// - kBackwardScan: every line, last first (restart array, then each
///   restart interval from the back). Without it reverse scans lost 9%
///   while the upper YMM halves were dirty; re-measured since, it is
///   level (a fresh process 3% faster without, kv_bench mixed).
/// - kForwardScan: nothing. The hardware's stream prefetcher does it;
///   prefetching each block costs full scans 14% (39M -> 33.5M entries/s,
///   re-measured after the YMM fix).
inline constexpr std::size_t kSearchPrefetchBytes = 1024;

inline void WarmBlock(std::string_view bytes, BlockAccess access) {
  if (access == BlockAccess::kForwardScan) return;
  if (bytes.size() > kMaxWarmedBlockBytes || bytes.empty()) return;
  constexpr std::uintptr_t kLine = 64;  // cache line bytes
  const auto begin = reinterpret_cast<std::uintptr_t>(bytes.data());
  const auto last = (begin + bytes.size() - 1) & ~(kLine - 1);
  // GCC 12 counts __builtin_prefetch as free of side effects and, under
  // C++'s -ffinite-loops, deleted these loops (and the prefetch before
  // them) once nothing else here touched memory. The empty asm statement
  // after each prefetch is a side effect it keeps.
  const auto prefetch = [](std::uintptr_t at) {
    __builtin_prefetch(reinterpret_cast<const void*>(at));  // never faults
    asm volatile("" ::"r"(at));
  };
  prefetch(last);
  auto line = begin & ~(kLine - 1);
  const std::uintptr_t end =
      access == BlockAccess::kSearch ? std::min(last, begin + kSearchPrefetchBytes) : last;
  // Four lines per step: the loop's own instructions were half of its cost.
  for (; line + 3 * kLine < end; line += 4 * kLine) {
    prefetch(line);
    prefetch(line + kLine);
    prefetch(line + 2 * kLine);
    prefetch(line + 3 * kLine);
  }
  for (; line < end; line += kLine) prefetch(line);
}
}  // namespace detail

/// The contents of the block at `handle` in a memory-mapped file (`mapped`:
/// its first `file_size` bytes are the limit), checked as ReadBlockContents
/// checks a block read from the file: handle in range, trailer type byte,
/// and the checksum if `verify_checksum`. `access` says how the caller will
/// read it (see BlockAccess).
[[nodiscard]] inline absl::StatusOr<std::string_view> MappedBlockContents(
    std::string_view mapped, const std::string& file_name, std::uint64_t file_size,
    const BlockHandle& handle, bool verify_checksum, BlockAccess access) {
  KV_RETURN_IF_ERROR(detail::CheckBlockHandle(
      file_name, std::min<std::uint64_t>(file_size, mapped.size()), handle));
  const std::string_view with_trailer =
      mapped.substr(static_cast<std::size_t>(handle.offset),
                    static_cast<std::size_t>(handle.size) + kBlockTrailerBytes);
  detail::WarmBlock(with_trailer, access);
  KV_RETURN_IF_ERROR(detail::CheckBlockTrailer(file_name, handle, with_trailer, verify_checksum));
  return with_trailer.substr(0, static_cast<std::size_t>(handle.size));
}

/// ReadBlock for a memory-mapped file (`mapped`: its first `file_size`
/// bytes are the limit): zero-copy, the block borrows the mapping and keeps
/// `owner` (what keeps the mapping alive) for as long as it lives.
[[nodiscard]] inline absl::StatusOr<std::shared_ptr<const Block>> ReadMappedBlock(
    std::string_view mapped, std::shared_ptr<const void> owner, const std::string& file_name,
    std::uint64_t file_size, const BlockHandle& handle, bool verify_checksum) {
  KV_ASSIGN_OR_RETURN(std::string_view contents,
                      MappedBlockContents(mapped, file_name, file_size, handle, verify_checksum,
                                          BlockAccess::kForwardScan));
  return NameBlockError(Block::FromView(contents, std::move(owner)), file_name, handle);
}

}  // namespace kv
