// Regenerates the seed corpus of kv's fuzz targets:
//
//   kv_fuzz_make_corpus tests/fuzz/corpus
//
// writes a handful of small, valid inputs per target (real WAL files,
// blocks, tables, MANIFEST edits, write batches and DB API scripts) in the
// input layouts documented at the top of each tests/fuzz/fuzz_<name>.cpp.
// Deterministic: rerunning gives the same bytes.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "db/version_edit.hpp"
#include "kv/block_builder.hpp"
#include "kv/env.hpp"
#include "kv/internal_key.hpp"
#include "kv/sstable_writer.hpp"
#include "kv/wal_writer.hpp"
#include "kv/write_batch.hpp"
#include "kv/write_batch_internal.hpp"

using namespace std::string_literals;

namespace {

std::filesystem::path g_root;

void Emit(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = g_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}

void Check(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
}

std::string Byte(int b) { return std::string(1, static_cast<char>(b)); }
std::string Short(const std::string& s) { return Byte(static_cast<int>(s.size())) + s; }

std::string SampleBatch(std::uint64_t seq) {
  kv::WriteBatch b;
  b.Put("apple", "red");
  b.Delete("banana");
  b.Put("cherry", std::string(40, 'c'));
  kv::detail::WriteBatchInternal::SetSequence(&b, seq);
  return std::string(kv::detail::WriteBatchInternal::Contents(b));
}

std::string WalFile(const std::vector<std::string>& records) {
  std::shared_ptr<kv::FileSystem> fs = kv::NewMemFileSystem();
  auto file = fs->NewWritableFile("/log");
  Check(file.status());
  kv::wal::Writer w(*std::move(file), /*log_number=*/7);
  for (const std::string& r : records) Check(w.AddRecord(r));
  Check(w.Close());
  auto bytes = kv::ReadFileToString(*fs, "/log");
  Check(bytes.status());
  return *bytes;
}

void WalSeeds() {
  const std::string valid = WalFile({SampleBatch(1), SampleBatch(4), "", std::string(300, 'x')});
  Emit("wal_reader", "raw_empty", Byte(0));
  Emit("wal_reader", "raw_valid", Byte(0) + valid);
  Emit("wal_reader", "raw_truncated", Byte(0) + valid.substr(0, valid.size() - 10));
  std::string zeroed = valid;  // checksums wiped: the fixup mode restores them
  for (std::size_t i = 0; i < 4; ++i) zeroed[i] = 0;
  Emit("wal_reader", "fixup_valid", Byte(1) + zeroed);
  // Round trips: n records, each (kind byte, ...), then damage, position, arg.
  Emit("wal_reader", "rt_clean",
       Byte(2) + Byte(3) + Byte(1) + Short("hello") + Byte(1) + Short("") + Byte(4) + "\x10\x90" +
           Byte(0));
  Emit("wal_reader", "rt_truncate",
       Byte(2) + Byte(2) + Byte(4) + "\x00\x90" + Byte(1) + Short("tail") + Byte(1) +
           "\x00\x80\x00\x00");
  Emit("wal_reader", "rt_flip",
       Byte(2) + Byte(2) + Byte(1) + Short("first") + Byte(1) + Short("second") + Byte(2) +
           "\x30\x00\x00\x00" + "\x04");
  Emit("wal_reader", "rt_zero",
       Byte(2) + Byte(2) + Byte(8) + "\x00\x50" + Byte(1) + Short("next") + Byte(3) +
           "\x00\x90\x00\x00" + "\x40\x00");
}

std::string BlockContents(int restart_interval, int n,
                          kv::BlockLayout layout = kv::BlockLayout::kInterleaved) {
  kv::BlockBuilder b(restart_interval, layout);
  for (int i = 0; i < n; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "key%03d", i);
    b.Add(key, std::string(static_cast<std::size_t>(i % 7), 'v'));
  }
  return std::string(b.Finish());
}

