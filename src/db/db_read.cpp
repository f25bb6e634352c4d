// The read path: Get, iterators and snapshots.
//
// A read pins (under mu_, briefly) the memtable, the immutable memtable and
// the current table version, then reads without the lock: memtable first,
// then the immutable memtable, then tables (L0 newest first, then one table
// per deeper level). The first version of the key at or below the read
// sequence decides: a value is returned; a tombstone or an expired value
// means kNotFound, even if older versions exist further down.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/db_impl.hpp"
#include "db/db_iterator.hpp"
#include "db/level_iterator.hpp"
#include "db/merging_iterator.hpp"

namespace kv::detail {

DBImpl::ReadView DBImpl::PinReadView(const ReadOptions& options) {
  ReadView view;
  {
    kv::MutexLock l(&mu_);
    NoteReadForIdlePagesLocked();
    const std::shared_ptr<const Version>& current = versions_->current();
    if (read_sources_ == nullptr || read_sources_->mem != mem_ || read_sources_->imm != imm_ ||
        read_sources_->version != current) {
      read_sources_ = std::make_shared<const ReadSources>(ReadSources{mem_, imm_, current});
    }
    view.sources = read_sources_;
  }
  if (options.snapshot != nullptr) {
    view.sequence = options.snapshot->sequence();
    view.read_time_micros = options.snapshot->read_time_micros();
  } else {
    // Loaded after pinning: everything up to this sequence is in the pinned
    // memtables or the pinned version.
    view.sequence = visible_sequence_.load(std::memory_order_acquire);
  }
  return view;
}

absl::Status DBImpl::Get(const ReadOptions& options, std::string_view key, std::string* value) {
  DBStats::Add(stats_.gets);
  const ReadView view = PinReadView(options);
  const SequenceNumber sequence = view.sequence;
  // Without a snapshot, expiry is judged at the time of the first expiring
  // entry this Get meets: most Gets meet none, and reading the clock was
  // 3.5% of a readmissing Get's instructions. Any instant during the call
  // is a valid read time, and a later one only expires more: nothing
  // compaction dropped can come back.
  std::optional<std::uint64_t> read_time = view.read_time_micros;
  auto now = [&] {
    if (!read_time) read_time = clock_->NowMicros();
    return *read_time;
  };

  auto found = [&]() {
    DBStats::Add(stats_.get_hits);
    DBStats::Add(stats_.bytes_read, value->size());
    return absl::OkStatus();
  };
  // One shared status for every miss: building a message per miss would
  // allocate (copying it only bumps a reference count).
  static const absl::Status kNotFound = absl::NotFoundError("key not found");
  auto not_found = [&]() { return kNotFound; };

  const ReadSources& sources = *view.sources;
  for (const MemTable* m : {sources.mem.get(), sources.imm.get()}) {
    if (m == nullptr) continue;
    switch (m->Get(key, sequence, now, value)) {
      case MemTable::LookupResult::kFound:
        return found();
      case MemTable::LookupResult::kDeleted:
        return not_found();
      case MemTable::LookupResult::kAbsent:
        break;
    }
  }

  // Tables. The seek key sorts before every version of `key` visible at
  // `sequence`, so the first entry at or after it with the same user key is
  // the newest visible version in that table.
  const InlineInternalKey seek_key(key, sequence, kValueTypeForSeek);  // no allocation
  enum class State { kNotInTable, kFound, kDeleted, kCorrupt } state = State::kNotInTable;
  absl::Status io;
  sources.version->ForEachFileContaining(key, [&](int /*level*/, const FileRef& file) {
    state = State::kNotInTable;
    TableCache::FilterVerdict verdict = TableCache::FilterVerdict::kNoFilter;
    io = table_cache_->Get(
        options, *file, seek_key.view(),
        [&](std::string_view ikey, std::string_view stored) {
          ParsedInternalKey parsed;
          if (!ParseInternalKey(ikey, &parsed)) {
            state = State::kCorrupt;
            return false;
          }
          if (parsed.user_key != key) return false;  // not in this table
          if (parsed.type == ValueType::kDeletion || IsExpired(parsed.type, stored, now)) {
            state = State::kDeleted;
          } else {
            const std::string_view v =
                parsed.type == ValueType::kValueWithExpiry ? stored.substr(kExpiryBytes) : stored;
            value->assign(v.data(), v.size());
            state = State::kFound;
          }
          return false;
        },
        &verdict);
    if (!io.ok()) return false;
    if (verdict == TableCache::FilterVerdict::kExcluded) {
      DBStats::Add(stats_.bloom_useful);
    } else if (verdict == TableCache::FilterVerdict::kMayMatch) {
      DBStats::Add(state == State::kNotInTable ? stats_.bloom_false_positive
                                               : stats_.bloom_true_positive);
    }
    return state == State::kNotInTable;  // keep looking only if this table had nothing
  });
  KV_RETURN_IF_ERROR(io);
  switch (state) {
    case State::kFound:
      return found();
    case State::kCorrupt:
      return absl::DataLossError(
          absl::StrCat("malformed internal key in a table while reading key"));
    default:
      return not_found();
  }
}

std::unique_ptr<const Snapshot> DBImpl::GetSnapshot() {
  return snapshots_->Create(visible_sequence_.load(std::memory_order_acquire), clock_->NowMicros());
}

namespace {
// Keeps an implicit snapshot registered while an iterator lives, so
// compaction keeps what the iterator can still reach.
struct IteratorReadPoint {
  IteratorReadPoint(std::shared_ptr<SnapshotList> list, SequenceNumber seq, std::uint64_t time)
      : list(std::move(list)), seq(seq), time(time) {
    this->list->Acquire(seq, time);
  }
  ~IteratorReadPoint() { list->Release(seq, time); }
  std::shared_ptr<SnapshotList> list;
  SequenceNumber seq;
  std::uint64_t time;
};

// A memtable iterator that also owns (a reference to) its memtable.
class OwningMemTableIterator final : public Iterator {
 public:
  explicit OwningMemTableIterator(std::shared_ptr<const MemTable> mem)
      : mem_(std::move(mem)), it_(mem_->NewIterator()) {}
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view t) override { it_->Seek(t); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return it_->key(); }
  std::string_view value() const override { return it_->value(); }
  absl::Status status() const override { return it_->status(); }

