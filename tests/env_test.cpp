// Behavioural tests of the FileSystem implementations: the same suite runs
// against the POSIX file system (in a TempDir) and the in-memory one, so both
// show the same semantics and error codes. POSIX-only: cross-process locking.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "env/io_error.hpp"
#include "env/path_util.hpp"
#include "kv/env.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

// A file system plus a fresh root directory inside it.
struct PosixFixture {
  std::shared_ptr<FileSystem> fs = FileSystem::Default();
  test::TempDir tmp;
  std::string root = tmp.str();
};
struct MemFixture {
  std::shared_ptr<FileSystem> fs = NewMemFileSystem();
  std::string root = "/mem/root";
  MemFixture() { REQUIRE_OK(fs->CreateDir(root)); }
};

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string ReadAll(FileSystem& fs, const std::string& path) {
  auto s = ReadFileToString(fs, path);
  REQUIRE_OK(s);
  return *s;
}

TEMPLATE_TEST_CASE("write, read back, append", "[env]", PosixFixture, MemFixture) {
  TestType f;
  FileSystem& fs = *f.fs;
  const std::string p = JoinPath(f.root, "a");
  REQUIRE_FALSE(fs.FileExists(p));
  {
    auto w = fs.NewWritableFile(p);
    REQUIRE_OK(w);
    REQUIRE_OK((*w)->Append("hello "));
    REQUIRE_OK((*w)->Append(""));
    REQUIRE_OK((*w)->Append("world"));
    CHECK((*w)->Size() == 11);
    REQUIRE_OK((*w)->Sync());
    // Appended bytes are visible to readers before Close.
    CHECK(ReadAll(fs, p) == "hello world");
    REQUIRE_OK((*w)->Close());
    CHECK(absl::IsFailedPrecondition((*w)->Append("x")));
  }
  REQUIRE(fs.FileExists(p));
  CHECK(ReadAll(fs, p) == "hello world");
  CHECK(*fs.GetFileSize(p) == 11);

  {  // NewAppendableFile keeps the contents and reports their size.
    auto w = fs.NewAppendableFile(p);
    REQUIRE_OK(w);
    CHECK((*w)->Size() == 11);
    REQUIRE_OK((*w)->Append("!"));
    CHECK((*w)->Size() == 12);
  }
  CHECK(ReadAll(fs, p) == "hello world!");

  {  // NewWritableFile truncates.
    auto w = fs.NewWritableFile(p);
    REQUIRE_OK(w);
    CHECK((*w)->Size() == 0);
  }
  CHECK(ReadAll(fs, p).empty());

  {  // NewAppendableFile creates a missing file.
    const std::string q = JoinPath(f.root, "new");
    auto w = fs.NewAppendableFile(q);
    REQUIRE_OK(w);
    CHECK((*w)->Size() == 0);
    CHECK(fs.FileExists(q));
  }
}

