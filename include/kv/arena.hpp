/// @file
/// kv::Arena: a bump allocator for many small, same-lifetime objects (the
/// memtable's skiplist nodes and entries).
///
/// Memory is carved out of blocks: 4 KiB by default, or 2 MiB blocks that ask
/// the kernel for transparent huge pages (ArenaBlocks::kHugePages). A request
/// larger than a quarter of a block gets a block of its own, so a huge
/// request (a 64 MiB value) neither wastes a block tail nor needs a special
/// path. Nothing is freed until the Arena is destroyed, and then everything
/// is, by RAII.
///
/// Why huge pages: a 64 MiB memtable spread over 4 KiB pages is 16k pages,
/// far more than the CPU's TLB holds, so nearly every node a skiplist search
/// visits costs a page-table walk on top of its cache miss. In 2 MiB pages the
/// same memtable is 32 TLB entries. Measured on MemTable::Add/Get of 1M
/// random keys: Add 18-20% faster, Get 35% faster (bench/skiplist_bench.cpp).
/// Given a HugePageBlockPool (kv/huge_page_pool.hpp), an arena takes its
/// huge page blocks from the pool and returns them there when it dies.
///
/// @code
///   kv::Arena arena;                          // or Arena(ArenaBlocks::kHugePages)
///   char* p = arena.Allocate(n);              // any alignment
///   char* q = arena.AllocateAligned(sizeof(T)); // aligned for pointers/uint64
///   auto [front, tail] = arena.AllocateAlignedWithTail(n, m); // one block
///   size_t bytes = arena.MemoryUsage();       // safe from any thread
/// @endcode
///
/// Thread safety: Allocate/AllocateAligned must be externally serialized (one
/// writer). MemoryUsage() may be called concurrently from any thread; it reads
/// a relaxed atomic and is an estimate that only grows.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "kv/huge_page_pool.hpp"

namespace kv {

/// What an Arena carves its small allocations from.
enum class ArenaBlocks {
  kSmall,      ///< 4 KiB blocks from operator new[]
  kHugePages,  ///< 2 MiB blocks, 2 MiB-aligned, advised for transparent huge pages
};

/// A bump allocator; see the file comment.
class Arena {
 public:
  /// Size of the blocks small requests are carved from (ArenaBlocks::kSmall).
  static constexpr std::size_t kBlockSize = 4096;
  /// Alignment guaranteed by AllocateAligned: enough for pointers, atomics
  /// and 64-bit integers (a skiplist node), and no more. max_align_t's 16
  /// padded each memtable entry by 12 bytes on average instead of 7 in the
  /// entry layout of the time (commit 36120de), which held 5% fewer entries
  /// in a 64 MiB memtable (373.7k against 393.2k at 16-byte keys and
  /// 100-byte values), so it flushed more often.
  static constexpr std::size_t kAlign = 8;

  /// An empty arena: the first allocation gets its first block. With
  /// kHugePages and a `pool`, blocks come from the pool and go back to it
  /// when the arena dies (the arena keeps the pool alive until then).
  explicit Arena(ArenaBlocks blocks = ArenaBlocks::kSmall,
                 std::shared_ptr<HugePageBlockPool> pool = nullptr)
      : block_size_(blocks == ArenaBlocks::kHugePages ? detail::kHugePageBlockBytes : kBlockSize),
        pool_(std::move(pool)) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `bytes` bytes of uninitialized memory, valid until the Arena is
  /// destroyed.
  /// REQUIRES: bytes > 0
  char* Allocate(std::size_t bytes) {
    assert(bytes > 0);
    if (bytes <= remaining_) {
      char* result = ptr_;
      ptr_ += bytes;
      remaining_ -= bytes;
      return result;
    }
    return AllocateFallback(bytes);
  }

  /// Like Allocate, but the result is aligned to kAlign.
  /// REQUIRES: bytes > 0
  char* AllocateAligned(std::size_t bytes) {
    assert(bytes > 0);
    const std::size_t pad = PaddingToAlign();
    if (bytes + pad <= remaining_) {
      char* result = ptr_ + pad;
      ptr_ += bytes + pad;
      remaining_ -= bytes + pad;
      return result;
    }
    // Fresh blocks come from operator new[], which aligns to at least
    // __STDCPP_DEFAULT_NEW_ALIGNMENT__ (>= kAlign), or are huge page blocks,
    // aligned to 2 MiB.
    char* result = AllocateFallback(bytes);
    assert((reinterpret_cast<std::uintptr_t>(result) & (kAlign - 1)) == 0);
    return result;
  }

