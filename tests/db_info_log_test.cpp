// The LOG file: timestamped lines for open, recovery, flushes, compactions
// (inputs, outputs, bytes, duration), errors and close; rotated to LOG.old
// on the next open.
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "fault_test_util.hpp"
#include "kv/db.hpp"
#include "kv/fault_injection_fs.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

const std::string kDir = "/db";

std::string ReadFile(FileSystem& fs, const std::string& path) {
  auto file = fs.NewSequentialFile(path);
  REQUIRE_OK(file);
  std::string out;
  char buf[4096];
  while (true) {
    auto got = (*file)->Read(sizeof(buf), buf);
    REQUIRE_OK(got);
    if (got->empty()) break;
    out.append(got->data(), got->size());
  }
  return out;
}

// Every line starts with a UTC timestamp, to the microsecond.
void CheckTimestamps(const std::string& log) {
  static const std::regex kLine(R"(\d{4}/\d\d/\d\d-\d\d:\d\d:\d\d\.\d{6} \S.*)");
  REQUIRE(!log.empty());
  REQUIRE(log.back() == '\n');
  const std::vector<std::string> lines = absl::StrSplit(log.substr(0, log.size() - 1), '\n');
  for (const std::string& line : lines) {
    INFO("line: " << line);
    CHECK(std::regex_match(line, kLine));
  }
}

TEST_CASE("LOG records open, flushes, compactions and close, and rotates on open") {
  auto fs = test::NewFaultFs();
  Options options;
  options.file_system = fs;
  options.level0_compaction_trigger = 8;  // only CompactRange compacts
  std::string first_log;
  {
    auto db = DB::Open(options, kDir);
    REQUIRE_OK(db);
    for (int t = 0; t < 2; ++t) {
      for (int i = 0; i < 100; ++i) REQUIRE_OK((*db)->Put("k" + std::to_string(i), "v"));
      REQUIRE_OK((*db)->Flush());
    }
    REQUIRE_OK((*db)->CompactRange(std::nullopt, std::nullopt));
  }
  first_log = ReadFile(*fs, kDir + "/LOG");
  INFO(first_log);
  CheckTimestamps(first_log);
  CHECK(absl::StrContains(first_log, "opening /db (new DB)"));
  CHECK(absl::StrContains(first_log, "opened: last sequence"));
  CHECK(absl::StrContains(first_log, "flushed memtable to"));
  CHECK(absl::StrContains(first_log, " entries, "));
  CHECK(std::regex_search(
      first_log,
      std::regex(
          R"(compacted L0 -> L1 \(manual\): inputs \d+ \d+ \(\d+ bytes\), outputs \d+ \(\d+ bytes\), \d+ us)")));
  CHECK(absl::StrContains(first_log, "closed"));

  // Reopen: the old LOG moves to LOG.old whole; the new one starts afresh.
  {
    auto db = DB::Open(options, kDir);
    REQUIRE_OK(db);
  }
  CHECK(ReadFile(*fs, kDir + "/LOG.old") == first_log);
  const std::string second_log = ReadFile(*fs, kDir + "/LOG");
  CheckTimestamps(second_log);
  CHECK(absl::StartsWith(second_log.substr(27), "opening /db (existing DB)"));
  CHECK_FALSE(absl::StrContains(second_log, "flushed memtable to"));
}

TEST_CASE("LOG records a background error") {
  auto fs = test::NewFaultFs();
  Options options;
  options.file_system = fs;
  auto db = DB::Open(options, kDir);
  REQUIRE_OK(db);
  REQUIRE_OK((*db)->Put("k", "v"));
  fs->FailAlways(FaultOp::kNewWritable, ENOSPC, ".sst");
  CHECK_FALSE((*db)->Flush().ok());
  fs->ClearFaults();
  const std::string log = ReadFile(*fs, kDir + "/LOG");
  INFO(log);
  CheckTimestamps(log);
  CHECK(absl::StrContains(log, "flush of memtable"));
  CHECK(absl::StrContains(log, "ERROR (sticky, writes refused until reopen)"));
  CHECK(absl::StrContains(log, ".sst"));
}

}  // namespace
}  // namespace kv
