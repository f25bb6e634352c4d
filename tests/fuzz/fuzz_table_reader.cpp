// Fuzz target: kv::SSTableReader (Open, iterators in both directions, Get).
//
// Input: one mode byte, then mode-specific bytes.
//   mode % 2 == 0  a flags byte, then a table file read as is. Flags choose
//                  internal/plain keys, checksum verification (off lets the
//                  fuzzer reach the block and index decoding), paranoid Open,
//                  a block cache, and whether the footer checksum is fixed
//                  up. Only "no crash, no hang, errors are statuses".
//   mode % 2 == 1  a table built with kv::SSTableWriter from input-chosen
//                  entries and options must read back exactly (iteration both
//                  ways, Get). Then one byte is changed: with checksums
//                  verified, anything the reader still returns without an
//                  error must be exactly right.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_util.hpp"
#include "kv/checksum.hpp"
#include "kv/env.hpp"
#include "kv/internal_key.hpp"
#include "kv/sstable_format.hpp"
#include "kv/sstable_reader.hpp"
#include "kv/sstable_writer.hpp"

namespace {

constexpr int kMaxSteps = 20000;
const std::string kPath = "/table.sst";

absl::StatusOr<std::shared_ptr<kv::SSTableReader>> OpenTable(kv::FileSystem& fs, std::uint64_t size,
                                                             kv::SSTableReaderOptions opts) {
  auto file = fs.NewRandomAccessFile(kPath);
  KV_FUZZ_CHECK(file.ok(), file.status().ToString());
  return kv::SSTableReader::Open(std::shared_ptr<kv::RandomAccessFile>(*std::move(file)), kPath,
                                 size, opts);
}

void Raw(kv::fuzz::Input& in) {
  const std::uint8_t flags = in.Byte();
  std::vector<std::string> targets;
  for (int i = 0; i < 3; ++i) targets.emplace_back(in.ShortString(16));
  std::string bytes(in.Rest());
  if ((flags & 8) != 0 && bytes.size() >= kv::Footer::kFooterBytes) {
    char* footer = bytes.data() + bytes.size() - kv::Footer::kFooterBytes;
    kv::EncodeFixed32(footer + 52, kv::MaskChecksum(kv::Checksum32(std::string_view(footer, 52))));
  }
  std::shared_ptr<kv::FileSystem> fs = kv::NewMemFileSystem();
  KV_FUZZ_CHECK(kv::WriteStringToFile(*fs, bytes, kPath, false).ok(), "write");

  const bool internal = (flags & 1) != 0;
  const bool verify = (flags & 2) != 0;
  std::optional<kv::BlockCache> cache;
  if ((flags & 16) != 0) cache.emplace(std::size_t{1} << 16);
  kv::SSTableReaderOptions opts{.internal_keys = internal,
                                .cache_id = 1,
                                .block_cache = cache ? &*cache : nullptr,
                                .verify_checksums = verify,
                                .paranoid = (flags & 4) != 0};
  auto table = OpenTable(*fs, bytes.size(), opts);
  if (!table.ok()) return;
  const kv::TableReadOptions ro{.verify_checksums = verify, .fill_cache = (flags & 32) != 0};

  auto it = (*table)->NewIterator(ro);
  int steps = 0;
  for (it->SeekToFirst(); it->Valid() && steps < kMaxSteps; it->Next(), ++steps) {
  }
  steps = 0;
  for (it->SeekToLast(); it->Valid() && steps < kMaxSteps; it->Prev(), ++steps) {
  }
  for (std::string& t : targets) {
    if (internal)
      kv::AppendInternalKey(&t, std::string(t), kv::kMaxSequenceNumber, kv::kValueTypeForSeek);
    it->Seek(t);
    for (int i = 0; i < 4 && it->Valid(); ++i) (i % 2 == 0) ? it->Next() : it->Prev();
    int calls = 0;
    (void)(*table)->Get(ro, t, [&](std::string_view, std::string_view) { return ++calls < 3; });
    (void)(*table)->ApproximateOffsetOf(t);
    (void)(*table)->KeyMayMatch(t);
  }
}

void Built(kv::fuzz::Input& in) {
  const std::uint8_t flags = in.Byte();
  const bool internal = (flags & 1) != 0;
  kv::SSTableOptions wopts{.block_bytes = 32 + std::size_t{in.Byte()} * 8,
                           .bloom_bits_per_key = in.Byte() % 21,
                           .restart_interval = 1 + in.Byte() % 16,
                           .internal_keys = internal,
                           .creation_time_micros = 42};
  std::map<std::string, std::string> model;  // user key -> value
  const int n = in.U16() % 600;
  for (int i = 0; i < n && !in.empty(); ++i) {
    std::string key(in.ShortString(12));
    const std::uint8_t vlen = in.Byte();
    model[key] =
        vlen % 16 == 0 ? kv::fuzz::Filler(vlen * 4u, vlen) : std::string(in.Bytes(vlen % 24));
  }
  auto encode = [&](std::string_view user) {
    return internal ? kv::MakeInternalKey(user, 100, kv::ValueType::kValue) : std::string(user);
  };
  auto seek_key = [&](std::string_view user) {
    return internal ? kv::MakeInternalKey(user, kv::kMaxSequenceNumber, kv::kValueTypeForSeek)
                    : std::string(user);
  };

  std::shared_ptr<kv::FileSystem> fs = kv::NewMemFileSystem();
  {
    auto file = fs->NewWritableFile(kPath);
    KV_FUZZ_CHECK(file.ok(), "create");
    kv::SSTableWriter w(*std::move(file), wopts);
    for (const auto& [k, v] : model) KV_FUZZ_CHECK(w.Add(encode(k), v).ok(), "Add");
    KV_FUZZ_CHECK(w.Finish().ok(), "Finish");
    KV_FUZZ_CHECK(w.file()->Close().ok(), "Close");
  }
  auto contents = kv::ReadFileToString(*fs, kPath);
  KV_FUZZ_CHECK(contents.ok(), "read back");
  std::string bytes = *std::move(contents);

  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& [k, v] : model) expected.emplace_back(encode(k), v);
  std::vector<std::string> targets;
  for (const auto& [k, v] : model) {
    if (targets.size() >= 64) break;
    targets.push_back(k);
    targets.push_back(k + '\0');
  }
  for (int t = 0; t < 4; ++t) targets.emplace_back(in.ShortString(12));

