// Opening a DB: lock the directory, recover the table set from the
// MANIFEST, replay the WALs it does not cover, and start background work.
// Also DB::Destroy and the destructor.
//
// WAL replay policy (see README "Guarantees"):
//  - A torn last record of the newest WAL is a crash artefact: dropped, and
//    the file truncated there.
//  - Any other bad record is media corruption. With paranoid_checks Open
//    fails with kDataLoss naming the file and offset. Otherwise recovery
//    keeps the consistent prefix before it, replays nothing after it (not
//    even later, intact WALs: that would leave a hole in the history), and
//    reports the bytes dropped in the LOG and in kv.stats. The dropped WAL
//    files are kept, renamed to NNNNNN.wal.dropped, for forensics.
//  - Sequence numbers never go back: after dropping bytes, the next
//    sequence number skips at least as many numbers as the dropped bytes
//    could have used.
//  - The recovered memtable is flushed to an L0 table and the manifest
//    then marks every replayed WAL as obsolete, so nothing is replayed
//    twice and the dropped tail can never come back.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/db_impl.hpp"
#include "db/file_names.hpp"
#include "kv/wal_reader.hpp"
#include "kv/write_batch_internal.hpp"

namespace kv {

absl::StatusOr<std::unique_ptr<DB>> DB::Open(const Options& options,
                                             const std::filesystem::path& dir) {
  KV_RETURN_IF_ERROR(options.Validate());
  if (dir.empty()) return absl::InvalidArgumentError("DB::Open: empty directory path");
  auto db = std::make_unique<detail::DBImpl>(options, dir.string());
  KV_RETURN_IF_ERROR(db->Recover());
  return std::unique_ptr<DB>(std::move(db));
}

absl::Status DB::Destroy(const std::filesystem::path& dir_path, const Options& options) {
  std::shared_ptr<FileSystem> fs =
      options.file_system != nullptr ? options.file_system : FileSystem::Default();
  const std::string dir = dir_path.string();
  auto children = fs->GetChildren(dir);
  if (absl::IsNotFound(children.status())) return absl::OkStatus();
  KV_RETURN_IF_ERROR(children.status());
  // Holding the lock proves no DB has the directory open.
  auto lock = fs->LockFile(JoinPath(dir, detail::kLockFileName));
  KV_RETURN_IF_ERROR(lock.status());
  absl::Status result;
  for (const std::string& name : *children) {
    const auto parsed = detail::ParseFileName(name);
    if (!parsed || parsed->kind == detail::FileKind::kLock) continue;
    absl::Status s = fs->RemoveFile(JoinPath(dir, name));
    if (!s.ok() && result.ok()) result = s;
  }
  lock->reset();  // release before removing the LOCK file itself
  (void)fs->RemoveFile(JoinPath(dir, detail::kLockFileName));
  (void)fs->RemoveDir(dir);  // only succeeds if nothing else is left
  return result;
}

namespace detail {

DBImpl::DBImpl(const Options& options, std::string dir)
    : options_(options),
      dir_(std::move(dir)),
      fs_(options.file_system != nullptr ? options.file_system : FileSystem::Default()),
      clock_(options.clock != nullptr ? options.clock : Clock::Default()),
      snapshots_(std::make_shared<SnapshotList>()),
      memtable_block_pool_(NewMemTableBlockPool(options)) {}

DBImpl::~DBImpl() {
  {
    kv::MutexLock l(&mu_);
    shutting_down_ = true;
    bg_cv_.SignalAll();
  }
  // The background thread abandons its work promptly: an unfinished flush
  // or compaction output is not installed and is deleted at the next Open;
  // its data is still in the WAL or the input tables.
  if (bg_thread_.joinable()) bg_thread_.join();
  if (wal_ != nullptr) (void)wal_->Close();
  if (info_log_ != nullptr) info_log_->Log("closed");
}

absl::Status DBImpl::Recover() {
  const std::string current_path = JoinPath(dir_, kCurrentFileName);
  // Checked before anything is created, so a refused Open touches nothing.
  bool exists = fs_->FileExists(current_path);
  if (!exists && !options_.create_if_missing) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir_, ": no kv DB here and Options::create_if_missing is false"));
  }
  if (exists && options_.error_if_exists) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir_, ": a kv DB exists and Options::error_if_exists is true"));
  }
  KV_RETURN_IF_ERROR(fs_->CreateDir(dir_));
  KV_ASSIGN_OR_RETURN(lock_, fs_->LockFile(JoinPath(dir_, kLockFileName)));
  exists = fs_->FileExists(current_path);  // again, now that no one else can create it
  if (exists && options_.error_if_exists) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir_, ": a kv DB exists and Options::error_if_exists is true"));
  }
  info_log_ = std::make_unique<InfoLog>(*fs_, dir_, clock_);
  info_log_->Log("opening ", dir_, exists ? " (existing DB)" : " (new DB)");

  kv::MutexLock l(&mu_);
  table_cache_ = std::make_unique<TableCache>(dir_, fs_, options_);
  versions_ = std::make_unique<VersionSet>(dir_, fs_, options_);
  level_bytes_read_.assign(static_cast<std::size_t>(options_.num_levels), 0);
  level_bytes_written_.assign(static_cast<std::size_t>(options_.num_levels), 0);
  if (exists) {
    KV_RETURN_IF_ERROR(versions_->Recover());
  } else {
    KV_RETURN_IF_ERROR(versions_->CreateNew());
  }

  // Every numbered file seen keeps the file-number counter ahead of it.
  KV_ASSIGN_OR_RETURN(std::vector<std::string> children, fs_->GetChildren(dir_));
  std::vector<std::uint64_t> wals;
  for (const std::string& name : children) {
    const auto parsed = ParseFileName(name);
    if (!parsed || parsed->number == 0) continue;
    versions_->MarkFileNumberUsed(parsed->number);
    if (parsed->kind == FileKind::kWal && parsed->number >= versions_->log_number()) {
      wals.push_back(parsed->number);
    }
  }
  std::sort(wals.begin(), wals.end());
  if (versions_->manifest_tail_dropped() > 0) {
    // The manifest's last record was torn. If that was damage rather than
    // a crash mid-append, tables it no longer names may hold the only copy
    // of acknowledged data: set them aside rather than delete them.
    DBStats::Add(stats_.manifest_torn_tail_bytes, versions_->manifest_tail_dropped());
    const std::set<std::uint64_t> live = versions_->LiveTableNumbers();
    for (const std::string& name : children) {
      const auto parsed = ParseFileName(name);
      if (!parsed || parsed->kind != FileKind::kTable || live.count(parsed->number) > 0) continue;
      absl::Status s = fs_->RenameFile(JoinPath(dir_, name),
                                       JoinPath(dir_, OrphanTableFileName(parsed->number)));
      if (s.ok()) DBStats::Add(stats_.orphan_tables_kept);
      info_log_->Log("recovery: manifest tail torn (", versions_->manifest_tail_dropped(),
                     " bytes); kept unreferenced table as ", OrphanTableFileName(parsed->number),
                     s.ok() ? "" : absl::StrCat(" (rename failed: ", s.ToString(), ")"));
    }
  }
  mem_ = NewMemTable();
  KV_RETURN_IF_ERROR(ReplayWals(wals));

  visible_sequence_.store(versions_->last_sequence(), std::memory_order_release);
  DeleteObsoleteFilesLocked();
  info_log_->Log("opened: last sequence ", versions_->last_sequence(), ", WAL ", wal_number_, ", ",
                 versions_->current()->DebugString());
  bg_thread_ = std::thread([this] { BackgroundThreadMain(); });
  return absl::OkStatus();
}

