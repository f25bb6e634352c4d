// DB::VerifyChecksums: passes on a healthy DB, reports progress, and finds a
// damaged byte anywhere in a table file (naming the file), even when the
// damaged block is already in the block cache.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "kv/db.hpp"
#include "test_util.hpp"

namespace {

using kv::test::TempDir;

std::vector<std::filesystem::path> TableFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".sst") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void FlipByte(const std::filesystem::path& file, std::uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  REQUIRE(f);
}

// A DB with three tables (one flush each) of 2,000 keys.
std::unique_ptr<kv::DB> MakeDb(const std::filesystem::path& dir) {
  kv::Options options;
  options.level0_compaction_trigger = 8;  // keep the three L0 tables
  auto db = kv::DB::Open(options, dir);
  REQUIRE_OK(db.status());
  for (int t = 0; t < 3; ++t) {
    for (int i = 0; i < 2000; ++i) {
      REQUIRE_OK((*db)->Put("key" + std::to_string(t * 2000 + i), std::string(100, 'a' + t)));
    }
    REQUIRE_OK((*db)->Flush());
  }
  return std::move(*db);
}

TEST_CASE("VerifyChecksums passes on a healthy DB and reports progress per file") {
  TempDir dir;
  auto db = MakeDb(dir.path());
  std::vector<kv::VerifyProgress> seen;
  REQUIRE_OK(
      db->VerifyChecksums({.progress = [&](const kv::VerifyProgress& p) { seen.push_back(p); }}));
  REQUIRE(seen.size() == 3);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].files_done == i + 1);
    CHECK(seen[i].files_total == 3);
    CHECK(seen[i].bytes_total > 3 * 2000 * 100);
    CHECK(absl::EndsWith(seen[i].current_file, ".sst"));
  }
  CHECK(seen.back().bytes_done == seen.back().bytes_total);
  REQUIRE_OK(db->VerifyChecksums());  // no callback is fine too
}

TEST_CASE("VerifyChecksums finds a flipped byte anywhere in a table, naming the file") {
  TempDir dir;
  // Positions across the file: early data blocks, the middle, and the
  // metadata at the end (filter, index, properties, footer).
  for (const double where : {0.01, 0.5, 0.97, 0.995}) {
    DYNAMIC_SECTION("flip at " << where << " of the file") {
      const std::filesystem::path db_dir = dir.path() / ("db" + std::to_string(where));
      auto db = MakeDb(db_dir);
      // Read everything first, so the blocks sit in the block cache:
      // verification must still read the file.
      auto it = db->NewIterator();
      std::size_t n = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
      REQUIRE_OK(it->status());
      REQUIRE(n == 6000);
      it.reset();
      const std::filesystem::path victim = TableFiles(db_dir)[1];
      const auto size = std::filesystem::file_size(victim);
      FlipByte(victim, static_cast<std::uint64_t>(static_cast<double>(size) * where));
      const absl::Status s = db->VerifyChecksums();
      INFO(s.ToString());
      REQUIRE(absl::IsDataLoss(s));
      CHECK(absl::StrContains(s.message(), victim.filename().string()));
      CHECK(absl::StrContains(s.message(), "offset"));
    }
  }
}

}  // namespace
