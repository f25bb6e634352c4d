/// @file
/// The narrow file-system and clock interfaces all of kv's I/O and time go
/// through, so that tests can run a DB in memory, inject faults, simulate
/// power loss and control time.
///
/// @code
///   std::shared_ptr<kv::FileSystem> fs = kv::FileSystem::Default();   // POSIX
///   std::shared_ptr<kv::FileSystem> mem = kv::NewMemFileSystem();      // in memory
///   KV_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile("/tmp/x"));
/// @endcode
///
/// Paths are plain strings; kv joins them with '/'. Errors are absl::Status
/// values whose message names the path; errno-derived codes for real I/O
/// errors (ENOENT -> kNotFound, ENOSPC -> kResourceExhausted, ...).
///
/// Thread-safety: a FileSystem and a Clock may be used from any thread. A
/// single file object is used by one thread at a time, except
/// RandomAccessFile::Read, which is safe to call concurrently.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kv {

/// A file read from the front to the back (WAL and MANIFEST replay).
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  /// Reads up to `n` bytes into `scratch` (which has room for n) and returns a
  /// view of what was read: shorter than n only at end of file, empty at EOF.
  [[nodiscard]] virtual absl::StatusOr<std::string_view> Read(std::size_t n, char* scratch) = 0;
  /// Skips `n` bytes (stopping at end of file).
  [[nodiscard]] virtual absl::Status Skip(std::uint64_t n) = 0;
};

/// A file read at arbitrary offsets (SSTables). Read is thread-safe.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  /// Reads up to `n` bytes at `offset` into `scratch`; the result may point
  /// into `scratch` or elsewhere (e.g. a mapping) and is shorter than n only
  /// at end of file.
  [[nodiscard]] virtual absl::StatusOr<std::string_view> Read(std::uint64_t offset, std::size_t n,
                                                              char* scratch) const = 0;
  /// The file's size in bytes.
  [[nodiscard]] virtual absl::StatusOr<std::uint64_t> Size() const = 0;
  /// The whole file, if it is memory-mapped: readers may then slice it
  /// directly (zero-copy) instead of calling Read. The view stays valid and
  /// unchanged for as long as this object lives. nullopt (the default) for
  /// files read through Read only.
  virtual std::optional<std::string_view> Mapped() const { return std::nullopt; }
  /// For a mapped file: drops this process's page table entries for the
  /// mapping, so its pages stop counting toward the process's resident set.
  /// Contents are unaffected (the pages stay in the OS page cache, and the
  /// next access maps them back in); safe while other threads read through
  /// Mapped(). Nothing (the default) for files that are not mapped.
  virtual void ReleaseMappedPages() const {}
};

/// An append-only file. Append hands bytes to the OS (they survive a process
/// crash once Append returns); Sync makes them durable (fdatasync).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  /// Appends `data` at the end of the file.
  [[nodiscard]] virtual absl::Status Append(std::string_view data) = 0;
  /// Makes every appended byte durable across power loss. The file's *name*
  /// is durable only after FileSystem::SyncDir of its directory.
  [[nodiscard]] virtual absl::Status Sync() = 0;
  /// Closes the file (without syncing it).
  [[nodiscard]] virtual absl::Status Close() = 0;
  /// Bytes appended so far (including any that existed when opened).
  virtual std::uint64_t Size() const = 0;
  /// Asks the file to reserve disk space `chunk_bytes` at a time ahead of
  /// its appends (0: stop reserving). The file's length on disk then runs
  /// ahead of Size(), the reserved tail reading as zeros, so an append inside
  /// the reservation does not change the length and Sync has no length
  /// update to make durable: on ext4 a small append + fdatasync ran 1.6-1.8x
  /// as often per second in a microbenchmark here. Only for formats that read trailing zeros as the
  /// end (the log format does). Close trims the file back to Size(); after a crash the zeros
  /// remain. A hint: the default, and file systems that cannot reserve space, ignore it.
  /// The POSIX file system also copies appends into a shared mapping of the
  /// reserved space instead of calling write(2) for each, with the same
  /// crash guarantees (see src/env/posix_writable_file.cpp).
  virtual void SetPreallocation(std::uint64_t chunk_bytes) { (void)chunk_bytes; }
  /// Asks the file to start writing its appended bytes back to the device
  /// each time `bytes` more have been appended (0: never), without waiting
  /// for the writes, so a later Sync has less left to do: a log synced only
  /// when it is retired (the WAL at a memtable switch) then syncs in a
  /// fraction of the time. Durability is unchanged: only Sync promises it.
  /// A hint: the default, and file systems that cannot, ignore it.
  virtual void SetWritebackInterval(std::uint64_t bytes) { (void)bytes; }
};

