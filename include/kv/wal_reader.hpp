/// @file
/// kv::wal::Reader reads back the logical records of a log file (WAL or
/// MANIFEST) written by kv::wal::Writer, and classifies how the file ends.
///
/// @code
///   KV_ASSIGN_OR_RETURN(auto file, fs->NewSequentialFile(path));
///   kv::wal::Reader reader(std::move(file), path, /*log_number=*/7);
///   std::string scratch;
///   std::string_view record;
///   kv::wal::ReadOutcome r;
///   while ((r = reader.ReadRecord(&record, &scratch)) == kv::wal::ReadOutcome::kRecord) {
///     Apply(record);
///   }
///   if (r == kv::wal::ReadOutcome::kCorruption) return reader.status();
///   if (r == kv::wal::ReadOutcome::kTornTail && !newest_log) { ...corruption... }
///   // Truncate to reader.valid_prefix_end() before appending to this file.
/// @endcode
///
/// How a file ends (the first non-kRecord outcome is final; later calls
/// repeat it):
/// @code
///   kEndOfFile   the data ended cleanly, possibly followed by zero bytes
///                (preallocated space). An empty file is kEndOfFile.
///   kTornTail    the data ends in something incomplete or unreadable and no
///                valid fragment follows anywhere later in the file: the
///                signature of a crash in the middle of an append. Only
///                acceptable at the end of the newest WAL.
///   kCorruption  damage followed later by at least one valid fragment
///                (media corruption mid-file), a broken FIRST/MIDDLE/LAST
///                chain, a bad file header, or an I/O error. status() says
///                which: kDataLoss naming the file and byte offset for damage
///                and a wrong log number; kInvalidArgument for a file of
///                another kind, magic or format version (do NOT "recover" it
///                by truncating); the file system's code for an I/O error.
/// @endcode
///
/// "Valid fragment" means: at any byte offset, a header of a known type whose
/// payload fits in its block and whose checksum matches. Records returned
/// are always a prefix of the records written (short of a 2^-32 checksum
/// collision): reading stops at the first damage.
///
/// Thread-safety: none; one thread at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kv/coding.hpp"
#include "kv/env.hpp"
#include "kv/status_macros.hpp"
#include "kv/wal_format.hpp"

namespace kv::wal {

/// What Reader::ReadRecord found: a record, or how the file ends (see the
/// file comment).
enum class ReadOutcome { kRecord, kEndOfFile, kTornTail, kCorruption };

/// Reads a log file's records in order; see the file comment.
class Reader {
 public:
  /// `file_name` is only used in messages. REQUIRES: file != nullptr.
  Reader(std::unique_ptr<SequentialFile> file, std::string file_name, std::uint64_t log_number,
         LogKind kind = LogKind::kWal)
      : file_(std::move(file)),
        file_name_(std::move(file_name)),
        log_number_(log_number),
        kind_(kind),
        block_(std::make_unique<char[]>(kBlockSize)) {}
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  /// Reads the next logical record. On kRecord, *record points into *scratch
  /// or an internal buffer and stays valid until the next call.
  ReadOutcome ReadRecord(std::string_view* record, std::string* scratch) {
    if (done_) return outcome_;
    Fragment f;
    if (!header_checked_) {
      switch (NextFragment(&f)) {
        case Next::kEnd:
          return Finish(ReadOutcome::kEndOfFile);
        case Next::kBad:
          return HandleDamage(/*in_record=*/false);
        case Next::kIoError:
          return Finish(ReadOutcome::kCorruption);
        case Next::kFragment:
          break;
      }
      if (f.type != RecordType::kLogHeader) {
        return CorruptAt(f.offset, "the file does not start with a log header");
      }
      absl::Status s = CheckHeader(f.payload);
      if (!s.ok()) {
        status_ = std::move(s);
        return Finish(ReadOutcome::kCorruption);
      }
      header_checked_ = true;
      valid_prefix_end_ = f.end;
    }

    scratch->clear();
    bool in_record = false;  // inside a FIRST..LAST chain
    for (;;) {
      switch (NextFragment(&f)) {
        case Next::kEnd:
          return Finish(in_record ? ReadOutcome::kTornTail : ReadOutcome::kEndOfFile);
        case Next::kBad:
          return HandleDamage(in_record);
        case Next::kIoError:
          return Finish(ReadOutcome::kCorruption);
        case Next::kFragment:
          break;
      }
      switch (f.type) {
        case RecordType::kFull:
          if (in_record) return CorruptAt(f.offset, "FULL fragment inside a fragmented record");
          valid_prefix_end_ = f.end;
          *record = f.payload;
          return ReadOutcome::kRecord;
        case RecordType::kFirst:
          if (in_record) return CorruptAt(f.offset, "FIRST fragment inside a fragmented record");
          in_record = true;
          scratch->assign(f.payload.data(), f.payload.size());
          break;
        case RecordType::kMiddle:
          if (!in_record) return CorruptAt(f.offset, "MIDDLE fragment without a FIRST");
          scratch->append(f.payload.data(), f.payload.size());
          break;
        case RecordType::kLast:
          if (!in_record) return CorruptAt(f.offset, "LAST fragment without a FIRST");
          scratch->append(f.payload.data(), f.payload.size());
          valid_prefix_end_ = f.end;
          *record = *scratch;
          return ReadOutcome::kRecord;
        case RecordType::kLogHeader:
        case RecordType::kZero:
          return CorruptAt(f.offset, "log header fragment after the start of the file");
      }
    }
  }

