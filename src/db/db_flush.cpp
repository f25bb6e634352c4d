// The background thread and memtable flushes.
//
// One background thread does all flushes and compactions, so manifest
// updates (LogAndApply) never run concurrently. It sleeps on bg_cv_ until
// there is an immutable memtable to flush, a manual compaction request, or
// a level whose compaction score reaches 1. A flush always goes first:
// writers may be stalled behind it.
//
// A failure puts the DB in the sticky error state (bg_error_): the thread
// then does nothing more until the DB is reopened; nothing is lost, since
// the WAL of an unflushed memtable and the inputs of an unfinished
// compaction are only deleted after their replacement is installed.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/db_impl.hpp"
#include "db/file_names.hpp"
#include "db/reader_horizon.hpp"
#include "kv/sstable_writer.hpp"

namespace kv::detail {

void DBImpl::BackgroundThreadMain() {
  kv::MutexLock l(&mu_);
  while (true) {
    // Also between jobs: a long run of flushes and compactions must not
    // keep idle pages mapped.
    MaybeReleaseIdleTablePagesLocked();
    while (!shutting_down_ && !bg_error_to_report_ && !HasBackgroundWorkLocked()) {
      WaitForBackgroundWorkLocked();
    }
    if (bg_error_to_report_) {
      const absl::Status error = *std::exchange(bg_error_to_report_, std::nullopt);
      NotifyListenersLocked([&](EventListener& l) { l.OnBackgroundError(error); });
      continue;
    }
    if (shutting_down_) break;
    absl::Status s;
    if (imm_ != nullptr) {
      s = FlushImmutableLocked();
    } else {
      bool did_work = false;
      s = RunCompactionLocked(&did_work);
      // Nothing pickable despite a high score: sleep until something
      // changes (a flush, a request) rather than spin.
      if (s.ok() && !did_work && !shutting_down_) bg_cv_.Wait(&mu_);
    }
    if (!s.ok() && !shutting_down_) SetBackgroundErrorLocked(s);
    bg_cv_.SignalAll();  // wake writers waiting on a stall, Flush(), CompactRange()
  }
}

void DBImpl::NotifyListenersLocked(const std::function<void(EventListener&)>& fn) {
  if (options_.listeners.empty()) return;
  mu_.Unlock();
  for (const std::shared_ptr<EventListener>& listener : options_.listeners) {
    if (listener != nullptr) fn(*listener);
  }
  mu_.Lock();
}

bool DBImpl::HasBackgroundWorkLocked() {
  if (!bg_error_.ok()) return false;
  if (imm_ != nullptr || manual_compaction_ != nullptr) return true;
  return versions_->current()->compaction_score() >= 1.0;
}

absl::Status DBImpl::FlushImmutableLocked() {
  std::shared_ptr<MemTable> imm = imm_;
  const std::uint64_t number = versions_->NewFileNumber();
  pending_outputs_.insert(number);
  const std::uint64_t start = clock_->MonotonicMicros();
  // Readers that exist now are the only ones that may need an older version
  // of a key: anything created later sees every entry of imm.
  ReaderHorizon horizon;
  horizon.snapshots = snapshots_->Sequences();
  FileMetaData meta;
  FlushJobInfo info;
  info.file_number = number;
  info.file_path = JoinPath(dir_, TableFileName(number));
  NotifyListenersLocked([&](EventListener& l) { l.OnFlushBegin(info); });
  absl::Status s;
  {
    mu_.Unlock();
    s = WriteTableFromMemtable(*imm, number, horizon, &meta);
    // The table's name must be durable before the manifest names it.
    if (s.ok()) s = fs_->SyncDir(dir_);
    mu_.Lock();
  }
  if (s.ok() && shutting_down_) {
    return absl::OkStatus();  // not installed: deleted as a leftover at the next Open
  }
  if (s.ok()) {
    VersionEdit edit;
    if (meta.file_size > 0) edit.AddFile(0, meta);
    // Every WAL older than the live one now has all its data in tables.
    edit.SetLogNumber(wal_number_);
    s = versions_->LogAndApply(&edit, &mu_);
  }
  pending_outputs_.erase(number);
  if (!s.ok()) {
    info_log_->Log("flush of memtable (WAL ", imm_wal_number_, ") failed: ", s.ToString());
    return s;
  }
  // The new table replaces the memtable for readers from here on. Drop
  // this thread's reference and the cached read sources' now: readers
  // start mapping the table's pages at once, and the memtable's memory
  // should not stay resident alongside them while the rest of this
  // function (deleting the old WAL, listeners) runs.
  imm_ = nullptr;
  imm_pending_.store(false, std::memory_order_release);
  imm.reset();
  read_sources_.reset();
  // Nothing written since the switch: the DB is write-idle (a Flush() or
  // CompactRange() with no writers, the end of a load), so the blocks kept
  // for the next memtable, this one's included once it is freed, go back
  // to the system. Steady writers keep them: the write that switched
  // memtables lands in the new one long before the old one's flush ends
  // (were it late, the next memtable would only map fresh pages).
  if (memtable_block_pool_ != nullptr && mem_->empty()) memtable_block_pool_->Trim();
  ++flushes_completed_;
  DBStats::Add(stats_.flushes);
  DBStats::Add(stats_.flush_bytes_written, meta.file_size);
  if (!level_bytes_written_.empty()) level_bytes_written_[0] += meta.file_size;
  info.file_bytes = meta.file_size;
  info.entries = meta.num_entries;
  info.duration_micros = clock_->MonotonicMicros() - start;
  info_log_->Log("flushed memtable to ", TableFileName(number), ": ", meta.num_entries,
                 " entries, ", meta.file_size, " bytes, ", info.duration_micros, " us");
  DeleteObsoleteFilesLocked();
  NotifyListenersLocked([&](EventListener& l) { l.OnFlushCompleted(info); });
  return absl::OkStatus();
}

absl::Status DBImpl::FlushImmutableDuringCompaction() {
  kv::MutexLock l(&mu_);
  if (imm_ == nullptr) return absl::OkStatus();
  absl::Status s = FlushImmutableLocked();
  bg_cv_.SignalAll();  // writers stopped for it, Flush()
  return s;
}

absl::Status DBImpl::WriteTableFromMemtable(const MemTable& mem, std::uint64_t number,
                                            const ReaderHorizon& horizon, FileMetaData* meta) {
  meta->number = number;
  meta->file_size = 0;
  if (mem.empty()) return absl::OkStatus();
  const std::string path = JoinPath(dir_, TableFileName(number));
  KV_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs_->NewWritableFile(path));
  SSTableOptions table_options;
  table_options.block_bytes = options_.block_bytes;
  table_options.restart_interval = options_.block_restart_interval;
  table_options.bloom_bits_per_key = options_.bloom_bits_per_key;
  table_options.creation_time_micros = clock_->NowMicros();
  // Every version counts, so this bounds the distinct keys the table gets.
  table_options.max_keys = mem.num_entries();
  SSTableWriter writer(std::move(file), table_options);
  std::unique_ptr<Iterator> it = mem.NewIterator();
  bool first = true;
  std::string previous_user_key;
  SequenceNumber previous_sequence = kMaxSequenceNumber;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key();
    ParsedInternalKey parsed;
    if (!ParseInternalKey(key, &parsed)) {
      return absl::InternalError("memtable holds a malformed internal key");
    }
    // An overwrite within the same snapshot stripe hides this version from
    // every reader: it never needs to reach the disk (less write
    // amplification for overwrite-heavy workloads).
    const bool same_key = !first && parsed.user_key == std::string_view(previous_user_key);
    const bool shadowed = same_key && horizon.Shadows(previous_sequence, parsed.sequence);
    if (!same_key) previous_user_key.assign(parsed.user_key);
    previous_sequence = parsed.sequence;
    if (shadowed) continue;
    KV_RETURN_IF_ERROR(writer.Add(key, it->value()));
    if (first) {
      meta->smallest.assign(key.data(), key.size());
      meta->smallest_seq = meta->largest_seq = parsed.sequence;
      first = false;
    }
    meta->largest.assign(key.data(), key.size());
    meta->smallest_seq = std::min(meta->smallest_seq, parsed.sequence);
    meta->largest_seq = std::max(meta->largest_seq, parsed.sequence);
    ++meta->num_entries;
    if (parsed.type == ValueType::kDeletion) ++meta->num_deletions;
  }
  KV_RETURN_IF_ERROR(it->status());
  KV_RETURN_IF_ERROR(writer.Finish());
  KV_RETURN_IF_ERROR(writer.file()->Sync());
  KV_RETURN_IF_ERROR(writer.file()->Close());
  meta->file_size = writer.FileSize();
  return absl::OkStatus();
}

