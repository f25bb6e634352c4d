// Huge page blocks (which need the platform's memory-mapping calls) and
// kv::HugePageBlockPool, which recycles them between memtables.
#include "kv/huge_page_pool.hpp"

#include <cstdint>
#include <new>
#include <system_error>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace kv {
namespace detail {

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

void FreeHugePageBlock(char* block) noexcept {
  if (block != nullptr) ::munmap(block, kHugePageBlockBytes);
}

#else  // no transparent huge pages: an ordinary aligned allocation

char* AllocateHugePageBlock() {
  return static_cast<char*>(
      ::operator new (kHugePageBlockBytes, std::align_val_t{kHugePageBlockBytes}));
}

void FreeHugePageBlock(char* block) noexcept {
  ::operator delete (block, std::align_val_t{kHugePageBlockBytes});
}

#endif

}  // namespace detail

namespace {
// Writes one byte per base page of a fresh block, so that the kernel
// clears and maps all of it now (one fault if it grants a huge page, one
// per page if not), not when an arena first writes there.
void Prefault(char* block) {
  constexpr std::size_t kBasePage = 4096;
  for (std::size_t at = 0; at < detail::kHugePageBlockBytes; at += kBasePage) {
    static_cast<volatile char*>(block)[at] = 0;
  }
}
}  // namespace

HugePageBlockPool::HugePageBlockPool(std::size_t capacity_blocks, std::size_t prefault_blocks)
    : capacity_blocks_(capacity_blocks), prefault_blocks_(prefault_blocks) {
  {
    MutexLock l(&mu_);
    kept_.reserve(capacity_blocks_);  // so Give never allocates
    ready_.reserve(prefault_blocks_);
  }
  if (prefault_blocks_ == 0) return;
  try {
    prefault_thread_ = std::thread([this] { PrefaultLoop(); });
  } catch (const std::system_error&) {
    // No thread to be had (a process at its limit): only an optimization,
    // so the pool works without it; Take then makes every fresh block.
  }
}

HugePageBlockPool::~HugePageBlockPool() {
  {
    MutexLock l(&mu_);
    stopping_ = true;
  }
  prefault_cv_.SignalAll();
  if (prefault_thread_.joinable()) prefault_thread_.join();
  MutexLock l(&mu_);
  for (char* block : kept_) detail::FreeHugePageBlock(block);
  for (char* block : ready_) detail::FreeHugePageBlock(block);
}

void HugePageBlockPool::PrefaultLoop() {
  MutexLock l(&mu_);
  while (!stopping_) {
    if (!WantsPrefaultLocked()) {
      prefault_cv_.Wait(&mu_);
      continue;
    }
    // Mapping and clearing run without the lock: they are the slow part.
    mu_.Unlock();
    char* block = nullptr;
    try {
      block = detail::AllocateHugePageBlock();
      Prefault(block);
    } catch (const std::bad_alloc&) {
      // Out of memory: the writer's own Take will report it. Stop making
      // blocks ahead rather than retry in a loop.
      mu_.Lock();
      return;
    }
    mu_.Lock();
    if (WantsPrefaultLocked()) {
      ready_.push_back(block);  // within the reserved capacity: cannot throw
    } else {
      // Trimmed or stopping while it was made.
      mu_.Unlock();
      detail::FreeHugePageBlock(block);
      mu_.Lock();
    }
  }
}

char* HugePageBlockPool::Take() {
  {
    MutexLock l(&mu_);
    trimmed_ = false;  // a memtable is growing: keep retired blocks again
    growing_ = true;
    ++out_;
    char* block = nullptr;
    if (!kept_.empty()) {
      block = kept_.back();
      kept_.pop_back();
    } else if (!ready_.empty()) {
      block = ready_.back();
      ready_.pop_back();
      ++prefaulted_taken_;
    }
    // One rule for every path: a memtable grows, so top up the blocks ahead.
    if (WantsPrefaultLocked()) prefault_cv_.Signal();
    if (block != nullptr) return block;
  }
  try {
    return detail::AllocateHugePageBlock();  // outside the lock: mmap can be slow
  } catch (...) {
    MutexLock l(&mu_);
    --out_;  // never handed out, so never given back
    throw;
  }
}

void HugePageBlockPool::Give(char* block) noexcept {
  if (block == nullptr) return;
  {
    MutexLock l(&mu_);
    if (out_ > 0) --out_;
    // Keep only what the arenas still alive could grow into: kept + in use
    // within the capacity. (The retiring memtable's blocks come back while
    // the next one has already taken some, fresh; keeping all of them would
    // hold a memtable's worth on top of what that one already has.)
    if (!trimmed_ && kept_.size() + out_ < capacity_blocks_) {
      kept_.push_back(block);  // within the reserved capacity: cannot throw
      return;
    }
  }
  detail::FreeHugePageBlock(block);
}

std::size_t HugePageBlockPool::kept_blocks() const {
  MutexLock l(&mu_);
  return kept_.size();
}

std::size_t HugePageBlockPool::prefaulted_blocks() const {
  MutexLock l(&mu_);
  return ready_.size();
}

std::size_t HugePageBlockPool::prefaulted_blocks_taken() const {
  MutexLock l(&mu_);
  return prefaulted_taken_;
}

void HugePageBlockPool::Trim() {
  std::vector<char*> blocks;
  blocks.reserve(capacity_blocks_ + prefault_blocks_);  // may throw, before anything changes
  {
    MutexLock l(&mu_);
    trimmed_ = true;
    growing_ = false;  // the prefault thread waits for the next Take
    blocks.insert(blocks.end(), kept_.begin(), kept_.end());
    blocks.insert(blocks.end(), ready_.begin(), ready_.end());
    kept_.clear();  // both keep their reserved capacity, so Give never allocates
    ready_.clear();
  }
  for (char* block : blocks) detail::FreeHugePageBlock(block);  // unmapping can be slow
}

}  // namespace kv
