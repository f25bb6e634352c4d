/// @file
/// FaultInjectionFileSystem: a FileSystem wrapper for crash and error tests.
/// It forwards every call to a base FileSystem (normally NewMemFileSystem())
/// and can (1) make chosen calls fail with a chosen errno, (2) refuse every
/// mutation, as a crashed machine would, and (3) simulate a power loss that
/// throws away everything the program had not made durable.
///
/// @code
///   auto fs = std::make_shared<kv::FaultInjectionFileSystem>(kv::NewMemFileSystem());
///   fs->FailNth(kv::FaultOp::kSync, 3, ENOSPC);   // the 3rd Sync from now fails once
///   ... run code against fs ...
///   fs->SetActive(false);                          // the machine "stops": writes fail
///   db.reset();                                    // close whatever used it
///   REQUIRE_OK(fs->SimulatePowerLoss());           // drop what was not durable
///   fs->SetActive(true);                           // "reboot", then reopen and check
/// @endcode
///
/// The durability model (strict POSIX, not what ext4 happens to do):
///  * File data. A file's durable contents are what it held at its last
///    successful WritableFile::Sync. Bytes appended after it, and the effect of
///    TruncateFile or of NewWritableFile's truncation after it, are lost at
///    power loss. A file created and never synced comes back empty (if its name
///    survives at all). Sync on any WritableFile of a file makes the file's
///    whole current contents durable (including a truncation made by path).
///  * Directory entries. Creating a file (NewWritableFile, NewAppendableFile,
///    LockFile of a missing file), RenameFile and RemoveFile change directory
///    entries; each change is durable only once SyncDir of the directory
///    holding that entry succeeds afterwards (a rename touches the entries of
///    both names, in their own directories). At power loss every entry not
///    made durable reverts to the file it named at the last SyncDir of its
///    directory, or disappears if it named none: an unsynced creation vanishes,
///    an unsynced rename brings the old name back and gives the target what it
///    named before, an unsynced removal brings the file back. Each name comes
///    back with the durable contents of the file it names. (If a rename was
///    made durable in only one of its two directories, both names may come
///    back, each with its own copy of the contents.)
///  * Directories themselves: CreateDir and RemoveDir are durable at once (and
///    RemoveDir makes the removals inside that directory durable).
///  * Files that existed in the base before this wrapper first touched them
///    count as durable, contents and name, as do files never mutated through it.
///  * A failed call (injected or from the base) changes nothing, and a failed
///    Sync / SyncDir makes nothing durable.
///  * Torn writes (SetTornWrites(true), off by default): real disks do not
///    drop a file's unsynced appends all at once; they may have written part
///    of them. Then, for each surviving file whose current contents are its
///    durable contents plus appended bytes (no truncation below the durable
///    size since the last Sync), power loss keeps a prefix of those unsynced
///    bytes: none, all, or any length in between, drawn from the seed. With
///    a garbage probability g > 0, a kept non-empty tail has, with
///    probability g, its last 1..16 bytes replaced by random bytes (a sector
///    written partially). Synced bytes are never touched.
/// After SimulatePowerLoss the base holds exactly the durable state, the model
/// restarts from it (everything now durable), every lock taken through this
/// wrapper is released, and every file object opened before is dead: its
/// calls fail with kUnavailable and never touch the new state.
///
/// Faults: each FaultOp below counts its calls (Count). FailNth(op, n, err)
/// makes the n-th call of `op` from now fail once with IoError(path, err);
/// FailAlways(op, err, sub) makes every call of `op` whose path contains `sub`
/// fail until ClearFaults. An injected failure has no effect on the files.
/// SetErrorRate(op, p, sub) makes each call of `op` whose path contains `sub`
/// fail with probability p. SetReadBitFlipRate(p, sub) makes each successful,
/// non-empty Read (SequentialFile or RandomAccessFile) of a matching path
/// return its data with one random bit flipped, with probability p (the
/// file itself is unchanged). Every random choice (these, and torn writes)
/// comes from one generator seeded by SetSeed (default seed 0), so a
/// single-threaded run is reproducible; with concurrent callers the order of
/// draws, hence the outcome, depends on scheduling. GetFaultCounters() says
/// how many faults of each kind were injected.
/// When inactive (SetActive(false)) every mutating call (opening for write,
/// Append, Sync, SyncDir, RenameFile, RemoveFile, TruncateFile, CreateDir,
/// RemoveDir, LockFile) fails with kUnavailable; reads still work.
///
/// Its RandomAccessFiles expose no mapping (Mapped() is nullopt), so every
/// read goes through Read, where read faults apply.
///
/// Paths are compared after normalization (duplicate and trailing '/' and a
/// leading "./" removed), so use one spelling per file. Thread-safe: every
/// call is serialized by one mutex (reads of file contents run outside it).
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/env.hpp"

