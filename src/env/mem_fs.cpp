// NewMemFileSystem(): a FileSystem held entirely in memory.
//
// Model: a table of normalized path -> shared file contents (an "inode") and
// a set of directories, all under one mutex. Open files hold the contents by
// shared_ptr, so like POSIX descriptors they keep working after the name is
// renamed or removed. "/" and "." always exist. Errors use the errno a POSIX
// system would give (ENOENT for a missing file or parent, ENOTEMPTY, EISDIR,
// ...) mapped by detail::IoError, so tests see the same codes on both.
//
// Lock order: MemFileSystem::mu_ before MemFile::mu.
#include <algorithm>
#include <cassert>
#include <cerrno>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "env/io_error.hpp"
#include "env/path_util.hpp"
#include "kv/env.hpp"
#include "kv/mutex.hpp"

namespace kv {
namespace {

using detail::IoError;
using detail::NormalizePath;
using detail::ParentDir;

// The contents of one file, shared by its name and every open handle.
struct MemFile {
  mutable kv::Mutex mu;
  std::string data ABSL_GUARDED_BY(mu);

  std::uint64_t Size() const {
    kv::MutexLock l(&mu);
    return data.size();
  }
  // Copies up to n bytes at offset into scratch; returns the count.
  std::size_t ReadAt(std::uint64_t offset, std::size_t n, char* scratch) const {
    kv::MutexLock l(&mu);
    if (offset >= data.size()) return 0;
    const std::size_t len = std::min<std::uint64_t>(n, data.size() - offset);
    std::copy_n(data.data() + offset, len, scratch);
    return len;
  }
};

class MemSequentialFile final : public SequentialFile {
 public:
  explicit MemSequentialFile(std::shared_ptr<const MemFile> file) : file_(std::move(file)) {}

  absl::StatusOr<std::string_view> Read(std::size_t n, char* scratch) override {
    const std::size_t got = file_->ReadAt(pos_, n, scratch);
    pos_ += got;
    return std::string_view(scratch, got);
  }
  absl::Status Skip(std::uint64_t n) override {
    pos_ += n;
    return absl::OkStatus();
  }

 private:
  const std::shared_ptr<const MemFile> file_;
  std::uint64_t pos_ = 0;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<const MemFile> file) : file_(std::move(file)) {}

  absl::StatusOr<std::string_view> Read(std::uint64_t offset, std::size_t n,
                                        char* scratch) const override {
    return std::string_view(scratch, file_->ReadAt(offset, n, scratch));
  }
  absl::StatusOr<std::uint64_t> Size() const override { return file_->Size(); }

 private:
  const std::shared_ptr<const MemFile> file_;
};

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemFile> file)
      : path_(std::move(path)), file_(std::move(file)) {}

  absl::Status Append(std::string_view data) override {
    if (closed_) return Closed();
    kv::MutexLock l(&file_->mu);
    file_->data.append(data.data(), data.size());
    return absl::OkStatus();
  }
  absl::Status Sync() override { return closed_ ? Closed() : absl::OkStatus(); }
  absl::Status Close() override {
    closed_ = true;
    return absl::OkStatus();
  }
  std::uint64_t Size() const override { return file_->Size(); }

 private:
  absl::Status Closed() const {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": file already closed"));
  }

  const std::string path_;
  const std::shared_ptr<MemFile> file_;
  bool closed_ = false;
};

// Locked paths; shared with the FileLock objects, which may outlive the FS.
struct MemLockTable {
  kv::Mutex mu;
  std::set<std::string> paths ABSL_GUARDED_BY(mu);
};

class MemFileLock final : public FileLock {
 public:
  MemFileLock(std::shared_ptr<MemLockTable> table, std::string key)
      : table_(std::move(table)), key_(std::move(key)) {}
  ~MemFileLock() override {
    kv::MutexLock l(&table_->mu);
    table_->paths.erase(key_);
  }

 private:
  const std::shared_ptr<MemLockTable> table_;
  const std::string key_;
};

class MemFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override {
    kv::MutexLock l(&mu_);
    auto file = FindFileLocked(NormalizePath(path), path);
    if (!file.ok()) return file.status();
    return std::make_unique<MemSequentialFile>(*std::move(file));
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    kv::MutexLock l(&mu_);
    auto file = FindFileLocked(NormalizePath(path), path);
    if (!file.ok()) return file.status();
    return std::make_unique<MemRandomAccessFile>(*std::move(file));
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    kv::MutexLock l(&mu_);
    auto file = OpenOrCreateLocked(NormalizePath(path), path);
    if (!file.ok()) return file.status();
    {
      kv::MutexLock fl(&(*file)->mu);
      (*file)->data.clear();
    }
    return std::make_unique<MemWritableFile>(path, *std::move(file));
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    kv::MutexLock l(&mu_);
    auto file = OpenOrCreateLocked(NormalizePath(path), path);
    if (!file.ok()) return file.status();
    return std::make_unique<MemWritableFile>(path, *std::move(file));
  }

  bool FileExists(const std::string& path) override {
    kv::MutexLock l(&mu_);
    const std::string p = NormalizePath(path);
    return files_.count(p) != 0 || IsDirLocked(p);
  }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    kv::MutexLock l(&mu_);
    const std::string d = NormalizePath(dir);
    if (!IsDirLocked(d)) return IoError("opendir", dir, files_.count(d) ? ENOTDIR : ENOENT);
    std::vector<std::string> out;
    for (const auto& [p, unused] : files_) {
      if (ParentDir(p) == d) out.push_back(detail::BaseName(p));
    }
    for (const std::string& p : dirs_) {
      if (ParentDir(p) == d) out.push_back(detail::BaseName(p));
    }
    return out;
  }

  absl::StatusOr<std::uint64_t> GetFileSize(const std::string& path) override {
    kv::MutexLock l(&mu_);
    auto file = FindFileLocked(NormalizePath(path), path);
    if (!file.ok()) return file.status();
    return (*file)->Size();
  }

  absl::Status RemoveFile(const std::string& path) override {
    kv::MutexLock l(&mu_);
    const std::string p = NormalizePath(path);
    if (IsDirLocked(p)) return IoError("unlink", path, EISDIR);
    if (files_.erase(p) == 0) return IoError("unlink", path, ENOENT);
    return absl::OkStatus();
  }

  absl::Status CreateDir(const std::string& dir) override {
    kv::MutexLock l(&mu_);
    const std::string d = NormalizePath(dir);
    // Collect the missing ancestors, deepest first, then create them.
    std::vector<std::string> missing;
    for (std::string p = d; !IsDirLocked(p); p = ParentDir(p)) {
      if (files_.count(p) != 0) return IoError("mkdir", p, p == d ? EEXIST : ENOTDIR);
      missing.push_back(p);
    }
    dirs_.insert(missing.begin(), missing.end());
    return absl::OkStatus();
  }

  absl::Status RemoveDir(const std::string& dir) override {
    kv::MutexLock l(&mu_);
    const std::string d = NormalizePath(dir);
    if (files_.count(d) != 0) return IoError("rmdir", dir, ENOTDIR);
    if (!IsDirLocked(d)) return IoError("rmdir", dir, ENOENT);
    if (detail::IsRootDir(d)) return IoError("rmdir", dir, EBUSY);
    for (const auto& [p, unused] : files_) {
      if (ParentDir(p) == d) return IoError("rmdir", dir, ENOTEMPTY);
    }
    for (const std::string& p : dirs_) {
      if (ParentDir(p) == d) return IoError("rmdir", dir, ENOTEMPTY);
    }
    dirs_.erase(d);
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    kv::MutexLock l(&mu_);
    const std::string f = NormalizePath(from);
    const std::string t = NormalizePath(to);
    const std::string what = absl::StrCat(from, " -> ", to);
    auto it = files_.find(f);
    if (it == files_.end()) return IoError("rename", what, IsDirLocked(f) ? EISDIR : ENOENT);
    if (IsDirLocked(t)) return IoError("rename", what, EISDIR);
    if (!IsDirLocked(ParentDir(t))) return IoError("rename", what, ENOENT);
    if (f == t) return absl::OkStatus();
    std::shared_ptr<MemFile> file = std::move(it->second);
    files_.erase(it);
    files_[t] = std::move(file);
    return absl::OkStatus();
  }

  absl::Status TruncateFile(const std::string& path, std::uint64_t size) override {
    kv::MutexLock l(&mu_);
    auto file = FindFileLocked(NormalizePath(path), path);
    if (!file.ok()) return file.status();
    kv::MutexLock fl(&(*file)->mu);
    (*file)->data.resize(size, '\0');
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    kv::MutexLock l(&mu_);
    const std::string d = NormalizePath(dir);
    if (!IsDirLocked(d)) return IoError("open", dir, files_.count(d) ? ENOTDIR : ENOENT);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    const std::string p = NormalizePath(path);
    {
      kv::MutexLock l(&mu_);
      auto file = OpenOrCreateLocked(p, path);
      if (!file.ok()) return file.status();
    }
    kv::MutexLock l(&locks_->mu);
    if (!locks_->paths.insert(p).second) {
      return absl::FailedPreconditionError(absl::StrCat("lock ", path, ": already held"));
    }
    return std::make_unique<MemFileLock>(locks_, p);
  }

 private:
  bool IsDirLocked(const std::string& p) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return detail::IsRootDir(p) || dirs_.count(p) != 0;
  }

  // `p` is the normalized `path`; errors name `path` as the caller wrote it.
  absl::StatusOr<std::shared_ptr<MemFile>> FindFileLocked(const std::string& p,
                                                          const std::string& path) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = files_.find(p);
    if (it != files_.end()) return it->second;
    return IoError("open", path, IsDirLocked(p) ? EISDIR : ENOENT);
  }

  absl::StatusOr<std::shared_ptr<MemFile>> OpenOrCreateLocked(const std::string& p,
                                                              const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = files_.find(p);
    if (it != files_.end()) return it->second;
    if (IsDirLocked(p)) return IoError("open", path, EISDIR);
    const std::string parent = ParentDir(p);
    if (!IsDirLocked(parent)) return IoError("open", path, files_.count(parent) ? ENOTDIR : ENOENT);
    auto file = std::make_shared<MemFile>();
    files_.emplace(p, file);
    return file;
  }

  kv::Mutex mu_;
  std::map<std::string, std::shared_ptr<MemFile>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);  // besides "/" and "."
  const std::shared_ptr<MemLockTable> locks_ = std::make_shared<MemLockTable>();
};

}  // namespace

std::shared_ptr<FileSystem> NewMemFileSystem() { return std::make_shared<MemFileSystem>(); }

}  // namespace kv
