// Tests for kv::SSTableWriter / kv::SSTableReader: 100k-key round trips
// (scans both ways, seeks, point lookups) against a sorted-vector model,
// with and without the block cache and bloom filter, plain bytewise tables,
// writer argument checks, and corruption/truncation at every byte.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kv/sstable_reader.hpp"
#include "kv/sstable_writer.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

// An in-memory WritableFile appending to a shared string.
class StringSink final : public WritableFile {
 public:
  explicit StringSink(std::shared_ptr<std::string> out) : out_(std::move(out)) {}
  absl::Status Append(std::string_view data) override {
    out_->append(data.data(), data.size());
    return absl::OkStatus();
  }
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::Status Close() override { return absl::OkStatus(); }
  std::uint64_t Size() const override { return out_->size(); }

 private:
  std::shared_ptr<std::string> out_;
};

// An in-memory RandomAccessFile over a string (short reads at the end).
// With `mapped`, it also offers its bytes as a memory mapping, so readers
// take their zero-copy path (as over a POSIX mmap).
class StringSource final : public RandomAccessFile {
 public:
  explicit StringSource(std::string data, bool mapped = false)
      : data_(std::move(data)), mapped_(mapped) {}
  std::optional<std::string_view> Mapped() const override {
    if (!mapped_) return std::nullopt;
    return std::string_view(data_);
  }
  // Changes a byte under the reader's feet (the "mapping" is data_ itself).
  void FlipByte(std::size_t pos, char mask) { data_[pos] = static_cast<char>(data_[pos] ^ mask); }
  absl::StatusOr<std::string_view> Read(std::uint64_t offset, std::size_t n,
                                        char* scratch) const override {
    ++reads_;
    if (offset >= data_.size()) return std::string_view();
    const std::size_t len = std::min<std::uint64_t>(n, data_.size() - offset);
    std::memcpy(scratch, data_.data() + offset, len);
    return std::string_view(scratch, len);
  }
  absl::StatusOr<std::uint64_t> Size() const override { return data_.size(); }
  std::uint64_t reads() const { return reads_; }

 private:
  std::string data_;
  const bool mapped_;
  mutable std::atomic<std::uint64_t> reads_{0};
};

using Entries = std::vector<std::pair<std::string, std::string>>;

std::string BuildTable(const Entries& entries, SSTableOptions options) {
  auto out = std::make_shared<std::string>();
  SSTableWriter w(std::make_unique<StringSink>(out), options);
  for (const auto& [k, v] : entries) REQUIRE_OK(w.Add(k, v));
  REQUIRE_OK(w.Finish());
  REQUIRE(w.FileSize() == out->size());
  REQUIRE(w.NumEntries() == entries.size());
  return *out;
}

std::shared_ptr<SSTableReader> OpenTable(std::string bytes, SSTableReaderOptions options = {},
                                         bool mapped = false) {
  const std::uint64_t size = bytes.size();
  auto table = SSTableReader::Open(std::make_shared<StringSource>(std::move(bytes), mapped),
                                   "t.sst", size, options);
  REQUIRE_OK(table);
  return *table;
}

std::string UserKey(std::uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "user%010llu", static_cast<unsigned long long>(i));
  return buf;
}

// 100k internal-key entries: user keys 0, 2, 4, ... (odd ones are absent),
// some with several versions, some deletions.
Entries InternalEntries(std::mt19937_64& rng, std::size_t n) {
  Entries out;
  SequenceNumber seq = 1;
  for (std::uint64_t u = 0; out.size() < n; u += 2) {
    const int versions = rng() % 8 == 0 ? 3 : 1;
    std::vector<std::pair<std::string, std::string>> group;
    for (int v = 0; v < versions; ++v) {
      const bool del = rng() % 10 == 0;
      const SequenceNumber s = seq++;
      group.emplace_back(
          MakeInternalKey(UserKey(u), s, del ? ValueType::kDeletion : ValueType::kValue),
          del ? std::string() : "value-" + std::to_string(u) + "-" + std::to_string(s));
    }
    std::reverse(group.begin(), group.end());  // newest first
    for (auto& e : group) out.push_back(std::move(e));
  }
  out.resize(n);
  return out;
}

