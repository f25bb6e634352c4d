// Encoding of a VersionEdit. Layout (all integers little-endian varints,
// strings length-prefixed with a varint; docs/FORMAT_MANIFEST.md):
//
//   edit   := field*
//   field  := varint32 tag, payload
//   tag 1  format version   varint32 (kManifestFormatVersion)
//   tag 2  log number       varint64
//   tag 3  next file number varint64
//   tag 4  last sequence    varint64 (<= kMaxSequenceNumber)
//   tag 5  compact pointer  varint32 level, string internal_key
//   tag 6  removed file     varint32 level, varint64 number
//   tag 7  new file         varint32 level, varint64 number, varint64 size,
//                           string smallest, string largest,
//                           varint64 smallest_seq, varint64 largest_seq,
//                           varint64 num_entries, varint64 num_deletions
//
// Scalar fields appear at most once; unknown tags are malformed.
#include "db/version_edit.hpp"

#include <cassert>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kv/coding.hpp"
#include "kv/status_macros.hpp"

namespace kv::detail {

namespace {

enum Tag : std::uint32_t {
  kTagFormatVersion = 1,
  kTagLogNumber = 2,
  kTagNextFileNumber = 3,
  kTagLastSequence = 4,
  kTagCompactPointer = 5,
  kTagRemovedFile = 6,
  kTagNewFile = 7,
};

bool IsWellFormedInternalKey(std::string_view k) {
  ParsedInternalKey parsed;
  return ParseInternalKey(k, &parsed);
}

// Decoding cursor that remembers where the input started, for messages.
class Decoder {
 public:
  explicit Decoder(std::string_view src) : src_(src), in_(src) {}

  bool done() const { return in_.empty(); }
  std::size_t offset() const { return src_.size() - in_.size(); }

  absl::Status Error(std::string_view what, std::size_t at) const {
    return absl::DataLossError(
        absl::StrCat("malformed version edit: ", Sv(what), " at byte ", at, " of ", src_.size()));
  }

  bool U64(std::uint64_t* v) { return GetVarint64(&in_, v); }
  bool U32(std::uint32_t* v) { return GetVarint32(&in_, v); }
  bool Level(int* level) {
    std::uint32_t v = 0;
    if (!GetVarint32(&in_, &v) || v >= static_cast<std::uint32_t>(kMaxNumLevels)) return false;
    *level = static_cast<int>(v);
    return true;
  }
  bool Bytes(std::string* out) {
    std::string_view v;
    if (!GetLengthPrefixed(&in_, &v)) return false;
    out->assign(v.data(), v.size());
    return true;
  }

