// DBStats: the counters behind kv.stats and kv.prometheus.
//
// Counters are relaxed atomics: cheap on the hot path, read without a lock.
// A reader may see counters from slightly different instants; that is fine
// for monitoring.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace kv::detail {

struct DBStats {
  using Counter = std::atomic<std::uint64_t>;
  static void Add(Counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  static std::uint64_t Get(const Counter& c) { return c.load(std::memory_order_relaxed); }

  // Write path.
  Counter writes{0};         // DB::Write calls that succeeded (incl. Put/Delete)
  Counter write_entries{0};  // entries (puts + deletes) written
  Counter puts{0};
  Counter deletes{0};
  Counter bytes_written{0};         // user key + value bytes written
  Counter wal_records{0};           // WAL records = write groups
  Counter wal_bytes{0};             // bytes appended to WALs
  Counter wal_syncs{0};             // fdatasync calls on WALs
  Counter group_commit_writers{0};  // writers served by group leaders (sum of group sizes)
  // Histogram of write-group sizes (writers per WAL record): group_size[i]
  // counts groups of size <= kGroupSizeBounds[i] (and > the previous bound);
  // the last slot counts larger groups.
  static constexpr std::uint64_t kGroupSizeBounds[] = {1, 2, 4, 8, 16, 32, 64};
  static constexpr std::size_t kGroupSizeSlots = std::size(kGroupSizeBounds) + 1;
  Counter group_size[kGroupSizeSlots] = {};
  void AddGroupSize(std::uint64_t writers) {
    std::size_t slot = 0;
    while (slot < std::size(kGroupSizeBounds) && writers > kGroupSizeBounds[slot]) ++slot;
    Add(group_size[slot]);
  }
  Counter write_errors{0};
  // Read path.
  Counter gets{0};
  Counter get_hits{0};
  Counter bytes_read{0};  // value bytes returned by Get
  Counter iterators_created{0};
  // Bloom filter verdicts on table point lookups (tables without a filter
  // are not counted): ruled the key out / said maybe and the table had no
  // version of the key / said maybe and it had one.
  Counter bloom_useful{0};
  Counter bloom_false_positive{0};
  Counter bloom_true_positive{0};
  // Recovery.
  Counter recovered_records{0};
  Counter recovery_dropped_bytes{0};  // bytes of WAL dropped as corruption (not torn tails)
  Counter recovery_torn_tail_bytes{0};
  Counter manifest_torn_tail_bytes{0};  // a torn last manifest record (crash or damage)
  Counter orphan_tables_kept{0};        // tables set aside as .sst.orphan because of it
  // Stalls.
  Counter stall_count{0};
  Counter stall_micros{0};
  Counter slowdown_count{0};
  Counter slowdown_micros{0};
  // Flush and compaction.
  Counter flushes{0};
  Counter flush_bytes_written{0};
  Counter compactions{0};
  Counter compaction_bytes_read{0};
  Counter compaction_bytes_written{0};
  Counter trivial_moves{0};
  Counter background_errors{0};
};

}  // namespace kv::detail
