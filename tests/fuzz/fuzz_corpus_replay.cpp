// Replays the committed seed corpus (tests/fuzz/corpus/<target>/*) through
// every fuzz target's entry point, so any build (gcc included, no libFuzzer)
// checks that the seeds, and every reproducer committed there, pass.
// Reproducers that still fail live in tests/fuzz/pending/<target>/ and are
// not replayed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#define KV_FUZZ_DECLARE(name) int kv_fuzz_##name(const std::uint8_t* data, std::size_t size);
KV_FUZZ_DECLARE(wal_reader)
KV_FUZZ_DECLARE(block_reader)
KV_FUZZ_DECLARE(table_reader)
KV_FUZZ_DECLARE(version_edit)
KV_FUZZ_DECLARE(write_batch)
KV_FUZZ_DECLARE(db_api)
#undef KV_FUZZ_DECLARE

namespace {

using Entry = int (*)(const std::uint8_t*, std::size_t);

// Runs every file of corpus/<target>/ (sorted) through `entry`; returns
// how many ran. Must find at least one seed.
std::size_t Replay(const std::string& target, Entry entry) {
  const std::filesystem::path dir = std::filesystem::path(KV_FUZZ_CORPUS_DIR) / target;
  REQUIRE(std::filesystem::is_directory(dir));
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    INFO("replaying " << f.string());
    std::ifstream in(f, std::ios::binary);
    REQUIRE(in.good());
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // An invariant violation abort()s inside the entry point.
    CHECK(entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) == 0);
  }
  CHECK(!files.empty());
  return files.size();
}

}  // namespace

TEST_CASE("fuzz corpus: wal_reader") { Replay("wal_reader", kv_fuzz_wal_reader); }
TEST_CASE("fuzz corpus: block_reader") { Replay("block_reader", kv_fuzz_block_reader); }
TEST_CASE("fuzz corpus: table_reader") { Replay("table_reader", kv_fuzz_table_reader); }
TEST_CASE("fuzz corpus: version_edit") { Replay("version_edit", kv_fuzz_version_edit); }
TEST_CASE("fuzz corpus: write_batch") { Replay("write_batch", kv_fuzz_write_batch); }
TEST_CASE("fuzz corpus: db_api") { Replay("db_api", kv_fuzz_db_api); }