  /// OK unless ReadRecord returned kCorruption (see the banner for codes).
  absl::Status status() const { return status_; }

  /// File offset just past the last complete, valid logical record returned
  /// (or past the header if none was; 0 if the header is not valid): where
  /// to truncate the file to keep only what was read.
  std::uint64_t valid_prefix_end() const { return valid_prefix_end_; }

  /// Bytes from valid_prefix_end() to the end of the file: what a recovery
  /// that truncates drops. Meaningful once ReadRecord returned something
  /// other than kRecord.
  std::uint64_t bytes_after_valid_prefix() const {
    return file_size_ > valid_prefix_end_ ? file_size_ - valid_prefix_end_ : 0;
  }

  /// The name given to the constructor.
  const std::string& file_name() const { return file_name_; }

 private:
  enum class Next { kFragment, kEnd, kBad, kIoError };
  struct Fragment {
    RecordType type = RecordType::kZero;
    std::string_view payload;
    std::uint64_t offset = 0;  // file offset of the fragment header
    std::uint64_t end = 0;     // file offset just past the payload
  };

  // Returns the next valid fragment, kEnd at a clean end of file, or kBad
  // (damage_offset_/damage_reason_ set) for anything else.
  Next NextFragment(Fragment* f) {
    for (;;) {
      const std::size_t left = block_len_ - block_pos_;
      if (left == 0) {
        if (eof_) return Next::kEnd;
        if (!ReadBlock()) return Next::kIoError;
        continue;
      }
      if (left < kFragmentHeaderSize) {
        if (block_len_ == kBlockSize) {  // block trailer: skip it
          block_pos_ = block_len_;
          continue;
        }
        return Bad("truncated fragment header");
      }
      const char* h = block_.get() + block_pos_;
      const std::uint8_t type = static_cast<std::uint8_t>(h[6]);
      const std::size_t length = DecodeFixed16(h + 4);
      if (type == 0 || type > kMaxRecordType)
        return Bad(absl::StrCat("invalid fragment type ", type));
      if (kFragmentHeaderSize + length > left) {
        return Bad(block_len_ == kBlockSize ? "fragment length crosses the block boundary"
                                            : "fragment runs past the end of the file");
      }
      if (FragmentChecksum(std::string_view(h + 6, 1 + length)) != DecodeFixed32(h)) {
        return Bad("checksum mismatch");
      }
      f->type = static_cast<RecordType>(type);
      f->payload = std::string_view(h + kFragmentHeaderSize, length);
      f->offset = block_start_ + block_pos_;
      block_pos_ += kFragmentHeaderSize + length;
      f->end = block_start_ + block_pos_;
      return Next::kFragment;
    }
  }

  Next Bad(std::string reason) {
    damage_offset_ = block_start_ + block_pos_;
    damage_reason_ = std::move(reason);
    return Next::kBad;
  }

  // Loads the next block (the previous one, if any, was full). False on an
  // I/O error, recorded in status_.
  bool ReadBlock() {
    block_start_ += block_len_;
    block_len_ = 0;
    block_pos_ = 0;
    while (block_len_ < kBlockSize) {
      absl::StatusOr<std::string_view> got =
          file_->Read(kBlockSize - block_len_, block_.get() + block_len_);
      if (!got.ok()) {
        status_ = got.status();
        eof_ = true;
        return false;
      }
      if (got->empty()) break;
      // The result may live outside our buffer; keep our own copy.
      const std::size_t n = std::min(got->size(), kBlockSize - block_len_);
      if (got->data() != block_.get() + block_len_) {
        std::copy_n(got->data(), n, block_.get() + block_len_);
      }
      block_len_ += n;
    }
    if (block_len_ < kBlockSize) eof_ = true;
    return true;
  }

  // True if a valid fragment header starts at `p` in the loaded block.
  bool ValidFragmentAt(std::size_t p) const {
    if (p + kFragmentHeaderSize > block_len_) return false;
    const char* h = block_.get() + p;
    const std::uint8_t type = static_cast<std::uint8_t>(h[6]);
    if (type == 0 || type > kMaxRecordType) return false;
    const std::size_t length = DecodeFixed16(h + 4);
    if (p + kFragmentHeaderSize + length > block_len_) return false;
    return FragmentChecksum(std::string_view(h + 6, 1 + length)) == DecodeFixed32(h);
  }

