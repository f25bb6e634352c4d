// DBImpl: the implementation of kv::DB. Never part of an installed header.
//
// Split by concern across files:
//   db_open.cpp      Open, Destroy, recovery (manifest + WAL replay)
//   db_write.cpp     the write path: writer queue, group commit, memtable switch
//   db_read.cpp      Get, iterators, snapshots
//   db_flush.cpp     the background thread: flushes and compactions
//   db_properties.cpp GetProperty: kv.stats, kv.prometheus, per-level counts
//
// Locking. One mutex, mu_, guards the mutable state below. It is never held
// across WAL I/O or memtable inserts: the group-commit leader releases it
// for those, and leadership itself (being at the front of writers_) is what
// serializes WAL appends and memtable inserts. The WAL writer, wal_, is thus
// touched only by the current leader, or under mu_ by MakeRoomForWrite,
// which only the leader calls. Readers take mu_ only to pin the current
// memtables and version (shared_ptr copies) and then read without it.
//
// Sequence numbers: the leader reserves a range under mu_ (last_sequence_)
// and publishes it in visible_sequence_ only after the whole group is in the
// memtable, so readers see a batch entirely or not at all.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "db/compaction_picker.hpp"
#include "db/db_stats.hpp"
#include "db/idle_timer.hpp"
#include "db/info_log.hpp"
#include "db/reader_horizon.hpp"
#include "db/snapshot_list.hpp"
#include "db/table_cache.hpp"
#include "db/version_set.hpp"
#include "kv/db.hpp"
#include "kv/huge_page_pool.hpp"
#include "kv/memtable.hpp"
#include "kv/mutex.hpp"
#include "kv/wal_writer.hpp"

namespace kv::detail {

// What a batch inserted, for the stats.
struct BatchCounts {
  std::uint64_t puts = 0, deletes = 0, user_bytes = 0;
};

// Inserts every entry of an encoded batch (sequence numbers from its
// header) into `mem`, counting into *counts if given. kInvalidArgument if
// the encoding is malformed.
[[nodiscard]] absl::Status InsertBatchIntoMemTable(std::string_view batch_contents, MemTable* mem,
                                                   BatchCounts* counts = nullptr);

class DBImpl final : public DB {
 public:
  // Use DB::Open.
  DBImpl(const Options& options, std::string dir);
  ~DBImpl() override;

  absl::Status Write(const WriteOptions& options, const WriteBatch& batch) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Get(const ReadOptions& options, std::string_view key, std::string* value) override
      ABSL_LOCKS_EXCLUDED(mu_);
  using DB::Get;
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override
      ABSL_LOCKS_EXCLUDED(mu_);
  std::unique_ptr<const Snapshot> GetSnapshot() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Flush() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status CompactRange(std::optional<std::string_view> begin,
                            std::optional<std::string_view> end) override ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<std::string> GetProperty(std::string_view name) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status VerifyChecksums(const VerifyOptions& options) override ABSL_LOCKS_EXCLUDED(mu_);

  // Open's work after construction: lock, recover, start background work.
  [[nodiscard]] absl::Status Recover() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // One writer waiting in the queue (it waits on writers_cv_).
  struct Writer {
    const WriteBatch* batch = nullptr;
    bool sync = false;
    bool done = false;
    absl::Status status;
    // Wakes this writer while it leads and gathers a sync group
    // (GatherSyncGroupLocked); arriving writers signal it under mu_.
    kv::CondVar cv;
  };

