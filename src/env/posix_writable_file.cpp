// The POSIX WritableFile. There is no user-space buffer: the bytes of an
// Append are in the kernel's page cache, safe from a crash of the process,
// when it returns. Sync is fdatasync.
//
// Appends reach the page cache one of two ways:
//
// - pwrite at Size(), for a file that does not preallocate (tables, the
//   manifest) and for whatever a mapping does not cover.
// - A copy into a shared mapping of the space reserved ahead of the data,
//   for a file that preallocates (SetPreallocation: the WAL). The copy lands
//   in the same page cache pages a pwrite would fill, without a system call
//   per append: 137-byte appends cost 0.45-0.54 us each with pwrite and
//   0.11 us by copy in a microbenchmark here, on a write path (the WAL's)
//   whose whole Put took ~3 us.
//
// Why the mapping is as safe as pwrite:
// - Only reserved space is mapped. fallocate (mode 0) has allocated its
//   blocks and set the file's length past them, so a store into the mapping
//   neither lands past the end of the file (SIGBUS) nor needs blocks the
//   disk may not have: with delayed allocation a full disk surfaces as
//   SIGBUS on a mapped store, where pwrite would have returned ENOSPC.
// - The mapping starts at the first page boundary at or after the end of
//   the data (the bytes before that boundary go by pwrite), so every page it
//   touches first holds only reserved space: faulting it in reads nothing
//   from the disk, so no read error can surface as a SIGBUS. The one case
//   left: a page already part written, written back and then evicted under
//   memory pressure while we still fill it, is read back on the next store;
//   a disk read error at that moment would be a SIGBUS.
// - Sync is fdatasync of the descriptor. On Linux (the only system where
//   kv preallocates: fallocate is Linux's) it writes back every dirty page
//   of the file, however it was dirtied; there is one page cache. msync
//   would reach only the pages still mapped.
// - A crash of the process leaves the copied bytes in the page cache, to be
//   written back like any others; power loss loses unsynced bytes either
//   way.
// - Mapped pages that were touched count toward the process's resident set.
//   One window (the latest reservation, a chunk) is mapped at a time:
//   reserving the next chunk unmaps the previous window, whose dirty pages
//   stay in the page cache.
#include "env/posix_writable_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "env/io_error.hpp"
#include "env/posix_util.hpp"

namespace kv::detail {
namespace {

// A reservation larger than this (an append bigger than a chunk) is
// written with pwrite rather than mapped: a window this size is already
// ~4x the WAL's chunk, and its touched pages count toward RSS until the
// next chunk.
constexpr std::uint64_t kMaxWindowBytes = std::uint64_t{4} << 20;

std::uint64_t PageSize() {
  static const std::uint64_t page = [] {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::uint64_t>(p) : std::uint64_t{4096};
  }();
  return page;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, std::uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    Unmap();
    if (fd_ >= 0) CloseFd(fd_);
  }

  absl::Status Append(std::string_view data) override {
    if (fd_ < 0) return Closed();
    if (chunk_ > 0 && size_ + data.size() > reserved_end_) Reserve(data.size());
    while (!data.empty()) {
      std::size_t n = 0;
      if (!synced_last_ && InWindow(size_)) {
        n = static_cast<std::size_t>(
            std::min<std::uint64_t>(data.size(), window_offset_ + window_bytes_ - size_));
        std::memcpy(window_ + (size_ - window_offset_), data.data(), n);
      } else {
        // pwrite at size_ rather than O_APPEND: with preallocation the
        // file's length is past the data, where O_APPEND would write. Stop
        // at a window ahead, so the rest goes through it.
        std::size_t limit = data.size();
        if (window_ != nullptr && size_ < window_offset_) {
          limit = static_cast<std::size_t>(std::min<std::uint64_t>(limit, window_offset_ - size_));
        }
        const ssize_t r = RetryOnEintr(
            [&] { return ::pwrite(fd_, data.data(), limit, static_cast<off_t>(size_)); });
        if (r < 0) return IoError("write", path_, errno);
        n = static_cast<std::size_t>(r);
      }
      data.remove_prefix(n);
      size_ += n;
    }
    synced_last_ = false;
    if (writeback_interval_ > 0 && size_ - writeback_from_ >= writeback_interval_) {
      StartWriteback();
    }
    return absl::OkStatus();
  }

  void SetWritebackInterval(std::uint64_t bytes) override {
    writeback_interval_ = bytes;
    writeback_from_ = size_;
  }

  // The first chunk is reserved now, so that the first append (often a
  // sync write someone waits for) does not pay for it.
  void SetPreallocation(std::uint64_t chunk_bytes) override {
    chunk_ = chunk_bytes;
    if (chunk_ == 0) Unmap();
    if (chunk_ > 0 && fd_ >= 0 && reserved_end_ <= size_) Reserve(0);
  }