  // Classifies the damage found at damage_offset_ by scanning everything
  // after it for a valid fragment (kCorruption) or only zeros (a clean end
  // if no record was cut short). Otherwise a torn tail.
  ReadOutcome HandleDamage(bool in_record) {
    bool all_zero = true;
    bool found = false;
    std::uint64_t found_at = 0;
    // Zero check from the damage on; fragment search from the byte after it.
    std::size_t zero_from = static_cast<std::size_t>(damage_offset_ - block_start_);
    std::size_t search_from = zero_from + 1;
    for (;;) {
      for (std::size_t p = zero_from; p < block_len_ && all_zero; ++p) all_zero = block_[p] == 0;
      for (std::size_t p = search_from; p + kFragmentHeaderSize <= block_len_; ++p) {
        if (ValidFragmentAt(p)) {
          found = true;
          found_at = block_start_ + p;
          break;
        }
      }
      if (found || eof_) break;
      if (!ReadBlock()) return Finish(ReadOutcome::kCorruption);
      zero_from = 0;
      search_from = 0;
    }
    if (found) {
      status_ = absl::DataLossError(absl::StrCat(file_name_, ": corrupt log record at offset ",
                                                 damage_offset_, ": ", damage_reason_,
                                                 " (valid data follows at offset ", found_at, ")"));
      return Finish(ReadOutcome::kCorruption);
    }
    if (all_zero && !in_record) return Finish(ReadOutcome::kEndOfFile);
    return Finish(ReadOutcome::kTornTail);
  }

  ReadOutcome CorruptAt(std::uint64_t offset, std::string_view reason) {
    status_ = absl::DataLossError(
        absl::StrCat(file_name_, ": corrupt log record at offset ", offset, ": ", Sv(reason)));
    return Finish(ReadOutcome::kCorruption);
  }

  absl::Status CheckHeader(std::string_view payload) const {
    if (payload.size() < 12 || DecodeFixed64(payload.data()) != kLogMagic) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name_, ": not a kv log file (bad magic number in its header)"));
    }
    const std::uint32_t version = DecodeFixed32(payload.data() + 8);
    if (version != kLogFormatVersion) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name_, ": unsupported log format version ", version,
                       " (this build reads version ", kLogFormatVersion, ")"));
    }
    if (payload.size() != kLogHeaderPayloadSize) {
      return absl::DataLossError(absl::StrCat(file_name_, ": log header at offset 0 has ",
                                              payload.size(), " bytes, expected ",
                                              kLogHeaderPayloadSize));
    }
    const std::uint32_t kind = DecodeFixed32(payload.data() + 12);
    if (kind != static_cast<std::uint32_t>(kind_)) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name_, ": is a ", Sv(LogKindName(kind)), " log, expected a ",
                       Sv(LogKindName(static_cast<std::uint32_t>(kind_)))));
    }
    const std::uint64_t number = DecodeFixed64(payload.data() + 16);
    if (number != log_number_) {
      return absl::DataLossError(absl::StrCat(file_name_, ": header at offset 0 says log number ",
                                              number, " but log ", log_number_,
                                              " was expected (file renamed or misplaced?)"));
    }
    return absl::OkStatus();
  }

  // Records the final outcome and learns the file size (reading to the end).
  ReadOutcome Finish(ReadOutcome outcome) {
    while (!eof_) {
      if (!ReadBlock()) {
        outcome = ReadOutcome::kCorruption;
        break;
      }
    }
    file_size_ = block_start_ + block_len_;
    block_pos_ = block_len_;
    done_ = true;
    outcome_ = outcome;
    return outcome;
  }

  std::unique_ptr<SequentialFile> file_;
  const std::string file_name_;
  const std::uint64_t log_number_;
  const LogKind kind_;

  std::unique_ptr<char[]> block_;  // the current block, kBlockSize bytes
  std::size_t block_len_ = 0;      // bytes loaded (< kBlockSize only at EOF)
  std::size_t block_pos_ = 0;      // next unread byte in block_
  std::uint64_t block_start_ = 0;  // file offset of block_[0]
  bool eof_ = false;               // no bytes exist past the loaded block

  bool header_checked_ = false;
  bool done_ = false;
  ReadOutcome outcome_ = ReadOutcome::kEndOfFile;
  absl::Status status_;
  std::uint64_t damage_offset_ = 0;
  std::string damage_reason_;
  std::uint64_t valid_prefix_end_ = 0;
  std::uint64_t file_size_ = 0;
};

}  // namespace kv::wal
