// kvctl get/put/delete/scan/stats/compact/verify, help and exit codes,
// run in-process through RunKvctl.
// Built only with kvctl (KV_BUILD_TOOLS): tools/CMakeLists.txt gives these tests
// kvctl_lib and its include path; tests/CMakeLists.txt skips them otherwise.
#include <filesystem>
#include <fstream>

#include "kv/db.hpp"
#include "kvctl_test_util.hpp"
#include "test_util.hpp"

namespace kv::kvctl {
namespace {

using test::Run;
using namespace std::string_literals;

std::vector<std::filesystem::path> FilesWithSuffix(const std::filesystem::path& dir,
                                                   const std::string& suffix) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string().ends_with(suffix)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("kvctl put/get/delete round trip", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  CHECK(Run({"put", db, "k1", "v1"}).code == kExitOk);
  CHECK(Run({"put", db, "k2", "two words"}).code == kExitOk);
  test::Result r = Run({"get", db, "k1"});
  CHECK(r.code == kExitOk);
  CHECK(r.out == "v1\n");
  CHECK(Run({"get", db, "k2"}).out == "two words\n");
  CHECK(Run({"get", db, "k2", "--hex"}).out == "0x74776f20776f726473\n");
  CHECK(Run({"get", db, "k2", "--raw"}).out == "two words");

  // Overwrite, then delete.
  CHECK(Run({"put", db, "k1", "v1b", "--sync"}).code == kExitOk);
  CHECK(Run({"get", db, "k1"}).out == "v1b\n");
  CHECK(Run({"delete", db, "k1"}).code == kExitOk);
  r = Run({"get", db, "k1"});
  CHECK(r.code == kExitNotFound);
  CHECK(r.out.empty());
  CHECK(r.err.find("not found") != std::string::npos);
  CHECK(Run({"delete", db, "absent"}).code == kExitOk);

  // Binary keys and values with --hex-in; shown in hex.
  CHECK(Run({"put", db, "--hex-in", "0x00ff", "0a0b00"}).code == kExitOk);
  CHECK(Run({"get", db, "--hex-in", "00ff", "--raw"}).out == "\x0a\x0b\x00"s);
  CHECK(Run({"get", db, "--hex-in", "00ff"}).out == "0x0a0b00\n");
  // The value written through kvctl is what the library reads.
  {
    auto opened = DB::Open({}, db);
    REQUIRE_OK(opened);
    CHECK(*(*opened)->Get("\x00\xff"s) == "\x0a\x0b\x00"s);
    CHECK(*(*opened)->Get("k2") == "two words");
  }
  // A key starting with "--" after the end of the flags.
  CHECK(Run({"put", db, "--", "--odd", "x"}).code == kExitOk);
  CHECK(Run({"get", db, "--", "--odd"}).out == "x\n");
}

TEST_CASE("kvctl scan: bounds, prefix, limit, hex, keys-only", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  {
    auto opened = DB::Open({}, db);
    REQUIRE_OK(opened);
    for (std::string k : {"a", "b1", "b2", "b3", "c", "d"}) REQUIRE_OK((*opened)->Put(k, "v" + k));
    REQUIRE_OK((*opened)->Put("e\x01"s, "bin\x00"s));
  }
  CHECK(Run({"scan", db}).out ==
        "a\tva\nb1\tvb1\nb2\tvb2\nb3\tvb3\nc\tvc\nd\tvd\n0x6501\t0x62696e00\n");
  CHECK(Run({"scan", db, "--from", "b2", "--to", "d"}).out == "b2\tvb2\nb3\tvb3\nc\tvc\n");
  CHECK(Run({"scan", db, "--from", "b", "--to", "b"}).out.empty());
  CHECK(Run({"scan", db, "--prefix", "b"}).out == "b1\tvb1\nb2\tvb2\nb3\tvb3\n");
  CHECK(Run({"scan", db, "--prefix", "b", "--limit", "2"}).out == "b1\tvb1\nb2\tvb2\n");
  CHECK(Run({"scan", db, "--prefix", "b", "--from", "b2", "--to", "b3"}).out == "b2\tvb2\n");
  CHECK(Run({"scan", db, "--prefix", "b", "--from", "c"}).out.empty());
  CHECK(Run({"scan", db, "--prefix", "zz"}).out.empty());
  CHECK(Run({"scan", db, "--limit", "0"}).out.empty());
  CHECK(Run({"scan", db, "--prefix", "b", "--keys-only"}).out == "b1\nb2\nb3\n");
  CHECK(Run({"scan", db, "--from", "d", "--hex"}).out == "0x64\t0x7664\n0x6501\t0x62696e00\n");
  CHECK(Run({"scan", db, "--prefix", "65", "--hex-in"}).out == "0x6501\t0x62696e00\n");
  CHECK(Run({"scan", db, "--limit", "x"}).code == kExitUsage);
  CHECK(Run({"scan", db, "--limit", "-1"}).code == kExitUsage);
  CHECK(Run({"scan", db, "--prefix", "zz", "--hex-in"}).code == kExitUsage);
}

TEST_CASE("kvctl: commands other than put never create a missing DB", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::filesystem::path missing = tmp.path() / "nodb";
  for (std::vector<std::string> args : {std::vector<std::string>{"get", missing.string(), "k"},
                                        {"delete", missing.string(), "k"},
                                        {"scan", missing.string()},
                                        {"stats", missing.string()},
                                        {"compact", missing.string()},
                                        {"verify", missing.string()},
                                        {"shell", missing.string()}}) {
    INFO(args[0]);
    test::Result r = Run(args);
    CHECK(r.code == kExitError);
    CHECK(r.err.find("no kv database") != std::string::npos);
    CHECK(!std::filesystem::exists(missing));
  }
  // An existing empty directory stays empty.
  std::filesystem::create_directory(missing);
  test::Result r = Run({"get", missing.string(), "k"});
  CHECK(r.code == kExitError);
  CHECK(r.err.find("no kv database") != std::string::npos);
  CHECK(std::filesystem::is_empty(missing));
  // put creates it.
  CHECK(Run({"put", missing.string(), "k", "v"}).code == kExitOk);
  CHECK(Run({"get", missing.string(), "k"}).out == "v\n");
}

TEST_CASE("kvctl: a DB held by another open DB gives a clear error", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  REQUIRE(Run({"put", db, "k", "v"}).code == kExitOk);
  auto opened = DB::Open({}, db);
  REQUIRE_OK(opened);
  for (std::vector<std::string> args : {std::vector<std::string>{"get", db, "k"},
                                        {"put", db, "k", "w"},
                                        {"scan", db},
                                        {"verify", db}}) {
    INFO(args[0]);
    test::Result r = Run(args);
    CHECK(r.code == kExitLocked);
    CHECK(r.err.find("in use by another open DB") != std::string::npos);
  }
  opened->reset();
  CHECK(Run({"get", db, "k"}).out == "v\n");
}

TEST_CASE("kvctl: usage errors exit 2; help exits 0", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  CHECK(Run({}).code == kExitUsage);
  CHECK(Run({"frobnicate", db}).code == kExitUsage);
  CHECK(Run({"get", db}).code == kExitUsage);
  CHECK(Run({"get", db, "a", "b"}).code == kExitUsage);
  CHECK(Run({"put", db, "k"}).code == kExitUsage);
  CHECK(Run({"get", db, "k", "--bogus"}).code == kExitUsage);
  CHECK(Run({"scan", db, "--limit"}).code == kExitUsage);
  CHECK(Run({"put", db, "--hex-in", "zz", "00"}).code == kExitUsage);
  CHECK(Run({"help", "nope"}).code == kExitUsage);
  test::Result r = Run({"get", db});
  CHECK(r.err.find("usage: kvctl get DB_DIR KEY") != std::string::npos);
  // No usage error touched the disk.
  CHECK(!std::filesystem::exists(db));

  r = Run({"--help"});
  CHECK(r.code == kExitOk);
  for (const char* c : {"get", "put", "delete", "scan", "stats", "compact", "verify", "dump-sst",
                        "dump-wal", "dump-manifest", "shell", "Exit codes"}) {
    CHECK(r.out.find(c) != std::string::npos);
  }
  CHECK(Run({"help"}).out == r.out);
  r = Run({"help", "scan"});
  CHECK(r.code == kExitOk);
  CHECK(r.out.find("--prefix") != std::string::npos);
  CHECK(Run({"scan", "--help"}).out == r.out);
  CHECK(Run({"get", "-h"}).out == Run({"help", "get"}).out);
}

TEST_CASE("kvctl stats and compact", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(Run({"put", db, "key" + std::to_string(i), "value"}).code == kExitOk);
  }
  test::Result r = Run({"stats", db});
  CHECK(r.code == kExitOk);
  CHECK(r.out.find("L0") != std::string::npos);
  r = Run({"compact", db}, "", Terminal{.stderr_is_tty = true});
  CHECK(r.code == kExitOk);
  CHECK(r.out.find("after:") != std::string::npos);
  // The progress line was drawn on the "terminal" and erased at the end.
  CHECK(r.err.find("compacting") != std::string::npos);
  CHECK(r.err.ends_with("\r\x1b[K"));
  // Not a terminal: no progress output at all.
  r = Run({"compact", db});
  CHECK(r.code == kExitOk);
  CHECK(r.err.empty());
  CHECK(FilesWithSuffix(db, ".sst").size() == 1);
  CHECK(Run({"scan", db, "--keys-only"}).out == "key0\nkey1\nkey2\n");
}

TEST_CASE("kvctl verify: OK on a good DB, file and offset after a flipped byte", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  {
    auto opened = DB::Open({.block_bytes = 256}, db);
    REQUIRE_OK(opened);
    for (int i = 0; i < 200; ++i) {
      REQUIRE_OK((*opened)->Put("key" + std::to_string(1000 + i), std::string(40, 'a' + i % 26)));
    }
    REQUIRE_OK((*opened)->Flush());
  }
  test::Result r = Run({"verify", db}, "", Terminal{.stderr_is_tty = true});
  INFO(r.err);
  CHECK(r.code == kExitOk);
  CHECK(r.out.starts_with("OK: 1 table files"));
  CHECK(r.err.find("verifying: 1/1 files") != std::string::npos);

  const std::vector<std::filesystem::path> tables = FilesWithSuffix(db, ".sst");
  REQUIRE(tables.size() == 1);
  {
    std::fstream f(tables[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    char c = 0;
    f.seekg(1000);
    f.get(c);
    f.seekp(1000);
    f.put(static_cast<char>(c ^ 0x40));
  }
  r = Run({"verify", db});
  INFO(r.err);
  CHECK(r.code == kExitCorruption);
  CHECK(r.out.empty());
  CHECK(r.err.find(tables[0].filename().string()) != std::string::npos);
  CHECK(r.err.find("offset") != std::string::npos);
}

}  // namespace
}  // namespace kv::kvctl
