// Tests for kv::wal::Writer / kv::wal::Reader (kv/wal_writer.hpp,
// kv/wal_reader.hpp): round trips, every truncation point, every single-byte
// flip, header checks, zero-filled and garbage tails.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kv/env.hpp"
#include "kv/wal_format.hpp"
#include "kv/wal_reader.hpp"
#include "kv/wal_writer.hpp"
#include "test_util.hpp"

namespace kv::wal {
namespace {

// A WritableFile appending to a shared string; counts Append and Sync calls
// and can be told to fail.
struct SinkState {
  std::string data;
  int appends = 0;
  int syncs = 0;
  bool fail_appends = false;
  bool closed = false;
};

class StringSink final : public WritableFile {
 public:
  explicit StringSink(std::shared_ptr<SinkState> state) : state_(std::move(state)) {}
  absl::Status Append(std::string_view data) override {
    if (state_->fail_appends) {
      // Simulate a partial write before the error.
      state_->data.append(data.substr(0, data.size() / 2));
      return absl::ResourceExhaustedError("disk full");
    }
    ++state_->appends;
    state_->data.append(data);
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    ++state_->syncs;
    return absl::OkStatus();
  }
  absl::Status Close() override {
    state_->closed = true;
    return absl::OkStatus();
  }
  std::uint64_t Size() const override { return state_->data.size(); }

