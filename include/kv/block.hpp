/// @file
/// kv::Block: an immutable, parsed SSTable block (in 64-byte aligned memory,
/// kv/aligned_buffer.hpp, or borrowed),
/// and kv::BlockIter, a kv::Iterator over its entries.
///
/// @code
///   KV_ASSIGN_OR_RETURN(std::shared_ptr<const kv::Block> block,
///                       kv::Block::FromContents(bytes));
///   kv::BlockIter it(block, kv::CompareUserKeys);
///   for (it.Seek("m"); it.Valid(); it.Next()) use(it.key(), it.value());
///   KV_RETURN_IF_ERROR(it.status());
/// @endcode
///
/// The layout is described in kv/block_builder.hpp and docs/FORMAT.md.
/// A Block is shared through std::shared_ptr<const Block> (the block cache
/// hands out the same object to many readers); a BlockIter holds a reference,
/// so a block evicted from the cache stays alive while an iterator uses it.
///
/// Corrupt bytes never cause an out-of-bounds read: every decode is bounds
/// checked, and an iterator that meets a malformed entry becomes invalid with
/// status() kDataLoss naming the file (if given) and the entry's file offset.
/// Without a checksum a corrupt block may of course yield garbage keys.
///
/// Thread-safety: a Block is immutable and may be shared by any threads; one
/// BlockIter is used by one thread at a time.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/aligned_buffer.hpp"
#include "kv/block_builder.hpp"
#include "kv/coding.hpp"
#include "kv/internal_key.hpp"
#include "kv/iterator.hpp"
#include "kv/key_scratch.hpp"
#include "kv/status_macros.hpp"