std::size_t LowerBound(const Entries& model, std::string_view target, KeyComparator cmp) {
  return static_cast<std::size_t>(
      std::lower_bound(model.begin(), model.end(), target,
                       [cmp](const auto& e, std::string_view t) { return cmp(e.first, t) < 0; }) -
      model.begin());
}

void CheckScans(SSTableReader& table, const Entries& model, const TableReadOptions& ro = {}) {
  auto it = table.NewIterator(ro);
  std::size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
    REQUIRE(i < model.size());
    REQUIRE(it->key() == model[i].first);
    REQUIRE(it->value() == model[i].second);
  }
  REQUIRE_OK(it->status());
  REQUIRE(i == model.size());
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    REQUIRE(i > 0);
    --i;
    REQUIRE(it->key() == model[i].first);
    REQUIRE(it->value() == model[i].second);
  }
  REQUIRE_OK(it->status());
  REQUIRE(i == 0);
}

void CheckSeeks(SSTableReader& table, const Entries& model, const std::vector<std::string>& targets,
                KeyComparator cmp) {
  auto it = table.NewIterator({});
  for (const std::string& t : targets) {
    const std::size_t i = LowerBound(model, t, cmp);
    it->Seek(t);
    REQUIRE_OK(it->status());
    if (i == model.size()) {
      REQUIRE_FALSE(it->Valid());
      continue;
    }
    REQUIRE(it->Valid());
    REQUIRE(it->key() == model[i].first);
    it->Prev();
    if (i == 0) {
      REQUIRE_FALSE(it->Valid());
      it->Seek(t);
    } else {
      REQUIRE(it->Valid());
      REQUIRE(it->key() == model[i - 1].first);
      it->Next();
      REQUIRE(it->key() == model[i].first);
    }
    it->Next();
    if (i + 1 < model.size()) {
      REQUIRE(it->key() == model[i + 1].first);
    } else {
      REQUIRE_FALSE(it->Valid());
    }
  }
}

// The DB's use of Get: the first entry of `user_key` visible at `snapshot`.
std::optional<std::pair<std::string, std::string>> DbGet(SSTableReader& table,
                                                         std::string_view user_key,
                                                         SequenceNumber snapshot) {
  std::optional<std::pair<std::string, std::string>> found;
  const std::string seek = MakeInternalKey(user_key, snapshot, kValueTypeForSeek);
  REQUIRE_OK(table.Get({}, seek, [&](std::string_view k, std::string_view v) {
    if (ExtractUserKey(k) == user_key) found.emplace(std::string(k), std::string(v));
    return false;
  }));
  return found;
}

void CheckInternalTable(SSTableReader& table, const Entries& model, std::mt19937_64& rng) {
  CheckScans(table, model);
  std::vector<std::string> targets = {MakeInternalKey("", kMaxSequenceNumber, kValueTypeForSeek),
                                      MakeInternalKey("zzz", 0, ValueType::kDeletion)};
  for (int i = 0; i < 5000; ++i) {
    const auto& e = model[rng() % model.size()];
    targets.push_back(e.first);
    ParsedInternalKey p;
    REQUIRE(ParseInternalKey(e.first, &p));
    targets.push_back(MakeInternalKey(p.user_key, p.sequence + rng() % 3, kValueTypeForSeek));
    targets.push_back(MakeInternalKey(UserKey(rng() % 250000), rng() % 200000, kValueTypeForSeek));
  }
  CheckSeeks(table, model, targets, CompareInternalKeys);

  // Point lookups at random snapshots, hits and misses.
  std::uint64_t absent = 0, filtered = 0;
  const std::string last_user(ExtractUserKey(model.back().first));
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t u = rng() % (model.size() * 2);
    const SequenceNumber snap = rng() % (model.size() + 10);
    const std::string seek = MakeInternalKey(UserKey(u), snap, kValueTypeForSeek);
    const std::size_t j = LowerBound(model, seek, CompareInternalKeys);
    const bool expect = j < model.size() && ExtractUserKey(model[j].first) == UserKey(u);
    auto got = DbGet(table, UserKey(u), snap);
    REQUIRE(got.has_value() == expect);
    if (expect) {
      REQUIRE(got->first == model[j].first);
      REQUIRE(got->second == model[j].second);
    }
    if (u % 2 == 1 || UserKey(u) > last_user) {
      ++absent;
      if (!table.KeyMayMatch(UserKey(u))) ++filtered;
    } else {
      REQUIRE(table.KeyMayMatch(UserKey(u)));
    }
  }
  if (table.has_filter()) {
    REQUIRE(filtered > absent * 95 / 100);  // ~1% false positives at 10 bits/key
  } else {
    REQUIRE(filtered == 0);
  }
}

