// TableCache: open SSTable readers by file number, at most
// Options::max_open_files of them (least recently used closed first), and
// the DB's block cache that those readers share.
//
// A reader (and its file handle) stays alive while anything holds its
// shared_ptr — an iterator, a Get in progress — even after eviction.
// Thread-safe.
#pragma once

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
        // Charge 1 per reader: capacity is a count of open files. One shard,
        // so the bound is exact.
        readers_(static_cast<std::size_t>(options.max_open_files), /*shard_bits=*/0) {}

  // The reader of table `number` (opening it if needed).
  [[nodiscard]] absl::StatusOr<std::shared_ptr<SSTableReader>> FindTable(std::uint64_t number,
                                                                         std::uint64_t file_size) {
    const CacheKey key{number, 0};
    if (std::shared_ptr<const SSTableReader> cached = readers_.Lookup(key)) {
      return std::const_pointer_cast<SSTableReader>(cached);
    }
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
    readers_.Insert(key, reader, 1);
    return reader;
  }

  // What the table's bloom filter said about a point lookup.
  enum class FilterVerdict { kNoFilter, kExcluded, kMayMatch };

  // Looks up `seek_key` (an internal key) in the table; see
  // SSTableReader::Get. *verdict tells whether the filter ruled the key out
  // (then `fn` is not called), for the bloom-filter metrics.
  [[nodiscard]] absl::Status Get(const ReadOptions& options, const FileMetaData& file,
                                 std::string_view seek_key,
                                 absl::FunctionRef<bool(std::string_view, std::string_view)> fn,
                                 FilterVerdict* verdict) {
    KV_ASSIGN_OR_RETURN(std::shared_ptr<SSTableReader> table,
                        FindTable(file.number, file.file_size));
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
    auto table = FindTable(file.number, file.file_size);
    if (!table.ok()) return NewEmptyIterator(table.status());
    return (*table)->NewIterator(options);
  }

  // Closes table `number` (it is being deleted) and drops its blocks'
  // cache entries lazily (their keys can never be looked up again).
  void Evict(std::uint64_t number) { readers_.Erase(CacheKey{number, 0}); }

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
  ShardedLruCache<SSTableReader> readers_;
};

}  // namespace kv::detail
