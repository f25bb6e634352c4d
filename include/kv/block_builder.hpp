/// @file
/// kv::BlockBuilder: builds the bytes of one SSTable block (data, index or
/// properties block) from keys added in strictly increasing order.
///
/// @code
///   kv::BlockBuilder b(/*restart_interval=*/16);
///   b.Add("apple", "1");
///   b.Add("apricot", "2");
///   std::string_view contents = b.Finish();   // valid until Reset()/destruction
/// @endcode
///
/// Block layout (all integers little endian; see docs/FORMAT.md):
///
/// @code
///   entry*        shared: varint32   bytes shared with the previous key
///                 unshared: varint32 bytes of key that follow
///                 value_len: varint32
///                 key_delta[unshared] value[value_len]
///   restart[n]    fixed32 offset of every restart entry, ascending
///   n             fixed32 number of restarts (>= 1)
/// @endcode
///
/// Every `restart_interval`-th entry is a restart point: it stores its whole
/// key (shared == 0), so a reader binary-searches the restart array reading
/// one key per probe without decoding the entries in between.
///
/// The builder does not know the key order; the caller (SSTableWriter)
/// checks it with its comparator.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kv/coding.hpp"
#include "kv/page_allocator.hpp"

namespace kv {

/// Builds one block's bytes; see the file comment.
class BlockBuilder {
 public:
  /// REQUIRES: restart_interval >= 1
  explicit BlockBuilder(int restart_interval = 16) : restart_interval_(restart_interval) {
    assert(restart_interval >= 1);
    restarts_.push_back(0);
  }

  BlockBuilder(const BlockBuilder&) = delete;
  BlockBuilder& operator=(const BlockBuilder&) = delete;

  /// Forgets everything added; the builder can build another block.
  void Reset() {
    buffer_.clear();
    restarts_.clear();
    restarts_.push_back(0);
    counter_ = 0;
    num_entries_ = 0;
    finished_ = false;
    last_key_.clear();
  }

  /// REQUIRES: !finished(); key greater than every key added since Reset()
  /// in the table's key order.
  void Add(std::string_view key, std::string_view value) {
    assert(!finished_);
    std::size_t shared = 0;
    if (counter_ < restart_interval_) {
      shared =
          FirstMismatch(last_key_.data(), key.data(), 0, std::min(last_key_.size(), key.size()));
    } else {
      restarts_.push_back(static_cast<std::uint32_t>(buffer_.size()));
      counter_ = 0;
    }
    const std::size_t unshared = key.size() - shared;
    PutVarint32(&buffer_, static_cast<std::uint32_t>(shared));
    PutVarint32(&buffer_, static_cast<std::uint32_t>(unshared));
    PutVarint32(&buffer_, static_cast<std::uint32_t>(value.size()));
    buffer_.append(key.data() + shared, unshared);
    buffer_.append(value.data(), value.size());
    last_key_.resize(shared);
    last_key_.append(key.data() + shared, unshared);
    ++counter_;
    ++num_entries_;
  }

  /// Appends the restart array and returns the finished block contents,
  /// valid until Reset() or destruction.
  std::string_view Finish() {
    if (!finished_) {
      for (std::uint32_t r : restarts_) PutFixed32(&buffer_, r);
      PutFixed32(&buffer_, static_cast<std::uint32_t>(restarts_.size()));
      finished_ = true;
    }
    return buffer_;
  }

  /// The size Finish() would return now.
  std::size_t CurrentSizeEstimate() const {
    return buffer_.size() + (finished_ ? 0 : (restarts_.size() + 1) * sizeof(std::uint32_t));
  }

  /// True if nothing was added since Reset().
  bool empty() const { return num_entries_ == 0; }
  /// True once Finish() was called (until Reset()).
  bool finished() const { return finished_; }
  /// Entries added since Reset().
  std::size_t num_entries() const { return num_entries_; }
  /// The last key added (empty if none).
  std::string_view last_key() const { return last_key_; }

 private:
  const int restart_interval_;
  // Page-allocated: an index block (restart interval 1) of a flushed
  // memtable's table reaches hundreds of KiB (see page_allocator.hpp).
  PageString buffer_;
  PageVector<std::uint32_t> restarts_;
  int counter_ = 0;  // entries since the last restart point
  std::size_t num_entries_ = 0;
  bool finished_ = false;
  std::string last_key_;
};

}  // namespace kv
