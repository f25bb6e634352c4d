// The system calls behind kv::PageAllocator (include/kv/page_allocator.hpp).
#include "kv/page_allocator.hpp"

#include <atomic>
#include <new>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif

namespace kv::detail {
namespace {
std::atomic<std::size_t> live_mappings{0};
}  // namespace

#if defined(__unix__) || defined(__APPLE__)

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

#else  // no mmap: fall back to operator new (still correct, just through malloc)

void* MapPages(std::size_t bytes) {
  void* p = ::operator new (bytes, std::align_val_t{4096});
  live_mappings.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void UnmapPages(void* pages, std::size_t /*bytes*/) noexcept {
  if (pages == nullptr) return;
  ::operator delete (pages, std::align_val_t{4096});
  live_mappings.fetch_sub(1, std::memory_order_relaxed);
}

#endif

std::size_t LiveMappings() noexcept { return live_mappings.load(std::memory_order_relaxed); }

}  // namespace kv::detail
