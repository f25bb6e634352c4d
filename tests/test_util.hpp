// Helpers shared by kv's tests.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/db.hpp"
#include "kv/env.hpp"

namespace kv {
class SSTableReader;
}

// REQUIRE that a Status (or StatusOr) is OK, printing it if not.
#define REQUIRE_OK(expr)                                               \
  do {                                                                 \
    const ::absl::Status kv_test_status_ = ::kv::test::ToStatus(expr); \
    INFO(kv_test_status_.ToString());                                  \
    REQUIRE(kv_test_status_.ok());                                     \
  } while (false)
#define CHECK_OK(expr)                                                 \
  do {                                                                 \
    const ::absl::Status kv_test_status_ = ::kv::test::ToStatus(expr); \
    INFO(kv_test_status_.ToString());                                  \
    CHECK(kv_test_status_.ok());                                       \
  } while (false)

namespace kv::test {

inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// A fresh, empty directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("kv_test_" + std::to_string(rd()) + "_" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// n random keys, sorted, duplicates dropped: `prefix` followed by up to
// max_len - 1 bytes drawn from `alphabet` (a small alphabet gives many
// shared prefixes and ties).
inline std::vector<std::string> RandomSortedKeys(std::mt19937_64& rng, std::size_t n,
                                                 std::string_view alphabet, std::size_t max_len,
                                                 const std::string& prefix = "") {
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < n; ++i) {
    std::string k = prefix;
    const std::size_t len = rng() % max_len;
    for (std::size_t j = 0; j < len; ++j) k.push_back(alphabet[rng() % alphabet.size()]);
    keys.push_back(std::move(k));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// True if files in `dir` of the POSIX file system honour
// WritableFile::SetPreallocation (fallocate works there). Tests of the
// reserved tail check it only where it can exist.
inline bool CanPreallocate(const std::string& dir) {
  const std::shared_ptr<FileSystem> fs = FileSystem::Default();
  const std::string probe = dir + "/preallocation-probe";
  bool reserved = false;
  {
    absl::StatusOr<std::unique_ptr<WritableFile>> f = fs->NewWritableFile(probe);
    if (!f.ok()) return false;
    (*f)->SetPreallocation(4096);
    absl::StatusOr<std::uint64_t> size = fs->GetFileSize(probe);
    reserved = size.ok() && *size == 4096;
    (void)(*f)->Close();
  }
  (void)fs->RemoveFile(probe);
  return reserved;
}

// The value of `field` (e.g. "Rss", "VmFlags") in /proc/self/smaps for the
// mapping that contains `address`, without the "Field:" label and leading
// blanks; nullopt if there is no such mapping or field (or no /proc).
inline std::optional<std::string> SmapsField(const void* address, std::string_view field) {
  std::ifstream smaps("/proc/self/smaps");
  const auto target = reinterpret_cast<std::uintptr_t>(address);
  const std::string label = std::string(field) + ":";
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long long lo = 0, hi = 0;
    // Mapping header lines ("lo-hi perms ...") have their first ':' after a blank.
    if (std::sscanf(line.c_str(), "%llx-%llx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = lo <= target && target < hi;
      continue;
    }
    if (inside && line.starts_with(label)) {
      const std::size_t start = line.find_first_not_of(' ', label.size());
      return start == std::string::npos ? std::string() : line.substr(start);
    }
  }
  return std::nullopt;
}

// The resident set size, in KiB, of all of this process's mappings of files
// whose names end with `suffix` (e.g. ".sst").
inline std::uint64_t MappedFilesRssKib(std::string_view suffix) {
  std::ifstream smaps("/proc/self/smaps");
  std::uint64_t total = 0;
  std::string line;
  bool matching = false;
  while (std::getline(smaps, line)) {
    unsigned long long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      matching = line.ends_with(suffix);  // the header ends with the mapped file's path
      continue;
    }
    if (matching && line.starts_with("Rss:")) total += std::stoull(line.substr(4));
  }
  return total;
}

// The number right after `label` in the DB's kv.stats text.
inline std::uint64_t StatsNumberAfter(DB& db, const std::string& label) {
  const std::string stats = db.GetProperty("kv.stats").value();
  INFO(stats);
  const std::size_t at = stats.find(label);
  REQUIRE(at != std::string::npos);
  return std::stoull(stats.substr(at + label.size()));
}

// A non-null stand-in for an SSTableReader, for tests that pin a reader to a
// TableSlot (db/table_slot.hpp), which only stores and compares the pointer.
inline std::shared_ptr<SSTableReader> StandInTableReader() {
  return std::shared_ptr<SSTableReader>(
      reinterpret_cast<SSTableReader*>(new char[1]),
      [](SSTableReader* r) { delete[] reinterpret_cast<char*>(r); });
}

// Seed for randomized tests: KV_TEST_SEED from the environment, else fixed,
// so failures reproduce. Printed by the tests that use it.
inline std::uint64_t TestSeed() {
  if (const char* s = std::getenv("KV_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return 20261121;
}

// Holds the first thread that calls Hold() until Release(); later calls
// pass straight through. For listeners that stop background work at a
// chosen step (e.g. the first flush) while the test does something.
// std::mutex, not absl::Mutex: ThreadSanitizer sees only the former (the
// system's Abseil is not instrumented).
class OneShotGate {
 public:
  void Hold() {
    std::unique_lock<std::mutex> l(mu_);
    if (used_) return;
    used_ = true;
    held_ = true;
    cv_.notify_all();
    cv_.wait(l, [&] { return released_; });
  }
  // Returns once a thread is held (or was).
  void AwaitHeld() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return held_; });
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool used_ = false, held_ = false, released_ = false;
};

}  // namespace kv::test
