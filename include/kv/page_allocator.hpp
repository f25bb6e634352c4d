/// @file
/// kv::PageAllocator: a standard allocator for kv's large buffers (a table
/// writer's output buffer, the Bloom filter's key hashes and bits, an index
/// block, a table's filter and index as read, a memtable's filter). A
/// request of kPageAllocatorMinMappedBytes or more is mapped straight from
/// the system and unmapped when freed; smaller ones go to operator new.
/// detail::AllocateAligned does the same for buffers that need an alignment.
///
/// Why not plain malloc: glibc serves a large request with its own mmap and,
/// when that chunk is freed, raises its mmap threshold to the chunk's size
/// (up to 32 MiB) and its trim threshold to twice that. One flush freeing a
/// 4 MiB hash list is enough: from then on every request below 4 MiB, the
/// host's as well as kv's, comes from a malloc arena, and up to 8 MiB per
/// arena stays resident after it is freed. On kv_bench's 1M-key run that
/// retention was ~10 MiB of the process's peak RSS. Mapping these buffers
/// directly keeps them out of malloc's bookkeeping, so freeing one returns
/// the memory at once and changes nothing for anyone else.
///
/// @code
///   kv::PageVector<std::uint64_t> hashes;   // grows through mmap past 64 KiB
///   kv::PageString buffer;                  // a std::basic_string
///   buffer.reserve(1 << 20);
/// @endcode
///
/// Stateless and thread-safe: any two PageAllocators are interchangeable.
#pragma once

#include <cassert>
#include <cstddef>
#include <limits>
#include <new>
#include <string>
#include <vector>

namespace kv {

/// Requests at least this large are mapped from the system (glibc's own
/// default mmap threshold is 128 KiB).
inline constexpr std::size_t kPageAllocatorMinMappedBytes = std::size_t{64} << 10;

namespace detail {
/// `bytes` of page-aligned memory mapped from the system (from aligned
/// operator new under AddressSanitizer, which then still checks every
/// access, or where there is no mmap). Throws std::bad_alloc if refused.
void* MapPages(std::size_t bytes);
/// Unmaps memory from MapPages(bytes) (the same `bytes`).
void UnmapPages(void* pages, std::size_t bytes) noexcept;
/// How many MapPages mappings are live, process-wide (for tests).
std::size_t LiveMappings() noexcept;

/// The alignment MapPages guarantees (the smallest page size kv runs on).
inline constexpr std::size_t kMappedAlignment = 4096;

/// `bytes` aligned to `alignment` (a power of two <= kMappedAlignment):
/// mapped from the system if `bytes` >= kPageAllocatorMinMappedBytes, else
/// from aligned operator new. Free with FreeAligned and the same arguments.
inline void* AllocateAligned(std::size_t bytes, std::size_t alignment) {
  assert(alignment <= kMappedAlignment && (alignment & (alignment - 1)) == 0);
  if (bytes >= kPageAllocatorMinMappedBytes) return MapPages(bytes);
  return ::operator new (bytes, std::align_val_t{alignment});
}
inline void FreeAligned(void* p, std::size_t bytes, std::size_t alignment) noexcept {
  if (bytes >= kPageAllocatorMinMappedBytes) {
    UnmapPages(p, bytes);
  } else {
    ::operator delete (p, std::align_val_t{alignment});
  }
}

/// A std::unique_ptr deleter for memory from AllocateAligned(bytes, Alignment):
/// it carries `bytes`, which FreeAligned needs.
template <std::size_t Alignment>
struct AlignedDeleter {
  AlignedDeleter() noexcept = default;
  /// For a buffer of `b` bytes.
  explicit AlignedDeleter(std::size_t b) noexcept : bytes(b) {}
  /// Frees `p` (nullptr is never passed: std::unique_ptr skips it).
  void operator()(void* p) const noexcept { FreeAligned(p, bytes, Alignment); }
  std::size_t bytes = 0;  ///< the size passed to AllocateAligned
};
}  // namespace detail

/// See the file comment.
template <typename T>
class PageAllocator {
 public:
  using value_type = T;  ///< the type allocated (the standard allocator requirements)

  /// A stateless allocator.
  PageAllocator() noexcept = default;
  /// Rebinding copy: every PageAllocator is interchangeable.
  template <typename U>
  PageAllocator(const PageAllocator<U>& /*other*/) noexcept {}  // NOLINT: rebinding is implicit

  /// Room for `n` objects of T, not constructed.
  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(detail::AllocateAligned(n * sizeof(T), alignof(T)));
  }

  /// Frees `p` from allocate(n) (the same `n`, as the standard containers guarantee).
  void deallocate(T* p, std::size_t n) noexcept {
    detail::FreeAligned(p, n * sizeof(T), alignof(T));
  }

  /// Always true: memory from any PageAllocator can be freed by any other.
  template <typename U>
  friend bool operator==(const PageAllocator& /*a*/, const PageAllocator<U>& /*b*/) noexcept {
    return true;
  }
};

/// A std::vector whose large buffers bypass malloc (see PageAllocator).
template <typename T>
using PageVector = std::vector<T, PageAllocator<T>>;

/// A std::basic_string whose large buffers bypass malloc (see PageAllocator).
using PageString = std::basic_string<char, std::char_traits<char>, PageAllocator<char>>;

}  // namespace kv
