// The out-of-line part of kv::Arena: huge page blocks, which need the
// platform's memory-mapping calls.
#include "kv/arena.hpp"

#include <cstdint>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace kv::detail {

#if defined(__linux__) && defined(MADV_HUGEPAGE)

char* AllocateHugePageBlock() {
  constexpr std::size_t kBytes = kHugePageBlockBytes;
  // mmap promises only page alignment. Map twice the size and unmap the
  // misaligned head and the tail, leaving one aligned block, which is what
  // lets the kernel back it with a single huge page.
  void* mapping =
      ::mmap(nullptr, 2 * kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) throw std::bad_alloc();
  char* const start = static_cast<char*>(mapping);
  const std::uintptr_t address = reinterpret_cast<std::uintptr_t>(start);
  const std::size_t head = (kBytes - (address & (kBytes - 1))) & (kBytes - 1);
  char* const block = start + head;
  if (head > 0) ::munmap(start, head);
  ::munmap(block + kBytes, kBytes - head);
  // Only advice: with transparent huge pages off (or none free) the block
  // is ordinary pages and everything still works, just without the TLB win.
  ::madvise(block, kBytes, MADV_HUGEPAGE);
  return block;
}

void HugePageBlockDeleter::operator()(char* block) const noexcept {
  if (block != nullptr) ::munmap(block, kHugePageBlockBytes);
}

#else  // no transparent huge pages: an ordinary aligned allocation

char* AllocateHugePageBlock() {
  return static_cast<char*>(
      ::operator new (kHugePageBlockBytes, std::align_val_t{kHugePageBlockBytes}));
}

void HugePageBlockDeleter::operator()(char* block) const noexcept {
  ::operator delete (block, std::align_val_t{kHugePageBlockBytes});
}

#endif

}  // namespace kv::detail