absl::Status DBImpl::ReplayWals(const std::vector<std::uint64_t>& wal_numbers) {
  VersionEdit edit;
  std::vector<std::uint64_t> dropped_wals;
  bool stopped = false;
  for (std::size_t i = 0; i < wal_numbers.size(); ++i) {
    const std::uint64_t number = wal_numbers[i];
    if (stopped) {
      // After corruption nothing later is replayed (point-in-time recovery).
      auto size = fs_->GetFileSize(JoinPath(dir_, WalFileName(number)));
      const std::uint64_t bytes = size.ok() ? *size : 0;
      DBStats::Add(stats_.recovery_dropped_bytes, bytes);
      versions_->SetLastSequence(versions_->last_sequence() + bytes);
      info_log_->Log("recovery: dropped WAL ", WalFileName(number), " (", bytes,
                     " bytes) after corruption in an earlier WAL");
      dropped_wals.push_back(number);
      continue;
    }
    KV_RETURN_IF_ERROR(
        ReplayOneWal(number, /*is_last=*/i + 1 == wal_numbers.size(), &edit, &stopped));
    if (stopped) dropped_wals.push_back(number);
  }

  // A fresh WAL for new writes; then persist the recovered state in a table
  // so every replayed WAL becomes obsolete.
  KV_RETURN_IF_ERROR(NewWal());
  if (!mem_->empty()) {
    KV_RETURN_IF_ERROR(FlushMemTableDuringRecovery(&edit));
  }
  if (!wal_numbers.empty() || !edit.new_files().empty()) {
    KV_RETURN_IF_ERROR(
        fs_->SyncDir(dir_));  // the new tables' names, before the manifest names them
    edit.SetLogNumber(wal_number_);
    KV_RETURN_IF_ERROR(versions_->LogAndApply(&edit, &mu_));
  }
  // Only now, with the prefix safely in a table and the manifest past them,
  // are the dropped WALs moved aside.
  for (std::uint64_t number : dropped_wals) {
    const std::string from = JoinPath(dir_, WalFileName(number));
    const std::string to = JoinPath(dir_, DroppedWalFileName(number));
    absl::Status s = fs_->RenameFile(from, to);
    info_log_->Log("recovery: kept dropped WAL as ", DroppedWalFileName(number),
                   s.ok() ? "" : absl::StrCat(" (rename failed: ", s.ToString(), ")"));
  }
  return absl::OkStatus();
}

