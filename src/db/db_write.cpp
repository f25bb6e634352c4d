// The write path: writer queue, group commit, memtable switch and stalls.
//
// Every DB::Write enqueues a Writer. The writer at the front is the leader:
// it merges the batches of the writers behind it (up to a byte cap) into one
// WAL record, assigns the group one contiguous sequence range, appends the
// record (one write(2)), fdatasyncs if any member asked for sync, inserts
// the group into the memtable, publishes the sequence range to readers,
// marks the members done with the common status, and wakes the queue once
// it has released the mutex.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/db_impl.hpp"
#include "kv/write_batch_internal.hpp"

namespace kv::detail {
namespace {

// Inserts a decoded batch into a memtable, one sequence number per entry,
// counting what it inserts for the stats on the way.
class MemTableInserter final : public BatchHandler {
 public:
  MemTableInserter(SequenceNumber first, MemTable* mem, BatchCounts* counts)
      : sequence_(first), mem_(mem), counts_(counts) {}
  void Put(std::string_view key, std::string_view value, std::uint64_t expiry_micros) override {
    if (expiry_micros == 0) {
      mem_->Add(sequence_++, ValueType::kValue, key, value);
    } else {
      mem_->Add(sequence_++, ValueType::kValueWithExpiry, key, value, expiry_micros);
    }
    ++counts_->puts;
    counts_->user_bytes += key.size() + value.size();
  }
  void Delete(std::string_view key) override {
    mem_->Add(sequence_++, ValueType::kDeletion, key, {});
    ++counts_->deletes;
    counts_->user_bytes += key.size();
  }

 private:
  SequenceNumber sequence_;
  MemTable* mem_;
  BatchCounts* counts_;
};

// Wakes every waiter of a condition variable when destroyed, if armed.
// Declared before a MutexLock, it signals after the lock is released.
class SignalAllOnExit {
 public:
  explicit SignalAllOnExit(kv::CondVar* cv) : cv_(cv) {}
  SignalAllOnExit(const SignalAllOnExit&) = delete;
  SignalAllOnExit& operator=(const SignalAllOnExit&) = delete;
  ~SignalAllOnExit() {
    if (armed_) cv_->SignalAll();
  }
  void Arm() { armed_ = true; }