 private:
  std::string_view src_;
  std::string_view in_;
};

}  // namespace

void VersionEdit::SetCompactPointer(int level, std::string internal_key) {
  assert(level >= 0 && level < kMaxNumLevels);
  compact_pointers_.emplace_back(level, std::move(internal_key));
}

void VersionEdit::AddFile(int level, const FileMetaData& f) {
  assert(level >= 0 && level < kMaxNumLevels);
  assert(f.smallest.size() >= kTrailerBytes && f.largest.size() >= kTrailerBytes);
  new_files_.emplace_back(level, f);
}

void VersionEdit::RemoveFile(int level, std::uint64_t number) {
  assert(level >= 0 && level < kMaxNumLevels);
  removed_files_.emplace_back(level, number);
}

void VersionEdit::EncodeTo(std::string* dst) const {
  if (format_version_) {
    PutVarint32(dst, kTagFormatVersion);
    PutVarint32(dst, *format_version_);
  }
  if (log_number_) {
    PutVarint32(dst, kTagLogNumber);
    PutVarint64(dst, *log_number_);
  }
  if (next_file_number_) {
    PutVarint32(dst, kTagNextFileNumber);
    PutVarint64(dst, *next_file_number_);
  }
  if (last_sequence_) {
    PutVarint32(dst, kTagLastSequence);
    PutVarint64(dst, *last_sequence_);
  }
  for (const auto& [level, key] : compact_pointers_) {
    PutVarint32(dst, kTagCompactPointer);
    PutVarint32(dst, static_cast<std::uint32_t>(level));
    PutLengthPrefixed(dst, key);
  }
  for (const auto& [level, number] : removed_files_) {
    PutVarint32(dst, kTagRemovedFile);
    PutVarint32(dst, static_cast<std::uint32_t>(level));
    PutVarint64(dst, number);
  }
  for (const auto& [level, f] : new_files_) {
    PutVarint32(dst, kTagNewFile);
    PutVarint32(dst, static_cast<std::uint32_t>(level));
    PutVarint64(dst, f.number);
    PutVarint64(dst, f.file_size);
    PutLengthPrefixed(dst, f.smallest);
    PutLengthPrefixed(dst, f.largest);
    PutVarint64(dst, f.smallest_seq);
    PutVarint64(dst, f.largest_seq);
    PutVarint64(dst, f.num_entries);
    PutVarint64(dst, f.num_deletions);
  }
}

absl::Status VersionEdit::DecodeFrom(std::string_view src) {
  Clear();
  Decoder d(src);
  absl::Status status;
  while (status.ok() && !d.done()) {
    const std::size_t field_start = d.offset();
    std::uint32_t tag = 0;
    if (!d.U32(&tag)) {
      status = d.Error("bad field tag", field_start);
      break;
    }
    switch (tag) {
      case kTagFormatVersion: {
        std::uint32_t v = 0;
        if (format_version_ || !d.U32(&v)) {
          status = d.Error("bad or repeated format version", field_start);
        } else {
          format_version_ = v;
        }
        break;
      }
      case kTagLogNumber:
      case kTagNextFileNumber: {
        std::optional<std::uint64_t>& slot = tag == kTagLogNumber ? log_number_ : next_file_number_;
        std::uint64_t v = 0;
        if (slot || !d.U64(&v)) {
          status = d.Error(tag == kTagLogNumber ? "bad or repeated log number"
                                                : "bad or repeated next file number",
                           field_start);
        } else {
          slot = v;
        }
        break;
      }
      case kTagLastSequence: {
        std::uint64_t v = 0;
        if (last_sequence_ || !d.U64(&v) || v > kMaxSequenceNumber) {
          status = d.Error("bad or repeated last sequence", field_start);
        } else {
          last_sequence_ = v;
        }
        break;
      }
      case kTagCompactPointer: {
        int level = 0;
        std::string key;
        if (!d.Level(&level) || !d.Bytes(&key) || !IsWellFormedInternalKey(key)) {
          status = d.Error("bad compact pointer", field_start);
        } else {
          compact_pointers_.emplace_back(level, std::move(key));
        }
        break;
      }
      case kTagRemovedFile: {
        int level = 0;
        std::uint64_t number = 0;
        if (!d.Level(&level) || !d.U64(&number)) {
          status = d.Error("bad removed file", field_start);
        } else {
          removed_files_.emplace_back(level, number);
        }
        break;
      }
      case kTagNewFile: {
        int level = 0;
        FileMetaData f;
        if (!d.Level(&level) || !d.U64(&f.number) || !d.U64(&f.file_size) ||
            !d.Bytes(&f.smallest) || !d.Bytes(&f.largest) || !d.U64(&f.smallest_seq) ||
            !d.U64(&f.largest_seq) || !d.U64(&f.num_entries) || !d.U64(&f.num_deletions)) {
          status = d.Error("truncated new file", field_start);
        } else if (!IsWellFormedInternalKey(f.smallest) || !IsWellFormedInternalKey(f.largest) ||
                   CompareInternalKeys(f.smallest, f.largest) > 0) {
          status = d.Error("bad key range of new file", field_start);
        } else if (f.smallest_seq > f.largest_seq || f.largest_seq > kMaxSequenceNumber) {
          status = d.Error("bad sequence range of new file", field_start);
        } else {
          new_files_.emplace_back(level, std::move(f));
        }
        break;
      }
      default:
        status = d.Error(absl::StrCat("unknown tag ", tag), field_start);
        break;
    }
  }
  if (!status.ok()) Clear();
  return status;
}

std::string InternalKeyDebugString(std::string_view internal_key) {
  ParsedInternalKey parsed;
  std::string out;
  std::string_view user = internal_key;
  const bool ok = ParseInternalKey(internal_key, &parsed);
  if (ok) user = parsed.user_key;
  out.push_back('\'');
  for (unsigned char c : user) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  out.push_back('\'');
  if (ok) {
    absl::StrAppend(&out, "@", parsed.sequence, ":", static_cast<int>(parsed.type));
  } else {
    absl::StrAppend(&out, "(bad internal key)");
  }
  return out;
}

std::string VersionEdit::DebugString() const {
  std::string out = "VersionEdit {\n";
  if (format_version_) absl::StrAppend(&out, "  format_version: ", *format_version_, "\n");
  if (log_number_) absl::StrAppend(&out, "  log_number: ", *log_number_, "\n");
  if (next_file_number_) {
    absl::StrAppend(&out, "  next_file_number: ", *next_file_number_, "\n");
  }
  if (last_sequence_) absl::StrAppend(&out, "  last_sequence: ", *last_sequence_, "\n");
  for (const auto& [level, key] : compact_pointers_) {
    absl::StrAppend(&out, "  compact_pointer: L", level, " ", InternalKeyDebugString(key), "\n");
  }
  for (const auto& [level, number] : removed_files_) {
    absl::StrAppend(&out, "  remove_file: L", level, " #", number, "\n");
  }
  for (const auto& [level, f] : new_files_) {
    absl::StrAppend(&out, "  add_file: L", level, " #", f.number, " ", f.file_size, " bytes [",
                    InternalKeyDebugString(f.smallest), " .. ", InternalKeyDebugString(f.largest),
                    "] seq ", f.smallest_seq, "..", f.largest_seq, " entries ", f.num_entries,
                    " deletions ", f.num_deletions, "\n");
  }
  out.append("}\n");
  return out;
}

}  // namespace kv::detail