  // --- recovery (db_open.cpp) ---
  [[nodiscard]] absl::Status ReplayWals(const std::vector<std::uint64_t>& wal_numbers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replays one WAL into mem_ (flushing to L0 tables, recorded in *edit,
  // when it fills). Sets *stop after corruption that recovery tolerates.
  [[nodiscard]] absl::Status ReplayOneWal(std::uint64_t number, bool is_last, VersionEdit* edit,
                                          bool* stop) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  [[nodiscard]] absl::Status FlushMemTableDuringRecovery(VersionEdit* edit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  [[nodiscard]] absl::Status NewWal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An empty memtable, with a bloom filter over its keys when table filters
  // are on: 1 bit per 8 bytes of memtable_bytes (about 19 bits per key at
  // 100-byte values), 1/64 of the buffer. Memtables of 32 MiB and up live in
  // huge pages (arena.hpp): there the TLB misses they save matter, and the
  // up to 2 MiB per arena they round usage up by is at most 1/8 of the buffer.
  std::shared_ptr<MemTable> NewMemTable() const {
    return std::make_shared<MemTable>(
        options_.bloom_bits_per_key > 0 ? options_.memtable_bytes / 64 : 0,
        UsesHugePages(options_) ? ArenaBlocks::kHugePages : ArenaBlocks::kSmall,
        memtable_block_pool_);
  }
  static constexpr std::size_t kHugePageMemTableBytes = std::size_t{32} << 20;
  static bool UsesHugePages(const Options& options) {
    return options.memtable_bytes >= kHugePageMemTableBytes;
  }
  // Huge page memtables hand their blocks on through a pool
  // (kv/huge_page_pool.hpp) that keeps at most half a memtable's worth: half
  // its blocks plus the partly used last block of its arena. Kept blocks save
  // the next memtable clearing fresh pages, but they stay resident while the
  // flushed table's pages are being mapped by reads: a whole memtable's worth
  // kept raised peak RSS by ~30 MiB at 64 MiB memtables (kv_bench, mixed),
  // and the clearing it saved did not show in fill throughput
  // (docs/BENCHMARKS.md). Never more than the next memtable will map anyway;
  // a flush that ends with nothing written since its switch (a write-idle DB)
  // trims it (db_flush.cpp).
  //
  // One block is also kept cleared ahead by the pool's own thread while a
  // memtable grows (kMemTableBlocksPrefaulted; a memtable takes a block
  // every ~20 ms at 700k Puts/s, the thread clears one in under 1 ms, and
  // two ahead were no faster but held 2 MiB more): clearing the blocks no
  // memtable had used was 20% of a 1M-key fillrandom's writer thread and
  // 6.6% of overwrite's under perf, on the thread every Put waits for.
  static constexpr std::size_t kMemTableBlocksPrefaulted = 1;
  static std::shared_ptr<HugePageBlockPool> NewMemTableBlockPool(const Options& options) {
    if (!UsesHugePages(options)) return nullptr;
    return std::make_shared<HugePageBlockPool>(options.memtable_bytes / kHugePageBlockBytes / 2 + 1,
                                               kMemTableBlocksPrefaulted);
  }

  // --- write path (db_write.cpp) ---
  // Makes sure mem_ has room for a write, switching memtables or stalling.
  [[nodiscard]] absl::Status MakeRoomForWriteLocked(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A sync leader with fewer writers queued than were in flight at the last
  // sync waits briefly for them: the members of the previous group are on
  // their way back, and one sync for all costs what one sync for half does.
  void GatherSyncGroupLocked(Writer* leader) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Merges the batches of the writers at the front of the queue (starting
  // with the leader's) into group_batch_; returns the last writer included.
  Writer* BuildGroupLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records a write-path failure as the sticky error.
  void SetBackgroundErrorLocked(const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls `fn` on every listener in Options::listeners, with mu_ released
  // for the duration (callbacks may call back into the DB). Only the
  // background thread calls it, between steps of its work.
  void NotifyListenersLocked(const std::function<void(EventListener&)>& fn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- background work (db_flush.cpp, db_compaction.cpp) ---
  void BackgroundThreadMain() ABSL_LOCKS_EXCLUDED(mu_);
  // True if the background thread has something to do now.
  bool HasBackgroundWorkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes imm_ to an L0 table and installs it; mu_ is released for the I/O.
  [[nodiscard]] absl::Status FlushImmutableLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Called by a running compaction, without mu_, when imm_pending_ is set:
  // flushes imm_ and wakes the writers waiting for it.
  [[nodiscard]] absl::Status FlushImmutableDuringCompaction() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes `mem` to table file `number` and syncs it, leaving out versions
  // no reader in `horizon` can see; fills *meta (file_size 0 and no file if
  // the memtable was empty). Touches no state guarded by mu_.
  [[nodiscard]] absl::Status WriteTableFromMemtable(const MemTable& mem, std::uint64_t number,
                                                    const ReaderHorizon& horizon,
                                                    FileMetaData* meta);
  // Runs one compaction if the picker (or a manual request) has one.
  [[nodiscard]] absl::Status RunCompactionLocked(bool* did_work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Merges the inputs of `c` into new tables at c.output_level (appended to
  // *outputs, also on failure, so their numbers can be released). Releases
  // mu_ for the I/O.
  [[nodiscard]] absl::Status RunCompactionJobLocked(const CompactionInputs& c,
                                                    const Version& version,
                                                    std::vector<FileMetaData>* outputs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes files no live version, WAL or in-progress output needs.
  void DeleteObsoleteFilesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until the background thread is idle or failed.
  void WaitForBackgroundIdleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Options::release_idle_table_pages (db_idle_pages.cpp): if
  // read_idle_timer_ says reads have stopped, releases the mapped pages of
  // every current table, with mu_ released meanwhile.
  void MaybeReleaseIdleTablePagesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts a read (PinReadView) for read_idle_timer_.
  void NoteReadForIdlePagesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The background thread's sleep when it has no work: until woken, or
  // until read_idle_timer_'s next check is due.
  void WaitForBackgroundWorkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- read path (db_read.cpp) ---
  // The sources a read searches, pinned as one unit: a read takes one
  // reference instead of three (each reference is two atomic operations,
  // on cache lines every reader shares).
  struct ReadSources {
    std::shared_ptr<MemTable> mem, imm;
    std::shared_ptr<const Version> version;
  };
  // What one read sees: its sources, pinned alive, and its point in time.
  struct ReadView {
    std::shared_ptr<const ReadSources> sources;
    SequenceNumber sequence = 0;
    // The time expiry is judged at: a snapshot's read time, or empty for
    // "now", which the read takes from clock_ when it first needs it.
    std::optional<std::uint64_t> read_time_micros;
  };
  ReadView PinReadView(const ReadOptions& options) ABSL_LOCKS_EXCLUDED(mu_);

  // --- properties (db_properties.cpp) ---
  std::string StatsString() ABSL_LOCKS_EXCLUDED(mu_);
  std::string PrometheusText() ABSL_LOCKS_EXCLUDED(mu_);
  // Bytes of huge page blocks the memtable block pool keeps right now
  // (given back by retired memtables; not the prefaulted ones).
  std::uint64_t MemTableBlocksKeptBytes() const {
    return memtable_block_pool_ == nullptr
               ? 0
               : memtable_block_pool_->kept_blocks() * std::uint64_t{kHugePageBlockBytes};
  }
  // Bytes of memtable blocks cleared ahead and ready right now.
  std::uint64_t MemTableBlocksPrefaultedBytes() const {
    return memtable_block_pool_ == nullptr
               ? 0
               : memtable_block_pool_->prefaulted_blocks() * std::uint64_t{kHugePageBlockBytes};
  }

  // Immutable after construction.
  const Options options_;
  const std::string dir_;
  const std::shared_ptr<FileSystem> fs_;
  const std::shared_ptr<Clock> clock_;
  const std::shared_ptr<SnapshotList> snapshots_;
  // Recycles memtable arena blocks (null for memtables below 32 MiB).
  const std::shared_ptr<HugePageBlockPool> memtable_block_pool_;
  DBStats stats_;
  std::unique_ptr<FileLock> lock_;  // held from Recover() until destruction
  std::unique_ptr<InfoLog> info_log_;

  kv::Mutex mu_;
  std::shared_ptr<MemTable> mem_ ABSL_GUARDED_BY(mu_);
  // Writers queued for the WAL; the front one is the leader.
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(mu_);
  // Queued writers wait on it to be done or to lead. Signalled (all) when a
  // group finishes, after the leader has released mu_: signalling each
  // member while holding mu_ woke it only to block on mu_ again.
  kv::CondVar writers_cv_;
  // The live WAL. Used by the leader without mu_ (see the banner).
  std::unique_ptr<wal::Writer> wal_;
  std::uint64_t wal_number_ ABSL_GUARDED_BY(mu_) = 0;
  // Whether the live WAL's directory entry has been made durable.
  bool wal_dir_synced_ ABSL_GUARDED_BY(mu_) = false;
  // WALs recovered at Open that still hold data not in any table.
  std::vector<std::uint64_t> live_old_wals_ ABSL_GUARDED_BY(mu_);
  // Open table readers and the block cache. Declared before versions_ and
  // read_sources_, so it is destroyed after them: their FileMetaData pin
  // readers (db/table_slot.hpp) that point into its block cache.
  std::unique_ptr<TableCache> table_cache_;
  // The table set and its manifest; also owns the file-number counter and
  // the highest sequence number handed out (last_sequence()).
  std::unique_ptr<VersionSet> versions_ ABSL_GUARDED_BY(mu_);
  // The memtable being flushed, if any (writers stall if another fills up).
  std::shared_ptr<MemTable> imm_ ABSL_GUARDED_BY(mu_);
  // imm_ != nullptr, readable without mu_: a running compaction checks it
  // between keys to flush first (RunCompactionJobLocked).
  std::atomic<bool> imm_pending_{false};
  // mem_, imm_ and the current version as last handed to a read. Rebuilt by
  // PinReadView when any of them has changed since (compared by pointer, so
  // no code that changes them has to remember to refresh it).
  std::shared_ptr<const ReadSources> read_sources_ ABSL_GUARDED_BY(mu_);
  // WAL numbers whose data is all in imm_: deleted once imm_ is flushed.
  std::uint64_t imm_wal_number_ ABSL_GUARDED_BY(mu_) = 0;
  // Highest sequence number whose write is entirely visible to readers.
  std::atomic<SequenceNumber> visible_sequence_{0};
  // Sticky error of the write path: once set, every write fails with it.
  absl::Status bg_error_ ABSL_GUARDED_BY(mu_);
  // Set with bg_error_ when listeners are registered; the background thread
  // delivers it to OnBackgroundError (the failing thread may hold state that
  // forbids releasing mu_ there).
  std::optional<absl::Status> bg_error_to_report_ ABSL_GUARDED_BY(mu_);
  // The leader's scratch batch for merging a group (leader-only, like wal_).
  WriteBatch group_batch_;
  // Sync group gathering (GatherSyncGroupLocked): the writers in flight when
  // the last sync group finished (its members plus those queued behind it),
  // how long its WAL sync took, and whether a leader is waiting for them.
  std::size_t sync_writers_in_flight_ ABSL_GUARDED_BY(mu_) = 1;
  std::uint64_t last_wal_sync_micros_ ABSL_GUARDED_BY(mu_) = 0;
  bool leader_gathering_ ABSL_GUARDED_BY(mu_) = false;

  // --- background work (db_flush.cpp) ---
  std::thread bg_thread_;
  // Signalled when background work finishes a step (flush, compaction,
  // error) or there is new work for it.
  kv::CondVar bg_cv_;
  // Set (under mu_) by the destructor; read without mu_ by long-running
  // background loops so they abandon their work promptly.
  std::atomic<bool> shutting_down_{false};
  // Requests from Flush()/CompactRange() waiting for the background thread.
  int manual_flush_requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t flushes_completed_ ABSL_GUARDED_BY(mu_) = 0;
  struct ManualCompaction {
    std::optional<std::string> begin, end;
    // What one step of CompactRange does with `level`.
    enum class Kind {
      kMergeDown,        // compact into level + 1
      kMoveOrMergeDown,  // the same, but a file with no overlap below moves down
      kInPlace,          // compact into itself (the deepest level holding the range)
    };
    int level = 0;
    Kind kind = Kind::kMergeDown;
    std::uint64_t older_than = 0;  // kInPlace: only files numbered below this
    int runs = 0;                  // rewrites run for it so far (moves not counted)
    bool done = false;
  };
  // A manual request gives up after this many rewrites, so concurrent writes
  // cannot keep it busy forever.
  static constexpr int kMaxManualRuns = 1000;
  ManualCompaction* manual_compaction_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Table numbers being written by the background thread: never deleted as
  // leftovers.
  std::set<std::uint64_t> pending_outputs_ ABSL_GUARDED_BY(mu_);
  // When reads have stopped, for releasing mapped table pages
  // (db_idle_pages.cpp); armed while read pages may be mapped.
  IdleTimer read_idle_timer_ ABSL_GUARDED_BY(mu_){static_cast<std::uint64_t>(
      std::chrono::microseconds(options_.release_idle_table_pages).count())};
  // Per-level bytes read/written by compactions (kv.stats).
  std::vector<std::uint64_t> level_bytes_read_ ABSL_GUARDED_BY(mu_);
  std::vector<std::uint64_t> level_bytes_written_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::detail
