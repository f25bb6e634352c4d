/// @file
/// kv::AlignedBuffer: an owned byte buffer aligned to a cache line, the
/// storage of blocks read from a file (kv/block.hpp).
///
/// @code
///   kv::AlignedBuffer buf(4096);
///   std::memcpy(buf.data(), bytes, 4096);
/// @endcode
///
/// Thread-safety: none of its own; an immutable buffer may be read by any
/// threads.
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>

#include "kv/page_allocator.hpp"

namespace kv {

/// Block storage is aligned to a cache line: the kernel copies into aligned
/// buffers much faster, and bloom filter lines then coincide with CPU lines.
inline constexpr std::size_t kBlockAlignment = 64;

/// An owned, 64-byte aligned byte buffer.
class AlignedBuffer {
 public:
  /// An empty buffer (no allocation).
  AlignedBuffer() = default;
  /// A buffer of `size` uninitialized bytes (capacity rounded up to 64).
  explicit AlignedBuffer(std::size_t size)
      : size_(size), capacity_((size + kBlockAlignment - 1) / kBlockAlignment * kBlockAlignment) {
    if (capacity_ == 0) capacity_ = kBlockAlignment;
    // A table's filter and index blocks are hundreds of KiB: large buffers
    // are mapped, not malloc'd (page_allocator.hpp says why).
    data_ = std::unique_ptr<char, Free>(
        static_cast<char*>(detail::AllocateAligned(capacity_, kBlockAlignment)), Free(capacity_));
  }
  /// The bytes (size() of them are visible).
  char* data() { return data_.get(); }
  /// The bytes, read-only.
  const char* data() const { return data_.get(); }
  /// Visible size in bytes.
  std::size_t size() const { return size_; }
  /// Allocated bytes: size() rounded up to a multiple of 64 (at least 64).
  std::size_t capacity() const { return capacity_; }
  /// Shrinks the visible size (the allocation stays).
  /// REQUIRES: n <= size()
  void Shrink(std::size_t n) {
    assert(n <= size_);
    size_ = n;
  }

 private:
  using Free = detail::AlignedDeleter<kBlockAlignment>;
  std::unique_ptr<char, Free> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace kv
