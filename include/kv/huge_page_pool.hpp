/// @file
/// kv::HugePageBlockPool: keeps the 2 MiB arena blocks of retired memtables
/// so the next memtables reuse them instead of asking the kernel for fresh
/// ones.
///
/// Why: the first write to a fresh anonymous huge page makes the kernel
/// clear all 2 MiB of it (and, in a VM, the host back it). On this project's
/// benchmark machine that clearing (`clear_page_erms` under perf) was 10.8%
/// of a 1M-key fillseq run's CPU samples and 4.3% of fillrandom +
/// overwrite's, on the writer's thread. A DB frees one memtable's blocks
/// when its flush finishes, while the memtable after it is still filling:
/// handing those blocks over costs a lock per 2 MiB and no clearing at all.
///
/// @code
///   auto pool = std::make_shared<kv::HugePageBlockPool>(/*capacity_blocks=*/33);
///   { kv::Arena a(kv::ArenaBlocks::kHugePages, pool); a.Allocate(100); }  // block -> pool
///   kv::Arena b(kv::ArenaBlocks::kHugePages, pool);                        // reuses it
/// @endcode
///
/// A reused block holds whatever its last arena wrote (Arena memory is
/// uninitialized either way). The pool keeps a block given back only while
/// the blocks it keeps plus the blocks still out (taken, not yet given back)
/// stay within `capacity_blocks`, and unmaps it otherwise. A DB sets the
/// capacity to half a memtable's blocks: when a flushed memtable's blocks
/// come back, the next memtable already holds some, and the pool keeps only
/// what it can still grow into, memory it would map anyway. When no memtable is
/// growing, Trim gives it all back to the system. Thread-safe.
///
/// Blocks nobody has used yet still cost a clearing each. A pool built with
/// `prefault_blocks` > 0 has a thread of its own that keeps that many fresh
/// blocks cleared ahead (touched, so the kernel has cleared and mapped
/// them), while a memtable grows: the writer's Take then finds one ready,
/// and the clearing runs beside it instead of inside a Put. Those blocks are
/// held on top of the capacity; Trim unmaps them too and stops the refill
/// until the next Take.
#pragma once

#include <cstddef>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "kv/mutex.hpp"

namespace kv {

namespace detail {
/// Size and alignment of an ArenaBlocks::kHugePages block (the x86-64 and
/// arm64 huge page size).
inline constexpr std::size_t kHugePageBlockBytes = std::size_t{2} << 20;
/// Returns kHugePageBlockBytes bytes aligned to kHugePageBlockBytes, advised
/// (on Linux) to be backed by transparent huge pages; whether the kernel
/// grants them depends on /sys/kernel/mm/transparent_hugepage. Throws
/// std::bad_alloc if the memory cannot be had.
char* AllocateHugePageBlock();
/// Returns a block from AllocateHugePageBlock to the system.
void FreeHugePageBlock(char* block) noexcept;
}  // namespace detail

/// A bounded free list of huge page blocks; see the file comment.
class HugePageBlockPool {
 public:
  /// Keeps at most `capacity_blocks` blocks, fewer while blocks are out
  /// (0: keeps none), and, if `prefault_blocks` > 0, starts a thread that
  /// keeps up to that many fresh blocks cleared ahead (see the file comment).
  explicit HugePageBlockPool(std::size_t capacity_blocks, std::size_t prefault_blocks = 0);
  HugePageBlockPool(const HugePageBlockPool&) = delete;
  HugePageBlockPool& operator=(const HugePageBlockPool&) = delete;
  /// Stops the prefault thread and unmaps every block it still holds.
  ~HugePageBlockPool();

  /// A kept block, else a prefaulted one, else a fresh one. Throws
  /// std::bad_alloc if a fresh block cannot be had.
  char* Take();
  /// Keeps `block` (from Take) for a later Take, or unmaps it if the pool
  /// is trimmed or if keeping it would make the blocks kept plus the blocks
  /// taken and not yet given back exceed the capacity.
  void Give(char* block) noexcept;

  /// Unmaps every kept and prefaulted block, and every block given back until the next
  /// Take: for when no memtable is growing (a DB calls it when a flush ends
  /// with nothing written since the memtable switch), so a write-idle DB
  /// does not hold a memtable's worth of blocks it may never need. The next
  /// Take (a memtable growing again) makes the pool keep blocks again.
  void Trim();

  /// Blocks kept right now (given back, not prefaulted).
  std::size_t kept_blocks() const;
  /// Prefaulted blocks ready right now.
  std::size_t prefaulted_blocks() const;
  /// Blocks taken from the prefaulted ones so far.
  std::size_t prefaulted_blocks_taken() const;
  /// The most blocks it keeps.
  std::size_t capacity_blocks() const { return capacity_blocks_; }

 private:
  // The prefault thread: refills ready_ while a memtable grows.
  void PrefaultLoop();
  // Whether the prefault thread has a block to make.
  bool WantsPrefaultLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return growing_ && !stopping_ && ready_.size() < prefault_blocks_;
  }

  const std::size_t capacity_blocks_;
  const std::size_t prefault_blocks_;
  mutable Mutex mu_;
  std::vector<char*> kept_ ABSL_GUARDED_BY(mu_);
  std::vector<char*> ready_ ABSL_GUARDED_BY(mu_);  // prefaulted, never used
  bool trimmed_ ABSL_GUARDED_BY(mu_) = false;      // Give unmaps until the next Take
  // A memtable has taken a block since the last Trim: what the prefault
  // thread waits for, so a DB nobody writes maps nothing ahead.
  bool growing_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // set by the destructor
  std::size_t out_ ABSL_GUARDED_BY(mu_) = 0;    // taken and not yet given back
  std::size_t prefaulted_taken_ ABSL_GUARDED_BY(mu_) = 0;
  CondVar prefault_cv_;          // wakes the prefault thread
  std::thread prefault_thread_;  // last: started once the rest is built
};

}  // namespace kv