  absl::Status Sync() override {
    if (fd_ < 0) return Closed();
    // Covers bytes copied into the mapping too (see the file comment).
    if (RetryOnEintr([&] { return ::fdatasync(fd_); }) != 0) {
      return IoError("fdatasync", path_, errno);
    }
    synced_last_ = true;
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    Unmap();  // before the trim: a mapping past the new end would fault
    const int fd = std::exchange(fd_, -1);
    absl::Status s;
    if (reserved_end_ > size_ &&
        RetryOnEintr([&] { return ::ftruncate(fd, static_cast<off_t>(size_)); }) != 0) {
      s = IoError("ftruncate (trimming preallocated space)", path_, errno);
    }
    if (::close(fd) != 0 && errno != EINTR && s.ok()) s = IoError("close", path_, errno);
    return s;
  }

  std::uint64_t Size() const override { return size_; }

 private:
  absl::Status Closed() const {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": file already closed"));
  }

  bool InWindow(std::uint64_t offset) const {
    return window_ != nullptr && offset >= window_offset_ &&
           offset < window_offset_ + window_bytes_;
  }

  // Starts writeback of the bytes appended since the last call and returns
  // without waiting (sync_file_range with SYNC_FILE_RANGE_WRITE only queues
  // the dirty pages for writing; pages dirtied through the mapping are
  // among them). A failure is left to Sync to report; a file system or
  // kernel without the call stops being asked.
  void StartWriteback() {
#if defined(__linux__)
    if (::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                          static_cast<off_t>(size_ - writeback_from_),
                          SYNC_FILE_RANGE_WRITE) != 0 &&
        (errno == ENOSYS || errno == EINVAL || errno == ESPIPE)) {
      writeback_interval_ = 0;
    }
#else
    writeback_interval_ = 0;
#endif
    writeback_from_ = size_;
  }

  // Extends the reservation to cover at least `bytes` more past size_, a
  // whole chunk at a time, and maps it. A file system that cannot reserve
  // (EOPNOTSUPP, or any other failure: it is only an optimization) stops
  // being asked, and the file goes back to pwrite; a real lack of space
  // then surfaces from the write itself.
  void Reserve(std::size_t bytes) {
    Unmap();
    const std::uint64_t from = std::max(reserved_end_, size_);
    const std::uint64_t len = std::max<std::uint64_t>(chunk_, size_ + bytes - from);
#if defined(__linux__)
    if (::fallocate(fd_, 0, static_cast<off_t>(from), static_cast<off_t>(len)) == 0) {
      reserved_end_ = from + len;
      MapReservedTail();
      return;
    }
#else
    (void)from;
    (void)len;
#endif
    chunk_ = 0;
  }

  // Maps the reserved space from the first page boundary at or after
  // size_ to the end of the reservation (see the file comment for why
  // there). If that is empty, too large, or mmap fails (say, the process
  // is at vm.max_map_count), appends simply use pwrite.
  void MapReservedTail() {
    const std::uint64_t page = PageSize();
    const std::uint64_t start = (size_ + page - 1) / page * page;
    if (start >= reserved_end_ || reserved_end_ - start > kMaxWindowBytes) return;
    const std::uint64_t bytes = reserved_end_ - start;
    void* const p = ::mmap(nullptr, static_cast<std::size_t>(bytes), PROT_READ | PROT_WRITE,
                           MAP_SHARED, fd_, static_cast<off_t>(start));
    if (p == MAP_FAILED) return;
    window_ = static_cast<char*>(p);
    window_offset_ = start;
    window_bytes_ = bytes;
  }

  // Unmapping leaves the pages written through the window dirty in the
  // page cache: nothing is lost or synced by it.
  void Unmap() {
    if (window_ == nullptr) return;
    ::munmap(window_, static_cast<std::size_t>(window_bytes_));
    window_ = nullptr;
    window_offset_ = 0;
    window_bytes_ = 0;
  }

  const std::string path_;
  int fd_;  // -1 once closed
  std::uint64_t size_;
  std::uint64_t chunk_ = 0;               // preallocation step; 0: none
  std::uint64_t reserved_end_ = 0;        // the file's length on disk once reserved
  std::uint64_t writeback_interval_ = 0;  // SetWritebackInterval; 0: none
  std::uint64_t writeback_from_ = 0;      // first byte not yet queued for writeback
  // True between a Sync and the next Append. That append goes by pwrite:
  // when nearly every append is synced (sync writes), storing through the
  // mapping costs more than the copy saves. Each Sync then write-protects
  // the pages just stored to, and the next store into the same page faults.
  bool synced_last_ = false;
  char* window_ = nullptr;           // reserved space mapped shared; or none
  std::uint64_t window_offset_ = 0;  // the file offset of window_[0] (page aligned)
  std::uint64_t window_bytes_ = 0;
};

}  // namespace

std::unique_ptr<WritableFile> NewPosixWritableFile(std::string path, int fd, std::uint64_t size) {
  return std::make_unique<PosixWritableFile>(std::move(path), fd, size);
}

}  // namespace kv::detail
