// Compactions: picking (compaction_picker.cpp decides what), running the
// job (merge inputs, drop what no reader can see, split outputs), installing
// the result, and DB::CompactRange.
//
// What a compaction drops. Readers are the live snapshots and iterators
// (each a sequence number and a read time) plus "now". The live snapshot
// sequences cut the sequence space into stripes; within one stripe every
// reader sees the same newest version of a key, so of the versions of a
// key that fall in one stripe only the newest is kept. Additionally:
//  - A tombstone in the oldest stripe (every reader sees it or something
//    newer) is dropped when no level below the output can hold the key;
//    the older versions it hides in the same stripe are dropped with it.
//  - A TTL value expired before every reader's read time (and before now)
//    is a tombstone for every reader, and is treated exactly like one:
//    dropped where a tombstone would be, otherwise rewritten as a
//    tombstone, so an older version in a deeper level never comes back.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/compaction_picker.hpp"
#include "db/db_impl.hpp"
#include "db/file_names.hpp"
#include "db/merging_iterator.hpp"
#include "db/reader_horizon.hpp"
#include "kv/sstable_writer.hpp"

namespace kv::detail {
namespace {

// One output table being written.
struct OutputTable {
  std::unique_ptr<SSTableWriter> writer;
  FileMetaData meta;
};

}  // namespace

absl::Status DBImpl::RunCompactionLocked(bool* did_work) {
  *did_work = false;
  // Released before DeleteObsoleteFilesLocked: a held version keeps the
  // compaction's inputs "live" and they would never be deleted.
  std::shared_ptr<const Version> version = versions_->current();
  std::optional<CompactionInputs> c;
  ManualCompaction* manual = manual_compaction_;
  std::vector<std::string> pointers = versions_->compact_pointers();
  if (manual != nullptr) {
    std::optional<std::string_view> begin, end;
    if (manual->begin) begin = *manual->begin;
    if (manual->end) end = *manual->end;
    using Kind = ManualCompaction::Kind;
    c = manual->kind == Kind::kInPlace
            ? PickInPlaceRangeCompaction(*version, options_, manual->level, begin, end,
                                         manual->older_than)
            : PickRangeCompaction(*version, options_, manual->level, begin, end,
                                  /*allow_move=*/manual->kind == Kind::kMoveOrMergeDown);
    // Moves are not counted: each takes one file out of the level with a
    // manifest edit, so they end on their own, and a level of thousands of
    // files must not run out of steps on its way down.
    if (!c || (!c->is_trivial_move && ++manual->runs > kMaxManualRuns)) {
      manual->done = true;
      manual_compaction_ = nullptr;
      *did_work = true;  // progress: the request is answered
      return absl::OkStatus();
    }
  } else {
    c = PickCompaction(*version, options_, &pointers);
    if (!c) return absl::OkStatus();
  }
  *did_work = true;

  VersionEdit edit;
  if (manual == nullptr && c->level < static_cast<int>(pointers.size()) &&
      !pointers[static_cast<std::size_t>(c->level)].empty()) {
    edit.SetCompactPointer(c->level, pointers[static_cast<std::size_t>(c->level)]);
  }

  CompactionJobInfo info;
  info.input_level = c->level;
  info.output_level = c->output_level;
  info.manual = manual != nullptr;
  info.trivial_move = c->is_trivial_move;
  for (int which = 0; which < 2; ++which) {
    for (const FileRef& f : c->inputs[which]) info.input_files.push_back(f->number);
  }
  NotifyListenersLocked([&](EventListener& l) { l.OnCompactionBegin(info); });

  if (info.trivial_move) {
    const FileRef& f = c->inputs[0].front();
    edit.RemoveFile(c->level, f->number);
    edit.AddFile(c->output_level, *f);
    version.reset();
    KV_RETURN_IF_ERROR(versions_->LogAndApply(&edit, &mu_));
    DBStats::Add(stats_.trivial_moves);
    info_log_->Log("trivial move of ", TableFileName(f->number), " from L", c->level, " to L",
                   c->output_level, manual ? " (manual)" : "");
    info.output_files = info.input_files;
    NotifyListenersLocked([&](EventListener& l) { l.OnCompactionCompleted(info); });
    return absl::OkStatus();
  }

  const std::uint64_t start = clock_->MonotonicMicros();
  std::vector<FileMetaData> outputs;
  absl::Status s = RunCompactionJobLocked(*c, *version, &outputs);
  if (!s.ok() || shutting_down_) {
    for (const FileMetaData& f : outputs) pending_outputs_.erase(f.number);
    // Not installed: the outputs are leftovers, deleted at the next Open.
    return shutting_down_ ? absl::OkStatus() : s;
  }

  std::uint64_t bytes_read = 0, bytes_written = 0;
  for (int which = 0; which < 2; ++which) {
    const int level = which == 0 ? c->level : c->output_level;
    for (const FileRef& f : c->inputs[which]) {
      edit.RemoveFile(level, f->number);
      bytes_read += f->file_size;
    }
  }
  for (const FileMetaData& f : outputs) {
    edit.AddFile(c->output_level, f);
    bytes_written += f.file_size;
  }
  version.reset();
  s = versions_->LogAndApply(&edit, &mu_);
  for (const FileMetaData& f : outputs) pending_outputs_.erase(f.number);
  KV_RETURN_IF_ERROR(s);

  DBStats::Add(stats_.compactions);
  DBStats::Add(stats_.compaction_bytes_read, bytes_read);
  DBStats::Add(stats_.compaction_bytes_written, bytes_written);
  level_bytes_read_[static_cast<std::size_t>(c->output_level)] += bytes_read;
  level_bytes_written_[static_cast<std::size_t>(c->output_level)] += bytes_written;
  for (const FileMetaData& f : outputs) info.output_files.push_back(f.number);
  info.bytes_read = bytes_read;
  info.bytes_written = bytes_written;
  info.duration_micros = clock_->MonotonicMicros() - start;
  info_log_->Log("compacted L", c->level, " -> L", c->output_level, manual ? " (manual)" : "",
                 ": inputs ", absl::StrJoin(info.input_files, " "), " (", bytes_read,
                 " bytes), outputs ",
                 outputs.empty() ? "none" : absl::StrJoin(info.output_files, " "), " (",
                 bytes_written, " bytes), ", info.duration_micros, " us");
  DeleteObsoleteFilesLocked();
  NotifyListenersLocked([&](EventListener& l) { l.OnCompactionCompleted(info); });
  return absl::OkStatus();
}

absl::Status DBImpl::RunCompactionJobLocked(const CompactionInputs& c, const Version& version,
                                            std::vector<FileMetaData>* outputs) {
  ReaderHorizon horizon;
  horizon.snapshots = snapshots_->Sequences();
  const std::uint64_t now = clock_->NowMicros();
  const std::optional<std::uint64_t> oldest_read = snapshots_->OldestReadTime();
  horizon.expiry_horizon_micros = oldest_read ? std::min(*oldest_read, now) : now;

  // True if no level below the output holds user_key: a tombstone for it
  // hides nothing any more.
  auto is_base_level_for = [&](std::string_view user_key) {
    for (int level = c.output_level + 1; level < version.num_levels(); ++level) {
      if (version.OverlapInLevel(level, user_key, user_key)) return false;  // binary search
    }
    return true;
  };

  // One pass over the inputs: do not evict hot blocks from the cache, and
  // do not make the inputs resident in this process through their mappings.
  TableReadOptions read_options;
  read_options.fill_cache = false;
  read_options.read_mapped = false;
  std::vector<std::unique_ptr<Iterator>> children;
  for (int which = 0; which < 2; ++which) {
    for (const FileRef& f : c.inputs[which]) {
      children.push_back(table_cache_->NewIterator(read_options, *f));
    }
  }
  const std::uint64_t max_grandparent_overlap = MaxGrandparentOverlapBytes(options_);
  mu_.Unlock();

  MergingIterator input(std::move(children));
  absl::Status s;
  OutputTable out;
  std::string current_user_key;
  bool has_current_user_key = false;
  SequenceNumber newer_seq_of_key = kMaxSequenceNumber;  // newest kept-or-hidden version so far
  std::size_t grandparent_index = 0;
  std::uint64_t grandparent_overlap = 0;
  std::string tombstone_value;

  auto finish_output = [&]() -> absl::Status {
    if (out.writer == nullptr) return absl::OkStatus();
    KV_RETURN_IF_ERROR(out.writer->Finish());
    KV_RETURN_IF_ERROR(out.writer->file()->Sync());
    KV_RETURN_IF_ERROR(out.writer->file()->Close());
    out.meta.file_size = out.writer->FileSize();
    outputs->back() = out.meta;
    out.writer.reset();
    return absl::OkStatus();
  };

  for (input.SeekToFirst(); input.Valid() && !shutting_down_; input.Next()) {
    const std::string_view ikey = input.key();
    ParsedInternalKey k;
    if (!ParseInternalKey(ikey, &k)) {
      s = absl::DataLossError("compaction input holds a malformed internal key");
      break;
    }
    const bool new_user_key = !has_current_user_key || k.user_key != current_user_key;
    if (new_user_key && imm_pending_.load(std::memory_order_acquire)) {
      // A full memtable is waiting: flush it first, as LevelDB does. One
      // background thread does both, and a compaction can run for seconds,
      // while the next memtable fills in under one at full write speed;
      // then every writer stops until the flush. The new L0 table is newer
      // than everything this compaction reads, and its install leaves the
      // inputs in place (they are in the current version, and the outputs
      // in pending_outputs_).
      s = FlushImmutableDuringCompaction();
      if (!s.ok()) break;
    }
    if (new_user_key) {
      current_user_key.assign(k.user_key);
      has_current_user_key = true;
      newer_seq_of_key = kMaxSequenceNumber;
      // Switch outputs only between user keys: one key's versions never
      // straddle two files of a level.
      if (out.writer != nullptr) {
        while (grandparent_index < c.grandparents.size() &&
               CompareInternalKeys(ikey, c.grandparents[grandparent_index]->largest) > 0) {
          grandparent_overlap += c.grandparents[grandparent_index]->file_size;
          ++grandparent_index;
        }
        if (out.writer->FileSize() >= options_.target_file_bytes ||
            grandparent_overlap > max_grandparent_overlap) {
          s = finish_output();
          if (!s.ok()) break;
          grandparent_overlap = 0;
        }
      }
    }

    // Decide this version's fate.
    bool drop = false;
    bool as_tombstone = false;
    const bool shadowed =
        newer_seq_of_key != kMaxSequenceNumber && horizon.Shadows(newer_seq_of_key, k.sequence);
    const bool expired = k.type == ValueType::kValueWithExpiry &&
                         IsExpired(k.type, input.value(), horizon.expiry_horizon_micros);
    if (shadowed) {
      drop = true;  // every reader of this stripe sees the newer version
    } else if ((k.type == ValueType::kDeletion || expired) && horizon.InOldestStripe(k.sequence) &&
               is_base_level_for(k.user_key)) {
      drop = true;  // a deletion nobody needs any more
    } else if (expired) {
      as_tombstone = true;
    }
    newer_seq_of_key = k.sequence;
    if (drop) continue;

    if (out.writer == nullptr) {
      mu_.Lock();
      const std::uint64_t number = versions_->NewFileNumber();
      pending_outputs_.insert(number);
      mu_.Unlock();
      auto file = fs_->NewWritableFile(JoinPath(dir_, TableFileName(number)));
      if (!file.ok()) {
        s = file.status();
        FileMetaData failed;
        failed.number = number;
        outputs->push_back(failed);
        break;
      }
      SSTableOptions table_options;
      table_options.block_bytes = options_.block_bytes;
      table_options.restart_interval = options_.block_restart_interval;
      table_options.bloom_bits_per_key = options_.bloom_bits_per_key;
      table_options.creation_time_micros = now;
      out.writer = std::make_unique<SSTableWriter>(std::move(*file), table_options);
      out.meta = FileMetaData{};
      out.meta.number = number;
      out.meta.smallest_seq = k.sequence;
      out.meta.largest_seq = k.sequence;
      outputs->push_back(out.meta);
    }
    std::string_view key_to_write = ikey;
    std::string_view value_to_write = input.value();
    std::string rewritten_key;
    if (as_tombstone) {
      rewritten_key = MakeInternalKey(k.user_key, k.sequence, ValueType::kDeletion);
      key_to_write = rewritten_key;
      value_to_write = {};
    }
    s = out.writer->Add(key_to_write, value_to_write);
    if (!s.ok()) break;
    if (out.meta.num_entries == 0) out.meta.smallest.assign(key_to_write);
    out.meta.largest.assign(key_to_write);
    out.meta.smallest_seq = std::min(out.meta.smallest_seq, k.sequence);
    out.meta.largest_seq = std::max(out.meta.largest_seq, k.sequence);
    ++out.meta.num_entries;
    if (k.type == ValueType::kDeletion || as_tombstone) ++out.meta.num_deletions;
  }
  if (s.ok()) s = input.status();
  if (s.ok() && !shutting_down_) s = finish_output();
  // The outputs' names must be durable before the manifest names them.
  if (s.ok() && !shutting_down_) s = fs_->SyncDir(dir_);
  out.writer.reset();
  mu_.Lock();
  return s;
}

absl::Status DBImpl::CompactRange(std::optional<std::string_view> begin,
                                  std::optional<std::string_view> end) {
  KV_RETURN_IF_ERROR(Flush());
  kv::MutexLock l(&mu_);
  // Every level above the deepest one holding part of the range is
  // compacted into the next, then the deepest into itself (its files this
  // call has not rewritten yet), so the range ends up rewritten once in
  // that level with shadowed versions, tombstones and expired entries
  // gone. Compacting the deepest level into the one below instead would
  // move the whole range a level deeper on every call, rewriting it once
  // more each time. A range held only in L0 goes to L1. On the way down, a
  // file with nothing to merge with in the next level moves rather than
  // being rewritten at every level.
  const std::uint64_t first_output_number = versions_->next_file_number();
  int deepest = -1;
  {
    const std::shared_ptr<const Version> v = versions_->current();
    for (int level = 0; level < v->num_levels(); ++level) {
      if (!v->GetOverlappingInputs(level, begin, end).empty()) deepest = level;
    }
  }
  for (int level = 0; level <= deepest; ++level) {
    ManualCompaction m;
    if (begin) m.begin = std::string(*begin);
    if (end) m.end = std::string(*end);
    m.level = level;
    // Above the deepest level a move is enough: the data is rewritten
    // where it lands (merged into the deepest level, or by its in-place
    // step). A range held only in L0 has no later step: L0 -> L1 rewrites.
    using Kind = ManualCompaction::Kind;
    m.kind =
        level < deepest ? Kind::kMoveOrMergeDown : (level >= 1 ? Kind::kInPlace : Kind::kMergeDown);
    m.older_than = first_output_number;
    while (manual_compaction_ != nullptr && bg_error_.ok() && !shutting_down_) bg_cv_.Wait(&mu_);
    if (!bg_error_.ok()) return bg_error_;
    manual_compaction_ = &m;
    bg_cv_.SignalAll();
    while (!m.done && bg_error_.ok() && !shutting_down_) bg_cv_.Wait(&mu_);
    if (manual_compaction_ == &m) manual_compaction_ = nullptr;
    if (!bg_error_.ok()) return bg_error_;
    if (shutting_down_) return absl::CancelledError("DB is closing");
  }
  return absl::OkStatus();
}

}  // namespace kv::detail
