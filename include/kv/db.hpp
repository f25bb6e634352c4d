/// @file
/// kv: an embeddable, durable, ordered, concurrent key-value store.
///
/// One include brings the whole public API:
///
/// @code
///   #include <kv/db.hpp>
///
///   absl::StatusOr<std::unique_ptr<kv::DB>> db = kv::DB::Open({}, "/tmp/mydb");
///   if (!db.ok()) return db.status();
///   KV_RETURN_IF_ERROR((*db)->Put("key", "value"));
///   absl::StatusOr<std::string> v = (*db)->Get("key");      // "value"
///   for (auto it = (*db)->NewIterator(); ...)               // ordered scan
/// @endcode
///
/// Guarantees (details in README.md):
///  - A write that returned OK survives a process crash; with
///    WriteOptions::sync it also survives power loss.
///  - WriteBatch writes are atomic, also across crashes.
///  - Iterators and snapshots see one consistent point in time.
///  - A DB is safe to use from any number of threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/env.hpp"
#include "kv/event_listener.hpp"
#include "kv/iterator.hpp"
#include "kv/status_macros.hpp"
#include "kv/write_batch.hpp"

/// kv's public API and its reusable building blocks (internals live in
/// kv::detail).
namespace kv {

/// How a DB is opened and tuned. A plain aggregate: designated initializers
/// work, e.g. kv::Options{.memtable_bytes = 4 << 20}. Options::Validate()
/// explains the first bad field.
struct Options {
  /// Create the DB if the directory holds none. Otherwise Open fails with
  /// kInvalidArgument.
  bool create_if_missing = true;
  /// Fail Open with kInvalidArgument if a DB already exists in the directory.
  bool error_if_exists = false;
  /// Memtable size that triggers a flush to an SSTable. Larger: fewer, larger
  /// L0 files and faster writes; more memory and a longer WAL replay.
  std::size_t memtable_bytes = 64 << 20;
  /// Target size of an SSTable data block. Larger: smaller index, better scan
  /// throughput; more bytes read per point lookup.
  std::size_t block_bytes = 4 << 10;
  /// Entries between restart points (keys stored whole) in a data block;
  /// the entries in between store only what their key adds to the one
  /// before. Smaller: a point lookup or seek decodes fewer entries after its
  /// binary search (about (interval + 1) / 2 on average); larger: smaller
  /// tables, since restart keys forgo prefix compression. Range 1 .. 1024;
  /// see docs/TUNING.md.
  int block_restart_interval = 16;
  /// Bloom filter bits per key; 0 disables filters. 10 gives ~1% false
  /// positives for lookups of absent keys.
  int bloom_bits_per_key = 10;
  /// Capacity of the block cache (data and index blocks), in bytes.
  std::size_t block_cache_bytes = 64 << 20;
  /// Memory-mapped tables: once no read (Get, iterator, snapshot read) has
  /// started for this long, the background thread drops the process's page
  /// table entries for every table (the data stays in the OS page cache; the
  /// next read maps its pages back in, a minor fault per 64 KiB or so). Read
  /// pages otherwise count toward the process's resident set (RSS) for as
  /// long as their table lives, even through hours of writes only. The check
  /// runs every this often while pages may be mapped, so pages go between
  /// one and two periods after the last read. 0 keeps them (no timer).
  std::chrono::milliseconds release_idle_table_pages{200};
  /// Fail Open with kDataLoss on any corruption found during recovery,
  /// instead of keeping the consistent prefix and reporting what was dropped.
  /// Also makes each table check its index structure when it is opened, and
  /// memory-mapped tables verify a block's checksum on every read rather
  /// than once.
  bool paranoid_checks = false;

  /// @name Compaction (leveled)
  /// @{