TEST_CASE("SSTable with 100k internal keys: scans, seeks, gets, properties") {
  std::mt19937_64 rng(test::TestSeed());
  const Entries model = InternalEntries(rng, 100000);
  const std::string bytes = BuildTable(model, {.creation_time_micros = 12345});
  auto table = OpenTable(bytes);

  const TableProperties& p = table->properties();
  CHECK(p.num_entries == model.size());
  std::uint64_t deletions = 0, key_bytes = 0, value_bytes = 0;
  SequenceNumber smallest = kMaxSequenceNumber, largest = 0;
  for (const auto& [k, v] : model) {
    ParsedInternalKey parsed;
    REQUIRE(ParseInternalKey(k, &parsed));
    deletions += parsed.type == ValueType::kDeletion ? 1 : 0;
    smallest = std::min(smallest, parsed.sequence);
    largest = std::max(largest, parsed.sequence);
    key_bytes += k.size();
    value_bytes += v.size();
  }
  CHECK(p.num_deletions == deletions);
  CHECK(p.smallest_key == model.front().first);
  CHECK(p.largest_key == model.back().first);
  CHECK(p.smallest_seq == smallest);
  CHECK(p.largest_seq == largest);
  CHECK(p.raw_key_bytes == key_bytes);
  CHECK(p.raw_value_bytes == value_bytes);
  CHECK(p.creation_time_micros == 12345);
  CHECK(p.format_version == kSSTableFormatVersion);
  CHECK(p.internal_keys);
  CHECK(p.num_data_blocks > 500);
  CHECK(p.filter_bytes >= model.size() * 10 / 8 / 2);  // ~10 bits per distinct user key

  CheckInternalTable(*table, model, rng);

  // ApproximateOffsetOf is monotone and spans the data.
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < model.size(); i += 997) {
    const std::uint64_t off = table->ApproximateOffsetOf(model[i].first);
    REQUIRE(off >= prev);
    prev = off;
  }
  CHECK(table->ApproximateOffsetOf(model.front().first) == 0);
  CHECK(table->ApproximateOffsetOf(MakeInternalKey("zzz", 0, ValueType::kValue)) == p.data_bytes);

  // Through a block cache big enough for the table, and through one too
  // small to keep blocks for long (iterators keep evicted blocks alive).
  {
    BlockCache cache(std::size_t{64} << 20, 1);
    auto cached = OpenTable(bytes, {.cache_id = 7, .block_cache = &cache});
    CheckInternalTable(*cached, model, rng);
    CHECK(cache.hits() > 0);
  }
  {
    BlockCache tiny(std::size_t{8} << 10, 1);
    auto cached = OpenTable(bytes, {.cache_id = 8, .block_cache = &tiny});
    CheckScans(*cached, model);
    for (std::size_t i = 0; i < model.size(); i += 101) {
      ParsedInternalKey pk;
      REQUIRE(ParseInternalKey(model[i].first, &pk));
      REQUIRE(DbGet(*cached, pk.user_key, pk.sequence));
    }
    CHECK(tiny.TotalCharge() <= (std::size_t{8} << 10));
  }
  // Paranoid open, and reads without checksum checks.
  auto paranoid = OpenTable(bytes, {.paranoid = true});
  CheckScans(*paranoid, model, {.verify_checksums = false, .fill_cache = false});

  // Memory-mapped: blocks parsed in place, the cache bypassed.
  {
    BlockCache cache(std::size_t{64} << 20, 1);
    auto mapped = OpenTable(bytes, {.cache_id = 9, .block_cache = &cache}, /*mapped=*/true);
    CheckInternalTable(*mapped, model, rng);
    CHECK(cache.hits() + cache.misses() == 0);
  }
}