void BlockSeeds() {
  const std::string targets = Short("key010") + Short("a") + Short("zzz");
  Emit("block_reader", "raw_16", Byte(0) + targets + BlockContents(16, 40));
  Emit("block_reader", "raw_1", Byte(0) + targets + BlockContents(1, 5));
  Emit("block_reader", "raw_empty_block", Byte(0) + targets + BlockContents(4, 0));
  Emit("block_reader", "raw_split_16",
       Byte(0) + targets + BlockContents(16, 40, kv::BlockLayout::kSplit));
  Emit("block_reader", "raw_split_1",
       Byte(0) + targets + BlockContents(1, 5, kv::BlockLayout::kSplit));
  std::string ikeys;  // a block of internal keys
  {
    kv::BlockBuilder b(2);
    for (int i = 0; i < 6; ++i) {
      b.Add(kv::MakeInternalKey(std::string(1, static_cast<char>('a' + i)), 10 - i,
                                kv::ValueType::kValue),
            "v");
    }
    ikeys = std::string(b.Finish());
  }
  Emit("block_reader", "raw_internal", Byte(0) + targets + ikeys);
  Emit("block_reader", "built_small",
       Byte(1) + Byte(2) + Byte(4) + Short("b") + Short("1") + Short("a") + Short("22") +
           Short("abc") + Short("") + Short("") + Short("empty key") + Short("aa") + Short("c") +
           Short("") + Short("zz") + "\x05\x00\x07");
  Emit("block_reader", "built_split",
       Byte(1) + Byte(0x80 | 2) + Byte(3) + Short("b") + Short("1") + Short("a") + Short("22") +
           Short("abc") + Short("") + Short("zz") + "\x05\x00\x07");
}

std::string TableFile(bool internal, int n, int bloom) {
  std::shared_ptr<kv::FileSystem> fs = kv::NewMemFileSystem();
  auto file = fs->NewWritableFile("/t");
  Check(file.status());
  kv::SSTableWriter w(*std::move(file), kv::SSTableOptions{.block_bytes = 128,
                                                           .bloom_bits_per_key = bloom,
                                                           .restart_interval = 4,
                                                           .internal_keys = internal});
  for (int i = 0; i < n; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%04d", i);
    const std::string k = internal ? kv::MakeInternalKey(key, 100 + static_cast<std::uint64_t>(i),
                                                         i % 5 == 0 ? kv::ValueType::kDeletion
                                                                    : kv::ValueType::kValue)
                                   : std::string(key);
    Check(w.Add(k, std::string(static_cast<std::size_t>(i % 13), 'v')));
  }
  Check(w.Finish());
  Check(w.file()->Close());
  auto bytes = kv::ReadFileToString(*fs, "/t");
  Check(bytes.status());
  return *bytes;
}

void TableSeeds() {
  const std::string targets = Short("k0003") + Short("k0020") + Short("zz");
  // flags: 1 internal keys, 2 verify, 4 paranoid, 8 fix footer, 16 cache, 32 fill
  Emit("table_reader", "raw_plain",
       Byte(0) + Byte(2 | 16 | 32) + targets + TableFile(false, 30, 10));
  Emit("table_reader", "raw_plain_noverify", Byte(0) + Byte(8) + targets + TableFile(false, 30, 0));
  Emit("table_reader", "raw_internal",
       Byte(0) + Byte(1 | 2 | 4) + targets + TableFile(true, 40, 10));
  Emit("table_reader", "raw_internal_noverify",
       Byte(0) + Byte(1 | 8 | 16) + targets + TableFile(true, 40, 0));
  Emit("table_reader", "raw_empty_table", Byte(0) + Byte(2) + targets + TableFile(false, 0, 10));
  // Built: mode, flags, block_bytes, bloom, restart, count (u16), entries, targets, flip.
  std::string built = Byte(1) + Byte(1) + Byte(4) + Byte(10) + Byte(2) + "\x08\x00";
  for (int i = 0; i < 8; ++i) {
    built += Short(std::string(1 + i % 3, static_cast<char>('a' + i)));
    built += Byte(5) + std::string(5, static_cast<char>('0' + i));
  }
  built += Short("b") + Short("") + Short("q") + Short("zzz") + "\x40\x00\x00\x00" + "\x01";
  Emit("table_reader", "built_internal", built);
  built[1] = 2;  // plain keys, paranoid
  Emit("table_reader", "built_plain", built);
}

