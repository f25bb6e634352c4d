// The POSIX FileSystem (FileSystem::Default) and the system Clock
// (Clock::Default).
//
// Every descriptor is opened O_CLOEXEC. Every syscall is retried on EINTR;
// reads and writes loop over short transfers. WritableFile
// (posix_writable_file.cpp) has no user-space buffer: bytes are in the
// kernel, safe from a process crash, once Append returns. Sync is fdatasync.
//
// Locks: LockFile takes flock(LOCK_EX | LOCK_NB) on a descriptor of its own.
// flock locks belong to the open file description, so two LockFile calls in
// one process already conflict, as do calls from other processes. We also
// keep a process-wide table of locked paths so that an in-process conflict is
// reported without a syscall and with a clear message. A forked child does
// not inherit the table (pthread_atfork clears it in the child): it competes
// for the lock through flock like any other process.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "env/io_error.hpp"
#include "env/path_util.hpp"
#include "env/posix_util.hpp"
#include "env/posix_writable_file.hpp"
#include "kv/env.hpp"
#include "kv/status_macros.hpp"

namespace kv {
namespace {

using detail::CloseFd;
using detail::IoError;
using detail::RetryOnEintr;

int OpenRetry(const std::string& path, int flags, mode_t mode = 0644) {
  return RetryOnEintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); });
}

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { CloseFd(fd_); }

  absl::StatusOr<std::string_view> Read(std::size_t n, char* scratch) override {
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = RetryOnEintr([&] { return ::read(fd_, scratch + got, n - got); });
      if (r < 0) return IoError("read", path_, errno);
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    return std::string_view(scratch, got);
  }

  absl::Status Skip(std::uint64_t n) override {
    if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) == static_cast<off_t>(-1)) {
      return IoError("seek", path_, errno);
    }
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  const int fd_;
};

// Reads up to n bytes at offset into scratch (fewer only at end of file).
// pread does not move a shared file offset, so this is thread-safe.
absl::StatusOr<std::string_view> PreadFully(int fd, const std::string& path, std::uint64_t offset,
                                            std::size_t n, char* scratch) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = RetryOnEintr(
        [&] { return ::pread(fd, scratch + got, n - got, static_cast<off_t>(offset + got)); });
    if (r < 0) return IoError(absl::StrCat("pread at offset ", offset), path, errno);
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return std::string_view(scratch, got);
}

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { CloseFd(fd_); }

  absl::StatusOr<std::string_view> Read(std::uint64_t offset, std::size_t n,
                                        char* scratch) const override {
    return PreadFully(fd_, path_, offset, n, scratch);
  }

  absl::StatusOr<std::uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return IoError("fstat", path_, errno);
    return static_cast<std::uint64_t>(st.st_size);
  }

 private:
  const std::string path_;
  const int fd_;
};

// A read-only file mapped whole into memory: Mapped() reads are zero-copy
// views of the page cache (no syscall, no copy); Read still preads (below).
// kv maps only files it never writes again (tables): a file shrunk
// underneath a mapping would fault on access. The file stays open for Read,
// one descriptor per open table as for unmapped ones.
class PosixMappedFile final : public RandomAccessFile {
 public:
  PosixMappedFile(std::string path, int fd, const char* base, std::size_t size)
      : path_(std::move(path)), fd_(fd), base_(base), size_(size) {}
  ~PosixMappedFile() override {
    ::munmap(const_cast<char*>(base_), size_);
    CloseFd(fd_);
  }

  // Read copies with pread and leaves the mapping alone: pages touched
  // through a mapping count toward the process's resident set, and the
  // callers of Read are one-pass scans (compaction, verification) that
  // would otherwise leave whole tables resident. Mapped() is the
  // zero-copy path for lookups.
  absl::StatusOr<std::string_view> Read(std::uint64_t offset, std::size_t n,
                                        char* scratch) const override {
    return PreadFully(fd_, path_, offset, n, scratch);
  }
  absl::StatusOr<std::uint64_t> Size() const override { return size_; }
  std::optional<std::string_view> Mapped() const override { return std::string_view(base_, size_); }
  // MADV_DONTNEED on a shared file mapping unmaps pages and never discards
  // data: later accesses fault them back in from the page cache.
  void ReleaseMappedPages() const override {
    ::madvise(const_cast<char*>(base_), size_, MADV_DONTNEED);
  }

 private:
  const std::string path_;
  const int fd_;
  const char* const base_;
  const std::size_t size_;
};

// Paths locked by this process. A std::mutex rather than absl::Mutex: it is
// taken and released around fork() by pthread_atfork handlers.
struct LockTable {
  std::mutex mu;
  std::set<std::string> paths;  // guarded by mu
};

