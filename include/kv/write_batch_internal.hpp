/// @file
/// Internal operations on a WriteBatch's encoding: sequence numbers, merging
/// batches for group commit, TTL resolution and decoding (WAL replay).
/// See write_batch.hpp for the byte layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kv/coding.hpp"
#include "kv/internal_key.hpp"
#include "kv/status_macros.hpp"
#include "kv/write_batch.hpp"

namespace kv::detail {

// What decoding a batch calls for each entry, in order.
class BatchHandler {
 public:
  virtual ~BatchHandler() = default;
  // expiry_micros is 0 for a value that never expires.
  virtual void Put(std::string_view key, std::string_view value, std::uint64_t expiry_micros) = 0;
  virtual void Delete(std::string_view key) = 0;
};

class WriteBatchInternal {
 public:
  static SequenceNumber Sequence(const WriteBatch& b) { return DecodeFixed64(b.rep_.data()); }
  static void SetSequence(WriteBatch* b, SequenceNumber seq) { EncodeFixed64(b->rep_.data(), seq); }
  static std::uint32_t Count(const WriteBatch& b) { return DecodeFixed32(b.rep_.data() + 8); }
  static void SetCount(WriteBatch* b, std::uint32_t n) { EncodeFixed32(b->rep_.data() + 8, n); }
  static std::string_view Contents(const WriteBatch& b) { return b.rep_; }
  static const absl::Status& InvalidReason(const WriteBatch& b) { return b.invalid_; }
  static bool HasTtl(const WriteBatch& b) { return b.has_ttl_; }

  // Replaces the batch's encoding (WAL replay). Fails with kDataLoss-free
  // kInvalidArgument if it is shorter than the header; entries are checked
  // by Iterate.
  static absl::Status SetContents(WriteBatch* b, std::string_view contents) {
    if (contents.size() < kBatchHeaderBytes) {
      return absl::InvalidArgumentError("write batch shorter than its 12-byte header");
    }
    b->rep_.assign(contents.data(), contents.size());
    b->invalid_ = absl::OkStatus();
    b->has_ttl_ = false;
    return absl::OkStatus();
  }

  // Appends src's entries to dst (group commit). dst keeps its sequence.
  static void Append(WriteBatch* dst, const WriteBatch& src) {
    SetCount(dst, Count(*dst) + Count(src));
    dst->rep_.append(src.rep_.data() + kBatchHeaderBytes, src.rep_.size() - kBatchHeaderBytes);
    dst->has_ttl_ = dst->has_ttl_ || src.has_ttl_;
  }

  // True if ResolveTtl would change the batch.
  static bool NeedsTtlResolution(const WriteBatch& b, std::uint64_t default_ttl_seconds) {
    return b.has_ttl_ || (default_ttl_seconds > 0 && Count(b) > 0);
  }

  // Rewrites `in` into `out` with every TTL turned into an absolute expiry:
  // kTagPutWithTtl(t>0) and, when default_ttl_seconds > 0, kTagPut become
  // kTagPutExpiring(now + ttl); kTagPutWithTtl(0) becomes kTagPut.
  static absl::Status ResolveTtl(const WriteBatch& in, std::uint64_t default_ttl_seconds,
                                 std::uint64_t now_micros, WriteBatch* out);

