// DBStats: the counters behind kv.stats and kv.prometheus.
//
// Counters are relaxed atomics, read without a lock, and striped: each
// thread adds to one of kStripes cache-line-sized slots and a read sums
// them, so threads counting the same event (every Get counts one) do not
// bounce one cache line between cores. A reader may see counters from
// slightly different instants; that is fine for monitoring.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace kv::detail {

// A monotonic counter, striped across cache lines (see the file comment).
class StripedCounter {
 public:
  static constexpr std::size_t kStripes = 8;

  constexpr StripedCounter() = default;
  StripedCounter(const StripedCounter&) = delete;
  StripedCounter& operator=(const StripedCounter&) = delete;

  void Add(std::uint64_t n) {
    slots_[ThreadStripe()].value.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t Get() const {
    std::uint64_t sum = 0;
    for (const Slot& s : slots_) sum += s.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> value{};
  };
  // Threads take stripes round-robin, once each.
  static std::size_t ThreadStripe() {
    static std::atomic<std::size_t> next{};
    thread_local const std::size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripe;
  }
  Slot slots_[kStripes];
};

// A monotonic counter that one thread at a time adds to, with the hand-over
// between threads ordered (here: write-group leaders, one after another,
// leadership passing under DBImpl::mu_). An add is a plain load and store,
// not a locked read-modify-write: the leader counts nine events per write,
// and with a locked add each, single-threaded overwrites ran 6-12% slower
// (a locked add also waits for the write's earlier stores to drain). Reads
// need no lock and may see a slightly old value.
class LeaderCounter {
 public:
  constexpr LeaderCounter() = default;
  LeaderCounter(const LeaderCounter&) = delete;
  LeaderCounter& operator=(const LeaderCounter&) = delete;

  // REQUIRES: no other thread adds concurrently (see the class comment).
  void Add(std::uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{};
};

struct DBStats {
  using Counter = StripedCounter;
  static void Add(Counter& c, std::uint64_t n = 1) { c.Add(n); }
  static std::uint64_t Get(const Counter& c) { return c.Get(); }
  static void Add(LeaderCounter& c, std::uint64_t n = 1) { c.Add(n); }
  static std::uint64_t Get(const LeaderCounter& c) { return c.Get(); }

  // Write path. Only the write-group leader counts these (LeaderCounter).
  LeaderCounter writes{};         // DB::Write calls that succeeded (incl. Put/Delete)
  LeaderCounter write_entries{};  // entries (puts + deletes) written
  LeaderCounter puts{};
  LeaderCounter deletes{};
  LeaderCounter bytes_written{};         // user key + value bytes written
  LeaderCounter wal_records{};           // WAL records = write groups
  LeaderCounter wal_bytes{};             // bytes appended to WALs
  LeaderCounter wal_syncs{};             // fdatasync calls on WALs
  LeaderCounter group_commit_writers{};  // writers served by group leaders (sum of group sizes)
  LeaderCounter sync_gathers{};          // sync leaders that waited for their group to gather
  // Histogram of write-group sizes (writers per WAL record): group_size[i]
  // counts groups of size <= kGroupSizeBounds[i] (and > the previous bound);
  // the last slot counts larger groups.
  static constexpr std::uint64_t kGroupSizeBounds[] = {1, 2, 4, 8, 16, 32, 64};
  static constexpr std::size_t kGroupSizeSlots = std::size(kGroupSizeBounds) + 1;
  LeaderCounter group_size[kGroupSizeSlots];
  void AddGroupSize(std::uint64_t writers) {
    std::size_t slot = 0;
    while (slot < std::size(kGroupSizeBounds) && writers > kGroupSizeBounds[slot]) ++slot;
    Add(group_size[slot]);
  }
  Counter write_errors{};  // any writer counts its own failure
  // Read path.
  Counter gets{};
  Counter get_hits{};
  Counter bytes_read{};  // value bytes returned by Get
  Counter iterators_created{};
  // Times every current table's mapped pages were released after reads
  // stopped (Options::release_idle_table_pages).
  Counter idle_table_page_releases{};
  // Bloom filter verdicts on table point lookups (tables without a filter
  // are not counted): ruled the key out / said maybe and the table had no
  // version of the key / said maybe and it had one.
  Counter bloom_useful{};
  Counter bloom_false_positive{};
  Counter bloom_true_positive{};
  // Recovery.
  Counter recovered_records{};
  Counter recovery_dropped_bytes{};  // bytes of WAL dropped as corruption (not torn tails)
  Counter recovery_torn_tail_bytes{};
  Counter manifest_torn_tail_bytes{};  // a torn last manifest record (crash or damage)
  Counter orphan_tables_kept{};        // tables set aside as .sst.orphan because of it
  // Stalls.
  Counter stall_count{};
  Counter stall_micros{};
  Counter slowdown_count{};
  Counter slowdown_micros{};
  // Flush and compaction.
  Counter flushes{};
  Counter flush_bytes_written{};
  Counter compactions{};
  Counter compaction_bytes_read{};
  Counter compaction_bytes_written{};
  Counter trivial_moves{};
  Counter background_errors{};
};

}  // namespace kv::detail