namespace kv {
namespace detail {
struct FaultFsState;  // shared with the file objects, which may outlive the FS
}  // namespace detail

/// The operations whose calls are counted and can be made to fail.
enum class FaultOp : int {
  kAppend,       ///< WritableFile::Append
  kSync,         ///< WritableFile::Sync
  kSyncDir,      ///< FileSystem::SyncDir
  kRename,       ///< FileSystem::RenameFile (the path is "from -> to")
  kRemove,       ///< FileSystem::RemoveFile
  kNewWritable,  ///< FileSystem::NewWritableFile and NewAppendableFile
  kRead,         ///< SequentialFile::Read, SequentialFile::Skip, RandomAccessFile::Read
  kTruncate,     ///< FileSystem::TruncateFile
  kOpenRead,     ///< FileSystem::NewSequentialFile and NewRandomAccessFile
  kClose,        ///< WritableFile::Close (the file is closed even when it fails)
  kCreateDir,    ///< FileSystem::CreateDir
  kRemoveDir,    ///< FileSystem::RemoveDir
  kLock,         ///< FileSystem::LockFile
};
/// Number of FaultOp values.
inline constexpr int kNumFaultOps = static_cast<int>(FaultOp::kLock) + 1;

/// "Append", "Sync", ... for messages.
std::string_view FaultOpName(FaultOp op);

/// How many faults a FaultInjectionFileSystem injected, by kind.
struct FaultCounters {
  /// Calls failed by an injected error, by FaultOp (FailNth, FailAlways and
  /// SetErrorRate together; not the kUnavailable of an inactive FS).
  std::array<std::uint64_t, kNumFaultOps> injected{};
  std::uint64_t random_errors = 0;   ///< of those, the ones from SetErrorRate
  std::uint64_t bit_flips = 0;       ///< reads returned with a flipped bit
  std::uint64_t power_losses = 0;    ///< SimulatePowerLoss calls that succeeded
  std::uint64_t unsynced_tails = 0;  ///< files that had unsynced appends at a power loss
  std::uint64_t torn_tails = 0;      ///< of those, kept partly or wholly (torn writes)
  std::uint64_t torn_bytes = 0;      ///< unsynced bytes kept by torn writes
  std::uint64_t garbage_tails = 0;   ///< torn tails whose end was garbled
  std::uint64_t garbage_bytes = 0;   ///< bytes replaced by random ones

  /// Sum of `injected` over every FaultOp.
  std::uint64_t injected_total() const;
  /// Adds `other`'s counters to these, field by field.
  FaultCounters& operator+=(const FaultCounters& other);
  /// One line, e.g. "power_losses=3 unsynced_tails=7 torn_tails=5 ...".
  std::string ToString() const;
};

/// The fault-injecting FileSystem wrapper; see the file comment.
class FaultInjectionFileSystem final : public FileSystem {
 public:
  /// REQUIRES: base != nullptr.
  explicit FaultInjectionFileSystem(std::shared_ptr<FileSystem> base);
  ~FaultInjectionFileSystem() override;
  FaultInjectionFileSystem(const FaultInjectionFileSystem&) = delete;
  FaultInjectionFileSystem& operator=(const FaultInjectionFileSystem&) = delete;