TEST_CASE("SSTableWriter hands the file whole 2 MiB chunks at multiples of 2 MiB, then the rest") {
  // Each chunk can then sit in the page cache as one huge page (see the
  // writer's file comment): a write that straddled a boundary would not.
  struct FileWrite {
    std::uint64_t offset;
    std::size_t size;
  };
  class RecordingSink final : public WritableFile {
   public:
    explicit RecordingSink(std::vector<FileWrite>* appends) : appends_(appends) {}
    absl::Status Append(std::string_view data) override {
      appends_->push_back({size_, data.size()});
      size_ += data.size();
      return absl::OkStatus();
    }
    absl::Status Sync() override { return absl::OkStatus(); }
    absl::Status Close() override { return absl::OkStatus(); }
    std::uint64_t Size() const override { return size_; }

   private:
    std::vector<FileWrite>* appends_;
    std::uint64_t size_ = 0;
  };
  constexpr std::size_t kChunk = SSTableWriter::kWriteChunkBytes;
  std::mt19937_64 rng(test::TestSeed());
  const Entries model = InternalEntries(rng, 200000);  // ~5.8 MiB of table
  std::vector<FileWrite> appends;
  SSTableWriter w(std::make_unique<RecordingSink>(&appends), {});
  for (const auto& [k, v] : model) {
    if (!w.Add(k, v).ok()) FAIL("Add");
  }
  REQUIRE_OK(w.Finish());
  REQUIRE(w.FileSize() > 2 * kChunk);  // so there are whole chunks and a rest
  REQUIRE(appends.size() >= 2);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < appends.size(); ++i) {
    INFO("append " << i << " at " << appends[i].offset << ", " << appends[i].size << " bytes");
    CHECK(appends[i].offset % kChunk == 0);
    if (i + 1 < appends.size()) CHECK(appends[i].size % kChunk == 0);
    total += appends[i].size;
  }
  CHECK(appends.back().size < kChunk);  // the rest, at Finish
  CHECK(total == w.FileSize());
}

TEST_CASE("SSTable format version 1 (interleaved data blocks) is still written and read") {
  std::mt19937_64 rng(test::TestSeed());
  const Entries model = InternalEntries(rng, 20000);
  const std::string v1 = BuildTable(model, {.format_version = 1});
  const std::string v2 = BuildTable(model, {});
  // The same entries, blocks and offsets: the layouts differ only inside
  // each data block (the restart array holds as many bytes in both).
  REQUIRE(v1.size() == v2.size());
  REQUIRE(v1 != v2);
  for (const std::string* bytes : {&v1, &v2}) {
    for (bool mapped : {false, true}) {
      INFO("v" << (bytes == &v1 ? 1 : 2) << " mapped=" << mapped);
      auto table = OpenTable(*bytes, {}, mapped);
      CHECK(table->properties().format_version == (bytes == &v1 ? 1u : 2u));
      auto footer = Footer::Decode(std::string_view(*bytes).substr(bytes->size() - 64));
      REQUIRE_OK(footer);
      CHECK(footer->format_version == (bytes == &v1 ? 1u : 2u));
      CheckInternalTable(*table, model, rng);
    }
  }
}

TEST_CASE("SSTable of an unknown format version is rejected with its version") {
  std::mt19937_64 rng(test::TestSeed());
  std::string bytes = BuildTable(InternalEntries(rng, 100), {});
  auto footer = Footer::Decode(std::string_view(bytes).substr(bytes.size() - 64));
  REQUIRE_OK(footer);
  for (std::uint32_t version : {0u, 3u}) {
    Footer f = *footer;
    f.format_version = version;
    const std::string encoded = f.Encode();
    REQUIRE(encoded.size() == 64);
    bytes.replace(bytes.size() - 64, 64, encoded);
    auto table = SSTableReader::Open(std::make_shared<StringSource>(bytes, false), "t.sst",
                                     bytes.size(), {});
    REQUIRE(absl::IsDataLoss(table.status()));
    CHECK(table.status().message().find("format version " + std::to_string(version)) !=
          std::string::npos);
  }
}