  /// L0 file count that triggers an L0 -> L1 compaction.
  int level0_compaction_trigger = 4;
  /// L0 file count at which each write is delayed ~1 ms.
  int level0_slowdown_trigger = 20;
  /// L0 file count at which writes wait for compaction.
  int level0_stop_trigger = 36;
  /// Size target of level 1; level N+1's target is level_size_ratio times N's.
  std::uint64_t level1_target_bytes = 64ull << 20;
  /// Growth factor between the size targets of adjacent levels (>= 2).
  int level_size_ratio = 10;
  /// Number of levels (L0 .. num_levels-1).
  int num_levels = 7;
  /// Target size of one SSTable written by compaction.
  std::uint64_t target_file_bytes = 8ull << 20;

  /// @}

  /// @name Write path
  /// @{

  /// Byte cap of one group commit: a huge batch does not hold small ones
  /// hostage beyond this.
  std::size_t max_write_group_bytes = 1 << 20;

  /// @}

  /// @name Environment
  /// @{

  /// Open SSTable files kept by the table cache: up to half pinned to their
  /// live tables (found without a lock), the rest least recently used.
  int max_open_files = 1000;
  /// All file I/O. nullptr: the POSIX file system (FileSystem::Default()).
  std::shared_ptr<FileSystem> file_system = nullptr;
  /// Time, for TTL expiry and stall accounting. nullptr: the system clock.
  std::shared_ptr<Clock> clock = nullptr;
  /// Callbacks on flushes, compactions and background errors; see
  /// kv/event_listener.hpp. Called on the background thread.
  std::vector<std::shared_ptr<EventListener>> listeners = {};
  /// @}

  /// OK, or kInvalidArgument naming the first bad field.
  [[nodiscard]] absl::Status Validate() const;
};

/// Options for one write (Put, Delete, Write).
struct WriteOptions {
  /// true: the write is durable across power loss before it returns (fdatasync).
  /// false: durable across a process crash (the OS has it), not power loss.
  bool sync = false;
  /// > 0: every Put in this write expires `ttl` after the write, unless the
  /// batch entry has its own TTL. Negative: kInvalidArgument.
  std::chrono::seconds ttl{0};
};

class Snapshot;

/// Options for one read (Get, NewIterator).
struct ReadOptions {
  /// nullptr: read the latest state.
  const Snapshot* snapshot = nullptr;
  /// Verify block checksums (kDataLoss on mismatch). Each block is checked
  /// when first read from its file: on entering the block cache, or, for a
  /// memory-mapped table, on the open table's first read of it (every read
  /// with Options::paranoid_checks).
  bool verify_checksums = true;
  /// Keep blocks read by this operation in the block cache.
  bool fill_cache = true;
};

namespace detail {
class SnapshotList;
}

/// A consistent point-in-time view: reads through it see exactly the writes
/// made before it was taken, and judge TTL expiry at that time. Obtained from
/// DB::GetSnapshot(); releasing it (destroying the unique_ptr) lets
/// compaction drop the versions it was keeping. Destroy before its DB.
class Snapshot {
 public:
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  /// The newest sequence number visible through this snapshot.
  std::uint64_t sequence() const { return sequence_; }
  /// The wall-clock time (µs since the epoch) at which expiry is judged.
  std::uint64_t read_time_micros() const { return read_time_micros_; }

 private:
  friend class detail::SnapshotList;
  Snapshot(std::shared_ptr<detail::SnapshotList> list, std::uint64_t sequence,
           std::uint64_t read_time_micros)
      : list_(std::move(list)), sequence_(sequence), read_time_micros_(read_time_micros) {}

  std::shared_ptr<detail::SnapshotList> list_;
  std::uint64_t sequence_;
  std::uint64_t read_time_micros_;
};

/// Progress of DB::VerifyChecksums, reported after each table file.
struct VerifyProgress {
  std::uint64_t files_done = 0;   ///< table files verified so far
  std::uint64_t files_total = 0;  ///< live table files when verification began
  std::uint64_t bytes_done = 0;   ///< their bytes verified so far
  std::uint64_t bytes_total = 0;  ///< their total bytes
  std::string current_file;       ///< the file just verified
};

/// Options for DB::VerifyChecksums.
struct VerifyOptions {
  /// Called after each file (from the calling thread). May be empty.
  std::function<void(const VerifyProgress&)> progress = nullptr;
};

/// The database. Safe to use from any number of threads at once.
class DB {
 public:
  /// Opens (or creates, per options) the DB in `dir`. A directory is open by
  /// at most one DB at a time, across processes: a second Open fails with
  /// kFailedPrecondition and touches nothing.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DB>> Open(const Options& options,
                                                                const std::filesystem::path& dir);