TEMPLATE_TEST_CASE("sequential and random access reads", "[env]", PosixFixture, MemFixture) {
  TestType f;
  FileSystem& fs = *f.fs;
  const std::string p = JoinPath(f.root, "data");
  std::string content;
  for (int i = 0; i < 10000; ++i) content.push_back(static_cast<char>('a' + i % 26));
  REQUIRE_OK(WriteStringToFile(fs, content, p, /*sync=*/true));

  auto seq = fs.NewSequentialFile(p);
  REQUIRE_OK(seq);
  std::vector<char> scratch(4096);
  auto r = (*seq)->Read(100, scratch.data());
  REQUIRE_OK(r);
  CHECK(*r == content.substr(0, 100));
  REQUIRE_OK((*seq)->Skip(900));
  r = (*seq)->Read(4096, scratch.data());
  REQUIRE_OK(r);
  CHECK(*r == content.substr(1000, 4096));
  REQUIRE_OK((*seq)->Skip(4000));
  r = (*seq)->Read(4096, scratch.data());
  REQUIRE_OK(r);
  CHECK(*r == content.substr(9096));  // short only at the end
  r = (*seq)->Read(4096, scratch.data());
  REQUIRE_OK(r);
  CHECK(r->empty());

  auto ra = fs.NewRandomAccessFile(p);
  REQUIRE_OK(ra);
  CHECK(*(*ra)->Size() == content.size());
  r = (*ra)->Read(5000, 10, scratch.data());
  REQUIRE_OK(r);
  CHECK(*r == content.substr(5000, 10));
  r = (*ra)->Read(9995, 100, scratch.data());
  REQUIRE_OK(r);
  CHECK(*r == content.substr(9995));
  r = (*ra)->Read(20000, 100, scratch.data());
  REQUIRE_OK(r);
  CHECK(r->empty());

  // Concurrent reads of one RandomAccessFile.
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<char> buf(64);
      for (int i = 0; i < 500; ++i) {
        const std::uint64_t off = static_cast<std::uint64_t>((i * 37 + t * 101) % 9000);
        auto got = (*ra)->Read(off, 64, buf.data());
        if (!got.ok() || *got != std::string_view(content).substr(off, 64)) ++bad[t];
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(bad == std::vector<int>(4, 0));
}

TEMPLATE_TEST_CASE("missing files give kNotFound naming the path", "[env]", PosixFixture,
                   MemFixture) {
  TestType f;
  FileSystem& fs = *f.fs;
  const std::string p = JoinPath(f.root, "nope");
  auto check = [&](const absl::Status& s) {
    INFO(s.ToString());
    CHECK(absl::IsNotFound(s));
    CHECK(s.message().find("nope") != absl::string_view::npos);
  };
  check(fs.NewSequentialFile(p).status());
  check(fs.NewRandomAccessFile(p).status());
  check(fs.GetFileSize(p).status());
  check(fs.RemoveFile(p));
  check(fs.RenameFile(p, JoinPath(f.root, "x")));
  check(fs.TruncateFile(p, 0));
  check(fs.GetChildren(p).status());
  check(fs.RemoveDir(p));
  check(fs.SyncDir(p));
  check(ReadFileToString(fs, p).status());
  // A missing parent directory.
  const std::string deep = JoinPath(f.root, "nope/file");
  check(fs.NewWritableFile(deep).status());
  check(fs.NewAppendableFile(deep).status());
  check(fs.LockFile(deep).status());
  CHECK_FALSE(fs.FileExists(deep));
}

TEMPLATE_TEST_CASE("rename and remove", "[env]", PosixFixture, MemFixture) {
  TestType f;
  FileSystem& fs = *f.fs;
  const std::string a = JoinPath(f.root, "a");
  const std::string b = JoinPath(f.root, "b");
  REQUIRE_OK(WriteStringToFile(fs, "AAA", a, false));
  REQUIRE_OK(WriteStringToFile(fs, "BBBB", b, false));
  // Renaming over an existing file replaces it.
  REQUIRE_OK(fs.RenameFile(a, b));
  CHECK_FALSE(fs.FileExists(a));
  CHECK(ReadAll(fs, b) == "AAA");
  // A renamed file keeps working for an open writer.
  {
    auto w = fs.NewAppendableFile(b);
    REQUIRE_OK(w);
    REQUIRE_OK(fs.RenameFile(b, a));
    REQUIRE_OK((*w)->Append("+"));
  }
  CHECK(ReadAll(fs, a) == "AAA+");
  // Renaming to itself is a no-op.
  REQUIRE_OK(fs.RenameFile(a, a));
  CHECK(ReadAll(fs, a) == "AAA+");
  // An open reader keeps reading a removed file.
  auto r = fs.NewRandomAccessFile(a);
  REQUIRE_OK(r);
  REQUIRE_OK(fs.RemoveFile(a));
  CHECK_FALSE(fs.FileExists(a));
  char buf[8];
  auto got = (*r)->Read(0, 8, buf);
  REQUIRE_OK(got);
  CHECK(*got == "AAA+");
  CHECK(absl::IsNotFound(fs.RemoveFile(a)));
}

TEMPLATE_TEST_CASE("directories and children", "[env]", PosixFixture, MemFixture) {
  TestType f;
  FileSystem& fs = *f.fs;
  const std::string d = JoinPath(f.root, "x/y/z");
  REQUIRE_OK(fs.CreateDir(d));  // creates parents
  REQUIRE_OK(fs.CreateDir(d));  // OK if it exists
  REQUIRE_OK(fs.CreateDir(d + "/"));
  CHECK(fs.FileExists(d));
  REQUIRE_OK(fs.SyncDir(d));
  auto kids = fs.GetChildren(d);
  REQUIRE_OK(kids);
  CHECK(kids->empty());

  REQUIRE_OK(WriteStringToFile(fs, "1", JoinPath(d, "f1"), false));
  REQUIRE_OK(WriteStringToFile(fs, "2", JoinPath(d, "f2"), false));
  REQUIRE_OK(fs.CreateDir(JoinPath(d, "sub")));
  kids = fs.GetChildren(d);
  REQUIRE_OK(kids);
  CHECK(Sorted(*kids) == std::vector<std::string>{"f1", "f2", "sub"});
  kids = fs.GetChildren(JoinPath(f.root, "x"));
  REQUIRE_OK(kids);
  CHECK(*kids == std::vector<std::string>{"y"});
  // Doubled and trailing slashes name the same directory.
  kids = fs.GetChildren(JoinPath(f.root, "x//y/z/"));
  REQUIRE_OK(kids);
  CHECK(kids->size() == 3);

  // Removing a non-empty directory fails; an empty one succeeds.
  const absl::Status s = fs.RemoveDir(d);
  INFO(s.ToString());
  CHECK(absl::IsFailedPrecondition(s));
  REQUIRE_OK(fs.RemoveDir(JoinPath(d, "sub")));
  REQUIRE_OK(fs.RemoveFile(JoinPath(d, "f1")));
  REQUIRE_OK(fs.RemoveFile(JoinPath(d, "f2")));
  REQUIRE_OK(fs.RemoveDir(d));
  CHECK_FALSE(fs.FileExists(d));
  CHECK(absl::IsNotFound(fs.GetChildren(d).status()));

  // A file is not a directory.
  const std::string file = JoinPath(f.root, "plain");
  REQUIRE_OK(WriteStringToFile(fs, "p", file, false));
  CHECK(absl::IsAlreadyExists(fs.CreateDir(file)));
  CHECK(absl::IsFailedPrecondition(fs.GetChildren(file).status()));
  CHECK(absl::IsFailedPrecondition(fs.RemoveDir(file)));
}

TEMPLATE_TEST_CASE("truncate", "[env]", PosixFixture, MemFixture) {
  TestType f;
  FileSystem& fs = *f.fs;
  const std::string p = JoinPath(f.root, "t");
  REQUIRE_OK(WriteStringToFile(fs, "0123456789", p, false));
  REQUIRE_OK(fs.TruncateFile(p, 4));
  CHECK(ReadAll(fs, p) == "0123");
  REQUIRE_OK(fs.TruncateFile(p, 6));
  CHECK(ReadAll(fs, p) == std::string("0123\0\0", 6));
  REQUIRE_OK(fs.TruncateFile(p, 0));
  CHECK(*fs.GetFileSize(p) == 0);
}

TEMPLATE_TEST_CASE("locks conflict within one process", "[env]", PosixFixture, MemFixture) {
  TestType f;
  FileSystem& fs = *f.fs;
  const std::string p = JoinPath(f.root, "LOCK");
  auto first = fs.LockFile(p);
  REQUIRE_OK(first);
  CHECK(fs.FileExists(p));  // created
  auto second = fs.LockFile(p);
  REQUIRE_FALSE(second.ok());
  INFO(second.status().ToString());
  CHECK(absl::IsFailedPrecondition(second.status()));
  CHECK(second.status().message().find(p) != absl::string_view::npos);
  // Another spelling of the same path conflicts too.
  CHECK(absl::IsFailedPrecondition(fs.LockFile(JoinPath(f.root, "/LOCK")).status()));
  // A different file is independent.
  auto other = fs.LockFile(JoinPath(f.root, "LOCK2"));
  REQUIRE_OK(other);
  first->reset();
  auto third = fs.LockFile(p);
  REQUIRE_OK(third);
}

TEMPLATE_TEST_CASE("locks from many threads: exactly one wins", "[env]", PosixFixture, MemFixture) {
  TestType f;
  FileSystem& fs = *f.fs;
  const std::string p = JoinPath(f.root, "LOCK");
  std::vector<std::unique_ptr<FileLock>> held(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto l = fs.LockFile(p);
      if (l.ok()) held[t] = *std::move(l);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(std::count_if(held.begin(), held.end(), [](auto& l) { return l != nullptr; }) == 1);
}

// Runs `fn` in a forked child; returns its exit code.
template <typename Fn>
int InChild(Fn fn) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(fn());
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// The resident set size, in KiB, of the mapping of this process that
// contains `address`; -1 if not found.
long MappingRssKib(const void* address) {
  const std::optional<std::string> rss = test::SmapsField(address, "Rss");
  return rss.has_value() ? std::stol(*rss) : -1;
}

TEST_CASE(
    "posix: Read on a mapped file preads and leaves the mapping alone; "
    "ReleaseMappedPages gives touched pages back",
    "[env][posix]") {
  PosixFixture f;
  const std::string p = JoinPath(f.root, "000001.sst");
  std::string content(4 << 20, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + 3);
  REQUIRE_OK(WriteStringToFile(*f.fs, content, p, /*sync=*/true));
  auto file = f.fs->NewRandomAccessFile(p);
  REQUIRE_OK(file);
  const std::optional<std::string_view> mapped = (*file)->Mapped();
  REQUIRE(mapped.has_value());
  REQUIRE(mapped->size() == content.size());
  REQUIRE(MappingRssKib(mapped->data()) == 0);  // nothing touched yet

  // A whole pass through Read: the data is right, and none of the mapping's
  // pages became part of this process (pages touched through a mapping
  // count toward its RSS; compaction scans inputs this way).
  std::vector<char> scratch(1 << 20);
  for (std::uint64_t off = 0; off < content.size(); off += scratch.size()) {
    auto r = (*file)->Read(off, scratch.size(), scratch.data());
    REQUIRE_OK(r);
    REQUIRE(r->data() == scratch.data());  // copied, not a view of the mapping
    REQUIRE(*r == std::string_view(content).substr(off, scratch.size()));
  }
  CHECK(MappingRssKib(mapped->data()) == 0);

  // The mapping itself is the zero-copy path, and touching it is what counts.
  std::size_t sum = 0;
  for (std::size_t i = 0; i < mapped->size(); i += 4096)
    sum += static_cast<unsigned char>((*mapped)[i]);
  CHECK(sum > 0);
  CHECK(MappingRssKib(mapped->data()) >= 1024);

  // Released: no longer resident in this process, same contents when read
  // again (mapped back in from the page cache).
  (*file)->ReleaseMappedPages();
  CHECK(MappingRssKib(mapped->data()) == 0);
  CHECK(*mapped == content);
  CHECK(MappingRssKib(mapped->data()) >= 1024);
}

#if defined(__linux__)
// cachestat(2) (Linux 6.5 and later): how many pages of a file range are
// cached, dirty and under writeback. Declared here because older kernel
// headers lack it; nullopt where the kernel does not have it.
struct CachestatRange {
  std::uint64_t off, len;
};
struct Cachestat {
  std::uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};
std::optional<Cachestat> FileCachestat(const std::string& path, std::uint64_t off,
                                       std::uint64_t len) {
  constexpr long kCachestatSyscall = 451;  // the same number on every Linux architecture
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  CachestatRange range{off, len};
  Cachestat stat{};
  const long rc = ::syscall(kCachestatSyscall, fd, &range, &stat, 0);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  return stat;
}
#endif

TEST_CASE("posix: a writeback interval starts writing appended bytes back before any Sync",
          "[env][posix]") {
#if defined(__linux__)
  PosixFixture f;
  FileSystem& fs = *f.fs;
  struct statfs where {};
  REQUIRE(::statfs(f.root.c_str(), &where) == 0);
  if (where.f_type == 0x01021994) {  // TMPFS_MAGIC: memory has no writeback
    WARN("the test directory is on tmpfs: nothing to write back");
    return;
  }
  const std::string p = JoinPath(f.root, "000009.wal");
  auto file = fs.NewWritableFile(p);
  REQUIRE_OK(file);
  (*file)->SetWritebackInterval(256 << 10);
  std::string data;
  for (int i = 0; i < 32; ++i) {  // 2 MiB, in 64 KiB appends
    const std::string piece(64 << 10, static_cast<char>('a' + i % 26));
    REQUIRE_OK((*file)->Append(piece));
    data += piece;
  }
  // The first MiB was queued for writeback as it was appended: it is soon
  // clean. Without the hint the kernel leaves such pages dirty for about
  // 30 s (vm.dirty_expire_centisecs) unless memory runs short.
  std::optional<Cachestat> stat = FileCachestat(p, 0, 1 << 20);
  if (!stat.has_value()) {
    WARN("no cachestat(2) on this kernel: cannot see the page cache state");
  } else {
    for (int wait = 0; wait < 500 && stat.has_value() && stat->nr_dirty + stat->nr_writeback > 0;
         ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      stat = FileCachestat(p, 0, 1 << 20);
    }
    REQUIRE(stat.has_value());
    CHECK(stat->nr_dirty == 0);
    CHECK(stat->nr_writeback == 0);
  }
  REQUIRE_OK((*file)->Sync());
  REQUIRE_OK((*file)->Close());
  CHECK(ReadAll(fs, p) == data);
#endif
}

TEST_CASE("posix: preallocation runs the file's length ahead with zeros; Close trims it",
          "[env][posix]") {
  PosixFixture f;
  FileSystem& fs = *f.fs;
  const std::string p = JoinPath(f.root, "000007.wal");
  auto file = fs.NewWritableFile(p);
  REQUIRE_OK(file);
  if (!test::CanPreallocate(f.root)) {
    WARN("this file system cannot reserve space: preallocation is a no-op here");
    return;
  }
  (*file)->SetPreallocation(64 << 10);
  CHECK(*fs.GetFileSize(p) == std::uint64_t{64} << 10);  // reserved before the first append
  CHECK((*file)->Size() == 0);
  std::string data;
  for (int i = 0; i < 100; ++i) {
    const std::string piece(100, static_cast<char>('a' + i % 26));
    REQUIRE_OK((*file)->Append(piece));
    data += piece;
  }
  REQUIRE_OK((*file)->Sync());
  CHECK((*file)->Size() == data.size());
  // What a crash now would leave: the data, then zeros up to the reservation.
  const std::string on_disk = ReadAll(fs, p);
  CHECK(on_disk.size() == std::size_t{64} << 10);
  CHECK(on_disk.substr(0, data.size()) == data);
  CHECK(on_disk.find_first_not_of('\0', data.size()) == std::string::npos);
  // An append larger than a chunk still lands right after the data.
  const std::string big(100 << 10, 'B');
  REQUIRE_OK((*file)->Append(big));
  data += big;
  CHECK(*fs.GetFileSize(p) >= data.size());
  REQUIRE_OK((*file)->Close());
  CHECK(ReadAll(fs, p) == data);  // trimmed back to what was appended

  // Reopened for appending, writes go at the end of the data.
  auto again = fs.NewAppendableFile(p);
  REQUIRE_OK(again);
  CHECK((*again)->Size() == data.size());
  REQUIRE_OK((*again)->Append("tail"));
  REQUIRE_OK((*again)->Close());
  CHECK(ReadAll(fs, p) == data + "tail");
}

// Sizes in bytes of this process's mappings of the file at `path` (matched
// by device and inode in /proc/self/maps).
std::vector<std::uint64_t> MappingsOfFile(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  std::vector<std::uint64_t> sizes;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long lo = 0, hi = 0, offset = 0, inode = 0;
    unsigned major = 0, minor = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu", &lo, &hi, perms, &offset, &major,
                    &minor, &inode) != 7) {
      continue;
    }
    if (inode == st.st_ino && makedev(major, minor) == st.st_dev) sizes.push_back(hi - lo);
  }
  return sizes;
}