TEST_CASE("WarmBlock reads nothing outside the block, for every access and alignment") {
  // Blocks placed flush against inaccessible pages: a load before the first
  // byte or past the last one faults (prefetches never do).
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t span = 8 * page;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(raw != MAP_FAILED);
  char* base = static_cast<char*>(raw);
  REQUIRE(mprotect(base, page, PROT_NONE) == 0);                // guard before
  REQUIRE(mprotect(base + span - page, page, PROT_NONE) == 0);  // guard after
  const char* first = base + page;                              // first readable byte
  const char* end = base + span - page;                         // one past the last
  int warmed = 0;
  for (const BlockAccess access :
       {BlockAccess::kSearch, BlockAccess::kForwardScan, BlockAccess::kBackwardScan}) {
    for (std::size_t size :
         {std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65}, std::size_t{4095},
          std::size_t{4096}, std::size_t{4097}, std::size_t{9000}, 4 * page + 17}) {
      for (std::size_t misalign : {0, 1, 31, 63}) {
        // Ending at the guard after, then starting at the guard before.
        detail::WarmBlock(std::string_view(end - size - misalign, size), access);
        detail::WarmBlock(std::string_view(first + misalign, size), access);
        ++warmed;
      }
    }
  }
  CHECK(warmed == 3 * 9 * 4);
  REQUIRE(munmap(raw, span) == 0);
}

TEST_CASE("SSTable over a mapping: a block is verified once, and only by a checked read") {
  Entries model;
  for (std::uint64_t i = 0; i < 400; ++i) {
    model.emplace_back(MakeInternalKey(UserKey(i), i + 1, ValueType::kValue),
                       "value-" + std::to_string(i));
  }
  const std::string bytes = BuildTable(model, {.block_bytes = 512});
  REQUIRE(OpenTable(bytes)->properties().num_data_blocks > 4);
  // A value byte of entry 200 (in a middle block): the block still parses.
  const std::size_t pos = bytes.find("value-200") + 6;
  REQUIRE(pos != std::string::npos + 6);
  const std::string& key = model[200].first;
  auto get = [&](SSTableReader& table, bool verify) {
    std::string value;
    absl::Status s = table.Get({.verify_checksums = verify}, key, [&](auto, std::string_view v) {
      value.assign(v.data(), v.size());
      return false;
    });
    return std::make_pair(s, value);
  };
  auto open = [&](std::shared_ptr<StringSource> file, bool paranoid) {
    auto table = SSTableReader::Open(file, "t.sst", bytes.size(), {.paranoid = paranoid});
    REQUIRE_OK(table);
    return *std::move(table);
  };

  SECTION("an unchecked read does not mark a corrupt block as verified") {
    auto file = std::make_shared<StringSource>(bytes, /*mapped=*/true);
    file->FlipByte(pos, 0x01);
    auto table = open(file, false);
    auto [unchecked, garbled] = get(*table, false);
    REQUIRE_OK(unchecked);
    CHECK(garbled != model[200].second);
    auto [checked, ignored] = get(*table, true);
    CHECK(absl::IsDataLoss(checked));
    CHECK(checked.message().find("t.sst") != std::string::npos);
    CHECK(checked.message().find("checksum") != std::string::npos);
    // Iterators take the same path.
    auto it = table->NewIterator({});
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
    }
    CHECK(absl::IsDataLoss(it->status()));
  }
  SECTION("a verified block is not checked again; a paranoid reader checks every read") {
    auto file = std::make_shared<StringSource>(bytes, /*mapped=*/true);
    auto table = open(file, false);
    auto paranoid = open(file, true);
    REQUIRE(get(*table, true).second == model[200].second);
    REQUIRE(get(*paranoid, true).second == model[200].second);
    file->FlipByte(pos, 0x01);  // after the checks: like memory going bad
    auto [again, garbled] = get(*table, true);
    REQUIRE_OK(again);  // the same trust as a block in the block cache
    CHECK(garbled != model[200].second);
    CHECK(absl::IsDataLoss(get(*paranoid, true).first));
  }
}

TEST_CASE("SSTable: read_mapped=false copies a mapped table's blocks out with file reads") {
  Entries model;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    model.emplace_back(MakeInternalKey(UserKey(i), i + 1, ValueType::kValue), "v" + UserKey(i));
  }
  const std::string bytes = BuildTable(model, {});
  auto file = std::make_shared<StringSource>(bytes, /*mapped=*/true);
  BlockCache cache(1 << 20);
  auto table =
      SSTableReader::Open(file, "t.sst", bytes.size(), {.cache_id = 1, .block_cache = &cache});
  REQUIRE_OK(table);
  auto scan = [&](const TableReadOptions& ro) {
    Entries got;
    auto it = (*table)->NewIterator(ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      got.emplace_back(std::string(it->key()), std::string(it->value()));
    }
    REQUIRE_OK(it->status());
    return got;
  };
  const std::uint64_t reads_at_open = file->reads();
  CHECK(scan({}) == model);
  CHECK(file->reads() == reads_at_open);  // in place: no file reads
  CHECK(scan({.fill_cache = false, .read_mapped = false}) == model);
  const std::uint64_t reads_after = file->reads();
  CHECK(reads_after > reads_at_open + 10);  // one read per data block
  CHECK(cache.TotalCharge() == 0);          // and fill_cache=false kept them out
  // A corrupt byte is caught on this path too (it has no verified-once memory).
  file->FlipByte(100, 0x01);
  auto it = (*table)->NewIterator({.fill_cache = false, .read_mapped = false});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
  }
  CHECK(absl::IsDataLoss(it->status()));
}

