// Fuzz target: kv::wal::Reader (WAL / MANIFEST log files).
//
// Input: one mode byte, then mode-specific bytes.
//   mode % 3 == 0  the rest is a log file, read as is.
//   mode % 3 == 1  the rest is a log file whose fragment checksums are fixed up
//                  first, so the fuzzer reaches the type/length/chain logic.
//   mode % 3 == 2  round trip: the rest describes records; they are written
//                  with wal::Writer, the file is damaged (truncated, one byte
//                  flipped, or a range zeroed) and read back. The reader must
//                  return exactly a prefix of the records written, all of
//                  the records that end before the damage, and (undamaged or
//                  truncated) never report kCorruption.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "kv/env.hpp"
#include "kv/wal_format.hpp"
#include "kv/wal_reader.hpp"
#include "kv/wal_writer.hpp"

namespace {

using kv::wal::ReadOutcome;

constexpr std::uint64_t kLogNumber = 7;
const std::string kPath = "/log";

struct ReadResult {
  std::vector<std::string> records;
  ReadOutcome outcome = ReadOutcome::kEndOfFile;
};

ReadResult ReadAll(kv::FileSystem& fs, std::uint64_t file_size) {
  auto file = fs.NewSequentialFile(kPath);
  KV_FUZZ_CHECK(file.ok(), file.status().ToString());
  kv::wal::Reader reader(*std::move(file), kPath, kLogNumber);
  ReadResult r;
  std::string scratch;
  std::string_view record;
  while ((r.outcome = reader.ReadRecord(&record, &scratch)) == ReadOutcome::kRecord) {
    r.records.emplace_back(record);
  }
  // The first non-record outcome is final.
  KV_FUZZ_CHECK(reader.ReadRecord(&record, &scratch) == r.outcome, "outcome not sticky");
  KV_FUZZ_CHECK((r.outcome == ReadOutcome::kCorruption) == !reader.status().ok(),
                reader.status().ToString());
  KV_FUZZ_CHECK(reader.valid_prefix_end() <= file_size, "valid prefix beyond the file");
  KV_FUZZ_CHECK(reader.valid_prefix_end() + reader.bytes_after_valid_prefix() == file_size ||
                    reader.valid_prefix_end() == 0,
                "valid prefix + dropped bytes != file size");
  return r;
}

// Rewrites the checksum of every fragment the reader would parse.
void FixChecksums(std::string* file) {
  const std::size_t n = file->size();
  for (std::size_t block = 0; block < n; block += kv::wal::kBlockSize) {
    const std::size_t end = std::min(n, block + kv::wal::kBlockSize);
    std::size_t p = block;
    while (end - p >= kv::wal::kFragmentHeaderSize) {
      char* h = file->data() + p;
      const std::size_t len = kv::DecodeFixed16(h + 4);
      if (kv::wal::kFragmentHeaderSize + len > end - p) break;
      kv::EncodeFixed32(h, kv::wal::FragmentChecksum(std::string_view(h + 6, 1 + len)));
      p += kv::wal::kFragmentHeaderSize + len;
    }
  }
}

void ReadRaw(std::string file) {
  std::shared_ptr<kv::FileSystem> fs = kv::NewMemFileSystem();
  KV_FUZZ_CHECK(kv::WriteStringToFile(*fs, file, kPath, false).ok(), "write");
  (void)ReadAll(*fs, file.size());
}

void RoundTrip(kv::fuzz::Input& in) {
  std::shared_ptr<kv::FileSystem> fs = kv::NewMemFileSystem();
  std::vector<std::string> written;
  std::vector<std::uint64_t> ends;  // file size after each record
  {
    auto file = fs->NewWritableFile(kPath);
    KV_FUZZ_CHECK(file.ok(), file.status().ToString());
    kv::wal::Writer writer(*std::move(file), kLogNumber);
    const int n = in.Byte() % 48;
    for (int i = 0; i < n; ++i) {
      const std::uint8_t kind = in.Byte();
      std::string rec;
      if (kind % 4 == 0) {  // large: may span blocks
        rec = kv::fuzz::Filler(std::size_t{in.U16()} * (kind % 8 == 0 ? 2 : 1), kind);
      } else {
        rec = std::string(in.ShortString(64));
      }
      KV_FUZZ_CHECK(writer.AddRecord(rec).ok(), "AddRecord");
      written.push_back(std::move(rec));
      ends.push_back(writer.Size());
    }
    KV_FUZZ_CHECK(writer.Close().ok(), "Close");
  }
  auto contents = kv::ReadFileToString(*fs, kPath);
  KV_FUZZ_CHECK(contents.ok(), "read back");
  std::string file = *std::move(contents);

  const std::uint8_t damage = in.Byte() % 4;
  const std::size_t pos = file.empty() ? 0 : in.U32() % file.size();
  std::size_t intact = written.size();  // records that must come back
  switch (damage) {
    case 0:  // none
      break;
    case 1:  // truncated at pos (a crash mid-append)
      file.resize(pos);
      break;
    case 2:  // one byte changed
      if (!file.empty()) file[pos] = static_cast<char>(file[pos] ^ (in.Byte() | 1));
      break;
    case 3:  // a range zeroed (lost or preallocated pages)
      if (!file.empty()) {
        const std::size_t len = std::min<std::size_t>(1 + in.U16(), file.size() - pos);
        std::fill_n(file.begin() + static_cast<std::ptrdiff_t>(pos), len, '\0');
      }
      break;
  }
  if (damage != 0) {
    intact = static_cast<std::size_t>(
        std::count_if(ends.begin(), ends.end(), [&](std::uint64_t e) { return e <= pos; }));
    if (damage != 1 && pos < kv::wal::kLogHeaderFragmentSize) intact = 0;  // header damaged
  }
  KV_FUZZ_CHECK(kv::WriteStringToFile(*fs, file, kPath, false).ok(), "rewrite");
  const ReadResult r = ReadAll(*fs, file.size());

  KV_FUZZ_CHECK(r.records.size() <= written.size(), "more records than written");
  for (std::size_t i = 0; i < r.records.size(); ++i) {
    KV_FUZZ_CHECK(r.records[i] == written[i], "record " + std::to_string(i) + " differs");
  }
  if (damage == 0 || damage == 1) {
    KV_FUZZ_CHECK(r.records.size() == intact, "got " + std::to_string(r.records.size()) +
                                                  " records, expected " + std::to_string(intact));
    KV_FUZZ_CHECK(r.outcome != ReadOutcome::kCorruption, "clean or truncated log is corrupt");
    if (damage == 0) KV_FUZZ_CHECK(r.outcome == ReadOutcome::kEndOfFile, "undamaged log torn");
  } else {
    KV_FUZZ_CHECK(r.records.size() >= intact, "lost a record before the damage: got " +
                                                  std::to_string(r.records.size()) + ", at least " +
                                                  std::to_string(intact) + " expected");
  }
}

}  // namespace

KV_FUZZ_ENTRY(wal_reader) {
  kv::fuzz::Input in(data, size);
  switch (in.Byte() % 3) {
    case 0:
      ReadRaw(std::string(in.Rest()));
      break;
    case 1: {
      std::string file(in.Rest());
      FixChecksums(&file);
      ReadRaw(std::move(file));
      break;
    }
    case 2:
      RoundTrip(in);
      break;
  }
  return 0;
}