namespace kv {

/// A three-way key comparison: <0, 0, >0. kv::CompareInternalKeys for tables
/// of internal keys, kv::CompareUserKeys for plain bytewise keys.
using KeyComparator = int (*)(std::string_view a, std::string_view b);

/// An immutable, parsed block: its entries (and, split, its values)
/// followed by the restart array.
class Block {
 public:
  /// Parses `contents` (block bytes without the on-disk trailer). kDataLoss if
  /// the restart array does not fit.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const Block>> FromBuffer(
      AlignedBuffer contents) {
    auto block = std::make_shared<Block>(PrivateTag{});
    block->data_ = contents.data();
    block->size_ = contents.size();
    block->buf_ = std::move(contents);
    KV_RETURN_IF_ERROR(block->ParseRestarts());
    return std::shared_ptr<const Block>(std::move(block));
  }
  /// Parses `contents` in place, without copying: the block borrows the
  /// memory, and `owner` (e.g. the memory-mapped file holding it) is kept
  /// alive for as long as the block lives.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const Block>> FromView(
      std::string_view contents, std::shared_ptr<const void> owner) {
    auto block = std::make_shared<Block>(PrivateTag{});
    block->data_ = contents.data();
    block->size_ = contents.size();
    block->owner_ = std::move(owner);
    KV_RETURN_IF_ERROR(block->ParseRestarts());
    return std::shared_ptr<const Block>(std::move(block));
  }
  /// Parses `contents` in place, without copying or owning it: the caller
  /// keeps the memory alive for as long as the block (and any BlockIter
  /// over it) lives. For short-lived blocks on a hot path (no allocation).
  [[nodiscard]] static absl::StatusOr<Block> Borrow(std::string_view contents) {
    Block block{PrivateTag{}};
    block.data_ = contents.data();
    block.size_ = contents.size();
    KV_RETURN_IF_ERROR(block.ParseRestarts());
    return block;
  }
  /// Copies `contents` into aligned storage and parses it.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const Block>> FromContents(
      std::string_view contents) {
    AlignedBuffer buf(contents.size());
    if (!contents.empty()) std::memcpy(buf.data(), contents.data(), contents.size());
    return FromBuffer(std::move(buf));
  }

  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  /// Moves a block (data() stays valid: it points into heap storage that
  /// moves along, or into memory the block does not own).
  Block(Block&&) = default;
  /// Move assignment; as the move constructor.
  Block& operator=(Block&&) = default;

  /// The block bytes (entries and restart array, without the trailer).
  const char* data() const { return data_; }
  /// Size of the block in bytes.
  std::size_t size() const { return size_; }
  /// The block bytes as a view.
  std::string_view contents() const { return {data_, size_}; }
  /// Memory held: what a cache should charge for this block (a borrowed
  /// block holds only itself).
  std::size_t charge() const { return buf_.capacity() + sizeof(Block); }
  /// Number of restart points (at least 1).
  std::uint32_t num_restarts() const { return num_restarts_; }
  /// Offset of the restart array: the end of the entries, or of a split
  /// block's values.
  std::uint32_t restarts_offset() const { return restarts_offset_; }
  /// True if the values are stored apart from the keys (BlockLayout::kSplit).
  bool split() const { return split_; }
  /// Bytes per restart array element: 4, or 8 in a wide split block.
  std::uint32_t restart_bytes() const { return restart_bytes_; }

 private:
  struct PrivateTag {};

 public:
  /// Use FromBuffer or FromView (public only for std::make_shared).
  explicit Block(PrivateTag) {}

 private:
  // Reads the restart count from the end of the block. kDataLoss if the
  // restart array does not fit.
  absl::Status ParseRestarts() {
    if (size_ < sizeof(std::uint32_t)) {
      return absl::DataLossError(absl::StrCat("block too short (", size_, " bytes)"));
    }
    const std::uint32_t word = DecodeFixed32(data_ + size_ - sizeof(std::uint32_t));
    split_ = (word & kBlockSplitFlag) != 0;
    const bool wide = (word & kBlockWideFlag) != 0;
    if (wide && !split_) {
      return absl::DataLossError(absl::StrCat("bad block restart word ", word));
    }
    const std::uint32_t n = word & kBlockRestartCountMask;
    restart_bytes_ = wide ? 8 : 4;
    const std::size_t max_restarts = (size_ - sizeof(std::uint32_t)) / restart_bytes_;
    if (n == 0 || n > max_restarts) {
      return absl::DataLossError(
          absl::StrCat("bad block restart count ", n, " for a block of ", size_, " bytes"));
    }
    num_restarts_ = n;
    restarts_offset_ =
        static_cast<std::uint32_t>(size_ - sizeof(std::uint32_t) - std::size_t{n} * restart_bytes_);
    return absl::OkStatus();
  }

  AlignedBuffer buf_;                  // owned storage (FromBuffer), else empty
  std::shared_ptr<const void> owner_;  // keeps borrowed storage alive (FromView)
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint32_t restarts_offset_ = 0;
  std::uint32_t num_restarts_ = 0;
  std::uint32_t restart_bytes_ = 4;
  bool split_ = false;
};

/// Iterates one block in the order of `cmp` (which must be the order the
/// block was built in).
class BlockIter final : public Iterator {
 public:
  /// `file_name` (may be null; must outlive the iterator) and `block_offset`
  /// (the block's offset in its file) only serve error messages. A stored key
  /// shorter than `min_key_bytes` is corruption (kTrailerBytes for internal
  /// keys: `cmp` then never sees a key it cannot handle).
  BlockIter(std::shared_ptr<const Block> block, KeyComparator cmp,
            const std::string* file_name = nullptr, std::uint64_t block_offset = 0,
            std::size_t min_key_bytes = 0)
      : BlockIter(block.get(), cmp, file_name, block_offset, min_key_bytes) {
    block_ = std::move(block);
  }
  /// Iterates a block it does not own: `block` must outlive the iterator
  /// (no reference count is taken). Same parameters otherwise.
  BlockIter(const Block* block, KeyComparator cmp, const std::string* file_name = nullptr,
            std::uint64_t block_offset = 0, std::size_t min_key_bytes = 0)
      : cmp_(cmp),
        file_name_(file_name),
        block_offset_(block_offset),
        min_key_bytes_(min_key_bytes),
        data_(block->data()),
        restarts_(block->restarts_offset()),
        num_restarts_(block->num_restarts()),
        entries_end_(restarts_),
        current_(restarts_),
        restart_index_(num_restarts_),
        next_restart_(restarts_),
        next_entry_(restarts_),
        split_(block->split()),
        wide_(block->restart_bytes() == 8) {
    // A split block's entries end where its values start, at the value
    // offset of restart point 0.
    if (split_) {
      entries_end_ = RestartValue(0);
      if (entries_end_ > restarts_) {
        entries_end_ = 0;  // nothing is ever valid
        Corrupt(RestartPosition(0), "restart point");
      }
      MarkInvalid();
    }
  }