TEST_CASE("SSTable block cache serves repeated reads without file I/O") {
  Entries model;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    model.emplace_back(MakeInternalKey(UserKey(i), i + 1, ValueType::kValue), "v" + UserKey(i));
  }
  const std::string bytes = BuildTable(model, {});
  auto file = std::make_shared<StringSource>(bytes);
  BlockCache cache(1 << 20);
  auto table =
      SSTableReader::Open(file, "t.sst", bytes.size(), {.cache_id = 1, .block_cache = &cache});
  REQUIRE_OK(table);
  CheckScans(**table, model);
  const std::uint64_t reads = file->reads();
  CheckScans(**table, model);
  for (std::uint64_t i = 0; i < 2000; i += 7) REQUIRE(DbGet(**table, UserKey(i), 100000));
  CHECK(file->reads() == reads);  // everything came from the cache

  // fill_cache = false leaves the cache alone.
  BlockCache cold(1 << 20);
  auto table2 =
      SSTableReader::Open(file, "t.sst", bytes.size(), {.cache_id = 2, .block_cache = &cold});
  REQUIRE_OK(table2);
  const std::size_t index_only = cold.TotalCharge();
  CheckScans(**table2, model, {.verify_checksums = true, .fill_cache = false});
  CHECK(cold.TotalCharge() == index_only);
}

TEST_CASE("SSTable of plain bytewise keys") {
  std::mt19937_64 rng(test::TestSeed());
  std::map<std::string, std::string> m;
  while (m.size() < 20000) {
    std::string k(rng() % 24, '\0');
    for (char& c : k) c = static_cast<char>(rng() % 4 == 0 ? rng() : 'a' + rng() % 3);
    m[k] = std::to_string(rng());
  }
  const Entries model(m.begin(), m.end());
  const std::string bytes =
      BuildTable(model, {.block_bytes = 1024, .restart_interval = 4, .internal_keys = false});
  auto table = OpenTable(bytes, {.internal_keys = false});
  CHECK_FALSE(table->properties().internal_keys);
  CheckScans(*table, model);
  std::vector<std::string> targets = {"", std::string(30, '\xff')};
  for (const auto& [k, v] : model) {
    targets.push_back(k);
    targets.push_back(k + '\0');
  }
  CheckSeeks(*table, model, targets, CompareUserKeys);
  for (const auto& entry : model) {
    // Named copies: clang 14 cannot capture structured bindings in lambdas.
    const std::string& k = entry.first;
    const std::string& v = entry.second;
    REQUIRE(table->KeyMayMatch(k));
    std::string got;
    REQUIRE_OK(table->Get({}, k, [&](std::string_view key, std::string_view value) {
      if (key == k) got = std::string(value);
      return false;
    }));
    REQUIRE(got == v);
  }
  // Opening with the wrong key kind is an argument error.
  const std::uint64_t size = bytes.size();
  auto wrong = SSTableReader::Open(std::make_shared<StringSource>(bytes), "t.sst", size, {});
  CHECK(absl::IsInvalidArgument(wrong.status()));
}

TEST_CASE("SSTable: a filter sized from max_keys") {
  std::mt19937_64 rng(test::TestSeed());
  const Entries model = InternalEntries(rng, 20000);
  std::uint64_t distinct = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    distinct += i == 0 || ExtractUserKey(model[i].first) != ExtractUserKey(model[i - 1].first);
  }
  const std::string listed = BuildTable(model, {});
  // The exact distinct count: the same filter, so the same file.
  CHECK(BuildTable(model, {.max_keys = distinct}) == listed);
  // Every version counted, as a flush does: a larger filter, every key still found.
  auto table = OpenTable(BuildTable(model, {.max_keys = model.size()}));
  CHECK(table->properties().filter_bytes > OpenTable(listed)->properties().filter_bytes);
  CheckInternalTable(*table, model, rng);
  // No filter asked for: max_keys changes nothing.
  CHECK(BuildTable(model, {.bloom_bits_per_key = 0, .max_keys = distinct}) ==
        BuildTable(model, {.bloom_bits_per_key = 0}));
}

