// TableCache: open SSTable readers, at most Options::max_open_files of
// them, and the DB's block cache that those readers share.
//
// Up to half of the open-file budget pins readers to their tables'
// FileMetaData (db/table_slot.hpp): a read then finds the reader with one
// atomic load, and the reader lives as long as the table is in some version.
// The other half is an LRU by file number (least recently used closed first)
// for the tables opened once the pins are used up. Tables are pinned in the
// order they are first read; compactions retire old tables and return their
// pins.
//
// A reader (and its file handle) stays alive while anything holds its
// shared_ptr — an iterator, a Get in progress — even after eviction.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "db/file_names.hpp"
#include "db/version_edit.hpp"
#include "kv/db.hpp"
#include "kv/lru_cache.hpp"
#include "kv/sstable_reader.hpp"

namespace kv::detail {

class TableCache {
 public:
  TableCache(std::string dir, std::shared_ptr<FileSystem> fs, const Options& options)
      : dir_(std::move(dir)),
        fs_(std::move(fs)),
        paranoid_(options.paranoid_checks),
        block_cache_(options.block_cache_bytes),
        pins_(std::make_shared<PinBudget>(options.max_open_files / 2)),
        // Charge 1 per reader: capacity is a count of open files. One shard,
        // so the bound is exact.
        readers_(static_cast<std::size_t>(options.max_open_files - options.max_open_files / 2),
                 /*shard_bits=*/0) {}

  // The reader of `file`: its pinned reader, else from the LRU or opened
  // (and then pinned if the budget allows).
  [[nodiscard]] absl::StatusOr<std::shared_ptr<SSTableReader>> FindTable(const FileMetaData& file) {
    if (file.table_slot->reader(file.number) != nullptr) return file.table_slot->owner();
    const CacheKey key{file.number, 0};
    std::shared_ptr<SSTableReader> reader;
    const std::shared_ptr<const SSTableReader> cached = readers_.Lookup(key);
    if (cached != nullptr) {
      reader = std::const_pointer_cast<SSTableReader>(cached);
    } else {
      KV_ASSIGN_OR_RETURN(reader, OpenTable(file.number, file.file_size));
    }
    // Two threads can open the same table at once: the one that pins wins,
    // and the other's reader goes to the LRU (counted there, so the bound
    // holds) until it ages out.
    std::shared_ptr<void> budget = pins_->Take();
    if (budget != nullptr && file.table_slot->TryPin(file.number, reader, std::move(budget))) {
      // A pinned reader leaves the LRU: each open reader counts once.
      if (cached != nullptr) readers_.Erase(key);
    } else if (cached == nullptr) {
      readers_.Insert(key, reader, 1);
    }
    return reader;
  }

  // Readers pinned to their tables right now.
  int pinned_readers() const { return pins_->in_use(); }
  // Readers in the LRU right now.
  std::size_t lru_readers() const { return readers_.entries(); }

 private:
  // How many readers may be pinned; Take returns a token that gives its
  // pin back when destroyed (with the table's last FileMetaData), or null
  // when all are in use. Shared with the tokens, so it outlives the cache.
  class PinBudget : public std::enable_shared_from_this<PinBudget> {
   public:
    explicit PinBudget(int limit) : available_(limit), limit_(limit) {}
    std::shared_ptr<void> Take() {
      int n = available_.load(std::memory_order_relaxed);
      do {
        if (n <= 0) return nullptr;
      } while (!available_.compare_exchange_weak(n, n - 1, std::memory_order_relaxed));
      // Points at the budget (non-null, so callers can test it); owns a
      // reference to it, so the budget outlives every token.
      return std::shared_ptr<void>(this, [self = shared_from_this()](void*) {
        self->available_.fetch_add(1, std::memory_order_relaxed);
      });
    }
    int in_use() const { return limit_ - available_.load(std::memory_order_relaxed); }

   private:
    std::atomic<int> available_;
    const int limit_;
  };