  // damaged == false: everything must be exactly right. damaged == true:
  // errors are allowed, wrong data is not.
  auto check = [&](bool damaged) {
    kv::SSTableReaderOptions ropts{.internal_keys = internal, .paranoid = (flags & 2) != 0};
    auto table = OpenTable(*fs, bytes.size(), ropts);
    if (damaged && !table.ok()) return;
    KV_FUZZ_CHECK(table.ok(), table.status().ToString());
    auto it = (*table)->NewIterator();
    std::size_t i = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
      KV_FUZZ_CHECK(i < expected.size(), "too many entries");
      KV_FUZZ_CHECK(it->key() == expected[i].first && it->value() == expected[i].second,
                    "wrong entry forward at " + std::to_string(i));
    }
    KV_FUZZ_CHECK(!it->status().ok() ? damaged : i == expected.size(),
                  "forward: " + it->status().ToString() + " after " + std::to_string(i));
    i = expected.size();
    for (it->SeekToLast(); it->Valid(); it->Prev()) {
      KV_FUZZ_CHECK(i > 0, "too many entries backward");
      --i;
      KV_FUZZ_CHECK(it->key() == expected[i].first && it->value() == expected[i].second,
                    "wrong entry backward at " + std::to_string(i));
    }
    KV_FUZZ_CHECK(!it->status().ok() ? damaged : i == 0, "backward: " + it->status().ToString());
    for (const std::string& t : targets) {
      auto lb = model.lower_bound(t);
      it->Seek(seek_key(t));
      if (it->Valid()) {
        KV_FUZZ_CHECK(
            lb != model.end() && it->key() == encode(lb->first) && it->value() == lb->second,
            "Seek landed on the wrong entry");
      } else {
        KV_FUZZ_CHECK(damaged || (it->status().ok() && lb == model.end()), "Seek missed");
      }
      bool called = false;
      absl::Status s = (*table)->Get({}, seek_key(t), [&](std::string_view k, std::string_view v) {
        called = true;
        KV_FUZZ_CHECK(lb != model.end() && k == encode(lb->first) && v == lb->second,
                      "Get returned the wrong entry");
        return false;
      });
      KV_FUZZ_CHECK(s.ok() || damaged, s.ToString());
      if (s.ok() && lb != model.end() && lb->first == t) {
        KV_FUZZ_CHECK(called, "Get did not find a present key");
      }
    }
  };
  check(false);
  if (!bytes.empty()) {
    const std::size_t pos = in.U32() % bytes.size();
    bytes[pos] = static_cast<char>(bytes[pos] ^ (in.Byte() | 1));
    KV_FUZZ_CHECK(kv::WriteStringToFile(*fs, bytes, kPath, false).ok(), "rewrite");
    check(true);
  }
}

}  // namespace

KV_FUZZ_ENTRY(table_reader) {
  kv::fuzz::Input in(data, size);
  if (in.Byte() % 2 == 0) {
    Raw(in);
  } else {
    Built(in);
  }
  return 0;
}
