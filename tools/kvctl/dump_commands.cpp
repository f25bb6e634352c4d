// kvctl dump-sst, dump-wal and dump-manifest: read kv's files directly,
// without opening a DB.
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "command.hpp"
#include "db/file_names.hpp"
#include "db/version_set.hpp"
#include "escape.hpp"
#include "kv/sstable_reader.hpp"
#include "kv/wal_reader.hpp"
#include "kv/write_batch_internal.hpp"

namespace kv::kvctl {
namespace {

std::string_view TypeName(ValueType t) {
  switch (t) {
    case ValueType::kDeletion:
      return "DEL";
    case ValueType::kValue:
      return "PUT";
    case ValueType::kValueWithExpiry:
      return "PUT-EXPIRING";
  }
  return "?";
}

// "user_key @seq TYPE" for an internal key, the plain key otherwise.
std::string ShowKey(std::string_view key, bool internal, bool hex) {
  if (!internal) return DisplayBytes(key, hex);
  ParsedInternalKey parsed;
  if (!ParseInternalKey(key, &parsed)) {
    return absl::StrCat("<malformed internal key ", ToHex(key), ">");
  }
  return absl::StrCat(DisplayBytes(parsed.user_key, hex), " @", parsed.sequence, " ",
                      Sv(TypeName(parsed.type)));
}

// The value part of an entry line (after " => "), decoding the expiry of
// kValueWithExpiry values.
std::string ShowValue(std::string_view key, std::string_view value, bool internal, bool hex) {
  ParsedInternalKey parsed;
  if (internal && ParseInternalKey(key, &parsed) && parsed.type == ValueType::kValueWithExpiry) {
    std::uint64_t expiry = 0;
    std::string_view user_value;
    if (!SplitExpiringValue(value, &expiry, &user_value)) {
      return absl::StrCat("<value too short for its expiry: ", ToHex(value), ">");
    }
    return absl::StrCat(DisplayBytes(user_value, hex), " (expires at ", expiry, " us)");
  }
  return DisplayBytes(value, hex);
}

std::uint64_t Limit(const Invocation& inv, absl::Status* error) {
  std::optional<std::string> v = inv.args.Value("limit");
  if (!v) return std::numeric_limits<std::uint64_t>::max();
  absl::StatusOr<std::uint64_t> n = ParseCount("limit", *v);
  if (!n.ok()) {
    *error = n.status();
    return 0;
  }
  return *n;
}

absl::Status DumpSst(const Invocation& inv, const std::string& path, std::uint64_t limit) {
  std::shared_ptr<FileSystem> fs = FileSystem::Default();
  KV_ASSIGN_OR_RETURN(std::uint64_t size, fs->GetFileSize(path));
  KV_ASSIGN_OR_RETURN(std::shared_ptr<RandomAccessFile> file, fs->NewRandomAccessFile(path));
  absl::StatusOr<std::shared_ptr<SSTableReader>> opened =
      SSTableReader::Open(file, path, size, {.internal_keys = true});
  if (absl::IsInvalidArgument(opened.status())) {
    // A table of plain keys (written outside a DB).
    opened = SSTableReader::Open(file, path, size, {.internal_keys = false});
  }
  KV_RETURN_IF_ERROR(opened.status());
  const SSTableReader& table = **opened;
  const TableProperties& p = table.properties();
  const bool hex = inv.args.Has("hex");
  const bool internal = p.internal_keys;
  std::ostream& os = inv.out;
  os << "file: " << path << " (" << size << " bytes)\n"
     << "properties:\n"
     << "  format_version: " << p.format_version << "\n"
     << "  internal_keys: " << (internal ? "true" : "false") << "\n"
     << "  entries: " << p.num_entries << " (deletions: " << p.num_deletions << ")\n"
     << "  data_blocks: " << p.num_data_blocks << " (" << p.data_bytes << " bytes)\n"
     << "  index_bytes: " << p.index_bytes << "\n"
     << "  filter_bytes: " << p.filter_bytes << (table.has_filter() ? "" : " (no filter)") << "\n"
     << "  smallest_key: "
     << (p.num_entries == 0 ? "(none)" : ShowKey(p.smallest_key, internal, hex)) << "\n"
     << "  largest_key: " << (p.num_entries == 0 ? "(none)" : ShowKey(p.largest_key, internal, hex))
     << "\n";
  if (internal) os << "  sequences: " << p.smallest_seq << ".." << p.largest_seq << "\n";
  os << "  raw_key_bytes: " << p.raw_key_bytes << "\n"
     << "  raw_value_bytes: " << p.raw_value_bytes << "\n"
     << "  creation_time: " << p.creation_time_micros << " us\n";

  const std::shared_ptr<const Block>& index = table.IndexBlock();
  const std::size_t min_key = internal ? kTrailerBytes : 0;
  std::vector<BlockHandle> handles;
  {
    os << "index:\n";
    BlockIter idx(index, table.comparator(), &table.file_name(), 0, min_key);
    for (idx.SeekToFirst(); idx.Valid(); idx.Next()) {
      KV_ASSIGN_OR_RETURN(BlockHandle h, table.DecodeIndexValue(idx));
      os << "  " << ShowKey(idx.key(), internal, hex) << " -> block at offset " << h.offset << ", "
         << h.size << " bytes\n";
      handles.push_back(h);
    }
    KV_RETURN_IF_ERROR(idx.status());
  }
  os << "entries:\n";
  std::uint64_t shown = 0;
  for (const BlockHandle& h : handles) {
    if (shown >= limit) break;
    KV_ASSIGN_OR_RETURN(std::shared_ptr<const Block> block,
                        table.DataBlock({.verify_checksums = true, .fill_cache = false}, h));
    os << "  block at offset " << h.offset << ":\n";
    BlockIter it(block, table.comparator(), &table.file_name(), h.offset, min_key);
    for (it.SeekToFirst(); it.Valid() && shown < limit; it.Next(), ++shown) {
      os << "    " << ShowKey(it.key(), internal, hex);
      ParsedInternalKey parsed;
      const bool deletion =
          internal && ParseInternalKey(it.key(), &parsed) && parsed.type == ValueType::kDeletion;
      if (!deletion) os << " => " << ShowValue(it.key(), it.value(), internal, hex);
      os << "\n";
    }
    KV_RETURN_IF_ERROR(it.status());
  }
  if (shown >= limit && shown < p.num_entries) {
    os << "  ... (" << p.num_entries - shown << " more entries; --limit " << limit << ")\n";
  }
  return absl::OkStatus();
}

// Prints each entry of a WAL batch.
class BatchPrinter final : public detail::BatchHandler {
 public:
  BatchPrinter(std::ostream& os, SequenceNumber first, bool hex)
      : os_(os), seq_(first), hex_(hex) {}
  void Put(std::string_view key, std::string_view value, std::uint64_t expiry) override {
    os_ << "  @" << seq_++ << " PUT " << DisplayBytes(key, hex_) << " => "
        << DisplayBytes(value, hex_);
    if (expiry != 0) os_ << " (expires at " << expiry << " us)";
    os_ << "\n";
  }
  void Delete(std::string_view key) override {
    os_ << "  @" << seq_++ << " DEL " << DisplayBytes(key, hex_) << "\n";
  }