TEST_CASE("SSTable without a bloom filter, and an empty table") {
  Entries model;
  for (std::uint64_t i = 0; i < 3000; i += 2) {
    model.emplace_back(MakeInternalKey(UserKey(i), 5, ValueType::kValue), "x");
  }
  auto table = OpenTable(BuildTable(model, {.bloom_bits_per_key = 0}));
  CHECK_FALSE(table->has_filter());
  CHECK(table->properties().filter_bytes == 0);
  CHECK(table->KeyMayMatch("anything"));
  CheckScans(*table, model);
  CHECK(DbGet(*table, UserKey(10), 9));
  CHECK_FALSE(DbGet(*table, UserKey(11), 9));
  CHECK_FALSE(DbGet(*table, UserKey(10), 4));

  for (int bits : {0, 10}) {
    auto empty = OpenTable(BuildTable({}, {.bloom_bits_per_key = bits}));
    CHECK(empty->properties().num_entries == 0);
    CheckScans(*empty, {});
    CHECK_FALSE(DbGet(*empty, "a", 1));
    auto it = empty->NewIterator();
    it->Seek(MakeInternalKey("a", 1, ValueType::kValue));
    CHECK_FALSE(it->Valid());
    CHECK_OK(it->status());
  }
}

TEST_CASE("SSTableWriter rejects bad keys and options") {
  auto out = std::make_shared<std::string>();
  SSTableWriter w(std::make_unique<StringSink>(out), {});
  REQUIRE_OK(w.Add(MakeInternalKey("b", 5, ValueType::kValue), "1"));
  CHECK(absl::IsInvalidArgument(w.Add(MakeInternalKey("b", 5, ValueType::kValue), "dup")));
  CHECK(absl::IsInvalidArgument(w.Add(MakeInternalKey("a", 9, ValueType::kValue), "back")));
  CHECK(absl::IsInvalidArgument(w.Add(MakeInternalKey("b", 6, ValueType::kValue), "newer")));
  CHECK(absl::IsInvalidArgument(w.Add("short", "not an internal key")));
  std::string bad_type = MakeInternalKey("c", 1, ValueType::kValue);
  bad_type[bad_type.size() - 8] = 9;
  CHECK(absl::IsInvalidArgument(w.Add(bad_type, "bad type")));
  REQUIRE_OK(w.Add(MakeInternalKey("b", 4, ValueType::kDeletion), ""));  // older version: fine
  REQUIRE_OK(w.Finish());
  CHECK(absl::IsFailedPrecondition(w.Add(MakeInternalKey("c", 1, ValueType::kValue), "late")));
  auto table = OpenTable(*out);
  CHECK(table->properties().num_entries == 2);
  CHECK(table->properties().num_deletions == 1);

  SSTableWriter bad(std::make_unique<StringSink>(out), {.bloom_bits_per_key = -1});
  CHECK(absl::IsInvalidArgument(bad.Add(MakeInternalKey("a", 1, ValueType::kValue), "")));
  for (std::uint32_t version : {0u, 3u}) {
    SSTableWriter unknown(std::make_unique<StringSink>(std::make_shared<std::string>()),
                          {.format_version = version});
    CHECK(absl::IsInvalidArgument(unknown.Add(MakeInternalKey("a", 1, ValueType::kValue), "")));
  }
  SSTableWriter plain(std::make_unique<StringSink>(std::make_shared<std::string>()),
                      {.internal_keys = false});
  REQUIRE_OK(plain.Add("", "empty key is fine"));
  REQUIRE_OK(plain.Add("a", ""));
  CHECK(absl::IsInvalidArgument(plain.Add("a", "")));
}

