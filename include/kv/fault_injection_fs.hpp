// FaultInjectionFileSystem: a FileSystem wrapper for crash and error tests.
// It forwards every call to a base FileSystem (normally NewMemFileSystem())
// and can (1) make chosen calls fail with a chosen errno, (2) refuse every
// mutation, as a crashed machine would, and (3) simulate a power loss that
// throws away everything the program had not made durable.
//
//   auto fs = std::make_shared<kv::FaultInjectionFileSystem>(kv::NewMemFileSystem());
//   fs->FailNth(kv::FaultOp::kSync, 3, ENOSPC);   // the 3rd Sync from now fails once
//   ... run code against fs ...
//   fs->SetActive(false);                          // the machine "stops": writes fail
//   db.reset();                                    // close whatever used it
//   REQUIRE_OK(fs->SimulatePowerLoss());           // drop what was not durable
//   fs->SetActive(true);                           // "reboot", then reopen and check
//
// The durability model (strict POSIX, not what ext4 happens to do):
//  * File data. A file's durable contents are what it held at its last
//    successful WritableFile::Sync. Bytes appended after it, and the effect of
//    TruncateFile or of NewWritableFile's truncation after it, are lost at
//    power loss. A file created and never synced comes back empty (if its name
//    survives at all). Sync on any WritableFile of a file makes the file's
//    whole current contents durable (including a truncation made by path).
//  * Directory entries. Creating a file (NewWritableFile, NewAppendableFile,
//    LockFile of a missing file), RenameFile and RemoveFile change directory
//    entries; each change is durable only once SyncDir of the directory
//    holding that entry succeeds afterwards (a rename touches the entries of
//    both names, in their own directories). At power loss every entry not
//    made durable reverts to the file it named at the last SyncDir of its
//    directory, or disappears if it named none: an unsynced creation vanishes,
//    an unsynced rename brings the old name back and gives the target what it
//    named before, an unsynced removal brings the file back. Each name comes
//    back with the durable contents of the file it names. (If a rename was
//    made durable in only one of its two directories, both names may come
//    back, each with its own copy of the contents.)
//  * Directories themselves: CreateDir and RemoveDir are durable at once (and
//    RemoveDir makes the removals inside that directory durable).
//  * Files that existed in the base before this wrapper first touched them
//    count as durable, contents and name, as do files never mutated through it.
//  * A failed call (injected or from the base) changes nothing, and a failed
//    Sync / SyncDir makes nothing durable.
// After SimulatePowerLoss the base holds exactly the durable state, the model
// restarts from it (everything now durable), every lock taken through this
// wrapper is released, and every file object opened before is dead: its
// calls fail with kUnavailable and never touch the new state.
//
// Faults: each FaultOp below counts its calls (Count). FailNth(op, n, err)
// makes the n-th call of `op` from now fail once with IoError(path, err);
// FailAlways(op, err, sub) makes every call of `op` whose path contains `sub`
// fail until ClearFaults. An injected failure has no effect on the files.
// When inactive (SetActive(false)) every mutating call (opening for write,
// Append, Sync, SyncDir, RenameFile, RemoveFile, TruncateFile, CreateDir,
// RemoveDir, LockFile) fails with kUnavailable; reads still work.
//
// Paths are compared after normalization (duplicate and trailing '/' and a
// leading "./" removed), so use one spelling per file. Thread-safe: every
// call is serialized by one mutex (reads of file contents run outside it).
#pragma once

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

// The operations whose calls are counted and can be made to fail.
enum class FaultOp : int {
  kAppend,       // WritableFile::Append
  kSync,         // WritableFile::Sync
  kSyncDir,      // FileSystem::SyncDir
  kRename,       // FileSystem::RenameFile (the path is "from -> to")
  kRemove,       // FileSystem::RemoveFile
  kNewWritable,  // FileSystem::NewWritableFile and NewAppendableFile
  kRead,         // SequentialFile::Read, SequentialFile::Skip, RandomAccessFile::Read
  kTruncate,     // FileSystem::TruncateFile
  kOpenRead,     // FileSystem::NewSequentialFile and NewRandomAccessFile
  kClose,        // WritableFile::Close (the file is closed even when it fails)
  kCreateDir,    // FileSystem::CreateDir
  kRemoveDir,    // FileSystem::RemoveDir
  kLock,         // FileSystem::LockFile
};
inline constexpr int kNumFaultOps = static_cast<int>(FaultOp::kLock) + 1;

// "Append", "Sync", ... for messages.
std::string_view FaultOpName(FaultOp op);

class FaultInjectionFileSystem final : public FileSystem {
 public:
  // REQUIRES: base != nullptr.
  explicit FaultInjectionFileSystem(std::shared_ptr<FileSystem> base);
  ~FaultInjectionFileSystem() override;
  FaultInjectionFileSystem(const FaultInjectionFileSystem&) = delete;
  FaultInjectionFileSystem& operator=(const FaultInjectionFileSystem&) = delete;

  // The n-th call of `op` from now on (n = 1: the next one) fails once with
  // `err`. Replaces an earlier FailNth for the same op.
  // REQUIRES: n >= 1.
  void FailNth(FaultOp op, int n, int err = EIO);
  // Every call of `op` whose path contains `path_substring` ("" = all) fails
  // with `err` until ClearFaults. Several rules may be active at once.
  void FailAlways(FaultOp op, int err, std::string path_substring = "");
  // Removes every FailNth and FailAlways rule (counters are kept).
  void ClearFaults();
  // Calls of `op` since construction or ResetCounts, failed ones included.
  std::uint64_t Count(FaultOp op) const;
  void ResetCounts();

  // Inactive = a crashed machine: every mutating call fails with kUnavailable.
  void SetActive(bool active);
  bool IsActive() const;

  // Reverts the base to the durable state described above. Fails only if the
  // base does (then the state is unspecified).
  [[nodiscard]] absl::Status SimulatePowerLoss();

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
