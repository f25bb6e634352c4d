/// @file
/// kv::Iterator: an ordered cursor. The DB hands out iterators over user keys
/// (unsigned bytewise order); kv's internal building blocks (memtable,
/// SSTable blocks, merging) implement the same interface over internal keys.
#pragma once

#include <memory>
#include <string_view>

#include "absl/status/status.h"

namespace kv {

/// One Iterator object is used by one thread at a time. key() and value()
/// stay valid until the iterator moves or is destroyed.
class Iterator {
 public:
  virtual ~Iterator();
  Iterator() = default;
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;

  /// True if positioned at an entry. False at either end, or after an error
  /// (then status() says which).
  virtual bool Valid() const = 0;
  /// Positions at the first entry (invalid if there is none).
  virtual void SeekToFirst() = 0;
  /// Positions at the last entry (invalid if there is none).
  virtual void SeekToLast() = 0;
  /// Positions at the first key >= target.
  virtual void Seek(std::string_view target) = 0;
  /// REQUIRES: Valid()
  virtual void Next() = 0;
  /// REQUIRES: Valid()
  virtual void Prev() = 0;
  /// REQUIRES: Valid()
  virtual std::string_view key() const = 0;
  /// REQUIRES: Valid()
  virtual std::string_view value() const = 0;
  /// OK unless the iterator met an error (e.g. kDataLoss with file and offset).
  virtual absl::Status status() const = 0;
};

/// An iterator with no entries that reports `status` (OK by default).
std::unique_ptr<Iterator> NewEmptyIterator(absl::Status status = absl::OkStatus());

}  // namespace kv