LockTable& Locks() {
  // Intentionally leaked: FileLocks may be released during static destruction.
  static LockTable* const table = [] {
    auto* t = new LockTable;
    ::pthread_atfork([] { Locks().mu.lock(); }, [] { Locks().mu.unlock(); },
                     [] {
                       // The child holds none of the parent's locks itself.
                       Locks().paths.clear();
                       Locks().mu.unlock();
                     });
    return t;
  }();
  return *table;
}

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(std::string key, int fd) : key_(std::move(key)), fd_(fd) {}
  ~PosixFileLock() override {
    LockTable& table = Locks();
    std::lock_guard<std::mutex> l(table.mu);
    // Unlock before forgetting the path, so a concurrent LockFile that finds
    // the path free also finds the flock free.
    ::flock(fd_, LOCK_UN);
    CloseFd(fd_);
    table.paths.erase(key_);
  }

 private:
  const std::string key_;
  const int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override {
    const int fd = OpenRetry(path, O_RDONLY);
    if (fd < 0) return IoError("open", path, errno);
    return std::make_unique<PosixSequentialFile>(path, fd);
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    const int fd = OpenRetry(path, O_RDONLY);
    if (fd < 0) return IoError("open", path, errno);
    // Map non-empty files; fall back to pread if mapping fails (e.g. the
    // process hit vm.max_map_count).
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      const auto size = static_cast<std::size_t>(st.st_size);
      void* base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (base != MAP_FAILED) {
        return std::make_unique<PosixMappedFile>(path, fd, static_cast<const char*>(base), size);
      }
    }
    return std::make_unique<PosixRandomAccessFile>(path, fd);
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    const int fd = OpenRetry(path, O_RDWR | O_CREAT | O_TRUNC);
    if (fd < 0) return IoError("open", path, errno);
    return detail::NewPosixWritableFile(path, fd, 0);
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    const int fd = OpenRetry(path, O_RDWR | O_CREAT);
    if (fd < 0) return IoError("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      CloseFd(fd);
      return IoError("fstat", path, err);
    }
    return detail::NewPosixWritableFile(path, fd, static_cast<std::uint64_t>(st.st_size));
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return IoError("opendir", dir, errno);
    std::unique_ptr<DIR, int (*)(DIR*)> closer(d, &::closedir);
    std::vector<std::string> out;
    while (true) {
      errno = 0;
      const struct dirent* e = ::readdir(d);
      if (e == nullptr) {
        if (errno != 0) return IoError("readdir", dir, errno);
        break;
      }
      const std::string_view name(e->d_name);
      if (name == "." || name == "..") continue;
      out.emplace_back(name);
    }
    return out;
  }

  absl::StatusOr<std::uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return IoError("stat", path, errno);
    return static_cast<std::uint64_t>(st.st_size);
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return IoError("unlink", path, errno);
    return absl::OkStatus();
  }

  absl::Status CreateDir(const std::string& dir) override {
    const std::string norm = detail::NormalizePath(dir);
    // Create each prefix in turn: "/a", "/a/b", ...
    std::size_t pos = norm[0] == '/' ? 1 : 0;
    while (true) {
      const std::size_t slash = norm.find('/', pos);
      const std::string prefix = norm.substr(0, slash);
      if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        return IoError("mkdir", prefix, errno);
      }
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    struct stat st;
    if (::stat(norm.c_str(), &st) != 0) return IoError("stat", norm, errno);
    if (!S_ISDIR(st.st_mode)) return IoError("mkdir", norm, EEXIST);
    return absl::OkStatus();
  }

  absl::Status RemoveDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return IoError("rmdir", dir, errno);
    return absl::OkStatus();
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return IoError("rename", absl::StrCat(from, " -> ", to), errno);
    }
    return absl::OkStatus();
  }

  absl::Status TruncateFile(const std::string& path, std::uint64_t size) override {
    if (RetryOnEintr([&] { return ::truncate(path.c_str(), static_cast<off_t>(size)); }) != 0) {
      return IoError("truncate", path, errno);
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = OpenRetry(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return IoError("open", dir, errno);
    absl::Status s;
    // A few file systems cannot fsync a directory and say EINVAL; their
    // directory entries are as durable as they can make them.
    if (RetryOnEintr([&] { return ::fsync(fd); }) != 0 && errno != EINVAL) {
      s = IoError("fsync", dir, errno);
    }
    CloseFd(fd);
    return s;
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    const std::string key = detail::NormalizePath(path);
    LockTable& table = Locks();
    std::lock_guard<std::mutex> l(table.mu);
    if (table.paths.count(key) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("lock ", path, ": already held by this process"));
    }
    const int fd = OpenRetry(path, O_RDWR | O_CREAT);
    if (fd < 0) return IoError("open lock file", path, errno);
    if (RetryOnEintr([&] { return ::flock(fd, LOCK_EX | LOCK_NB); }) != 0) {
      const int err = errno;
      CloseFd(fd);
      if (err == EWOULDBLOCK) {
        return absl::FailedPreconditionError(
            absl::StrCat("lock ", path, ": already held by another process"));
      }
      return IoError("flock", path, err);
    }
    table.paths.insert(key);
    return std::make_unique<PosixFileLock>(key, fd);
  }
};

class SystemClock final : public Clock {
 public:
  std::uint64_t NowMicros() override {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }
  std::uint64_t MonotonicMicros() override {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }
  void SleepForMicros(std::uint64_t micros) override {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }
};

}  // namespace

std::shared_ptr<FileSystem> FileSystem::Default() {
  // Intentionally leaked so it outlives every static object that uses it.
  static const auto* const fs =
      new std::shared_ptr<FileSystem>(std::make_shared<PosixFileSystem>());
  return *fs;
}

std::shared_ptr<Clock> Clock::Default() {
  static const auto* const clock = new std::shared_ptr<Clock>(std::make_shared<SystemClock>());
  return *clock;
}

}  // namespace kv