  bool Valid() const override { return current_ < entries_end_; }
  absl::Status status() const override { return status_; }
  std::string_view key() const override {
    assert(Valid());
    return key_;
  }
  std::string_view value() const override {
    assert(Valid());
    return value_;
  }

  void SeekToFirst() override {
    if (!status_.ok()) return;
    if (SeekToRestartPoint(0)) ParseNextKey();
  }

  void SeekToLast() override {
    if (!status_.ok()) return;
    if (!SeekToRestartPoint(num_restarts_ - 1)) return;
    ScanIntervalUpTo(entries_end_);
  }

  void Seek(std::string_view target) override {
    if (!status_.ok()) return;
    // Tables of internal keys (nearly every lookup) compare through a direct
    // call the compiler can inline, not through the function pointer, and
    // scan their restart interval without a full comparison per entry.
    if (cmp_ == &CompareInternalKeys) {
      const auto cmp = [](std::string_view a, std::string_view b) {
        return CompareInternalKeys(a, b);
      };
      if (!SeekToRestartBefore(target, cmp)) return;
      if (target.size() >= kTrailerBytes && min_key_bytes_ >= kTrailerBytes) {
        ScanToInternalKey(target);
      } else {
        ScanTo(target, cmp);
      }
    } else {
      if (!SeekToRestartBefore(target, cmp_)) return;
      ScanTo(target, cmp_);
    }
  }

 private:
  // Binary search for the last restart point whose key is < target (the
  // answer is at or after it, or at restart 0) and positions just before it.
  template <typename Compare>
  bool SeekToRestartBefore(std::string_view target, Compare cmp) {
    std::uint32_t left = 0;
    std::uint32_t right = num_restarts_ - 1;
    while (left < right) {
      const std::uint32_t mid = left + (right - left + 1) / 2;
      std::string_view mid_key;
      if (!RestartKey(mid, &mid_key)) return false;
      if (cmp(mid_key, target) < 0) {
        left = mid;
      } else {
        right = mid - 1;
      }
    }
    return SeekToRestartPoint(left);
  }

  // Parses forward to the first entry >= target.
  template <typename Compare>
  void ScanTo(std::string_view target, Compare cmp) {
    while (ParseNextKey()) {
      if (cmp(key_, target) >= 0) return;
    }
  }

  // ScanTo for internal keys (CompareInternalKeys), mostly without comparing
  // keys. While the current key K is known to sort before the target T, it
  // remembers m, how many leading user-key bytes K shares with T. The next
  // key K' shares `shared` bytes with K. If shared > m, and m is short of
  // both K's and K''s user-key length, then K' agrees with T up to m and
  // has K's byte at m, which is below T's: K' < T, decided without reading
  // K''s bytes. Otherwise K' and T are compared from min(shared, m), the
  // bytes before that being known equal. Nothing here assumes the block is
  // sorted or that `shared` is the longest common prefix: each step follows
  // from the bytes alone, so the result is the one ScanTo would give.
  // REQUIRES: target.size() >= kTrailerBytes, min_key_bytes_ >= kTrailerBytes.
  void ScanToInternalKey(std::string_view target) {
    const std::size_t target_user_size = target.size() - kTrailerBytes;
    const std::uint64_t target_trailer = ExtractTrailer(target);
    bool before = false;             // the current key is < target
    std::size_t matched = 0;         // if before: its user-key bytes equal to target's
    std::size_t prev_user_size = 0;  // if before: its user-key length
    std::uint32_t shared = 0;
    while (ParseNextKey(&shared)) {
      const std::size_t user_size = key_.size() - kTrailerBytes;
      if (before && shared > matched && matched < prev_user_size && matched < user_size) {
        prev_user_size = user_size;  // still before target; `matched` is unchanged
        continue;
      }
      const std::size_t common = std::min(user_size, target_user_size);
      const std::size_t known = before ? std::min<std::size_t>(shared, matched) : 0;
      const std::size_t i =
          FirstMismatch(key_.data(), target.data(), std::min(known, common), common);
      if (i < common) {
        if (static_cast<unsigned char>(key_[i]) > static_cast<unsigned char>(target[i])) return;
      } else if (user_size > target_user_size) {
        return;  // target's user key is a proper prefix of this one
      } else if (user_size == target_user_size && ExtractTrailer(key_) <= target_trailer) {
        return;  // same user key, not newer than target (newer versions sort first)
      }
      before = true;
      matched = i;
      prev_user_size = user_size;
    }
  }