 private:
  std::shared_ptr<const MemTable> mem_;  // declared first: destroyed after it_
  std::unique_ptr<Iterator> it_;
};
}  // namespace

std::unique_ptr<Iterator> DBImpl::NewIterator(const ReadOptions& options) {
  DBStats::Add(stats_.iterators_created);
  ReadView view = PinReadView(options);
  // An iterator registers its read time (IteratorReadPoint) so compaction
  // keeps what it may still read: it takes the time now, not lazily.
  const std::uint64_t read_time =
      view.read_time_micros ? *view.read_time_micros : clock_->NowMicros();
  const ReadSources& sources = *view.sources;
  std::vector<std::unique_ptr<Iterator>> children;
  // A memtable that is empty now holds nothing this iterator may ever see:
  // every write at or below view.sequence was inserted (and counted) before
  // that sequence was published, and PinReadView loaded it with acquire
  // before this check; later writes get higher sequences. Leaving it out
  // spares every step a merge (see the single-child case below).
  for (const std::shared_ptr<MemTable>& m : {sources.mem, sources.imm}) {
    if (m != nullptr && !m->empty()) {
      children.push_back(std::make_unique<OwningMemTableIterator>(m));
    }
  }
  // L0 tables overlap: one child each. A deeper level is one child, a
  // LevelIterator that opens its tables one at a time.
  for (const FileRef& file : sources.version->files(0)) {
    children.push_back(table_cache_->NewIterator(options, *file));
  }
  for (int level = 1; level < sources.version->num_levels(); ++level) {
    const std::vector<FileRef>& files = sources.version->files(level);
    if (files.size() == 1) {
      children.push_back(table_cache_->NewIterator(options, *files[0]));
    } else if (files.size() > 1) {
      children.push_back(std::make_unique<LevelIterator>(
          files, [table_cache = table_cache_.get(), options](const FileMetaData& f) {
            return table_cache->NewIterator(options, f);
          }));
    }
  }
  std::vector<std::shared_ptr<const void>> pins;
  pins.push_back(std::move(view.sources));  // keeps every table file of this version alive
  pins.push_back(std::make_shared<IteratorReadPoint>(snapshots_, view.sequence, read_time));
  // One source (a flushed DB with its data in one level, the steady state
  // of a read-mostly DB) needs no merging: DBIterator reads it directly.
  std::unique_ptr<Iterator> merged = children.size() == 1
                                         ? std::move(children.front())
                                         : std::make_unique<MergingIterator>(std::move(children));
  return std::make_unique<DBIterator>(std::move(merged), view.sequence, read_time, std::move(pins));
}

}  // namespace kv::detail