std::string Piece(int i, std::size_t size) {
  std::string piece(size, static_cast<char>('a' + i % 26));
  piece[0] = static_cast<char>(i);  // so that pieces in the wrong place show
  return piece;
}

// False (with a warning) where the test directory's file system cannot
// reserve space: there every append uses write(2), and nothing is mapped.
bool CanMapAppends(const PosixFixture& f) {
  if (test::CanPreallocate(f.root)) return true;
  WARN("this file system cannot reserve space: appends all use write(2) here");
  return false;
}

// Appends Piece(i, size) to `file` and to *data.
void AppendPiece(WritableFile& file, int i, std::size_t size, std::string* data) {
  const std::string piece = Piece(i, size);
  REQUIRE_OK(file.Append(piece));
  *data += piece;
}

TEST_CASE("posix: a preallocating file copies appends into one mapped window at a time",
          "[env][posix]") {
  PosixFixture f;
  FileSystem& fs = *f.fs;
  if (!CanMapAppends(f)) return;
  const std::string p = JoinPath(f.root, "000011.wal");
  auto file = fs.NewWritableFile(p);
  REQUIRE_OK(file);
  constexpr std::uint64_t kChunk = 64 << 10;
  (*file)->SetPreallocation(kChunk);
  std::string data;
  for (int i = 0; i < 300; ++i) {  // ~290 KiB: the window moves four times
    AppendPiece(**file, i, 999, &data);
    if (i % 50 == 49) {
      // One window, inside the latest reservation...
      const std::vector<std::uint64_t> windows = MappingsOfFile(p);
      REQUIRE(windows.size() == 1);
      CHECK(windows[0] <= kChunk);
      // ...and what went through it is in the page cache already, before
      // any Sync or Close: safe from a crash of this process.
      CHECK(ReadAll(fs, p).substr(0, data.size()) == data);
    }
  }
  // After a Sync the next append uses write(2); later ones the window again.
  REQUIRE_OK((*file)->Sync());
  for (int i = 0; i < 100; ++i) {
    AppendPiece(**file, i, 333, &data);
    if (i % 10 == 0) REQUIRE_OK((*file)->Sync());
  }
  CHECK(ReadAll(fs, p).substr(0, data.size()) == data);
  CHECK(MappingsOfFile(p).size() == 1);
  REQUIRE_OK((*file)->Close());
  CHECK(MappingsOfFile(p).empty());
  CHECK(ReadAll(fs, p) == data);
}