  /// Removes kv's own files from `dir` (and `dir` itself if then empty).
  /// kFailedPrecondition if the DB is open.
  [[nodiscard]] static absl::Status Destroy(const std::filesystem::path& dir,
                                            const Options& options = {});

  /// Closes the DB: stops background work, releases the directory lock.
  /// Every acknowledged write is already in the WAL or an SSTable.
  virtual ~DB();

  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;

  /// Sets key to value.
  [[nodiscard]] absl::Status Put(const WriteOptions& options, std::string_view key,
                                 std::string_view value);
  /// Put with default WriteOptions.
  [[nodiscard]] absl::Status Put(std::string_view key, std::string_view value) {
    return Put(WriteOptions{}, key, value);
  }
  /// Removes key. Deleting an absent key is OK.
  [[nodiscard]] absl::Status Delete(const WriteOptions& options, std::string_view key);
  /// Delete with default WriteOptions.
  [[nodiscard]] absl::Status Delete(std::string_view key) { return Delete(WriteOptions{}, key); }
  /// Applies every entry of the batch atomically. An empty batch is OK.
  [[nodiscard]] virtual absl::Status Write(const WriteOptions& options,
                                           const WriteBatch& batch) = 0;

  /// Reads key into *value. kNotFound if absent, deleted or expired.
  [[nodiscard]] virtual absl::Status Get(const ReadOptions& options, std::string_view key,
                                         std::string* value) = 0;
  /// Get with default ReadOptions: the value, or kNotFound.
  [[nodiscard]] absl::StatusOr<std::string> Get(std::string_view key);

  /// An iterator over the DB at one point in time (the snapshot's, or now).
  /// Destroy it before the DB.
  [[nodiscard]] virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options = {}) = 0;
  /// A handle on the current state. Destroy it before the DB.
  [[nodiscard]] virtual std::unique_ptr<const Snapshot> GetSnapshot() = 0;

  /// Writes the memtable to an SSTable and waits for it. A compaction that
  /// was running may still be running when it returns (it flushes the
  /// memtable between two of its keys).
  [[nodiscard]] virtual absl::Status Flush() = 0;
  /// Flushes the memtable, then compacts the tables overlapping [begin, end]
  /// (nullopt: unbounded) level by level, from L0 down into the deepest
  /// level holding part of the range (L1 if only L0 does), and rewrites
  /// that level's other tables in the range in place; then returns. The
  /// range then lies in that one level with overwritten and deleted
  /// versions and expired entries dropped (those that no snapshot or
  /// iterator can still see). Calling it again does not move the data
  /// deeper.
  [[nodiscard]] virtual absl::Status CompactRange(std::optional<std::string_view> begin,
                                                  std::optional<std::string_view> end) = 0;
  /// Reads every block of every live table file from disk (bypassing the
  /// block cache) and checks its checksum, the table's structure and its key
  /// order. OK if all is well; otherwise kDataLoss naming the file and the
  /// offset of the first bad block. Runs concurrently with reads and writes;
  /// tables created meanwhile are not checked.
  [[nodiscard]] virtual absl::Status VerifyChecksums(const VerifyOptions& options = {}) = 0;
  /// A DB property: "kv.stats", "kv.num-files-at-level<N>", "kv.prometheus".
  /// nullopt if the name is unknown.
  [[nodiscard]] virtual std::optional<std::string> GetProperty(std::string_view name) = 0;

 protected:
  DB() = default;
};

}  // namespace kv
