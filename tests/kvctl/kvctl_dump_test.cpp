// kvctl dump-sst, dump-wal and dump-manifest.
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

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Writes a table holding alpha, beta (deleted later) and a binary key, and
// leaves a WAL holding gamma and the deletion of beta.
void MakeDb(const std::string& db) {
  auto opened = DB::Open({}, db);
  REQUIRE_OK(opened);
  DB& d = **opened;
  REQUIRE_OK(d.Put("alpha", "first value"));
  REQUIRE_OK(d.Put("beta", "second"));
  REQUIRE_OK(d.Put("\x00\x01"s, "\xff"s));
  REQUIRE_OK(d.Flush());
  WriteBatch batch;
  batch.Put("gamma", "third");
  batch.Delete("beta");
  REQUIRE_OK(d.Write({}, batch));
  REQUIRE_OK(d.Put(WriteOptions{.ttl = std::chrono::hours(1)}, "ttl-key", "soon gone"));
}

TEST_CASE("kvctl dump-sst prints properties, index and entries", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  MakeDb(db);
  const auto tables = FilesWithSuffix(db, ".sst");
  REQUIRE(!tables.empty());
  test::Result r = Run({"dump-sst", tables[0].string()});
  INFO(r.err);
  REQUIRE(r.code == kExitOk);
  INFO(r.out);
  CHECK(Contains(r.out, "properties:"));
  CHECK(Contains(r.out, "entries: 3"));
  CHECK(Contains(r.out, "index:"));
  CHECK(Contains(r.out, "alpha @1 PUT => first value"));
  CHECK(Contains(r.out, "beta @2 PUT => second"));
  CHECK(Contains(r.out, "0x0001 @3 PUT => 0xff"));
  r = Run({"dump-sst", tables[0].string(), "--hex", "--limit", "1"});
  CHECK(r.code == kExitOk);
  CHECK(Contains(r.out, "0x0001 @3 PUT => 0xff"));
  CHECK(!Contains(r.out, "alpha"));  // --hex: 0x616c706861
  CHECK(Contains(r.out, "more entries"));

  // Errors: missing file, a file that is not a table, a corrupted table.
  CHECK(Run({"dump-sst", (tmp.path() / "nope.sst").string()}).code == kExitError);
  const std::filesystem::path junk = tmp.path() / "junk.sst";
  { std::ofstream(junk) << "not a table"; }
  r = Run({"dump-sst", junk.string()});
  CHECK(r.code == kExitCorruption);
  CHECK(Contains(r.err, "offset"));
}

TEST_CASE("kvctl dump-wal prints batches with their entries", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  MakeDb(db);
  // Copy the live WAL (the DB is closed; its WAL is kept for replay).
  const auto wals = FilesWithSuffix(db, ".wal");
  REQUIRE(!wals.empty());
  std::string all;
  for (const auto& w : wals) {
    test::Result r = Run({"dump-wal", w.string()});
    INFO(r.err);
    REQUIRE(r.code == kExitOk);
    all += r.out;
  }
  INFO(all);
  CHECK(Contains(all, "2 entries"));
  CHECK(Contains(all, "PUT gamma => third"));
  CHECK(Contains(all, "DEL beta"));
  CHECK(Contains(all, "PUT ttl-key => soon gone (expires at "));
  CHECK(Contains(all, "end of log"));

  // A torn tail is reported, not an error.
  const std::filesystem::path torn = tmp.path() / wals.back().filename();
  std::filesystem::copy_file(wals.back(), torn);
  const auto size = std::filesystem::file_size(torn);
  std::filesystem::resize_file(torn, size - 3);
  test::Result r = Run({"dump-wal", torn.string()});
  CHECK(r.code == kExitOk);
  CHECK(Contains(r.out, "torn last record"));

  // A file without a WAL name is refused; a bad header is an error.
  r = Run({"dump-wal", (tmp.path() / "x.txt").string()});
  CHECK(r.code == kExitError);
  CHECK(Contains(r.err, "not a WAL file name"));
}

TEST_CASE("kvctl dump-wal reports mid-file corruption with file and offset", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  {
    auto opened = DB::Open({}, db);
    REQUIRE_OK(opened);
    for (int i = 0; i < 50; ++i) {
      REQUIRE_OK((*opened)->Put("key" + std::to_string(i), std::string(100, 'v')));
    }
  }
  const auto wals = FilesWithSuffix(db, ".wal");
  REQUIRE(!wals.empty());
  const std::filesystem::path wal = wals.back();
  REQUIRE(std::filesystem::file_size(wal) > 3000);
  {
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1500);
    f.put('\x5a');
    f.put('\xa5');
  }
  test::Result r = Run({"dump-wal", wal.string()});
  INFO(r.out);
  CHECK(r.code == kExitCorruption);
  CHECK(Contains(r.err, wal.filename().string()));
  CHECK(Contains(r.err, "offset"));
}

TEST_CASE("kvctl dump-manifest prints the version edits", "[kvctl]") {
  kv::test::TempDir tmp;
  const std::string db = (tmp.path() / "db").string();
  MakeDb(db);
  test::Result r = Run({"dump-manifest", db});
  INFO(r.err);
  REQUIRE(r.code == kExitOk);
  INFO(r.out);
  CHECK(Contains(r.out, "MANIFEST-"));
  CHECK(Contains(r.out, "add_file: L0"));
  CHECK(Contains(r.out, "'beta'"));  // the table's largest key
  CHECK(Contains(r.out, "last_sequence"));
  // The manifest file itself works too.
  const auto manifests = FilesWithSuffix(db, "");
  std::string manifest;
  for (const auto& p : manifests) {
    if (p.filename().string().starts_with("MANIFEST-")) manifest = p.string();
  }
  REQUIRE(!manifest.empty());
  CHECK(Run({"dump-manifest", manifest}).code == kExitOk);
  // No DB: a clear error, nothing created.
  const std::string missing = (tmp.path() / "missing").string();
  r = Run({"dump-manifest", missing});
  CHECK(r.code == kExitError);
  CHECK(!std::filesystem::exists(missing));
}

}  // namespace
}  // namespace kv::kvctl