TEST_CASE("posix: an append larger than the mapping limit is written, then mapping resumes",
          "[env][posix]") {
  PosixFixture f;
  FileSystem& fs = *f.fs;
  if (!CanMapAppends(f)) return;
  const std::string p = JoinPath(f.root, "000012.wal");
  auto file = fs.NewWritableFile(p);
  REQUIRE_OK(file);
  (*file)->SetPreallocation(64 << 10);
  std::string data = Piece(1, 5000);
  REQUIRE_OK((*file)->Append(data));
  const std::string big = Piece(2, 5 << 20);  // its reservation is too big to map
  REQUIRE_OK((*file)->Append(big));
  data += big;
  CHECK(MappingsOfFile(p).empty());
  for (int i = 0; i < 20; ++i) {
    AppendPiece(**file, i, 100, &data);
  }
  CHECK(MappingsOfFile(p).size() == 1);  // the next chunk is mapped again
  REQUIRE_OK((*file)->Close());
  CHECK(ReadAll(fs, p) == data);
}

TEST_CASE("posix: preallocation after reopening at a length off a page boundary", "[env][posix]") {
  PosixFixture f;
  FileSystem& fs = *f.fs;
  if (!CanMapAppends(f)) return;
  const std::string p = JoinPath(f.root, "000013.wal");
  std::string data = Piece(7, 1001);
  REQUIRE_OK(WriteStringToFile(fs, data, p, /*sync=*/false));
  auto file = fs.NewAppendableFile(p);
  REQUIRE_OK(file);
  (*file)->SetPreallocation(64 << 10);
  // The bytes up to the first page boundary go by write(2), the rest
  // through a window that starts there.
  for (int i = 0; i < 200; ++i) {
    AppendPiece(**file, i, 777, &data);
  }
  CHECK(MappingsOfFile(p).size() == 1);
  CHECK(ReadAll(fs, p).substr(0, data.size()) == data);
  REQUIRE_OK((*file)->Close());
  CHECK(ReadAll(fs, p) == data);
}