  // Decodes every entry of `contents` into `handler`. Returns kInvalidArgument
  // describing the first malformed entry (the caller adds file and offset),
  // or if the entry count does not match the header.
  static absl::Status Iterate(std::string_view contents, BatchHandler* handler);
};

inline std::uint64_t ExpiryFromTtl(std::uint64_t now_micros, std::uint64_t ttl_seconds) {
  const std::uint64_t room = (~std::uint64_t{0} - now_micros) / 1'000'000;
  return ttl_seconds >= room ? ~std::uint64_t{0} : now_micros + ttl_seconds * 1'000'000;
}

inline absl::Status WriteBatchInternal::Iterate(std::string_view contents, BatchHandler* handler) {
  if (contents.size() < kBatchHeaderBytes) {
    return absl::InvalidArgumentError("write batch shorter than its 12-byte header");
  }
  const std::uint32_t expected = DecodeFixed32(contents.data() + 8);
  std::string_view in = contents.substr(kBatchHeaderBytes);
  std::uint32_t found = 0;
  while (!in.empty()) {
    const std::size_t entry_offset = contents.size() - in.size();
    const auto tag = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    std::string_view key, value;
    auto bad = [&](std::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("malformed write batch entry at batch offset ",
                                                     entry_offset, ": ", kv::Sv(what)));
    };
    if (!GetLengthPrefixed(&in, &key)) return bad("bad key");
    switch (tag) {
      case kTagDelete:
        handler->Delete(key);
        break;
      case kTagPut:
        if (!GetLengthPrefixed(&in, &value)) return bad("bad value");
        handler->Put(key, value, 0);
        break;
      case kTagPutExpiring: {
        std::uint64_t expiry = 0;
        if (!GetLengthPrefixed(&in, &value) || !GetFixed64(&in, &expiry)) {
          return bad("bad expiring value");
        }
        handler->Put(key, value, expiry);
        break;
      }
      case kTagPutWithTtl:
        // Only exists before DB::Write resolves it; never on disk.
        return bad("unresolved TTL entry");
      default:
        return bad(absl::StrCat("unknown tag ", tag));
    }
    ++found;
  }
  if (found != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("write batch holds ", found, " entries but its header says ", expected));
  }
  return absl::OkStatus();
}

inline absl::Status WriteBatchInternal::ResolveTtl(const WriteBatch& in,
                                                   std::uint64_t default_ttl_seconds,
                                                   std::uint64_t now_micros, WriteBatch* out) {
  out->Clear();
  std::string& rep = out->rep_;
  rep.reserve(in.rep_.size() + 8 * Count(in));
  std::string_view src = std::string_view(in.rep_).substr(kBatchHeaderBytes);
  std::uint32_t count = 0;
  auto append_put = [&](std::string_view key, std::string_view value, std::uint64_t ttl) {
    rep.push_back(static_cast<char>(ttl > 0 ? kTagPutExpiring : kTagPut));
    PutLengthPrefixed(&rep, key);
    PutLengthPrefixed(&rep, value);
    if (ttl > 0) PutFixed64(&rep, ExpiryFromTtl(now_micros, ttl));
  };
  while (!src.empty()) {
    const auto tag = static_cast<std::uint8_t>(src.front());
    src.remove_prefix(1);
    std::string_view key, value;
    std::uint64_t extra = 0;
    if (!GetLengthPrefixed(&src, &key)) return absl::InternalError("corrupt write batch");
    switch (tag) {
      case kTagDelete:
        rep.push_back(static_cast<char>(kTagDelete));
        PutLengthPrefixed(&rep, key);
        break;
      case kTagPut:
        if (!GetLengthPrefixed(&src, &value)) return absl::InternalError("corrupt write batch");
        append_put(key, value, default_ttl_seconds);
        break;
      case kTagPutWithTtl:
        if (!GetLengthPrefixed(&src, &value) || !GetVarint64(&src, &extra)) {
          return absl::InternalError("corrupt write batch");
        }
        append_put(key, value, extra);
        break;
      case kTagPutExpiring:
        if (!GetLengthPrefixed(&src, &value) || !GetFixed64(&src, &extra)) {
          return absl::InternalError("corrupt write batch");
        }
        rep.push_back(static_cast<char>(kTagPutExpiring));
        PutLengthPrefixed(&rep, key);
        PutLengthPrefixed(&rep, value);
        PutFixed64(&rep, extra);
        break;
      default:
        return absl::InternalError("corrupt write batch");
    }
    ++count;
  }
  SetCount(out, count);
  out->invalid_ = in.invalid_;
  return absl::OkStatus();
}

}  // namespace kv::detail
