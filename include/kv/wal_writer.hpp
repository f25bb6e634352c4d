/// @file
/// kv::wal::Writer appends logical records to a log file (WAL or MANIFEST)
/// in the format of kv/wal_format.hpp.
///
/// @code
///   KV_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(path));
///   kv::wal::Writer log(std::move(file), /*log_number=*/7);
///   KV_RETURN_IF_ERROR(log.AddRecord(batch_bytes));   // one Append call
///   KV_RETURN_IF_ERROR(log.Sync());                   // only if durability is needed
/// @endcode
///
/// The header fragment is written lazily, in the same Append as the first
/// record, so a log that never received a record is an empty file, which a
/// Reader reads as "no records". If `file` already holds data when the
/// Writer is built (re-opening a log to append to it), the header is assumed
/// to be there and new fragments continue the block layout at file->Size().
///
/// Errors are sticky: after a failed Append or Sync the file may end in a
/// partial record, and appending after it would turn a torn tail into
/// mid-file corruption, so every later call returns the first error. Start a
/// new log instead.
///
/// Thread-safety: none; one thread (the group-commit leader) at a time.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "kv/env.hpp"
#include "kv/wal_format.hpp"

namespace kv::wal {

/// Appends records to one log file; see the file comment.
class Writer {
 public:
  /// REQUIRES: file != nullptr.
  Writer(std::unique_ptr<WritableFile> file, std::uint64_t log_number, LogKind kind = LogKind::kWal)
      : file_(std::move(file)), log_number_(log_number), kind_(kind) {
    assert(file_ != nullptr);
    const std::uint64_t existing = file_->Size();
    header_written_ = existing > 0;
    block_offset_ = static_cast<std::size_t>(existing % kBlockSize);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// Appends one logical record (any size, empty allowed) with a single
  /// WritableFile::Append call. Does not sync.
  [[nodiscard]] absl::Status AddRecord(std::string_view payload) {
    if (!error_.ok()) return error_;
    if (closed_) return absl::FailedPreconditionError("wal::Writer::AddRecord after Close");
    buf_.clear();
    std::size_t block_offset = block_offset_;
    if (!header_written_) {
      EmitFragment(&block_offset, RecordType::kLogHeader, EncodeLogHeader(kind_, log_number_));
    }
    bool first = true;
    do {
      std::size_t room = kBlockSize - block_offset;
      if (room < kFragmentHeaderSize) {
        buf_.append(room, '\0');  // block trailer
        block_offset = 0;
        room = kBlockSize;
      }
      const std::size_t n = std::min(payload.size(), room - kFragmentHeaderSize);
      const bool last = n == payload.size();
      const RecordType type = first ? (last ? RecordType::kFull : RecordType::kFirst)
                                    : (last ? RecordType::kLast : RecordType::kMiddle);
      EmitFragment(&block_offset, type, payload.substr(0, n));
      payload.remove_prefix(n);
      first = false;
    } while (!payload.empty());

    absl::Status s = file_->Append(buf_);
    if (buf_.capacity() > kMaxRetainedBuffer) std::string().swap(buf_);
    if (!s.ok()) {
      error_ = s;
      return s;
    }
    header_written_ = true;
    block_offset_ = block_offset;
    return absl::OkStatus();
  }

  /// Makes every record added so far durable.
  [[nodiscard]] absl::Status Sync() {
    if (!error_.ok()) return error_;
    if (closed_) return absl::FailedPreconditionError("wal::Writer::Sync after Close");
    absl::Status s = file_->Sync();
    if (!s.ok()) error_ = s;
    return s;
  }

  /// Closes the file (without syncing). Later calls fail.
  [[nodiscard]] absl::Status Close() {
    if (closed_) return absl::OkStatus();
    closed_ = true;
    absl::Status s = file_->Close();
    if (!s.ok() && error_.ok()) error_ = s;
    return s;
  }

  /// Bytes in the file so far.
  std::uint64_t Size() const { return file_->Size(); }
  /// The log number written in the header.
  std::uint64_t log_number() const { return log_number_; }

 private:
  // Keep at most this much buffer capacity between records (a 64 MiB record
  // must not pin 64 MiB for the life of the log).
  static constexpr std::size_t kMaxRetainedBuffer = std::size_t{1} << 20;

  void EmitFragment(std::size_t* block_offset, RecordType type, std::string_view payload) {
    assert(*block_offset + kFragmentHeaderSize + payload.size() <= kBlockSize);
    AppendFragment(&buf_, type, payload);
    *block_offset += kFragmentHeaderSize + payload.size();
  }

  std::unique_ptr<WritableFile> file_;
  const std::uint64_t log_number_;
  const LogKind kind_;
  bool header_written_ = false;
  bool closed_ = false;
  std::size_t block_offset_ = 0;  // write position inside the current block
  std::string buf_;               // all fragments of one record, reused
  absl::Status error_;            // first Append/Sync failure, sticky
};

}  // namespace kv::wal