TEST_CASE("posix: bytes copied into the mapping survive a SIGKILL of the process", "[env][posix]") {
  PosixFixture f;
  FileSystem& fs = *f.fs;
  if (!CanMapAppends(f)) return;
  const std::string p = JoinPath(f.root, "000014.wal");
  std::string data;
  for (int i = 0; i < 2000; ++i) data += Piece(i, 131);  // ~256 KiB
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // No Catch2 in the child: report through the exit code, or be killed.
    auto file = FileSystem::Default()->NewWritableFile(p);
    if (!file.ok()) ::_exit(2);
    (*file)->SetPreallocation(64 << 10);
    for (std::size_t at = 0; at < data.size(); at += 131) {
      if (!(*file)->Append(std::string_view(data).substr(at, 131)).ok()) ::_exit(3);
    }
    // The bytes must have gone through a window for this test to mean anything.
    if (MappingsOfFile(p).size() != 1) ::_exit(4);
    ::raise(SIGKILL);  // no Sync, no Close, no destructor
    ::_exit(5);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  // Every appended byte, then the reservation's zeros (which the log
  // reader takes as the end).
  const std::string on_disk = ReadAll(fs, p);
  REQUIRE(on_disk.size() >= data.size());
  CHECK(on_disk.substr(0, data.size()) == data);
  CHECK(on_disk.find_first_not_of('\0', data.size()) == std::string::npos);
}