void DBImpl::DeleteObsoleteFilesLocked() {
  // The cached read sources may pin a replaced version (keeping its tables
  // live) or a flushed memtable: drop them; the next read rebuilds them.
  read_sources_.reset();
  if (!bg_error_.ok()) return;  // the state on disk may be needed as it is
  auto children = fs_->GetChildren(dir_);
  if (!children.ok()) return;
  const std::set<std::uint64_t> live = versions_->LiveTableNumbers();
  const std::uint64_t log_number = versions_->log_number();
  const std::uint64_t manifest = versions_->manifest_file_number();
  std::vector<std::pair<std::string, std::uint64_t>> doomed;  // (name, table number or 0)
  for (const std::string& name : *children) {
    const auto parsed = ParseFileName(name);
    if (!parsed) continue;  // not kv's: never touched
    bool keep = true;
    switch (parsed->kind) {
      case FileKind::kWal:
        // Live: the current WAL and any not yet fully flushed.
        keep = parsed->number >= log_number || parsed->number == wal_number_;
        break;
      case FileKind::kManifest:
        keep = parsed->number >= manifest;
        break;
      case FileKind::kTable:
        keep = live.count(parsed->number) > 0 || pending_outputs_.count(parsed->number) > 0;
        break;
      case FileKind::kTemp:
        keep = pending_outputs_.count(parsed->number) > 0;
        break;
      default:
        keep = true;
    }
    if (!keep) {
      doomed.emplace_back(name, parsed->kind == FileKind::kTable ? parsed->number : 0);
    }
  }
  if (doomed.empty()) return;
  // Deleting needs no lock: these files are unreachable by every version.
  mu_.Unlock();
  for (const auto& [name, table_number] : doomed) {
    if (table_number != 0) table_cache_->Evict(table_number);
    absl::Status s = fs_->RemoveFile(JoinPath(dir_, name));
    info_log_->Log("deleted obsolete ", name, s.ok() ? "" : absl::StrCat(": ", s.ToString()));
  }
  mu_.Lock();
}

void DBImpl::WaitForBackgroundIdleLocked() {
  while (bg_error_.ok() && !shutting_down_ && HasBackgroundWorkLocked()) bg_cv_.Wait(&mu_);
}

absl::Status DBImpl::Flush() {
  // The memtable switch goes through the writer queue: it needs the WAL,
  // which only the queue's leader may touch.
  Writer w;
  kv::MutexLock l(&mu_);
  writers_.push_back(&w);
  while (&w != writers_.front()) writers_cv_.Wait(&mu_);
  absl::Status s = MakeRoomForWriteLocked(/*force=*/true);
  writers_.pop_front();
  if (!writers_.empty()) writers_cv_.SignalAll();  // the next writer leads
  KV_RETURN_IF_ERROR(s);
  while (imm_ != nullptr && bg_error_.ok() && !shutting_down_) bg_cv_.Wait(&mu_);
  return bg_error_;
}

}  // namespace kv::detail