void VersionEditSeeds() {
  using kv::detail::FileMetaData;
  using kv::detail::VersionEdit;
  std::string out;
  VersionEdit empty;
  empty.EncodeTo(&out);
  Emit("version_edit", "empty", out);

  VersionEdit first;
  first.SetFormatVersion(kv::detail::kManifestFormatVersion);
  first.SetLogNumber(3);
  first.SetNextFileNumber(9);
  first.SetLastSequence(1234);
  out.clear();
  first.EncodeTo(&out);
  Emit("version_edit", "header", out);

  VersionEdit full;
  full.SetLogNumber(12);
  full.SetCompactPointer(1, kv::MakeInternalKey("m", 77, kv::ValueType::kValue));
  full.RemoveFile(0, 5);
  full.RemoveFile(2, 6);
  FileMetaData f;
  f.number = 10;
  f.file_size = 4096;
  f.smallest = kv::MakeInternalKey("a", 50, kv::ValueType::kValue);
  f.largest = kv::MakeInternalKey("z", 60, kv::ValueType::kDeletion);
  f.smallest_seq = 50;
  f.largest_seq = 60;
  f.num_entries = 100;
  f.num_deletions = 3;
  full.AddFile(1, f);
  f.number = 11;
  full.AddFile(3, f);
  out.clear();
  full.EncodeTo(&out);
  Emit("version_edit", "files", out);
}

void WriteBatchSeeds() {
  Emit("write_batch", "sample", SampleBatch(42));
  kv::WriteBatch empty;
  Emit("write_batch", "empty", std::string(kv::detail::WriteBatchInternal::Contents(empty)));
  kv::WriteBatch ttl;
  ttl.Put("session", "token", std::chrono::seconds(60));
  ttl.Put("forever", "x", std::chrono::seconds(0));
  ttl.Delete("old");
  kv::WriteBatch resolved;
  Check(kv::detail::WriteBatchInternal::ResolveTtl(ttl, 0, 1'000'000, &resolved));
  Emit("write_batch", "expiring", std::string(kv::detail::WriteBatchInternal::Contents(resolved)));
  std::string bad = SampleBatch(1);
  bad[8] = 9;  // count mismatch
  Emit("write_batch", "bad_count", bad);
}

// DB scripts: op bytes (op % 12) followed by their arguments; see
// fuzz_db_api.cpp. Random scripts from a fixed seed plus a few written out.
void DbSeeds() {
  Emit("db_api", "put_get",
       "\x00\x01\x02hi"
       "\x03\x01"
       "\x03\x02"
       "\x01\x01"
       "\x03\x01"
       "\x06\x01"
       "\x06\x00"s);
  Emit("db_api", "flush_compact_reopen",
       "\x00\x03\x08\x00\x04\x10\x00\x05\x18\x07\x00\x06\x20\x07\x08\x03\x01\x07\x09\x06\x01"
       "\x04\x00\x05\x55\x05\x02\xaa\x06\x01"s);
  Emit("db_api", "snapshot",
       "\x00\x01\x01x\x0a\x00\x00\x01\x01y\x01\x02\x0b\x01\x01\x0b\x01\x02"
       "\x06\x00\x07\x04\x01\x01\x33\x06\x00"s);
  std::mt19937 rng(20240601);
  for (int s = 0; s < 4; ++s) {
    std::string script;
    const int len = 200 + s * 150;
    for (int i = 0; i < len; ++i) {
      // Bias towards puts of big values so flushes and compactions happen.
      const auto r = static_cast<std::uint8_t>(rng());
      if (r < 96) {
        script += Byte(0) + Byte(rng() % 26) + Byte(8 * (1 + rng() % 31));
      } else {
        script += Byte(static_cast<int>(rng() % 12));
      }
    }
    Emit("db_api", "random_" + std::to_string(s), script);
  }
}

}  // namespace

int main(int argc, char** argv) {
  g_root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
  WalSeeds();
  BlockSeeds();
  TableSeeds();
  VersionEditSeeds();
  WriteBatchSeeds();
  DbSeeds();
  std::printf("seed corpus written to %s\n", g_root.c_str());
  return 0;
}