 private:
  std::shared_ptr<SinkState> state_;
};

// A SequentialFile over bytes the caller keeps alive. Returns reads of
// random length (at least one byte while data remains) to exercise the
// reader's refill loop; fails every read once `fail_at` bytes were delivered.
class StringSource final : public SequentialFile {
 public:
  explicit StringSource(std::string_view data, std::uint64_t seed = 1,
                        std::size_t fail_at = std::string::npos)
      : data_(data), rng_(seed), fail_at_(fail_at) {}
  absl::StatusOr<std::string_view> Read(std::size_t n, char* scratch) override {
    if (pos_ >= fail_at_) return absl::DataLossError("injected read error");
    std::size_t avail = std::min({n, data_.size() - pos_, fail_at_ - pos_});
    if (avail > 1 && rng_() % 4 == 0) avail = 1 + rng_() % avail;
    std::copy_n(data_.data() + pos_, avail, scratch);
    pos_ += avail;
    return std::string_view(scratch, avail);
  }
  absl::Status Skip(std::uint64_t n) override {
    pos_ += static_cast<std::size_t>(std::min<std::uint64_t>(n, data_.size() - pos_));
    return absl::OkStatus();
  }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  std::mt19937_64 rng_;
  std::size_t fail_at_;
};

std::string RandomBytes(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Random lowercase letters: payload bytes that can never look like a
// fragment header (every type byte is > kMaxRecordType), which keeps the
// reader's damage scan cheap in the exhaustive tests.
std::string RandomLetters(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

// Writes `records` to a fresh log and returns its bytes; `ends` gets the
// file size after each record.
std::string WriteLog(const std::vector<std::string>& records, std::uint64_t log_number = 7,
                     std::vector<std::uint64_t>* ends = nullptr, LogKind kind = LogKind::kWal) {
  auto state = std::make_shared<SinkState>();
  Writer w(std::make_unique<StringSink>(state), log_number, kind);
  for (const auto& r : records) {
    REQUIRE_OK(w.AddRecord(r));
    if (ends != nullptr) ends->push_back(w.Size());
  }
  REQUIRE_OK(w.Close());
  return state->data;
}

struct ReadResult {
  std::vector<std::string> records;
  ReadOutcome outcome = ReadOutcome::kRecord;
  absl::Status status;
  std::uint64_t valid_prefix_end = 0;
  std::uint64_t bytes_after = 0;
};

ReadResult ReadLog(std::string_view data, std::uint64_t log_number = 7,
                   LogKind kind = LogKind::kWal, std::uint64_t seed = 1) {
  Reader reader(std::make_unique<StringSource>(data, seed), "000007.log", log_number, kind);
  ReadResult out;
  std::string scratch;
  std::string_view rec;
  for (;;) {
    out.outcome = reader.ReadRecord(&rec, &scratch);
    if (out.outcome != ReadOutcome::kRecord) break;
    out.records.emplace_back(rec);
    REQUIRE(out.records.size() < 100000);  // no endless loop
  }
  out.status = reader.status();
  out.valid_prefix_end = reader.valid_prefix_end();
  out.bytes_after = reader.bytes_after_valid_prefix();
  // The final outcome repeats.
  REQUIRE(reader.ReadRecord(&rec, &scratch) == out.outcome);
  return out;
}

const char* Name(ReadOutcome o) {
  switch (o) {
    case ReadOutcome::kRecord:
      return "kRecord";
    case ReadOutcome::kEndOfFile:
      return "kEndOfFile";
    case ReadOutcome::kTornTail:
      return "kTornTail";
    case ReadOutcome::kCorruption:
      return "kCorruption";
  }
  return "?";
}

bool IsPrefix(const std::vector<std::string>& got, const std::vector<std::string>& written) {
  if (got.size() > written.size()) return false;
  return std::equal(got.begin(), got.end(), written.begin());
}

// An independent walk of a clean log's layout (from the format spec, not
// the reader): every fragment's [offset, end) and the record it belongs to
// (-1 for the header), plus which bytes are block trailers.
struct Layout {
  struct Frag {
    std::size_t offset, end;
    int record;
  };
  std::vector<Frag> frags;
};
Layout WalkLayout(const std::string& data) {
  Layout l;
  std::size_t pos = 0;
  int record = 0;
  while (pos < data.size()) {
    const std::size_t room = kBlockSize - pos % kBlockSize;
    if (room < kFragmentHeaderSize) {
      pos += room;
      continue;
    }
    const std::size_t len = DecodeFixed16(data.data() + pos + 4);
    const auto type = static_cast<RecordType>(data[pos + 6]);
    const std::size_t end = pos + kFragmentHeaderSize + len;
    l.frags.push_back({pos, end, type == RecordType::kLogHeader ? -1 : record});
    if (type == RecordType::kFull || type == RecordType::kLast) ++record;
    pos = end;
  }
  return l;
}

// A small log, tested at every byte: short random records, an empty
// record, and one record crossing from block 0 into block 1 (FIRST, LAST).
std::vector<std::string> SmallLogRecords(std::mt19937_64& rng) {
  std::vector<std::string> recs;
  recs.push_back(RandomBytes(rng, 100));
  recs.push_back("");
  recs.push_back(RandomBytes(rng, 10));
  recs.push_back(RandomLetters(rng, 33000));  // FIRST, LAST
  recs.push_back(RandomBytes(rng, 50));
  recs.push_back(RandomBytes(rng, 1));
  return recs;
}

// A larger log with every fragment type and a block trailer: a record
// spanning three blocks (FIRST, MIDDLE, LAST) and a record placed so that a
// block ends with fewer than 7 bytes. Tested near every fragment boundary
// and at a stride elsewhere (every byte would be slow under ASan).
std::vector<std::string> ThreeBlockLogRecords(std::mt19937_64& rng) {
  std::vector<std::string> recs;
  recs.push_back(RandomBytes(rng, 100));
  recs.push_back("");
  recs.push_back(RandomLetters(rng, 2 * kBlockSize + 500));  // FIRST, MIDDLE, LAST
  recs.push_back(RandomBytes(rng, 10));
  // The file is now at some offset inside block 2; leave a 3-byte trailer.
  const std::size_t used =
      kLogHeaderFragmentSize + (7 + 100) + 7 + (2 * kBlockSize + 500 + 3 * 7) + (7 + 10);
  const std::size_t in_block = used % kBlockSize;
  recs.push_back(RandomLetters(rng, kBlockSize - in_block - 7 - 3));
  recs.push_back(RandomBytes(rng, 50));
  recs.push_back(RandomBytes(rng, 1));
  return recs;
}

// Byte positions worth testing in a big log: near fragment boundaries, in
// trailers, and every 61st byte.
bool NearBoundary(const Layout& layout, std::size_t pos) {
  if (pos % 61 == 0) return true;
  for (std::size_t i = 0; i < layout.frags.size(); ++i) {
    const auto& f = layout.frags[i];
    if (pos + 24 >= f.offset && pos <= f.offset + 24) return true;
    if (pos + 24 >= f.end && pos <= f.end + 24) return true;
    if (i + 1 < layout.frags.size() && pos >= f.end && pos < layout.frags[i + 1].offset) {
      return true;  // trailer
    }
  }
  return false;
}

TEST_CASE("wal: empty and header-only logs read as no records", "[wal]") {
  ReadResult r = ReadLog("");
  CHECK(r.outcome == ReadOutcome::kEndOfFile);
  CHECK(r.records.empty());
  CHECK(r.valid_prefix_end == 0);
  CHECK(r.bytes_after == 0);

  // A writer that never got a record leaves an empty file.
  auto state = std::make_shared<SinkState>();
  {
    Writer w(std::make_unique<StringSink>(state), 7);
    CHECK(w.log_number() == 7);
    CHECK(w.Size() == 0);
    REQUIRE_OK(w.Sync());
    REQUIRE_OK(w.Close());
  }
  CHECK(state->data.empty());
  CHECK(ReadLog(state->data).outcome == ReadOutcome::kEndOfFile);

  // The header alone (a log truncated back to its header).
  std::string one = WriteLog({"x"});
  r = ReadLog(one.substr(0, kLogHeaderFragmentSize));
  CHECK(r.outcome == ReadOutcome::kEndOfFile);
  CHECK(r.records.empty());
  CHECK(r.valid_prefix_end == kLogHeaderFragmentSize);
}

TEST_CASE("wal: round trip of random records", "[wal]") {
  std::mt19937_64 rng(kv::test::TestSeed());
  INFO("seed " << kv::test::TestSeed());
  std::vector<std::string> recs;
  for (int i = 0; i < 600; ++i) {
    std::size_t n;
    switch (rng() % 6) {
      case 0:
        n = 0;
        break;
      case 1:
        n = rng() % 16;
        break;
      case 2:
        n = rng() % 1000;
        break;
      case 3:
        n = kBlockSize - 20 + rng() % 40;
        break;
      case 4:
        n = rng() % (3 * kBlockSize);
        break;
      default:
        n = rng() % 200;
        break;
    }
    recs.push_back(RandomBytes(rng, n));
  }
  auto state = std::make_shared<SinkState>();
  Writer w(std::make_unique<StringSink>(state), 42);
  std::vector<std::uint64_t> ends;
  for (const auto& r : recs) {
    REQUIRE_OK(w.AddRecord(r));
    ends.push_back(w.Size());
  }
  CHECK(state->appends == static_cast<int>(recs.size()));  // one Append per record
  CHECK(state->syncs == 0);                                // AddRecord never syncs
  REQUIRE_OK(w.Sync());
  CHECK(state->syncs == 1);

  ReadResult r = ReadLog(state->data, 42, LogKind::kWal, rng());
  CHECK(r.outcome == ReadOutcome::kEndOfFile);
  CHECK_OK(r.status);
  REQUIRE(r.records.size() == recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) REQUIRE(r.records[i] == recs[i]);
  CHECK(r.valid_prefix_end == state->data.size());
  CHECK(r.bytes_after == 0);
}

TEST_CASE("wal: every block-trailer size round trips", "[wal]") {
  // For each way a record can leave 0..8 bytes at the end of block 0.
  for (std::size_t trailer = 0; trailer <= 8; ++trailer) {
    const std::size_t first = kBlockSize - kLogHeaderFragmentSize - 7 - trailer;
    std::vector<std::string> recs = {std::string(first, 'a'), "bb", "", std::string(40000, 'c')};
    std::string data = WriteLog(recs);
    ReadResult r = ReadLog(data);
    INFO("trailer " << trailer);
    CHECK(r.outcome == ReadOutcome::kEndOfFile);
    CHECK(r.records == recs);
  }
}

TEST_CASE("wal: a 64 MiB record round trips", "[wal][large]") {
  std::string big(std::size_t{64} << 20, '\0');
  std::mt19937_64 rng(kv::test::TestSeed());
  for (std::size_t i = 0; i < big.size(); i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(big.data() + i, &v, 8);
  }
  auto state = std::make_shared<SinkState>();
  {
    Writer w(std::make_unique<StringSink>(state), 3);
    REQUIRE_OK(w.AddRecord("before"));
    REQUIRE_OK(w.AddRecord(big));
    REQUIRE_OK(w.AddRecord("after"));
    CHECK(state->appends == 3);
  }
  Reader reader(std::make_unique<StringSource>(state->data), "big.log", 3);
  std::string scratch;
  std::string_view rec;
  REQUIRE(reader.ReadRecord(&rec, &scratch) == ReadOutcome::kRecord);
  CHECK(rec == "before");
  REQUIRE(reader.ReadRecord(&rec, &scratch) == ReadOutcome::kRecord);
  CHECK(rec.size() == big.size());
  CHECK(rec == big);
  REQUIRE(reader.ReadRecord(&rec, &scratch) == ReadOutcome::kRecord);
  CHECK(rec == "after");
  CHECK(reader.ReadRecord(&rec, &scratch) == ReadOutcome::kEndOfFile);
}

// Truncates the log of `recs` at every selected length: each yields the
// records that were complete and a clean end or a torn tail, never
// corruption.
template <typename Select>
void CheckTruncations(const std::vector<std::string>& recs, bool want_trailer, Select select) {
  std::vector<std::uint64_t> ends;
  const std::string data = WriteLog(recs, 7, &ends);
  const Layout layout = WalkLayout(data);
  bool has_trailer = false;
  for (std::size_t i = 1; i < layout.frags.size(); ++i) {
    if (layout.frags[i].offset != layout.frags[i - 1].end) has_trailer = true;
  }
  REQUIRE(has_trailer == want_trailer);

  for (std::size_t len = 0; len <= data.size(); ++len) {
    if (!select(layout, len)) continue;
    // Records whose last byte made it.
    std::size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= len) ++complete;
    const std::uint64_t prefix_end =
        complete > 0 ? ends[complete - 1]
                     : (len >= kLogHeaderFragmentSize ? kLogHeaderFragmentSize : 0);
    ReadResult r = ReadLog(std::string_view(data).substr(0, len), 7, LogKind::kWal, len);
    INFO("truncated to " << len << " bytes: " << Name(r.outcome) << " " << r.status.ToString());
    REQUIRE(r.outcome != ReadOutcome::kCorruption);
    REQUIRE(r.records.size() == complete);
    REQUIRE(IsPrefix(r.records, recs));
    REQUIRE(r.valid_prefix_end == prefix_end);
    REQUIRE(r.bytes_after == len - prefix_end);
    // Exactly at a record boundary (or the header's end, or an empty file)
    // the log ends cleanly; bytes past it that are only a zero trailer too.
    const bool zero_rest =
        std::all_of(data.begin() + static_cast<std::ptrdiff_t>(prefix_end),
                    data.begin() + static_cast<std::ptrdiff_t>(len), [](char c) { return c == 0; });
    REQUIRE(r.outcome == (zero_rest ? ReadOutcome::kEndOfFile : ReadOutcome::kTornTail));
  }
}

// Flips one byte at every selected position of the log of `recs`: the
// records returned are those before the damaged fragment, and the damage is
// corruption if an intact fragment follows it, else a torn tail.
template <typename Select>
void CheckFlips(const std::vector<std::string>& recs, std::mt19937_64& rng, Select select) {
  std::string data = WriteLog(recs);
  const Layout layout = WalkLayout(data);
  REQUIRE(layout.frags.size() >= 7);
  REQUIRE(layout.frags.back().end == data.size());

  std::size_t frag = 0;
  for (std::size_t pos = 0; pos < data.size(); ++pos) {
    while (frag < layout.frags.size() && layout.frags[frag].end <= pos) ++frag;
    if (!select(layout, pos)) continue;
    const bool in_trailer = pos < layout.frags[frag].offset;
    std::string& bad = data;  // flipped in place, restored below
    const char saved = bad[pos];
    bad[pos] = static_cast<char>(bad[pos] ^ static_cast<char>(1 + rng() % 255));
    ReadResult r = ReadLog(bad, 7, LogKind::kWal, pos);
    bad[pos] = saved;
    INFO("flipped byte " << pos << " (fragment " << frag << " at " << layout.frags[frag].offset
                         << "): " << Name(r.outcome) << " " << r.status.ToString());
    REQUIRE(IsPrefix(r.records, recs));
    if (in_trailer) {  // trailer bytes carry nothing
      REQUIRE(r.outcome == ReadOutcome::kEndOfFile);
      REQUIRE(r.records.size() == recs.size());
      continue;
    }
    const int record = layout.frags[frag].record;
    REQUIRE(r.records.size() == static_cast<std::size_t>(std::max(record, 0)));
    if (frag + 1 < layout.frags.size()) {
      REQUIRE(r.outcome == ReadOutcome::kCorruption);
      REQUIRE(absl::IsDataLoss(r.status));
      const std::string msg(r.status.message());
      REQUIRE(msg.find("000007.log") != std::string::npos);
      REQUIRE(msg.find("offset " + std::to_string(layout.frags[frag].offset)) != std::string::npos);
    } else {
      REQUIRE(r.outcome == ReadOutcome::kTornTail);
      CHECK_OK(r.status);
    }
  }
}

auto Every = [](const Layout&, std::size_t) { return true; };

TEST_CASE("wal: every truncation point yields a prefix and a torn tail", "[wal]") {
  std::mt19937_64 rng(kv::test::TestSeed());
  CheckTruncations(SmallLogRecords(rng), false, Every);
  CheckTruncations(ThreeBlockLogRecords(rng), true, NearBoundary);
}

TEST_CASE("wal: every single-byte flip is caught and classified", "[wal]") {
  std::mt19937_64 rng(kv::test::TestSeed() + 1);
  CheckFlips(SmallLogRecords(rng), rng, Every);
  CheckFlips(ThreeBlockLogRecords(rng), rng, NearBoundary);
}

TEST_CASE("wal: header checks", "[wal]") {
  const std::string data = WriteLog({"a", "b"}, 7);

  SECTION("wrong log number") {
    ReadResult r = ReadLog(data, 8);
    CHECK(r.outcome == ReadOutcome::kCorruption);
    CHECK(absl::IsDataLoss(r.status));
    CHECK(r.status.message().find("000007.log") != absl::string_view::npos);
    CHECK(r.records.empty());
    CHECK(r.valid_prefix_end == 0);
  }
  SECTION("a MANIFEST is not a WAL") {
    const std::string manifest = WriteLog({"edit"}, 7, nullptr, LogKind::kManifest);
    ReadResult r = ReadLog(manifest, 7, LogKind::kWal);
    CHECK(r.outcome == ReadOutcome::kCorruption);
    CHECK(absl::IsInvalidArgument(r.status));
    ReadResult ok = ReadLog(manifest, 7, LogKind::kManifest);
    CHECK(ok.outcome == ReadOutcome::kEndOfFile);
    CHECK(ok.records == std::vector<std::string>{"edit"});
  }
  // Rewrites the header payload with a valid checksum.
  auto with_header = [&](std::string payload) {
    std::string out;
    AppendFragment(&out, RecordType::kLogHeader, payload);
    return out + data.substr(kLogHeaderFragmentSize);
  };
  SECTION("wrong magic") {
    std::string payload = EncodeLogHeader(LogKind::kWal, 7);
    payload[0] = 'X';
    ReadResult r = ReadLog(with_header(payload));
    CHECK(r.outcome == ReadOutcome::kCorruption);
    CHECK(absl::IsInvalidArgument(r.status));
    CHECK(r.status.message().find("magic") != absl::string_view::npos);
  }
  SECTION("unsupported version") {
    std::string payload = EncodeLogHeader(LogKind::kWal, 7);
    EncodeFixed32(payload.data() + 8, kLogFormatVersion + 1);
    ReadResult r = ReadLog(with_header(payload));
    CHECK(r.outcome == ReadOutcome::kCorruption);
    CHECK(absl::IsInvalidArgument(r.status));
    CHECK(r.status.message().find("version") != absl::string_view::npos);
  }
  SECTION("short header payload") {
    ReadResult r = ReadLog(with_header(EncodeLogHeader(LogKind::kWal, 7).substr(0, 16)));
    CHECK(r.outcome == ReadOutcome::kCorruption);
    CHECK_FALSE(r.status.ok());
  }
  SECTION("missing header") {
    std::string out;
    AppendFragment(&out, RecordType::kFull, "a");
    ReadResult r = ReadLog(out);
    CHECK(r.outcome == ReadOutcome::kCorruption);
    CHECK(absl::IsDataLoss(r.status));
    CHECK(r.records.empty());
  }
  SECTION("a second header mid-file") {
    std::string out = data;
    AppendFragment(&out, RecordType::kLogHeader, EncodeLogHeader(LogKind::kWal, 7));
    ReadResult r = ReadLog(out);
    CHECK(r.outcome == ReadOutcome::kCorruption);
    CHECK(r.records == std::vector<std::string>{"a", "b"});
  }
}

TEST_CASE("wal: zero-filled tails are the end of data", "[wal]") {
  const std::vector<std::string> recs = {"alpha", std::string(50000, 'z'), "gamma"};
  const std::string data = WriteLog(recs);
  for (std::size_t zeros : {1, 6, 7, 8, 100, 40000, 100000}) {
    ReadResult r = ReadLog(data + std::string(zeros, '\0'));
    INFO(zeros << " zero bytes");
    CHECK(r.outcome == ReadOutcome::kEndOfFile);
    CHECK(r.records == recs);
    CHECK(r.valid_prefix_end == data.size());
    CHECK(r.bytes_after == zeros);
  }
  // A whole file of zeros (preallocated, never written).
  ReadResult z = ReadLog(std::string(70000, '\0'));
  CHECK(z.outcome == ReadOutcome::kEndOfFile);
  CHECK(z.records.empty());
  CHECK(z.bytes_after == 70000);

  // A multi-block record cut short and followed by zeros is torn.
  std::vector<std::uint64_t> ends;
  const std::string d2 = WriteLog(recs, 7, &ends);
  std::string cut = d2.substr(0, ends[0] + 40000) + std::string(60000, '\0');
  ReadResult t = ReadLog(cut);
  CHECK(t.outcome == ReadOutcome::kTornTail);
  CHECK(t.records == std::vector<std::string>{"alpha"});
  CHECK(t.valid_prefix_end == ends[0]);

  // Zeros over the middle of the file with valid data after them: corruption.
  std::string holed = d2;
  std::fill(holed.begin() + static_cast<std::ptrdiff_t>(ends[0]),
            holed.begin() + static_cast<std::ptrdiff_t>(ends[0] + 20), '\0');
  ReadResult h = ReadLog(holed);
  CHECK(h.outcome == ReadOutcome::kCorruption);
  CHECK(absl::IsDataLoss(h.status));
  CHECK(h.records == std::vector<std::string>{"alpha"});
}

TEST_CASE("wal: garbage tails are torn, damage before valid data is corruption", "[wal]") {
  std::mt19937_64 rng(kv::test::TestSeed());
  const std::vector<std::string> recs = {"one", "two", std::string(3000, 't')};
  const std::string data = WriteLog(recs);
  for (std::size_t n : {1, 5, 7, 64, 5000, 80000}) {
    ReadResult r = ReadLog(data + RandomBytes(rng, n));
    INFO(n << " garbage bytes");
    CHECK(r.outcome == ReadOutcome::kTornTail);
    CHECK_OK(r.status);
    CHECK(r.records == recs);
    CHECK(r.valid_prefix_end == data.size());
    CHECK(r.bytes_after == n);
  }
  // A torn first write: a damaged header and nothing valid after it.
  std::string torn = data.substr(0, 20) + RandomBytes(rng, 30);
  CHECK(ReadLog(torn).outcome == ReadOutcome::kTornTail);

  // Garbage in the middle, then more records written by a second writer
  // session appending to the same file.
  std::string mid = data + RandomBytes(rng, 100);
  auto state = std::make_shared<SinkState>();
  state->data = mid;
  {
    Writer w(std::make_unique<StringSink>(state), 7);
    REQUIRE_OK(w.AddRecord("later"));
  }
  ReadResult r = ReadLog(state->data);
  CHECK(r.outcome == ReadOutcome::kCorruption);
  CHECK(r.records == recs);
  CHECK(r.status.message().find("offset " + std::to_string(data.size())) !=
        absl::string_view::npos);
  CHECK(r.bytes_after == 100 + 7 + 5);
}

TEST_CASE("wal: a writer reopening a log continues it", "[wal]") {
  auto state = std::make_shared<SinkState>();
  std::vector<std::string> recs;
  std::mt19937_64 rng(kv::test::TestSeed());
  for (int session = 0; session < 4; ++session) {
    Writer w(std::make_unique<StringSink>(state), 9);
    for (int i = 0; i < 5; ++i) {
      recs.push_back(RandomBytes(rng, rng() % 20000));
      REQUIRE_OK(w.AddRecord(recs.back()));
    }
    REQUIRE_OK(w.Close());
  }
  ReadResult r = ReadLog(state->data, 9);
  CHECK(r.outcome == ReadOutcome::kEndOfFile);
  CHECK(r.records == recs);
}

TEST_CASE("wal: writer errors are sticky", "[wal]") {
  auto state = std::make_shared<SinkState>();
  Writer w(std::make_unique<StringSink>(state), 7);
  REQUIRE_OK(w.AddRecord("ok"));
  state->fail_appends = true;
  CHECK(absl::IsResourceExhausted(w.AddRecord(std::string(1000, 'x'))));
  state->fail_appends = false;
  CHECK(absl::IsResourceExhausted(w.AddRecord("after")));
  CHECK(absl::IsResourceExhausted(w.Sync()));
  // What reached the file is a record and a torn tail.
  ReadResult r = ReadLog(state->data);
  CHECK(r.records == std::vector<std::string>{"ok"});
  CHECK(r.outcome == ReadOutcome::kTornTail);

  auto s2 = std::make_shared<SinkState>();
  Writer closed(std::make_unique<StringSink>(s2), 7);
  REQUIRE_OK(closed.Close());
  CHECK(s2->closed);
  CHECK(absl::IsFailedPrecondition(closed.AddRecord("x")));
}

TEST_CASE("wal: read errors end reading with their status", "[wal]") {
  const std::string data = WriteLog({std::string(40000, 'a'), std::string(40000, 'b')});
  Reader reader(std::make_unique<StringSource>(data, 1, kBlockSize + 10), "f.log", 7);
  std::string scratch;
  std::string_view rec;
  ReadOutcome o = reader.ReadRecord(&rec, &scratch);
  CHECK(o == ReadOutcome::kCorruption);
  CHECK(reader.status().message() == "injected read error");
}

TEST_CASE("wal: random damage never yields a wrong record", "[wal]") {
  std::mt19937_64 rng(kv::test::TestSeed() + 7);
  std::vector<std::string> recs;
  for (int i = 0; i < 40; ++i) recs.push_back(RandomBytes(rng, rng() % 5000));
  const std::string data = WriteLog(recs);
  for (int iter = 0; iter < 300; ++iter) {
    std::string bad = data;
    switch (iter % 4) {
      case 0:  // a few scattered bytes
        for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
        break;
      case 1: {  // a run of garbage
        const std::size_t at = rng() % bad.size();
        const std::size_t n = std::min<std::size_t>(rng() % 3000, bad.size() - at);
        for (std::size_t k = 0; k < n; ++k) bad[at + k] = static_cast<char>(rng());
        break;
      }
      case 2: {  // a dropped range
        const std::size_t at = rng() % bad.size();
        bad.erase(at, std::min<std::size_t>(rng() % 3000, bad.size() - at));
        break;
      }
      default:  // a duplicated range
        const std::size_t at = rng() % bad.size();
        bad.insert(at, bad.substr(at, rng() % 3000));
        break;
    }
    ReadResult r = ReadLog(bad, 7, LogKind::kWal, iter);
    INFO("iteration " << iter);
    REQUIRE(IsPrefix(r.records, recs));
    if (r.outcome == ReadOutcome::kCorruption) CHECK_FALSE(r.status.ok());
    if (r.outcome != ReadOutcome::kCorruption) CHECK_OK(r.status);
    CHECK(r.valid_prefix_end + r.bytes_after == bad.size());
  }
  // Pure noise of many lengths, with and without a valid header in front.
  std::string header;
  AppendFragment(&header, RecordType::kLogHeader, EncodeLogHeader(LogKind::kWal, 7));
  for (int iter = 0; iter < 200; ++iter) {
    std::string noise = RandomBytes(rng, rng() % 70000);
    if (iter % 2 == 0) noise = header + noise;
    ReadResult r = ReadLog(noise, 7, LogKind::kWal, iter);
    REQUIRE(r.records.empty());
  }
}

}  // namespace
}  // namespace kv::wal