 public:
  void Next() override {
    assert(Valid());
    ParseNextKey();
  }

  /// Positions at the entry of restart point `i` (invalid, without error,
  /// if `i` >= num_restarts()). With restart interval 1 that is entry i.
  void SeekToRestart(std::uint32_t i) {
    if (!status_.ok()) return;
    if (i >= num_restarts_) {
      MarkInvalid();
      return;
    }
    if (SeekToRestartPoint(i)) ParseNextKey();
  }

  /// The restart point at or before the current entry. In a block built
  /// with restart interval 1 (index blocks) this is the entry's ordinal.
  /// REQUIRES: Valid()
  std::uint32_t restart_index() const {
    assert(Valid());
    return restart_index_;
  }

  /// Entries have no back links, so the first Prev into a restart interval
  /// decodes it from its restart point and remembers its entries; further
  /// Prevs within it are then a step back in that list, not a new scan.
  void Prev() override {
    assert(Valid());
    if (StepBackInInterval()) return;
    const std::uint32_t original = current_;
    // Back up to the restart point before the current entry.
    while (RestartPoint(restart_index_) >= original) {
      if (restart_index_ == 0) {  // current is the first entry
        MarkInvalid();
        return;
      }
      --restart_index_;
    }
    if (!SeekToRestartPoint(restart_index_)) return;
    ScanIntervalUpTo(original);
  }

 private:
  // Offset of restart point `i`'s entry (its key entry, in a split block).
  std::uint32_t RestartPoint(std::uint32_t i) const {
    assert(i < num_restarts_);
    const char* at = data_ + RestartPosition(i);
    if (!split_ || wide_) return DecodeFixed32(at);
    return DecodeFixed16(at);
  }
  // A split block's offset of restart point `i`'s value.
  std::uint32_t RestartValue(std::uint32_t i) const {
    assert(split_ && i < num_restarts_);
    const char* at = data_ + RestartPosition(i);
    return wide_ ? DecodeFixed32(at + 4) : DecodeFixed16(at + 2);
  }
  // Offset of restart point `i`'s element of the restart array.
  std::size_t RestartPosition(std::uint32_t i) const {
    return restarts_ + std::size_t{i} * (wide_ ? 8 : 4);
  }

  // From just before a restart point, parses forward to the last entry that
  // starts before `limit`, remembering every entry on the way (for Prev).
  void ScanIntervalUpTo(std::uint32_t limit) {
    interval_.clear();
    interval_keys_.clear();
    while (ParseNextKey()) {
      interval_.push_back({current_, static_cast<std::uint32_t>(interval_keys_.size()),
                           static_cast<std::uint32_t>(key_.size()),
                           static_cast<std::uint32_t>(value_.data() - data_),
                           static_cast<std::uint32_t>(value_.size())});
      interval_keys_.append(key_);
      if (NextEntryOffset() >= limit) return;
    }
  }