absl::Status DBImpl::FlushMemTableDuringRecovery(VersionEdit* edit) {
  const std::uint64_t number = versions_->NewFileNumber();
  FileMetaData meta;
  // No reader exists during recovery: only the newest version of each key
  // needs to be written.
  KV_RETURN_IF_ERROR(WriteTableFromMemtable(*mem_, number, ReaderHorizon{}, &meta));
  if (meta.file_size > 0) edit->AddFile(0, meta);
  mem_ = NewMemTable();
  return absl::OkStatus();
}

absl::Status DBImpl::ReplayOneWal(std::uint64_t number, bool is_last, VersionEdit* edit,
                                  bool* stop) {
  const std::string name = WalFileName(number);
  const std::string path = JoinPath(dir_, name);
  KV_ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file, fs_->NewSequentialFile(path));
  wal::Reader reader(std::move(file), path, number);
  std::string scratch;
  std::string_view record;
  std::uint64_t records = 0;
  while (true) {
    const wal::ReadOutcome outcome = reader.ReadRecord(&record, &scratch);
    if (outcome == wal::ReadOutcome::kRecord) {
      absl::Status s;
      if (record.size() < kBatchHeaderBytes) {
        s = absl::DataLossError(absl::StrCat(path, ": WAL record too short for a batch"));
      } else {
        s = InsertBatchIntoMemTable(record, mem_.get());
        if (!s.ok()) s = absl::DataLossError(absl::StrCat(path, ": ", s.message()));
      }
      if (!s.ok()) {
        // A checksummed record that does not decode: treat like corruption.
        if (options_.paranoid_checks) return s;
        info_log_->Log("recovery: ", s.ToString(), "; keeping the prefix before it");
        DBStats::Add(stats_.recovery_dropped_bytes, record.size());
        versions_->SetLastSequence(versions_->last_sequence() + record.size() + 1);
        *stop = true;
        return absl::OkStatus();
      }
      const SequenceNumber first = DecodeFixed64(record.data());
      const std::uint32_t count = DecodeFixed32(record.data() + 8);
      if (count > 0) {
        versions_->SetLastSequence(std::max(versions_->last_sequence(), first + count - 1));
      }
      ++records;
      DBStats::Add(stats_.recovered_records);
      if (mem_->ApproximateMemoryUsage() > options_.memtable_bytes) {
        KV_RETURN_IF_ERROR(FlushMemTableDuringRecovery(edit));
      }
      continue;
    }
    if (outcome == wal::ReadOutcome::kEndOfFile) break;
    const std::uint64_t tail = reader.bytes_after_valid_prefix();
    if (outcome == wal::ReadOutcome::kTornTail && is_last) {
      // A crash mid-append: drop the partial record and cut the file there,
      // so the next recovery (when this is no longer the newest WAL) does
      // not mistake it for corruption.
      if (tail > 0) {
        DBStats::Add(stats_.recovery_torn_tail_bytes, tail);
        info_log_->Log("recovery: ", name, ": dropped a torn last record (", tail,
                       " bytes at offset ", reader.valid_prefix_end(), ")");
        KV_RETURN_IF_ERROR(fs_->TruncateFile(path, reader.valid_prefix_end()));
      }
      break;
    }
    // A failed read is not damage: the bytes may be intact, so dropping
    // them would lose acknowledged writes. Open fails; a retry may succeed.
    if (outcome == wal::ReadOutcome::kCorruption && !absl::IsDataLoss(reader.status())) {
      return reader.status();
    }
    // Corruption, or a torn record in a WAL that is not the newest.
    absl::Status s = outcome == wal::ReadOutcome::kCorruption
                         ? reader.status()
                         : absl::DataLossError(absl::StrCat(path, ": truncated record at offset ",
                                                            reader.valid_prefix_end(),
                                                            " in a WAL that is not the newest"));
    if (options_.paranoid_checks) return s;
    DBStats::Add(stats_.recovery_dropped_bytes, tail);
    versions_->SetLastSequence(versions_->last_sequence() + tail);
    info_log_->Log("recovery: ", s.ToString(), "; kept the ", records,
                   " records before it, dropped ", tail, " bytes");
    *stop = true;
    break;
  }
  return absl::OkStatus();
}

}  // namespace detail
}  // namespace kv