 private:
  std::ostream& os_;
  SequenceNumber seq_;
  const bool hex_;
};

absl::Status DumpWal(const Invocation& inv, const std::string& path, std::uint64_t limit) {
  const std::string name = std::filesystem::path(path).filename().string();
  std::optional<detail::ParsedFileName> parsed = detail::ParseFileName(name);
  if (!parsed ||
      (parsed->kind != detail::FileKind::kWal && parsed->kind != detail::FileKind::kDroppedWal)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a WAL file name (NNNNNN.wal or NNNNNN.wal.dropped)"));
  }
  KV_ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file,
                      FileSystem::Default()->NewSequentialFile(path));
  wal::Reader reader(std::move(file), path, parsed->number, wal::LogKind::kWal);
  std::ostream& os = inv.out;
  const bool hex = inv.args.Has("hex");
  os << "file: " << path << " (log " << parsed->number << ")\n";
  std::string scratch;
  std::string_view record;
  std::uint64_t records = 0;
  while (true) {
    const std::uint64_t offset = reader.valid_prefix_end();
    const wal::ReadOutcome outcome = reader.ReadRecord(&record, &scratch);
    if (outcome == wal::ReadOutcome::kEndOfFile) {
      os << "end of log: " << records << " records\n";
      return absl::OkStatus();
    }
    if (outcome == wal::ReadOutcome::kTornTail) {
      os << "torn last record after offset " << offset << " (" << reader.bytes_after_valid_prefix()
         << " bytes; recovery drops it from the newest WAL)\n"
         << "end of log: " << records << " records\n";
      return absl::OkStatus();
    }
    if (outcome == wal::ReadOutcome::kCorruption) return reader.status();
    if (records >= limit) {
      os << "... (more records; --limit " << limit << ")\n";
      return absl::OkStatus();
    }
    if (record.size() < detail::kBatchHeaderBytes) {
      return absl::DataLossError(absl::StrCat(path, ": record ", records, " after offset ", offset,
                                              " is too short to be a write batch (", record.size(),
                                              " bytes)"));
    }
    const SequenceNumber seq = DecodeFixed64(record.data());
    const std::uint32_t count = DecodeFixed32(record.data() + 8);
    os << "record " << records << " after offset " << offset << ": batch seq " << seq << ", "
       << count << " entries, " << record.size() << " bytes\n";
    BatchPrinter printer(os, seq, hex);
    const absl::Status s = detail::WriteBatchInternal::Iterate(record, &printer);
    if (!s.ok()) {
      return absl::DataLossError(
          absl::StrCat(path, ": record ", records, " after offset ", offset, ": ", s.message()));
    }
    ++records;
  }
}

absl::StatusOr<std::string> ManifestPath(const std::string& arg) {
  std::error_code ec;
  if (!std::filesystem::is_directory(arg, ec)) {
    if (!std::filesystem::exists(arg, ec)) {
      return absl::InvalidArgumentError(absl::StrCat("'", arg, "': no such file or directory"));
    }
    return arg;
  }
  const std::string current = (std::filesystem::path(arg) / "CURRENT").string();
  std::ifstream f(current, std::ios::binary);
  if (!f) {
    return absl::InvalidArgumentError(
        absl::StrCat("no kv database in '", arg, "' (cannot read ", current, ")"));
  }
  std::string name;
  std::getline(f, name);
  std::optional<detail::ParsedFileName> parsed = detail::ParseFileName(name);
  if (!parsed || parsed->kind != detail::FileKind::kManifest) {
    return absl::DataLossError(absl::StrCat(current, ": does not name a manifest ('",
                                            EscapeForLine(name), "') at offset 0"));
  }
  return (std::filesystem::path(arg) / name).string();
}

}  // namespace

int RunDumpSst(const Invocation& inv) {
  absl::Status error;
  const std::uint64_t limit = Limit(inv, &error);
  if (!error.ok()) return UsageError(inv, error);
  const absl::Status s = DumpSst(inv, inv.args.positional[0], limit);
  return s.ok() ? kExitOk : Fail(inv, s);
}

int RunDumpWal(const Invocation& inv) {
  absl::Status error;
  const std::uint64_t limit = Limit(inv, &error);
  if (!error.ok()) return UsageError(inv, error);
  const absl::Status s = DumpWal(inv, inv.args.positional[0], limit);
  return s.ok() ? kExitOk : Fail(inv, s);
}

int RunDumpManifest(const Invocation& inv) {
  absl::StatusOr<std::string> path = ManifestPath(inv.args.positional[0]);
  if (!path.ok()) return Fail(inv, path.status());
  absl::StatusOr<std::string> text = detail::DumpManifest(*FileSystem::Default(), *path);
  if (!text.ok()) return Fail(inv, text.status());
  inv.out << *text;
  return kExitOk;
}

}  // namespace kv::kvctl