  // Prev within the entries ScanIntervalUpTo remembered, if the current
  // entry is the last of them (any other move since leaves it elsewhere;
  // an entry's remembered key and value depend only on the block, so a
  // list found this way is never stale). False if Prev must scan.
  bool StepBackInInterval() {
    if (interval_.size() < 2 || interval_.back().offset != current_) return false;
    interval_.pop_back();
    const IntervalEntry& e = interval_.back();
    // The entry just left is the one after the new current entry.
    next_entry_ = current_;
    next_value_ = static_cast<std::uint32_t>(value_.data() - data_);
    value_ = std::string_view(data_ + e.value_offset, e.value_size);
    current_ = e.offset;
    key_ = std::string_view(interval_keys_.data() + e.key_start, e.key_size);
    return true;
  }

  std::uint32_t NextEntryOffset() const { return next_entry_; }

  void MarkInvalid() {
    current_ = entries_end_;
    restart_index_ = num_restarts_;
    next_restart_ = entries_end_;
    next_entry_ = entries_end_;
    key_ = {};
    value_ = {};
  }

  bool Corrupt(std::uint64_t offset_in_block, std::string_view what) {
    const std::uint64_t off = block_offset_ + offset_in_block;
    status_ =
        file_name_ != nullptr
            ? absl::DataLossError(
                  absl::StrCat(*file_name_, ": corrupt block ", Sv(what), " at offset ", off))
            : absl::DataLossError(absl::StrCat("corrupt block ", Sv(what), " at offset ", off));
    MarkInvalid();
    return false;
  }

  // Positions just before the entry at restart point `i`.
  bool SeekToRestartPoint(std::uint32_t i) {
    key_ = {};
    restart_index_ = i;
    const std::uint32_t offset = RestartPoint(i);
    if (offset > entries_end_) return Corrupt(RestartPosition(i), "restart point");
    if (split_) {
      next_value_ = RestartValue(i);
      if (next_value_ < entries_end_ || next_value_ > restarts_) {
        return Corrupt(RestartPosition(i), "restart point");
      }
    }
    next_restart_ = i + 1 < num_restarts_ ? RestartPoint(i + 1) : entries_end_;
    next_entry_ = offset;
    current_ = entries_end_;  // invalid until an entry is parsed
    return true;
  }

  // Decodes the entry header at `p`; null if the entry (its key delta, and
  // its value if `value_inline`) does not fit before `limit`.
  ABSL_ATTRIBUTE_ALWAYS_INLINE static const char* DecodeEntry(const char* p, const char* limit,
                                                              bool value_inline,
                                                              std::uint32_t* shared,
                                                              std::uint32_t* unshared,
                                                              std::uint32_t* value_len) {
    // Fast path: all three lengths fit in one byte each (short keys and
    // values, the common case).
    if (limit - p >= 3) {
      const auto a = static_cast<std::uint8_t>(p[0]);
      const auto b = static_cast<std::uint8_t>(p[1]);
      const auto c = static_cast<std::uint8_t>(p[2]);
      if ((a | b | c) < 128) {
        *shared = a;
        *unshared = b;
        *value_len = c;
        p += 3;
        if (static_cast<std::uint64_t>(limit - p) < std::uint64_t{b} + (value_inline ? c : 0)) {
          return nullptr;
        }
        return p;
      }
    }
    p = DecodeVarint32(p, limit, shared);
    if (p == nullptr) return nullptr;
    p = DecodeVarint32(p, limit, unshared);
    if (p == nullptr) return nullptr;
    p = DecodeVarint32(p, limit, value_len);
    if (p == nullptr) return nullptr;
    if (static_cast<std::uint64_t>(limit - p) <
        std::uint64_t{*unshared} + (value_inline ? *value_len : 0)) {
      return nullptr;
    }
    return p;
  }

  // The full key stored at restart point `i` (decoded in place).
  bool RestartKey(std::uint32_t i, std::string_view* key) {
    const std::uint32_t offset = RestartPoint(i);
    if (offset >= entries_end_) return Corrupt(RestartPosition(i), "restart point");
    std::uint32_t shared = 0, unshared = 0, value_len = 0;
    const char* p =
        DecodeEntry(data_ + offset, data_ + entries_end_, !split_, &shared, &unshared, &value_len);
    if (p == nullptr || shared != 0 || unshared < min_key_bytes_) {
      return Corrupt(offset, "restart entry");
    }
    *key = std::string_view(p, unshared);
    return true;
  }

