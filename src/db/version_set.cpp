#include "db/version_set.hpp"

#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/file_names.hpp"
#include "kv/status_macros.hpp"
#include "kv/wal_reader.hpp"
#include "kv/wal_writer.hpp"

namespace kv::detail {

namespace {

// Prefixes a status message with `context`, keeping its code.
absl::Status Annotate(const absl::Status& s, std::string_view context) {
  return absl::Status(s.code(), absl::StrCat(Sv(context), ": ", s.message()));
}

// Best-effort removal of a file we created and no longer want.
void RemoveQuietly(FileSystem& fs, const std::string& path) {
  absl::Status ignored = fs.RemoveFile(path);
  (void)ignored;
}

}  // namespace

VersionSet::VersionSet(std::string db_dir, std::shared_ptr<FileSystem> fs, const Options& options)
    : db_dir_(std::move(db_dir)),
      fs_(std::move(fs)),
      options_(options),
      compact_pointers_(static_cast<std::size_t>(std::max(options.num_levels, 1))) {
  Install(std::make_shared<const Version>(options_));
}

VersionSet::~VersionSet() {
  if (manifest_ != nullptr) {
    absl::Status ignored = manifest_->Close();  // every record was synced already
    (void)ignored;
  }
}

void VersionSet::SetLastSequence(SequenceNumber s) {
  assert(s >= last_sequence_);
  last_sequence_ = s;
}

void VersionSet::Install(std::shared_ptr<const Version> v) {
  // Forget versions nobody holds any more, then remember the new one.
  std::erase_if(versions_, [](const std::weak_ptr<const Version>& w) { return w.expired(); });
  versions_.push_back(v);
  current_ = std::move(v);
}

std::set<std::uint64_t> VersionSet::LiveTableNumbers() const {
  std::set<std::uint64_t> live;
  auto add = [&](const Version& v) {
    for (int level = 0; level < v.num_levels(); ++level) {
      for (const FileRef& f : v.files(level)) live.insert(f->number);
    }
  };
  add(*current_);
  std::erase_if(versions_, [&](const std::weak_ptr<const Version>& w) {
    std::shared_ptr<const Version> v = w.lock();
    if (v == nullptr) return true;
    add(*v);
    return false;
  });
  return live;
}

void VersionSet::ApplyCompactPointers(const VersionEdit& edit) {
  for (const auto& [level, key] : edit.compact_pointers()) {
    if (level < static_cast<int>(compact_pointers_.size())) {
      compact_pointers_[static_cast<std::size_t>(level)] = key;
    }
  }
}

VersionEdit VersionSet::SnapshotEdit() const {
  VersionEdit edit;
  edit.SetFormatVersion(kManifestFormatVersion);
  edit.SetLogNumber(log_number_);
  edit.SetNextFileNumber(next_file_number_);
  edit.SetLastSequence(last_sequence_);
  for (std::size_t level = 0; level < compact_pointers_.size(); ++level) {
    if (!compact_pointers_[level].empty()) {
      edit.SetCompactPointer(static_cast<int>(level), compact_pointers_[level]);
    }
  }
  for (int level = 0; level < current_->num_levels(); ++level) {
    for (const FileRef& f : current_->files(level)) edit.AddFile(level, *f);
  }
  return edit;
}

absl::Status VersionSet::SetCurrentFile(std::uint64_t manifest_number) {
  const std::string tmp = JoinPath(db_dir_, TempFileName(manifest_number));
  absl::Status s = WriteStringToFile(*fs_, absl::StrCat(ManifestFileName(manifest_number), "\n"),
                                     tmp, /*sync=*/true);
  if (s.ok()) s = fs_->RenameFile(tmp, JoinPath(db_dir_, kCurrentFileName));
  if (!s.ok()) {
    RemoveQuietly(*fs_, tmp);
    return s;
  }
  return fs_->SyncDir(db_dir_);
}

absl::Status VersionSet::WriteSnapshotManifest(std::uint64_t number, const VersionEdit* extra,
                                               std::unique_ptr<wal::Writer>* writer) {
  std::string snapshot;
  SnapshotEdit().EncodeTo(&snapshot);
  std::string extra_record;
  if (extra != nullptr) extra->EncodeTo(&extra_record);

  const std::string path = JoinPath(db_dir_, ManifestFileName(number));
  auto file = fs_->NewWritableFile(path);
  if (!file.ok()) return file.status();
  auto log =
      std::make_unique<wal::Writer>(std::move(file).value(), number, wal::LogKind::kManifest);
  absl::Status s = log->AddRecord(snapshot);
  if (s.ok() && extra != nullptr) s = log->AddRecord(extra_record);
  if (s.ok()) s = log->Sync();
  // The manifest's name must be durable before CURRENT names it.
  if (s.ok()) s = fs_->SyncDir(db_dir_);
  if (!s.ok()) {
    absl::Status ignored = log->Close();
    (void)ignored;
    RemoveQuietly(*fs_, path);
    return s;
  }
  s = SetCurrentFile(number);
  if (!s.ok()) {
    // CURRENT may or may not name the new manifest now (a failed SyncDir
    // after the rename): keep the file, it is complete and synced.
    absl::Status ignored = log->Close();
    (void)ignored;
    return s;
  }
  *writer = std::move(log);
  return absl::OkStatus();
}

absl::Status VersionSet::CreateNew() {
  next_file_number_ = 2;
  last_sequence_ = 0;
  log_number_ = 0;
  compact_pointers_.assign(compact_pointers_.size(), std::string());
  Install(std::make_shared<const Version>(options_));
  manifest_.reset();
  std::unique_ptr<wal::Writer> writer;
  KV_RETURN_IF_ERROR(WriteSnapshotManifest(1, nullptr, &writer));
  manifest_ = std::move(writer);
  manifest_file_number_ = 1;
  return absl::OkStatus();
}

absl::Status VersionSet::ReplayManifest(const std::string& path, std::uint64_t number) {
  KV_ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file, fs_->NewSequentialFile(path));
  wal::Reader reader(std::move(file), path, number, wal::LogKind::kManifest);
  VersionBuilder builder(options_, nullptr);
  std::optional<std::uint64_t> log_number, next_file_number;
  std::optional<SequenceNumber> last_sequence;
  std::vector<std::string> pointers(compact_pointers_.size());
  std::string scratch;
  std::string_view record;
  std::size_t records = 0;
  for (;;) {
    const std::uint64_t record_offset = reader.valid_prefix_end();
    const wal::ReadOutcome outcome = reader.ReadRecord(&record, &scratch);
    if (outcome == wal::ReadOutcome::kCorruption) return reader.status();
    if (outcome == wal::ReadOutcome::kTornTail && reader.bytes_after_valid_prefix() > 0) {
      // A crash mid-append leaves a torn last edit, harmless: it was never
      // synced, so nothing depends on it. Damage that cut off *synced* edits
      // looks the same, so remember it: the DB then keeps tables the
      // manifest no longer names instead of deleting them; paranoid checks
      // refuse to open.
      manifest_tail_dropped_ = reader.bytes_after_valid_prefix();
      if (options_.paranoid_checks) {
        return absl::DataLossError(absl::StrCat(path, ": manifest ends in a torn record at offset ",
                                                reader.valid_prefix_end(), " (",
                                                manifest_tail_dropped_, " bytes)"));
      }
    }
    if (outcome != wal::ReadOutcome::kRecord) break;  // clean end or torn last record
    auto where = [&] {
      return absl::StrCat(path, ": record ", records, " after offset ", record_offset);
    };
    VersionEdit edit;
    absl::Status s = edit.DecodeFrom(record);
    if (!s.ok()) return absl::DataLossError(absl::StrCat(where(), ": ", s.message()));
    if (records == 0 && !edit.format_version()) {
      return absl::DataLossError(
          absl::StrCat(where(), ": the first record carries no format version"));
    }
    if (edit.format_version() && *edit.format_version() != kManifestFormatVersion) {
      return absl::InvalidArgumentError(absl::StrCat(where(), ": manifest format version ",
                                                     *edit.format_version(), " (this build reads ",
                                                     kManifestFormatVersion, ")"));
    }
    s = builder.Apply(edit);
    if (!s.ok()) return Annotate(s, where());
    if (edit.log_number()) log_number = edit.log_number();
    if (edit.next_file_number()) next_file_number = edit.next_file_number();
    if (edit.last_sequence()) last_sequence = edit.last_sequence();
    for (const auto& [level, key] : edit.compact_pointers()) {
      if (level < static_cast<int>(pointers.size())) {
        pointers[static_cast<std::size_t>(level)] = key;
      }
    }
    ++records;
  }
  if (!log_number || !next_file_number || !last_sequence) {
    return absl::DataLossError(absl::StrCat(path, ": the manifest lacks ",
                                            !log_number         ? "the log number"
                                            : !next_file_number ? "the next file number"
                                                                : "the last sequence",
                                            " (", records, " records read)"));
  }
  auto built = builder.Build();
  if (!built.ok()) return Annotate(built.status(), path);

