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
/// A block has one of two layouts (all integers little endian; see
/// docs/FORMAT.md). Interleaved, for index and properties blocks:
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
/// Split, for data blocks: the entries without their values, then the
/// values, so a lookup's scan over keys touches a few cache lines instead
/// of striding over every value:
///
/// @code
///   key_entry*    shared, unshared, value_len: varint32; key_delta[unshared]
///   value*        the values, in entry order, back to back
///   restart[n]    (key entry offset, value offset) pairs, ascending:
///                 fixed16 each, or fixed32 each if the block is "wide";
///                 restart 0's value offset is where the values start
///   n | flags     fixed32: n in the low 30 bits, bit 31 = split,
///                 bit 30 = wide (entries and values end past 0xffff)
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

/// Where a block keeps its values; see the file comment.
enum class BlockLayout {
  kInterleaved,  ///< each value right after its key (index, properties blocks)
  kSplit,        ///< the keys first, then the values (data blocks)
};

/// Bits of a block's last fixed32 above its restart count.
inline constexpr std::uint32_t kBlockSplitFlag = 1u << 31;
/// Split blocks whose restart pairs are fixed32 (see the file comment).
inline constexpr std::uint32_t kBlockWideFlag = 1u << 30;
/// The restart count's bits in a block's last fixed32.
inline constexpr std::uint32_t kBlockRestartCountMask = kBlockWideFlag - 1;
/// The largest offset a narrow split block's fixed16 restart pairs can hold.
inline constexpr std::size_t kMaxNarrowBlockOffset = 0xffff;

/// Builds one block's bytes; see the file comment.
class BlockBuilder {
 public:
  /// REQUIRES: restart_interval >= 1
  explicit BlockBuilder(int restart_interval = 16, BlockLayout layout = BlockLayout::kInterleaved)
      : restart_interval_(restart_interval), split_(layout == BlockLayout::kSplit) {
    assert(restart_interval >= 1);
    restarts_.push_back({0, 0});
  }

  BlockBuilder(const BlockBuilder&) = delete;
  BlockBuilder& operator=(const BlockBuilder&) = delete;

  /// Forgets everything added; the builder can build another block.
  void Reset() {
    buffer_.clear();
    values_.clear();
    restarts_.clear();
    restarts_.push_back({0, 0});
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
      // A split block's value offsets are made absolute in Finish(), once
      // the entries' total size is known.
      restarts_.push_back(
          {static_cast<std::uint32_t>(buffer_.size()), static_cast<std::uint32_t>(values_.size())});
      counter_ = 0;
    }
    const std::size_t unshared = key.size() - shared;
    PutVarint32(&buffer_, static_cast<std::uint32_t>(shared));
    PutVarint32(&buffer_, static_cast<std::uint32_t>(unshared));
    PutVarint32(&buffer_, static_cast<std::uint32_t>(value.size()));
    buffer_.append(key.data() + shared, unshared);
    (split_ ? values_ : buffer_).append(value.data(), value.size());
    last_key_.resize(shared);
    last_key_.append(key.data() + shared, unshared);
    ++counter_;
    ++num_entries_;
  }

  /// Appends the restart array and returns the finished block contents,
  /// valid until Reset() or destruction.
  std::string_view Finish() {
    if (finished_) return buffer_;
    finished_ = true;
    if (!split_) {
      for (const Restart& r : restarts_) PutFixed32(&buffer_, r.entry);
      PutFixed32(&buffer_, static_cast<std::uint32_t>(restarts_.size()));
      return buffer_;
    }
    // The entries, the values, then the restart pairs with their value
    // offsets moved past the entries.
    const auto values_start = static_cast<std::uint32_t>(buffer_.size());
    const bool wide = Wide();
    buffer_.append(values_.data(), values_.size());
    for (const Restart& r : restarts_) {
      if (wide) {
        PutFixed32(&buffer_, r.entry);
        PutFixed32(&buffer_, values_start + r.value);
      } else {
        char pair[4];
        EncodeFixed16(pair, static_cast<std::uint16_t>(r.entry));
        EncodeFixed16(pair + 2, static_cast<std::uint16_t>(values_start + r.value));
        buffer_.append(pair, sizeof(pair));
      }
    }
    PutFixed32(&buffer_, static_cast<std::uint32_t>(restarts_.size()) | kBlockSplitFlag |
                             (wide ? kBlockWideFlag : 0));
    values_.clear();
    return buffer_;
  }

  /// The size Finish() would return now.
  std::size_t CurrentSizeEstimate() const {
    if (finished_) return buffer_.size();
    const std::size_t entries = buffer_.size() + values_.size();
    const std::size_t pair_bytes = split_ && Wide() ? 8 : 4;
    return entries + restarts_.size() * pair_bytes + sizeof(std::uint32_t);
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
  struct Restart {
    std::uint32_t entry;  // offset of the restart entry in buffer_
    std::uint32_t value;  // split blocks: offset of its value in values_
  };

  // A split block whose offsets do not all fit in fixed16 (before Finish).
  bool Wide() const { return buffer_.size() + values_.size() > kMaxNarrowBlockOffset; }

  const int restart_interval_;
  const bool split_;
  // Page-allocated: an index block (restart interval 1) of a flushed
  // memtable's table reaches hundreds of KiB (see page_allocator.hpp).
  PageString buffer_;  // entries (split: without values), then (Finish) the whole block
  PageString values_;  // split blocks: the values, until Finish
  PageVector<Restart> restarts_;
  int counter_ = 0;  // entries since the last restart point
  std::size_t num_entries_ = 0;
  bool finished_ = false;
  std::string last_key_;
};

}  // namespace kv