TEST_CASE("posix lock conflicts across processes", "[env][posix]") {
  test::TempDir tmp;
  auto fs = FileSystem::Default();
  const std::string p = JoinPath(tmp.str(), "LOCK");
  // Exit codes: 0 = locked, 1 = kFailedPrecondition from the OS lock, 2 =
  // another error, 3 = refused by the in-process table (which a child must
  // not inherit: it has to meet the parent's flock).
  auto try_lock = [&] {
    auto l = fs->LockFile(p);
    if (l.ok()) return 0;
    if (!absl::IsFailedPrecondition(l.status())) return 2;
    return l.status().message().find("another process") != absl::string_view::npos ? 1 : 3;
  };
  {
    auto held = fs->LockFile(p);
    REQUIRE_OK(held);
    CHECK(InChild(try_lock) == 1);
  }
  // Released: the child can take it now.
  CHECK(InChild(try_lock) == 0);
  // And a child's lock is released when the child exits.
  auto again = fs->LockFile(p);
  REQUIRE_OK(again);
}

TEST_CASE("IoError maps errno to codes and names the path", "[env]") {
  using detail::IoError;
  CHECK(absl::IsNotFound(IoError("/p", ENOENT)));
  CHECK(absl::IsAlreadyExists(IoError("/p", EEXIST)));
  CHECK(absl::IsPermissionDenied(IoError("/p", EACCES)));
  CHECK(absl::IsPermissionDenied(IoError("/p", EPERM)));
  CHECK(absl::IsResourceExhausted(IoError("/p", ENOSPC)));
  CHECK(absl::IsResourceExhausted(IoError("/p", EDQUOT)));
  CHECK(absl::IsUnavailable(IoError("/p", EINTR)));
  CHECK(absl::IsUnavailable(IoError("/p", EAGAIN)));
  CHECK(absl::IsFailedPrecondition(IoError("/p", ENOTEMPTY)));
  CHECK(absl::IsInternal(IoError("/p", EIO)));
  const absl::Status s = IoError("open", "/some/path", ENOENT);
  CHECK(s.message().find("/some/path") != absl::string_view::npos);
  CHECK(s.message().find("open") != absl::string_view::npos);
  CHECK(s.message().find("errno 2") != absl::string_view::npos);
}