/// An OS-level lock on a file; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

/// Files, directories and locks. kv never touches the disk except through
/// one of these (Options::file_system).
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  /// The process-wide POSIX file system.
  static std::shared_ptr<FileSystem> Default();

  /// Opens an existing file for reading from the front.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) = 0;
  /// Opens an existing file for reading at arbitrary offsets.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  /// Creates the file, or truncates it if it exists.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  /// Opens for appending, creating the file if absent.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;

  /// True if `path` exists.
  [[nodiscard]] virtual bool FileExists(const std::string& path) = 0;
  /// Names (not paths) of the entries of `dir`, excluding "." and "..".
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> GetChildren(
      const std::string& dir) = 0;
  /// The size of the file at `path`, in bytes.
  [[nodiscard]] virtual absl::StatusOr<std::uint64_t> GetFileSize(const std::string& path) = 0;
  /// Deletes the file at `path`.
  [[nodiscard]] virtual absl::Status RemoveFile(const std::string& path) = 0;
  /// Creates `dir` (and missing parents); OK if it already exists.
  [[nodiscard]] virtual absl::Status CreateDir(const std::string& dir) = 0;
  /// Removes an empty directory.
  [[nodiscard]] virtual absl::Status RemoveDir(const std::string& dir) = 0;
  /// Atomically replaces `to` with `from`. Durable only after SyncDir.
  [[nodiscard]] virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  /// Shrinks (or extends with zeros) the file to `size` bytes.
  [[nodiscard]] virtual absl::Status TruncateFile(const std::string& path, std::uint64_t size) = 0;
  /// Makes the directory's entries (creations, renames, removals) durable.
  [[nodiscard]] virtual absl::Status SyncDir(const std::string& dir) = 0;
  /// Takes an exclusive lock on `path` (creating it if needed) that conflicts
  /// both with other processes and with other locks in this process.
  /// kFailedPrecondition if it is already held.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& path) = 0;
};

/// Time, separate from files so tests can control it.
class Clock {
 public:
  virtual ~Clock() = default;
  /// The process-wide system clock.
  static std::shared_ptr<Clock> Default();
  /// Wall-clock time in microseconds since the Unix epoch (TTL expiry).
  virtual std::uint64_t NowMicros() = 0;
  /// A monotonic time in microseconds (durations, stall accounting).
  virtual std::uint64_t MonotonicMicros() = 0;
  /// Blocks the calling thread for about `micros` microseconds.
  virtual void SleepForMicros(std::uint64_t micros) = 0;
};

/// A clock that only moves when told to: for TTL tests.
class ManualClock final : public Clock {
 public:
  /// Starts at `start_micros` (by default a fixed time in 2001).
  explicit ManualClock(std::uint64_t start_micros = 1'000'000'000'000'000ull)
      : now_(start_micros) {}
  std::uint64_t NowMicros() override { return now_.load(); }
  std::uint64_t MonotonicMicros() override { return now_.load(); }
  /// Sleeping advances the manual time so that waits terminate.
  void SleepForMicros(std::uint64_t micros) override { now_.fetch_add(micros); }
  /// Moves both times forward by `micros`.
  void Advance(std::uint64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<std::uint64_t> now_;
};

/// A file system that lives entirely in memory (a DB in it vanishes with the
/// object). Thread-safe. Sync and SyncDir are no-ops.
std::shared_ptr<FileSystem> NewMemFileSystem();

/// Joins a directory and a file name with exactly one '/'.
inline std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

/// Reads a whole file into a string (small files: CURRENT, tests).
[[nodiscard]] absl::StatusOr<std::string> ReadFileToString(FileSystem& fs, const std::string& path);
/// Writes `data` to a new file at `path`, optionally syncing it.
[[nodiscard]] absl::Status WriteStringToFile(FileSystem& fs, std::string_view data,
                                             const std::string& path, bool sync);

}  // namespace kv