 private:
  kv::CondVar* const cv_;
  bool armed_ = false;
};

}  // namespace

absl::Status InsertBatchIntoMemTable(std::string_view batch_contents, MemTable* mem,
                                     BatchCounts* counts) {
  BatchCounts ignored;
  MemTableInserter inserter(DecodeFixed64(batch_contents.data()), mem,
                            counts != nullptr ? counts : &ignored);
  return WriteBatchInternal::Iterate(batch_contents, &inserter);
}

absl::Status DBImpl::Write(const WriteOptions& options, const WriteBatch& user_batch) {
  if (options.ttl.count() < 0) {
    return absl::InvalidArgumentError("WriteOptions::ttl must not be negative");
  }
  KV_RETURN_IF_ERROR(WriteBatchInternal::InvalidReason(user_batch));
  if (user_batch.Count() == 0) return absl::OkStatus();

  // TTLs become absolute expiry times here, in the caller's thread, so the
  // WAL holds what replay must reproduce exactly.
  const WriteBatch* batch = &user_batch;
  WriteBatch resolved;
  const auto default_ttl = static_cast<std::uint64_t>(options.ttl.count());
  if (WriteBatchInternal::NeedsTtlResolution(user_batch, default_ttl)) {
    KV_RETURN_IF_ERROR(
        WriteBatchInternal::ResolveTtl(user_batch, default_ttl, clock_->NowMicros(), &resolved));
    batch = &resolved;
  }

  Writer w;
  w.batch = batch;
  w.sync = options.sync;

  // writers_cv_ belongs to the DB, which outlives this call: signalling it
  // after mu_ is released cannot touch a finished member's Writer.
  SignalAllOnExit wake_queue(&writers_cv_);
  kv::MutexLock l(&mu_);
  writers_.push_back(&w);
  if (leader_gathering_) writers_.front()->cv.Signal();  // one more for its group
  while (!w.done && &w != writers_.front()) writers_cv_.Wait(&mu_);
  if (w.done) return w.status;

  // This thread is the leader.
  absl::Status s = MakeRoomForWriteLocked(/*force=*/false);
  Writer* last = &w;
  if (s.ok() && w.sync) {
    GatherSyncGroupLocked(&w);
    // mu_ was released while gathering: a background error may have come.
    s = bg_error_;
  }
  std::uint64_t sync_micros = 0;
  std::size_t members = 0;  // writers in the group, the leader included
  if (s.ok()) {
    last = BuildGroupLocked();
    WriteBatch* group = &group_batch_;
    bool sync = false;
    for (Writer* m : writers_) {
      sync = sync || m->sync;
      ++members;
      if (m == last) break;
    }
    const SequenceNumber first = versions_->last_sequence() + 1;
    const std::uint32_t count = WriteBatchInternal::Count(*group);
    WriteBatchInternal::SetSequence(group, first);
    versions_->SetLastSequence(first + count - 1);
    // A sync write must not be acknowledged before the WAL's directory entry
    // is durable: without it, power loss could lose the whole file.
    const bool sync_dir = sync && !wal_dir_synced_;
    std::shared_ptr<MemTable> mem = mem_;
    const std::string_view contents = WriteBatchInternal::Contents(*group);
    {
      // WAL I/O and the memtable insert run without mu_: leadership keeps
      // other writers out, and readers only see the group once published.
      mu_.Unlock();
      if (sync_dir) s = fs_->SyncDir(dir_);
      if (s.ok()) s = wal_->AddRecord(contents);
      if (s.ok() && sync) {
        const std::uint64_t start = clock_->MonotonicMicros();
        s = wal_->Sync();
        sync_micros = clock_->MonotonicMicros() - start;
        DBStats::Add(stats_.wal_syncs);
      }
      BatchCounts counts;
      if (s.ok()) s = InsertBatchIntoMemTable(contents, mem.get(), &counts);
      if (s.ok()) {
        DBStats::Add(stats_.puts, counts.puts);
        DBStats::Add(stats_.deletes, counts.deletes);
        DBStats::Add(stats_.bytes_written, counts.user_bytes);
        DBStats::Add(stats_.write_entries, count);
        DBStats::Add(stats_.writes, members);
        DBStats::Add(stats_.wal_records);
        DBStats::Add(stats_.wal_bytes, contents.size());
        DBStats::Add(stats_.group_commit_writers, members);
        stats_.AddGroupSize(members);
      }
      mu_.Lock();
    }
    if (s.ok()) {
      if (sync_dir) wal_dir_synced_ = true;
      visible_sequence_.store(first + count - 1, std::memory_order_release);
    } else {
      // The WAL may now hold a partial or unsynced record: no later write
      // may be acknowledged after it.
      SetBackgroundErrorLocked(s);
    }
  }

  while (true) {
    Writer* ready = writers_.front();
    writers_.pop_front();
    if (ready != &w) {
      ready->status = s;
      ready->done = true;
    }
    if (ready == last) break;
  }
  if (sync_micros > 0) {
    sync_writers_in_flight_ = members + writers_.size();  // the group and those behind it
    last_wal_sync_micros_ = sync_micros;
  }
  // The members are done and the next writer leads: they wake once mu_ is
  // released (wake_queue).
  if (last != &w || !writers_.empty()) wake_queue.Arm();
  if (!s.ok()) DBStats::Add(stats_.write_errors);
  return s;
}

DBImpl::Writer* DBImpl::BuildGroupLocked() {
  Writer* leader = writers_.front();
  Writer* last = leader;
  // The group is copied into the reusable group_batch_ (its capacity
  // survives Clear), where the leader can stamp the sequence number without
  // touching the callers' const batches.
  group_batch_.Clear();
  WriteBatchInternal::Append(&group_batch_, *leader->batch);
  std::size_t size = leader->batch->ApproximateSize();
  // A small leader does not make a big group wait behind it, and the group
  // stays near the cap so one huge batch does not delay small ones long.
  std::size_t cap = options_.max_write_group_bytes;
  if (size <= 128 << 10) cap = std::min(cap, size + (128 << 10));

  for (auto it = writers_.begin() + 1; it != writers_.end(); ++it) {
    Writer* w = *it;
    if (w->batch == nullptr) break;       // a Flush() request: it must lead on its own
    if (w->sync && !leader->sync) break;  // a non-sync leader does not sync others' writes
    size += w->batch->ApproximateSize();
    if (size > cap) break;
    WriteBatchInternal::Append(&group_batch_, *w->batch);
    last = w;
  }
  return last;
}

void DBImpl::GatherSyncGroupLocked(Writer* leader) {
  const std::size_t expected = sync_writers_in_flight_;
  if (writers_.size() >= expected) return;
  // Waiting is worth it only while it is short next to the sync it shares:
  // at most half the last sync, and never more than kMaxGatherMicros.
  constexpr std::uint64_t kMaxGatherMicros = 200;
  const std::uint64_t budget = std::min(kMaxGatherMicros, last_wal_sync_micros_ / 2);
  if (budget == 0) return;
  // The deadline is real time, not clock_'s: a test's clock cannot stretch
  // a wait beyond kMaxGatherMicros.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(budget);
  leader_gathering_ = true;
  // Arriving writers signal leader->cv (see Write). A missed signal only
  // costs the rest of the budget.
  while (writers_.size() < expected && !leader->cv.WaitUntil(&mu_, deadline)) {
  }
  leader_gathering_ = false;
  DBStats::Add(stats_.sync_gathers);
}

void DBImpl::SetBackgroundErrorLocked(const absl::Status& s) {
  if (bg_error_.ok()) {
    bg_error_ = s;
    DBStats::Add(stats_.background_errors);
    if (!options_.listeners.empty()) bg_error_to_report_ = s;
    info_log_->Log("ERROR (sticky, writes refused until reopen): ", s.ToString());
    bg_cv_.SignalAll();
  }
}

absl::Status DBImpl::NewWal() {
  const std::uint64_t number = versions_->NewFileNumber();
  KV_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                      fs_->NewWritableFile(JoinPath(dir_, WalFileName(number))));
  // Reserved space ahead of the appends: a sync write then has no file
  // length to make durable (1.2-1.6x the sync writes per second measured
  // here). The log reader takes the zeros a crash leaves as the end.
  constexpr std::uint64_t kWalPreallocationChunk = 1 << 20;
  file->SetPreallocation(kWalPreallocationChunk);
  // Writeback started every MiB: the switch to the next memtable syncs
  // this WAL while holding up the writer that switched, and by then only
  // the last MiB, not a whole memtable's worth, is still to be written.
  constexpr std::uint64_t kWalWritebackBytes = 1 << 20;
  file->SetWritebackInterval(kWalWritebackBytes);
  wal_ = std::make_unique<wal::Writer>(std::move(file), number);
  wal_number_ = number;
  wal_dir_synced_ = false;
  return absl::OkStatus();
}