  [[nodiscard]] absl::StatusOr<std::shared_ptr<SSTableReader>> OpenTable(std::uint64_t number,
                                                                         std::uint64_t file_size) {
    const std::string path = JoinPath(dir_, TableFileName(number));
    auto file = fs_->NewRandomAccessFile(path);
    if (absl::IsNotFound(file.status())) {
      return absl::DataLossError(
          absl::StrCat(path, ": table file listed in the manifest is missing"));
    }
    KV_RETURN_IF_ERROR(file.status());
    SSTableReaderOptions reader_options;
    reader_options.cache_id = number;  // file numbers are never reused
    reader_options.block_cache = &block_cache_;
    reader_options.paranoid = paranoid_;
    KV_ASSIGN_OR_RETURN(std::shared_ptr<SSTableReader> reader,
                        SSTableReader::Open(std::shared_ptr<RandomAccessFile>(std::move(*file)),
                                            path, file_size, reader_options));
    return reader;
  }

 public:
  // What the table's bloom filter said about a point lookup.
  enum class FilterVerdict { kNoFilter, kExcluded, kMayMatch };

  // Looks up `seek_key` (an internal key) in the table; see
  // SSTableReader::Get. *verdict tells whether the filter ruled the key out
  // (then `fn` is not called), for the bloom-filter metrics.
  [[nodiscard]] absl::Status Get(const ReadOptions& options, const FileMetaData& file,
                                 std::string_view seek_key,
                                 absl::FunctionRef<bool(std::string_view, std::string_view)> fn,
                                 FilterVerdict* verdict) {
    // A pinned reader lives as long as `file`, which the caller's version
    // holds: no reference count to touch.
    const SSTableReader* table = file.table_slot->reader(file.number);
    std::shared_ptr<SSTableReader> owner;
    if (table == nullptr) {
      KV_ASSIGN_OR_RETURN(owner, FindTable(file));
      table = owner.get();
    }
    TableReadOptions ro = ToTableOptions(options);
    if (!table->has_filter()) {
      *verdict = FilterVerdict::kNoFilter;
    } else if (!table->KeyMayMatch(ExtractUserKey(seek_key))) {
      *verdict = FilterVerdict::kExcluded;
      return absl::OkStatus();
    } else {
      *verdict = FilterVerdict::kMayMatch;
      ro.filter_checked = true;
    }
    return table->Get(ro, seek_key, fn);
  }

  // An iterator over the table's internal keys; it keeps the reader alive.
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options, const FileMetaData& file) {
    return NewIterator(ToTableOptions(options), file);
  }
  std::unique_ptr<Iterator> NewIterator(const TableReadOptions& options, const FileMetaData& file) {
    auto table = FindTable(file);
    if (!table.ok()) return NewEmptyIterator(table.status());
    return (*table)->NewIterator(options);
  }

  // Closes table `number`'s LRU reader (the table is being deleted) and
  // drops its blocks' cache entries lazily (their keys can never be looked
  // up again). A pinned reader needs no eviction: it closes by itself when
  // the table's last FileMetaData dies (with the last version naming it).
  void Evict(std::uint64_t number) { readers_.Erase(CacheKey{number, 0}); }

  // Releases the mapped pages of `file`'s reader, if one is open (pinned or
  // in the LRU); never opens one.
  void ReleaseMappedPages(const FileMetaData& file) {
    if (const SSTableReader* pinned = file.table_slot->reader(file.number)) {
      pinned->ReleaseMappedPages();
    } else if (const auto cached = readers_.Lookup(CacheKey{file.number, 0})) {
      cached->ReleaseMappedPages();
    }
  }

  const BlockCache& block_cache() const { return block_cache_; }

 private:
  static TableReadOptions ToTableOptions(const ReadOptions& options) {
    TableReadOptions t;
    t.verify_checksums = options.verify_checksums;
    t.fill_cache = options.fill_cache;
    return t;
  }

  const std::string dir_;
  const std::shared_ptr<FileSystem> fs_;
  const bool paranoid_;
  BlockCache block_cache_;
  const std::shared_ptr<PinBudget> pins_;
  ShardedLruCache<SSTableReader> readers_;  // readers not pinned
};

}  // namespace kv::detail