  /// Two allocations from one block: `front_bytes` aligned to kAlign, as
  /// AllocateAligned, and `tail_bytes` (any alignment) taken from the far end
  /// of the same block, or right after the front part when the pair gets a
  /// block of its own. Either way the tail lies after the front part and
  /// starts less than block_size() bytes past its end. Small blocks thus fill
  /// from both ends, which keeps the front parts (the memtable's skiplist
  /// nodes) packed together, away from the tails (its values), while a 32-bit
  /// offset still leads from one to the other.
  struct FrontAndTail {
    char* front;  ///< `front_bytes`, aligned to kAlign
    char* tail;   ///< `tail_bytes`, after the front part
  };
  /// REQUIRES: front_bytes > 0, tail_bytes > 0
  FrontAndTail AllocateAlignedWithTail(std::size_t front_bytes, std::size_t tail_bytes) {
    assert(front_bytes > 0 && tail_bytes > 0);
    const std::size_t pad = PaddingToAlign();
    if (front_bytes + pad + tail_bytes <= remaining_) {
      char* const front = ptr_ + pad;
      remaining_ -= front_bytes + pad + tail_bytes;
      ptr_ += front_bytes + pad;
      return {front, ptr_ + remaining_};
    }
    const std::size_t bytes = front_bytes + tail_bytes;
    if (bytes > block_size_ / 4) {
      // Large: a block of its own, the tail right after the front part.
      char* const front = NewBlock(bytes);
      return {front, front + front_bytes};
    }
    StartBlock();
    remaining_ -= bytes;
    char* const front = ptr_;
    ptr_ += front_bytes;
    return {front, ptr_ + remaining_};
  }

  /// Size of the blocks small requests are carved from.
  std::size_t block_size() const { return block_size_; }

  /// Bytes obtained from the system so far (block sizes plus bookkeeping).
  /// Thread-safe.
  std::size_t MemoryUsage() const { return memory_usage_.load(std::memory_order_relaxed); }

 private:
  static_assert((kAlign & (kAlign - 1)) == 0, "kAlign must be a power of two");
  static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= kAlign, "new[] must align blocks to kAlign");

  char* AllocateFallback(std::size_t bytes) {
    if (bytes > block_size_ / 4) {
      // Large: its own block; the current block keeps serving small requests.
      return NewBlock(bytes);
    }
    StartBlock();
    char* result = ptr_;
    ptr_ += bytes;
    remaining_ -= bytes;
    return result;
  }

  // Bytes to skip so that ptr_ is aligned to kAlign.
  std::size_t PaddingToAlign() const {
    const std::size_t misalign = reinterpret_cast<std::uintptr_t>(ptr_) & (kAlign - 1);
    return misalign == 0 ? 0 : kAlign - misalign;
  }

  // Starts a new block for small requests, wasting what is left of the
  // current one.
  void StartBlock() {
    ptr_ = block_size_ == detail::kHugePageBlockBytes ? NewHugePageBlock() : NewBlock(kBlockSize);
    remaining_ = block_size_;
  }

  char* NewBlock(std::size_t bytes) {
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(bytes));
    memory_usage_.fetch_add(bytes + sizeof(std::unique_ptr<char[]>), std::memory_order_relaxed);
    return blocks_.back().get();
  }

  char* NewHugePageBlock() {
    // Reserve first, so a throwing push_back cannot leak the mapping.
    huge_blocks_.reserve(huge_blocks_.size() + 1);
    huge_blocks_.emplace_back(pool_ ? pool_->Take() : detail::AllocateHugePageBlock(),
                              HugePageBlockRelease{pool_.get()});
    memory_usage_.fetch_add(detail::kHugePageBlockBytes + sizeof(huge_blocks_[0]),
                            std::memory_order_relaxed);
    return huge_blocks_.back().get();
  }

  // Returns a huge page block to its pool, or to the system without one.
  struct HugePageBlockRelease {
    HugePageBlockPool* pool;
    void operator()(char* block) const noexcept {
      if (pool != nullptr) {
        pool->Give(block);
      } else {
        detail::FreeHugePageBlock(block);
      }
    }
  };

  std::size_t const block_size_;
  // Declared before huge_blocks_, so it is destroyed after them: the blocks
  // go back to a live pool.
  std::shared_ptr<HugePageBlockPool> const pool_;
  char* ptr_ = nullptr;        // next free byte of the current block
  std::size_t remaining_ = 0;  // free bytes in the current block, from ptr_ on (tails
                               // are taken from the end of this run)
  std::vector<std::unique_ptr<char[]>> blocks_;  // kSmall blocks and large requests
  std::vector<std::unique_ptr<char, HugePageBlockRelease>> huge_blocks_;
  std::atomic<std::size_t> memory_usage_{0};
};

}  // namespace kv