absl::Status DBImpl::MakeRoomForWriteLocked(bool force) {
  bool allow_delay = !force;
  while (true) {
    if (!bg_error_.ok()) return bg_error_;
    const int l0_files = versions_->current()->NumFiles(0);
    if (allow_delay && l0_files >= options_.level0_slowdown_trigger) {
      // Near the stop trigger: give each write a short delay rather than
      // stopping one write for seconds later. Only once per write.
      const std::uint64_t start = clock_->MonotonicMicros();
      mu_.Unlock();
      clock_->SleepForMicros(1000);
      mu_.Lock();
      DBStats::Add(stats_.slowdown_count);
      DBStats::Add(stats_.slowdown_micros, clock_->MonotonicMicros() - start);
      allow_delay = false;
      continue;
    }
    if (!force && mem_->ApproximateMemoryUsage() < options_.memtable_bytes) {
      return absl::OkStatus();
    }
    if (imm_ != nullptr || l0_files >= options_.level0_stop_trigger) {
      // Wait for the background thread to flush (or compact L0).
      const std::uint64_t start = clock_->MonotonicMicros();
      info_log_->Log("stall: ", imm_ != nullptr ? "memtable flush pending" : "L0 stop trigger",
                     " (L0 files: ", l0_files, ")");
      bg_cv_.SignalAll();
      bg_cv_.Wait(&mu_);
      DBStats::Add(stats_.stall_count);
      DBStats::Add(stats_.stall_micros, clock_->MonotonicMicros() - start);
      continue;
    }
    if (mem_->empty()) return absl::OkStatus();  // forced, but nothing to flush
    // Switch: retire the WAL (synced, so no later sync write into the next
    // WAL can survive power loss while earlier writes in this one do not),
    // start a new one, and hand the memtable to the background thread.
    // The sync can take long (a whole memtable's worth of WAL may be
    // unsynced): do it without mu_, so readers and the background thread
    // are not held up. Leadership keeps every other writer away from wal_.
    absl::Status s;
    {
      mu_.Unlock();
      s = wal_->Sync();
      if (s.ok()) s = wal_->Close();
      mu_.Lock();
    }
    DBStats::Add(stats_.wal_syncs);
    const std::uint64_t old_wal = wal_number_;
    if (s.ok()) s = NewWal();
    if (!s.ok()) {
      SetBackgroundErrorLocked(s);
      return s;
    }
    imm_ = std::move(mem_);
    imm_pending_.store(true, std::memory_order_release);
    imm_wal_number_ = old_wal;
    mem_ = NewMemTable();
    force = false;
    bg_cv_.SignalAll();
  }
}

}  // namespace kv::detail
