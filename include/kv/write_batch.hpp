/// @file
/// kv::WriteBatch: a group of updates applied atomically by DB::Write.
///
/// @code
///   kv::WriteBatch batch;
///   batch.Put("user:1", "alice");
///   batch.Put("session:9", token, std::chrono::hours{1});   // expires
///   batch.Delete("user:0");
///   KV_RETURN_IF_ERROR(db->Write({.sync = true}, batch));
/// @endcode
///
/// Encoding (the "rep", also the payload of a WAL record; docs/FORMAT.md):
/// @code
///   fixed64 first sequence number | fixed32 entry count | entries...
/// @endcode
/// Each entry starts with a tag byte:
/// @code
///   kTagDelete       0  varstring key
///   kTagPut          1  varstring key, varstring value
///   kTagPutExpiring  2  varstring key, varstring value, fixed64 absolute expiry (µs)
///   kTagPutWithTtl   3  varstring key, varstring value, varint64 ttl seconds
/// @endcode
/// kTagPutWithTtl only exists in a batch the user built; DB::Write turns it
/// (and kTagPut under WriteOptions::ttl) into kTagPutExpiring, or kTagPut for
/// a TTL of zero, before it reaches the WAL, so replay never extends a TTL.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kv/coding.hpp"

namespace kv {

/// Limits, enforced by DB::Write with kInvalidArgument.
inline constexpr std::size_t kMaxKeyBytes = std::size_t{1} << 20;    ///< 1 MiB
inline constexpr std::size_t kMaxValueBytes = std::size_t{1} << 30;  ///< 1 GiB

namespace detail {
class WriteBatchInternal;
}

/// Updates to apply atomically with DB::Write; see the file comment.
class WriteBatch {
 public:
  WriteBatch();
  /// Copyable.
  /// @{
  WriteBatch(const WriteBatch&) = default;
  WriteBatch& operator=(const WriteBatch&) = default;
  /// @}
  /// A moved-from batch is empty and reusable.
  /// @{
  WriteBatch(WriteBatch&& other) noexcept;
  WriteBatch& operator=(WriteBatch&& other) noexcept;
  /// @}

  /// Sets key to value (no expiry unless WriteOptions::ttl is set).
  void Put(std::string_view key, std::string_view value);
  /// Sets key to value, expiring `ttl` after the write. A TTL of zero means
  /// no expiry, and wins over WriteOptions::ttl. Negative: Write fails with
  /// kInvalidArgument.
  void Put(std::string_view key, std::string_view value, std::chrono::seconds ttl);
  /// Deletes key (a no-op for readers if absent).
  void Delete(std::string_view key);
  /// Empties the batch for reuse.
  void Clear();
  /// Number of entries.
  std::size_t Count() const;
  /// Encoded size in bytes.
  std::size_t ApproximateSize() const;

 private:
  friend class detail::WriteBatchInternal;
  std::string rep_;
  // Why Write must refuse this batch (oversized key/value, negative TTL),
  // detected cheaply at Put time.
  absl::Status invalid_;
  bool has_ttl_ = false;  // any kTagPutWithTtl entry
};

namespace detail {
inline constexpr std::size_t kBatchHeaderBytes = 12;  // fixed64 sequence + fixed32 count
enum BatchTag : std::uint8_t {
  kTagDelete = 0,
  kTagPut = 1,
  kTagPutExpiring = 2,
  kTagPutWithTtl = 3,
};
}  // namespace detail

inline WriteBatch::WriteBatch() { Clear(); }

inline WriteBatch::WriteBatch(WriteBatch&& other) noexcept
    : rep_(std::move(other.rep_)), invalid_(std::move(other.invalid_)), has_ttl_(other.has_ttl_) {
  other.Clear();
}

inline WriteBatch& WriteBatch::operator=(WriteBatch&& other) noexcept {
  if (this != &other) {
    rep_ = std::move(other.rep_);
    invalid_ = std::move(other.invalid_);
    has_ttl_ = other.has_ttl_;
    other.Clear();
  }
  return *this;
}

inline void WriteBatch::Clear() {
  rep_.assign(detail::kBatchHeaderBytes, '\0');
  invalid_ = absl::OkStatus();
  has_ttl_ = false;
}

inline std::size_t WriteBatch::Count() const { return DecodeFixed32(rep_.data() + 8); }

inline std::size_t WriteBatch::ApproximateSize() const { return rep_.size(); }

namespace detail {
// Appends one entry's tag and key, bumps the count, and records why the
// batch is invalid if the key is too large.
inline void AppendBatchKey(std::string* rep, absl::Status* invalid, BatchTag tag,
                           std::string_view key) {
  EncodeFixed32(rep->data() + 8, DecodeFixed32(rep->data() + 8) + 1);
  rep->push_back(static_cast<char>(tag));
  PutLengthPrefixed(rep, key);
  if (key.size() > kMaxKeyBytes && invalid->ok()) {
    *invalid = absl::InvalidArgumentError(
        absl::StrCat("key of ", key.size(), " bytes exceeds the limit of ", kMaxKeyBytes));
  }
}
inline void CheckValueSize(absl::Status* invalid, std::string_view value) {
  if (value.size() > kMaxValueBytes && invalid->ok()) {
    *invalid = absl::InvalidArgumentError(
        absl::StrCat("value of ", value.size(), " bytes exceeds the limit of ", kMaxValueBytes));
  }
}
}  // namespace detail

inline void WriteBatch::Put(std::string_view key, std::string_view value) {
  detail::AppendBatchKey(&rep_, &invalid_, detail::kTagPut, key);
  PutLengthPrefixed(&rep_, value);
  detail::CheckValueSize(&invalid_, value);
}

inline void WriteBatch::Put(std::string_view key, std::string_view value,
                            std::chrono::seconds ttl) {
  detail::AppendBatchKey(&rep_, &invalid_, detail::kTagPutWithTtl, key);
  PutLengthPrefixed(&rep_, value);
  detail::CheckValueSize(&invalid_, value);
  if (ttl.count() < 0) {
    if (invalid_.ok()) invalid_ = absl::InvalidArgumentError("negative TTL in WriteBatch::Put");
    PutVarint64(&rep_, 0);
  } else {
    PutVarint64(&rep_, static_cast<std::uint64_t>(ttl.count()));
  }
  has_ttl_ = true;
}

inline void WriteBatch::Delete(std::string_view key) {
  detail::AppendBatchKey(&rep_, &invalid_, detail::kTagDelete, key);
}

}  // namespace kv