  /// The n-th call of `op` from now on (n = 1: the next one) fails once with
  /// `err`. Replaces an earlier FailNth for the same op.
  /// REQUIRES: n >= 1.
  void FailNth(FaultOp op, int n, int err = EIO);
  /// Every call of `op` whose path contains `path_substring` ("" = all) fails
  /// with `err` until ClearFaults. Several rules may be active at once.
  void FailAlways(FaultOp op, int err, std::string path_substring = "");
  /// Each call of `op` whose path contains `path_substring` ("" = all) fails
  /// with `err` with probability p. Replaces an earlier rate for the same op
  /// and substring; p = 0 removes it.
  /// REQUIRES: 0 <= p <= 1.
  void SetErrorRate(FaultOp op, double p, std::string path_substring = "", int err = EIO);
  /// SetErrorRate(FaultOp::kRead, ...): SequentialFile/RandomAccessFile reads
  /// (and SequentialFile::Skip) fail with EIO with probability p.
  void SetReadErrorRate(double p, std::string path_substring = "") {
    SetErrorRate(FaultOp::kRead, p, std::move(path_substring), EIO);
  }
  /// Each successful non-empty Read of a path containing `path_substring`
  /// returns its data with one random bit flipped, with probability p.
  /// Replaces an earlier rate for the same substring; p = 0 removes it.
  /// REQUIRES: 0 <= p <= 1.
  void SetReadBitFlipRate(double p, std::string path_substring = "");
  /// Removes every FailNth, FailAlways, error-rate and bit-flip rule
  /// (counters, the seed and the torn-writes setting are kept).
  void ClearFaults();

  /// Reseeds the generator behind every random fault.
  void SetSeed(std::uint64_t seed);
  /// Torn writes at power loss (see the durability model above). REQUIRES:
  /// 0 <= garbage_probability <= 1.
  void SetTornWrites(bool enabled, double garbage_probability = 0.0);
  /// How many faults were injected since construction or ResetFaultCounters.
  FaultCounters GetFaultCounters() const;
  /// Zeroes the fault counters.
  void ResetFaultCounters();
  /// Calls of `op` since construction or ResetCounts, failed ones included.
  std::uint64_t Count(FaultOp op) const;
  /// Zeroes the call counts of every FaultOp.
  void ResetCounts();

  /// Inactive = a crashed machine: every mutating call fails with kUnavailable.
  void SetActive(bool active);
  /// False while inactive (SetActive(false)).
  bool IsActive() const;

  /// Reverts the base to the durable state described above. Fails only if the
  /// base does (then the state is unspecified).
  [[nodiscard]] absl::Status SimulatePowerLoss();

  /// The wrapped FileSystem.
  const std::shared_ptr<FileSystem>& base() const;

  // FileSystem:
  [[nodiscard]] absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override;
  [[nodiscard]] bool FileExists(const std::string& path) override;
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> GetChildren(
      const std::string& dir) override;
  [[nodiscard]] absl::StatusOr<std::uint64_t> GetFileSize(const std::string& path) override;
  [[nodiscard]] absl::Status RemoveFile(const std::string& path) override;
  [[nodiscard]] absl::Status CreateDir(const std::string& dir) override;
  [[nodiscard]] absl::Status RemoveDir(const std::string& dir) override;
  [[nodiscard]] absl::Status RenameFile(const std::string& from, const std::string& to) override;
  [[nodiscard]] absl::Status TruncateFile(const std::string& path, std::uint64_t size) override;
  [[nodiscard]] absl::Status SyncDir(const std::string& dir) override;
  [[nodiscard]] absl::StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& path) override;

 private:
  const std::shared_ptr<detail::FaultFsState> state_;
};

}  // namespace kv
