// The system calls behind kv::PageAllocator (include/kv/page_allocator.hpp).
#include "kv/page_allocator.hpp"

#include <atomic>
#include <new>

// Under AddressSanitizer the buffers go through operator new instead, so
// ASan still checks every access to them (a mapping rounded up to whole
// pages would hide an overflow past the end of the buffer).
#if defined(__SANITIZE_ADDRESS__)
#define KV_PAGES_FROM_OPERATOR_NEW 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KV_PAGES_FROM_OPERATOR_NEW 1
#endif
#endif
#if !defined(KV_PAGES_FROM_OPERATOR_NEW) && !(defined(__unix__) || defined(__APPLE__))
#define KV_PAGES_FROM_OPERATOR_NEW 1  // no mmap: still correct, just through malloc
#endif

#if !defined(KV_PAGES_FROM_OPERATOR_NEW)
#include <sys/mman.h>
#endif

namespace kv::detail {
namespace {
std::atomic<std::size_t> live_mappings{0};
}  // namespace

#if !defined(KV_PAGES_FROM_OPERATOR_NEW)

void* MapPages(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  live_mappings.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void UnmapPages(void* pages, std::size_t bytes) noexcept {
  if (pages == nullptr) return;
  ::munmap(pages, bytes);
  live_mappings.fetch_sub(1, std::memory_order_relaxed);
}

#else

void* MapPages(std::size_t bytes) {
  void* p = ::operator new (bytes, std::align_val_t{kMappedAlignment});
  live_mappings.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void UnmapPages(void* pages, std::size_t /*bytes*/) noexcept {
  if (pages == nullptr) return;
  ::operator delete (pages, std::align_val_t{kMappedAlignment});
  live_mappings.fetch_sub(1, std::memory_order_relaxed);
}

#endif

std::size_t LiveMappings() noexcept { return live_mappings.load(std::memory_order_relaxed); }

}  // namespace kv::detail