// Reads everything a table holds; returns false on the first error, after
// checking every entry returned before it against the model.
void ReadAllChecked(SSTableReader& table, const Entries& model, const TableReadOptions& ro) {
  auto it = table.NewIterator(ro);
  std::size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
    REQUIRE(i < model.size());
    REQUIRE(it->key() == model[i].first);
    REQUIRE(it->value() == model[i].second);
  }
  if (it->status().ok()) {
    REQUIRE(i == model.size());
  } else {
    REQUIRE(absl::IsDataLoss(it->status()));
    REQUIRE(it->status().message().find("t.sst") != std::string::npos);
  }
  i = model.size();
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    REQUIRE(i > 0);
    --i;
    REQUIRE(it->key() == model[i].first);
    REQUIRE(it->value() == model[i].second);
  }
  if (it->status().ok()) REQUIRE(i == 0);
  for (const auto& entry : model) {
    const std::string& k = entry.first;  // clang 14: no lambda capture of bindings
    const std::string& v = entry.second;
    bool found = false;
    const absl::Status s = table.Get(ro, k, [&](std::string_view key, std::string_view value) {
      REQUIRE(key == k);
      REQUIRE(value == v);
      found = true;
      return false;
    });
    if (s.ok()) {
      REQUIRE(found);
    } else {
      REQUIRE(absl::IsDataLoss(s));
    }
  }
}

// Reads everything without checksums: must not crash or hang; data may be wrong.
void ReadAllUnchecked(SSTableReader& table, const Entries& model) {
  const TableReadOptions ro{.verify_checksums = false, .fill_cache = false};
  auto it = table.NewIterator(ro);
  int steps = 0;
  for (it->SeekToFirst(); it->Valid() && steps < 10000; it->Next()) ++steps;
  for (it->SeekToLast(); it->Valid() && steps < 20000; it->Prev()) ++steps;
  for (const auto& [k, v] : model) {
    it->Seek(k);
    (void)table.Get(ro, k, [](std::string_view, std::string_view) { return false; });
  }
}

TEST_CASE("SSTable corruption at every byte and truncation at every length") {
  Entries model;
  for (std::uint64_t i = 0; i < 48; ++i) {
    model.emplace_back(MakeInternalKey(UserKey(i), 100 + i, ValueType::kValue),
                       "value-" + std::to_string(i));
  }
  const std::string good = BuildTable(model, {.block_bytes = 256, .restart_interval = 4});
  {
    auto table = OpenTable(good);
    REQUIRE(table->properties().num_data_blocks >= 4);
    REQUIRE(table->properties().num_data_blocks <= 6);
  }
  std::uint64_t opened = 0, failed_open = 0;
  for (std::size_t pos = 0; pos < good.size(); ++pos) {
    for (unsigned char x : {0x01, 0x80}) {
      std::string bad = good;
      bad[pos] = static_cast<char>(bad[pos] ^ x);
      const std::uint64_t size = bad.size();
      for (bool mapped : {false, true}) {
        auto file = std::make_shared<StringSource>(bad, mapped);
        auto table = SSTableReader::Open(file, "t.sst", size, {});
        if (!table.ok()) {
          INFO(table.status().ToString());
          REQUIRE(absl::IsDataLoss(table.status()));
          REQUIRE(table.status().message().find("t.sst") != std::string::npos);
          REQUIRE(table.status().message().find("offset") != std::string::npos);
          ++failed_open;
        } else {
          ++opened;
          ReadAllChecked(**table, model, {});
        }
        // Without any checksum checks: garbage allowed, crashes not.
        auto unchecked = SSTableReader::Open(file, "t.sst", size, {.verify_checksums = false});
        if (unchecked.ok()) ReadAllUnchecked(**unchecked, model);
      }
    }
  }
  std::printf("corruption: %llu opens failed, %llu opened (errors found on read)\n",
              static_cast<unsigned long long>(failed_open),
              static_cast<unsigned long long>(opened));

  for (std::size_t len = 0; len < good.size(); ++len) {
    const std::string cut = good.substr(0, len);
    // The true (short) size, and the original size over short content.
    for (std::uint64_t size : {std::uint64_t{len}, std::uint64_t{good.size()}}) {
      auto table = SSTableReader::Open(std::make_shared<StringSource>(cut), "t.sst", size, {});
      if (table.ok()) {
        ReadAllChecked(**table, model, {});
      } else {
        REQUIRE(absl::IsDataLoss(table.status()));
      }
    }
  }
}

}  // namespace
}  // namespace kv