  // Moves to the entry after the current position; false at the end or on
  // corruption.
  bool ParseNextKey() {
    std::uint32_t shared = 0;
    return ParseNextKey(&shared);
  }
  // ParseNextKey, also reporting how many leading bytes the new key shares
  // with the previous one (as the entry stores it). Inlined into the seek
  // scans, where a call per entry cost a fifth of a point lookup's block
  // search.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool ParseNextKey(std::uint32_t* shared_out) {
    const std::uint32_t offset = NextEntryOffset();
    if (offset >= entries_end_) {
      MarkInvalid();
      return false;
    }
    std::uint32_t shared = 0, unshared = 0, value_len = 0;
    const char* p =
        DecodeEntry(data_ + offset, data_ + entries_end_, !split_, &shared, &unshared, &value_len);
    if (p == nullptr || shared > key_.size()) return Corrupt(offset, "entry");
    current_ = offset;
    // A key stored whole (every restart point) is used in place; one that
    // shares a prefix with the previous key is rebuilt in scratch memory.
    key_ = shared == 0 ? std::string_view(p, unshared)
                       : key_scratch_.Rebuild(key_, shared, std::string_view(p, unshared));
    if (key_.size() < min_key_bytes_) return Corrupt(offset, "entry (key too short)");
    if (split_) {
      if (value_len > restarts_ - next_value_) return Corrupt(offset, "entry (value)");
      value_ = std::string_view(data_ + next_value_, value_len);
      next_value_ += value_len;
      // A forward scan reads two streams, keys and values; the values one
      // missed the cache without this (a full scan +26%; a Get's few
      // prefetches inside its block cost nothing measurable).
      __builtin_prefetch(data_ + next_value_ + 256);  // never faults
      next_entry_ = static_cast<std::uint32_t>(p + unshared - data_);
    } else {
      value_ = std::string_view(p + unshared, value_len);
      next_entry_ = static_cast<std::uint32_t>(p + unshared + value_len - data_);
    }
    if (current_ >= next_restart_) AdvanceRestartIndex();
    *shared_out = shared;
    return true;
  }

  // The current entry has reached the next restart point: moves
  // restart_index_ to the last restart point at or before it.
  void AdvanceRestartIndex() {
    while (restart_index_ + 1 < num_restarts_ && RestartPoint(restart_index_ + 1) <= current_) {
      ++restart_index_;
    }
    next_restart_ =
        restart_index_ + 1 < num_restarts_ ? RestartPoint(restart_index_ + 1) : entries_end_;
  }

  std::shared_ptr<const Block> block_;
  KeyComparator cmp_;
  const std::string* file_name_;
  std::uint64_t block_offset_;
  std::size_t min_key_bytes_;
  const char* data_;
  std::uint32_t restarts_;        // offset of the restart array
  std::uint32_t num_restarts_;    // >= 1
  std::uint32_t entries_end_;     // end of the (key) entries: restarts_, or a split block's values
  std::uint32_t current_;         // offset of the current entry; entries_end_ if invalid
  std::uint32_t restart_index_;   // restart block holding current_
  std::uint32_t next_restart_;    // offset of restart point restart_index_ + 1 (else entries_end_)
  std::uint32_t next_entry_;      // offset of the entry after the current position
  std::uint32_t next_value_ = 0;  // split blocks: offset of that entry's value
  bool split_;                    // the block's layout: Block::split()
  bool wide_;                     // restart pairs are fixed32 (Block::restart_bytes() == 8)
  std::string_view key_;          // into the block or into key_scratch_
  std::string_view value_;
  KeyScratch key_scratch_;
  absl::Status status_;
  // The entries of one restart interval up to the current one, as the last
  // Prev or SeekToLast decoded them (keys whole, in interval_keys_).
  struct IntervalEntry {
    std::uint32_t offset;     // of the entry in the block
    std::uint32_t key_start;  // in interval_keys_
    std::uint32_t key_size;
    std::uint32_t value_offset;  // of the value in the block
    std::uint32_t value_size;
  };
  std::vector<IntervalEntry> interval_;
  std::string interval_keys_;
};

}  // namespace kv