  Install(std::move(built).value());
  next_file_number_ = *next_file_number;
  last_sequence_ = *last_sequence;
  log_number_ = *log_number;
  compact_pointers_ = std::move(pointers);
  MarkFileNumberUsed(number);
  MarkFileNumberUsed(log_number_);
  for (int level = 0; level < current_->num_levels(); ++level) {
    for (const FileRef& f : current_->files(level)) MarkFileNumberUsed(f->number);
  }
  return absl::OkStatus();
}

absl::Status VersionSet::CheckTablesExist() const {
  for (int level = 0; level < current_->num_levels(); ++level) {
    for (const FileRef& f : current_->files(level)) {
      const std::string path = JoinPath(db_dir_, TableFileName(f->number));
      absl::StatusOr<std::uint64_t> size = fs_->GetFileSize(path);
      if (absl::IsNotFound(size.status())) {
        return absl::DataLossError(absl::StrCat("table file ", path,
                                                " is missing (listed in level ", level, " of ",
                                                ManifestFileName(manifest_file_number_), ")"));
      }
      if (!size.ok()) return size.status();
      if (*size != f->file_size) {
        return absl::DataLossError(absl::StrCat("table file ", path, " is ", *size,
                                                " bytes but the manifest records ", f->file_size));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status VersionSet::Recover() {
  if (manifest_ != nullptr) {
    absl::Status ignored = manifest_->Close();
    (void)ignored;
    manifest_.reset();
  }
  const std::string current_path = JoinPath(db_dir_, kCurrentFileName);
  KV_ASSIGN_OR_RETURN(std::string current, ReadFileToString(*fs_, current_path));
  if (current.empty() || current.back() != '\n') {
    return absl::DataLossError(
        absl::StrCat(current_path, ": does not end in a newline (", current.size(), " bytes)"));
  }
  current.pop_back();
  std::optional<ParsedFileName> parsed = ParseFileName(current);
  if (!parsed || parsed->kind != FileKind::kManifest) {
    return absl::DataLossError(
        absl::StrCat(current_path, ": at offset 0: '", current, "' is not a MANIFEST file name"));
  }
  KV_RETURN_IF_ERROR(ReplayManifest(JoinPath(db_dir_, current), parsed->number));
  manifest_file_number_ = parsed->number;
  KV_RETURN_IF_ERROR(CheckTablesExist());

  // Start a fresh manifest holding one snapshot of the recovered state.
  const std::uint64_t number = NewFileNumber();
  std::unique_ptr<wal::Writer> writer;
  KV_RETURN_IF_ERROR(WriteSnapshotManifest(number, nullptr, &writer));
  manifest_ = std::move(writer);
  manifest_file_number_ = number;
  return absl::OkStatus();
}

absl::Status VersionSet::LogAndApply(VersionEdit* edit, kv::Mutex* mu) {
  mu->AssertHeld();
  if (!edit->log_number()) edit->SetLogNumber(log_number_);
  assert(*edit->log_number() >= log_number_);
  assert(*edit->log_number() < next_file_number_);

  VersionBuilder builder(options_, current_);
  KV_RETURN_IF_ERROR(builder.Apply(*edit));
  KV_ASSIGN_OR_RETURN(std::shared_ptr<const Version> next, builder.Build());

  // A broken or oversized manifest is replaced by a snapshot + this edit.
  const bool new_manifest = manifest_ == nullptr || manifest_->Size() >= kMaxManifestBytes;
  std::uint64_t new_number = 0;
  std::string snapshot_record;
  if (new_manifest) {
    new_number = NewFileNumber();
    SnapshotEdit().EncodeTo(&snapshot_record);  // the state before `edit`
  }
  edit->SetNextFileNumber(next_file_number_);
  edit->SetLastSequence(last_sequence_);
  std::string record;
  edit->EncodeTo(&record);

  // Manifest I/O without the DB mutex: only this function (never run
  // concurrently with itself) touches manifest_, and db_dir_/fs_ are const.
  std::unique_ptr<wal::Writer> writer;
  absl::Status s;
  mu->Unlock();
  if (new_manifest) {
    const std::string path = JoinPath(db_dir_, ManifestFileName(new_number));
    auto file = fs_->NewWritableFile(path);
    if (!file.ok()) {
      s = file.status();
    } else {
      writer = std::make_unique<wal::Writer>(std::move(file).value(), new_number,
                                             wal::LogKind::kManifest);
      s = writer->AddRecord(snapshot_record);
      if (s.ok()) s = writer->AddRecord(record);
      if (s.ok()) s = writer->Sync();
      if (s.ok()) s = fs_->SyncDir(db_dir_);
      if (!s.ok()) {
        absl::Status ignored = writer->Close();
        (void)ignored;
        writer.reset();
        RemoveQuietly(*fs_, path);
      } else {
        s = SetCurrentFile(new_number);
        if (!s.ok()) {
          absl::Status ignored = writer->Close();
          (void)ignored;
          writer.reset();
        }
      }
    }
  } else {
    s = manifest_->AddRecord(record);
    if (s.ok()) s = manifest_->Sync();
  }
  mu->Lock();

  if (!s.ok()) {
    // The old manifest may now end in a partial record: never append to it
    // again; the next LogAndApply starts a new one.
    if (manifest_ != nullptr && !new_manifest) {
      absl::Status ignored = manifest_->Close();
      (void)ignored;
      manifest_.reset();
    }
    return Annotate(
        s, new_manifest ? ManifestFileName(new_number) : ManifestFileName(manifest_file_number_));
  }
  if (new_manifest) {
    if (manifest_ != nullptr) {
      absl::Status ignored = manifest_->Close();
      (void)ignored;
    }
    manifest_ = std::move(writer);
    manifest_file_number_ = new_number;
  }
  Install(std::move(next));
  log_number_ = *edit->log_number();
  ApplyCompactPointers(*edit);
  return absl::OkStatus();
}

absl::StatusOr<std::string> DumpManifest(FileSystem& fs, const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::optional<ParsedFileName> parsed = ParseFileName(name);
  if (!parsed || parsed->kind != FileKind::kManifest) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a MANIFEST-<number> file name"));
  }
  KV_ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file, fs.NewSequentialFile(path));
  wal::Reader reader(std::move(file), path, parsed->number, wal::LogKind::kManifest);
  std::string out = absl::StrCat(name, "\n");
  std::string scratch;
  std::string_view record;
  for (std::size_t records = 0;; ++records) {
    const std::uint64_t offset = reader.valid_prefix_end();
    const wal::ReadOutcome outcome = reader.ReadRecord(&record, &scratch);
    if (outcome == wal::ReadOutcome::kCorruption) return reader.status();
    if (outcome == wal::ReadOutcome::kTornTail) {
      absl::StrAppend(&out, "torn last record after offset ", offset, " (",
                      reader.bytes_after_valid_prefix(), " bytes, ignored by recovery)\n");
    }
    if (outcome != wal::ReadOutcome::kRecord) break;
    VersionEdit edit;
    absl::Status s = edit.DecodeFrom(record);
    if (!s.ok()) {
      return absl::DataLossError(
          absl::StrCat(path, ": record ", records, " after offset ", offset, ": ", s.message()));
    }
    absl::StrAppend(&out, "record ", records, " after offset ", offset, ": ", edit.DebugString());
  }
  return out;
}

}  // namespace kv::detail