TEST_CASE("path normalization", "[env]") {
  using detail::NormalizePath;
  CHECK(NormalizePath("/a//b/") == "/a/b");
  CHECK(NormalizePath("/") == "/");
  CHECK(NormalizePath("//") == "/");
  CHECK(NormalizePath("") == ".");
  CHECK(NormalizePath("./a") == "a");
  CHECK(NormalizePath(".//a") == "a");
  CHECK(NormalizePath("a/") == "a");
  CHECK(detail::ParentDir("/a/b") == "/a");
  CHECK(detail::ParentDir("/a") == "/");
  CHECK(detail::ParentDir("a") == ".");
  CHECK(detail::BaseName("/a/b") == "b");
}

TEST_CASE("clocks", "[env]") {
  auto clock = Clock::Default();
  const std::uint64_t now = clock->NowMicros();
  CHECK(now > 1'600'000'000'000'000ull);  // after 2020
  const std::uint64_t m0 = clock->MonotonicMicros();
  clock->SleepForMicros(2000);
  CHECK(clock->MonotonicMicros() - m0 >= 2000);

  ManualClock manual(100);
  CHECK(manual.NowMicros() == 100);
  manual.Advance(5);
  manual.SleepForMicros(10);
  CHECK(manual.MonotonicMicros() == 115);
}

}  // namespace
}  // namespace kv
