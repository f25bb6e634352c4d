/// @file
/// kv::SSTableReader: opens an SSTable written by kv::SSTableWriter and
/// serves iterators, point lookups and bloom checks over it.
///
/// @code
///   KV_ASSIGN_OR_RETURN(std::shared_ptr<kv::SSTableReader> table,
///                       kv::SSTableReader::Open(file, path, size,
///                                               {.cache_id = id, .block_cache = &cache}));
///   std::unique_ptr<kv::Iterator> it = table->NewIterator({});
///   for (it->Seek(ikey); it->Valid(); it->Next()) ...
///   KV_RETURN_IF_ERROR(table->Get({}, seek_key, [&](auto ikey, auto value) {
///     ...; return false;  // stop after the first entry
///   }));
/// @endcode
///
/// Open reads and checks the footer, the index, filter and properties blocks;
/// anything malformed (a truncated file included) is kDataLoss naming the file
/// and the offset. Data blocks are read on demand, each checked against its
/// checksum when TableReadOptions::verify_checksums is set (the default):
/// once when read from the file into a block, or, for a memory-mapped file,
/// the first time this reader reads it (every time if paranoid).
///
/// Block cache: with SSTableReaderOptions::block_cache, data blocks are
/// looked up under {cache_id, block offset} before reading the file (so
/// cache_id must be unique per table among users of one cache), and a block
/// read with its checksum verified is inserted when
/// TableReadOptions::fill_cache is set. A memory-mapped file bypasses the
/// cache (its blocks are read zero-copy from the mapping). The index block
/// and the filter are always pinned in the reader. Blocks are
/// std::shared_ptr<const Block>: an evicted block stays alive while an
/// iterator still uses it.
///
/// Thread-safety: an SSTableReader is immutable after Open; every method may
/// be called from any number of threads at once (RandomAccessFile::Read and
/// the cache are thread-safe). One iterator is used by one thread at a time;
/// it keeps the reader alive.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/atomic_bitmap.hpp"
#include "kv/block.hpp"
#include "kv/bloom_filter.hpp"
#include "kv/env.hpp"
#include "kv/index_fences.hpp"
#include "kv/internal_key.hpp"
#include "kv/iterator.hpp"
#include "kv/lru_cache.hpp"
#include "kv/sstable_format.hpp"
#include "kv/status_macros.hpp"

namespace kv {

/// The block cache SSTable readers share: parsed blocks keyed by {table, offset}.
using BlockCache = ShardedLruCache<Block>;

/// Options of one read (iterator or point lookup).
struct TableReadOptions {
  /// Check each data block read from the file against its checksum.
  bool verify_checksums = true;
  /// Insert data blocks read from the file into the block cache (only those
  /// whose checksum was verified).
  bool fill_cache = true;
  /// The caller has already asked KeyMayMatch for this lookup (to count the
  /// filter's verdicts): Get does not consult the filter again.
  bool filter_checked = false;
  /// Read a memory-mapped table's blocks in place. false: copy each block
  /// out with a file read instead, for one-pass scans such as compaction:
  /// pages touched through the mapping count toward the process's resident
  /// set, so scanning whole input tables through it grew peak RSS by the
  /// size of every table compacted. The page cache serves the reads either way.
  bool read_mapped = true;
};

/// Options for SSTableReader::Open.
struct SSTableReaderOptions {
  /// Must match how the table was written (SSTableOptions::internal_keys);
  /// a mismatch is kInvalidArgument.
  bool internal_keys = true;
  /// The table's key in the block cache; unique per table per cache.
  std::uint64_t cache_id = 0;
  BlockCache* block_cache = nullptr;  ///< not owned; may be null
  /// Check the checksums of the blocks Open reads (index, filter,
  /// properties).
  bool verify_checksums = true;
  /// Also check at Open that the index is well formed: keys strictly
  /// increasing, handles decodable, contiguous and covering the data region.
  bool paranoid = false;
};

/// An open SSTable; see the file comment. Shared (std::shared_ptr) so that its iterators can keep
/// it alive.
class SSTableReader : public std::enable_shared_from_this<SSTableReader> {
 public:
  /// Opens the table in `file` (`file_size` bytes; `file_name` only serves error
  /// messages): reads and checks the footer and the properties, filter and
  /// index blocks. kDataLoss naming the file and offset if any is malformed,
  /// kInvalidArgument if `file` is null or SSTableReaderOptions::internal_keys
  /// does not match the table.
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<SSTableReader>> Open(
      std::shared_ptr<RandomAccessFile> file, std::string file_name, std::uint64_t file_size,
      SSTableReaderOptions options) {
    if (file == nullptr) return absl::InvalidArgumentError("SSTableReader::Open: null file");
    auto table = std::shared_ptr<SSTableReader>(
        new SSTableReader(std::move(file), std::move(file_name), file_size, options));
    KV_RETURN_IF_ERROR(table->Init());
    return table;
  }

  SSTableReader(const SSTableReader&) = delete;
  SSTableReader& operator=(const SSTableReader&) = delete;

  /// A two-level iterator (index -> data blocks) over every entry. Errors
  /// make it invalid and show in status() (kDataLoss with file and offset).
  std::unique_ptr<Iterator> NewIterator(const TableReadOptions& ro = {}) const;

  /// False if the table certainly holds no entry for `user_key` (for tables
  /// of plain keys: the whole key). True if unsure or there is no filter.
  bool KeyMayMatch(std::string_view user_key) const {
    return !has_filter_ || filter_.KeyMayMatch(user_key);
  }

  /// Point lookup: unless the bloom filter rules out the seek key's user key,
  /// calls on_entry(key, value) for the entries >= `seek_key` in order until
  /// it returns false or the table ends. kInvalidArgument if `seek_key` is
  /// not an internal key (internal-key tables).
  [[nodiscard]] absl::Status Get(
      const TableReadOptions& ro, std::string_view seek_key,
      absl::FunctionRef<bool(std::string_view key, std::string_view value)> on_entry) const {
    std::string_view filter_key = seek_key;
    if (options_.internal_keys) {
      if (seek_key.size() < kTrailerBytes) {
        return absl::InvalidArgumentError("SSTableReader::Get: seek key is not an internal key");
      }
      filter_key = ExtractUserKey(seek_key);
    }
    if (!ro.filter_checked && !KeyMayMatch(filter_key)) return absl::OkStatus();
    BlockIter idx(index_.get(), cmp_, &file_name_, footer_.index.offset, min_key_bytes_);
    for (SeekIndex(&idx, seek_key); idx.Valid(); idx.Next()) {
      KV_ASSIGN_OR_RETURN(BlockHandle handle, DecodeIndexValue(idx));
      std::optional<Block> borrowed;
      std::shared_ptr<const Block> owned;
      KV_RETURN_IF_ERROR(
          LoadDataBlock(ro, handle, idx.restart_index(), BlockAccess::kSearch, &borrowed, &owned));
      BlockIter it(borrowed ? &*borrowed : owned.get(), cmp_, &file_name_, handle.offset,
                   min_key_bytes_);
      for (it.Seek(seek_key); it.Valid(); it.Next()) {
        if (!on_entry(it.key(), it.value())) return absl::OkStatus();
      }
      KV_RETURN_IF_ERROR(it.status());
    }
    return idx.status();
  }

  /// The approximate file offset where `key`'s entries would start: the
  /// offset of the data block holding it, or the end of the data blocks.
  std::uint64_t ApproximateOffsetOf(std::string_view key) const {
    BlockIter idx(index_, cmp_, &file_name_, footer_.index.offset, min_key_bytes_);
    idx.Seek(key);
    if (!idx.Valid()) return data_end_;
    absl::StatusOr<BlockHandle> handle = DecodeIndexValue(idx);
    return handle.ok() ? handle->offset : data_end_;
  }

  /// The properties block, decoded at Open.
  const TableProperties& properties() const { return props_; }
  /// The file name given to Open (used in error messages).
  const std::string& file_name() const { return file_name_; }
  /// The file size given to Open.
  std::uint64_t file_size() const { return file_size_; }
  /// The key order: CompareInternalKeys or CompareUserKeys.
  KeyComparator comparator() const { return cmp_; }
  /// True if the table has a bloom filter.
  bool has_filter() const { return has_filter_; }
  /// For a memory-mapped table: stops its read pages counting toward the
  /// process's resident set (RandomAccessFile::ReleaseMappedPages). Reads,
  /// concurrent ones included, are unaffected but for a page fault.
  void ReleaseMappedPages() const {
    if (mapped_) file_->ReleaseMappedPages();
  }

  /// The index block (pinned at Open; never null after a successful Open).
  const std::shared_ptr<const Block>& IndexBlock() const { return index_; }

  /// The data block at `handle` (from the mapping if the file is memory-mapped
  /// and ro.read_mapped, else from the cache, else read from the file).
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const Block>> DataBlock(
      const TableReadOptions& ro, const BlockHandle& handle) const {
    if (mapped_ && ro.read_mapped) {
      return ReadMappedBlock(*mapped_, file_, file_name_, data_end_, handle, ro.verify_checksums);
    }
    BlockCache* cache = options_.block_cache;
    const CacheKey key{options_.cache_id, handle.offset};
    if (cache != nullptr) {
      if (auto cached = cache->Lookup(key)) return cached;
    }
    KV_ASSIGN_OR_RETURN(std::shared_ptr<const Block> block,
                        ReadBlock(*file_, file_name_, data_end_, handle, ro.verify_checksums));
    if (cache != nullptr && ro.fill_cache && ro.verify_checksums) {
      cache->Insert(key, block, block->charge());
    }
    return block;
  }

  /// Makes the data block at `handle` (the `ordinal`-th index entry)
  /// readable without allocating where possible: a memory-mapped table's
  /// block is parsed in place into *borrowed; otherwise *owned comes from
  /// the cache or the file (as DataBlock). The checksum of a mapped block is
  /// verified the first time this reader reads it, like a block entering the
  /// block cache (every time if SSTableReaderOptions::paranoid). `access`:
  /// how the caller reads a mapped block (a search or a scan; see BlockAccess).
  [[nodiscard]] absl::Status LoadDataBlock(const TableReadOptions& ro, const BlockHandle& handle,
                                           std::uint32_t ordinal, BlockAccess access,
                                           std::optional<Block>* borrowed,
                                           std::shared_ptr<const Block>* owned) const {
    if (!mapped_ || !ro.read_mapped) {
      KV_ASSIGN_OR_RETURN(*owned, DataBlock(ro, handle));
      return absl::OkStatus();
    }
    const bool verify = ro.verify_checksums && !verified_.Test(ordinal);
    KV_ASSIGN_OR_RETURN(
        std::string_view contents,
        MappedBlockContents(*mapped_, file_name_, data_end_, handle, verify, access));
    if (verify && !options_.paranoid) verified_.Set(ordinal);
    absl::StatusOr<Block> block = Block::Borrow(contents);
    if (!block.ok()) return BlockParseError(block.status(), file_name_, handle);
    borrowed->emplace(*std::move(block));
    return absl::OkStatus();
  }

  /// Positions `idx` (over this table's index block) at the first entry >=
  /// `target`, through the fences when they apply (see kv/index_fences.hpp).
  void SeekIndex(BlockIter* idx, std::string_view target) const {
    std::optional<std::uint32_t> first;
    if (!options_.internal_keys) {
      first = fences_.LowerBound(target);
    } else if (target.size() >= kTrailerBytes) {
      first = fences_.LowerBound(ExtractUserKey(target));
    }
    if (!first) {
      idx->Seek(target);
      return;
    }
    // Entries from *first on may still be smaller (equal fences): step over
    // them with the full comparison.
    for (idx->SeekToRestart(*first); idx->Valid() && cmp_(idx->key(), target) < 0;) idx->Next();
  }

  /// Decodes the block handle of the index entry `idx` is positioned at.
  [[nodiscard]] absl::StatusOr<BlockHandle> DecodeIndexValue(const BlockIter& idx) const {
    std::string_view v = idx.value();
    BlockHandle h;
    if (!h.DecodeFrom(&v) || !v.empty()) {
      return absl::DataLossError(absl::StrCat(
          file_name_, ": bad block handle in index block at offset ", footer_.index.offset));
    }
    return h;
  }

 private:
  SSTableReader(std::shared_ptr<RandomAccessFile> file, std::string file_name,
                std::uint64_t file_size, SSTableReaderOptions options)
      : file_(std::move(file)),
        file_name_(std::move(file_name)),
        file_size_(file_size),
        options_(options),
        cmp_(options.internal_keys ? CompareInternalKeys : CompareUserKeys),
        min_key_bytes_(options.internal_keys ? kTrailerBytes : 0) {}

  absl::Status Corrupt(std::uint64_t offset, absl::string_view what) const {
    return absl::DataLossError(absl::StrCat(file_name_, ": ", what, " at offset ", offset));
  }

  [[nodiscard]] absl::Status Init() {
    if (file_size_ < Footer::kFooterBytes) {
      return Corrupt(0, absl::StrCat("file too short to be an SSTable (", file_size_, " bytes)"));
    }
    const std::uint64_t footer_offset = file_size_ - Footer::kFooterBytes;
    char scratch[Footer::kFooterBytes];
    KV_ASSIGN_OR_RETURN(std::string_view raw,
                        file_->Read(footer_offset, Footer::kFooterBytes, scratch));
    if (raw.size() != Footer::kFooterBytes) return Corrupt(footer_offset, "truncated footer");
    absl::StatusOr<Footer> footer = Footer::Decode(raw);
    if (!footer.ok()) return Corrupt(footer_offset, footer.status().message());
    footer_ = *footer;
    meta_limit_ = footer_offset;
    const bool verify = options_.verify_checksums || options_.paranoid;

    // Properties first: they say how to read the rest.
    KV_ASSIGN_OR_RETURN(std::shared_ptr<const Block> props_block,
                        ReadBlock(*file_, file_name_, meta_limit_, footer_.properties, verify));
    absl::StatusOr<TableProperties> props = TableProperties::DecodeBlock(std::move(props_block));
    if (!props.ok()) return Corrupt(footer_.properties.offset, props.status().message());
    props_ = *std::move(props);
    if (props_.internal_keys != options_.internal_keys) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name_, ": table was written with internal_keys=", props_.internal_keys,
                       " but opened with internal_keys=", options_.internal_keys));
    }

    data_end_ = footer_.filter.empty() ? footer_.index.offset : footer_.filter.offset;
    if (data_end_ > meta_limit_)
      return Corrupt(footer_offset, "metadata block offsets out of range");
    if (!footer_.filter.empty()) {
      KV_ASSIGN_OR_RETURN(filter_storage_, ReadBlockContents(*file_, file_name_, meta_limit_,
                                                             footer_.filter, verify));
      if (!filter_.Init(std::string_view(filter_storage_.data(), filter_storage_.size()))) {
        return Corrupt(footer_.filter.offset, "malformed bloom filter block");
      }
      has_filter_ = true;
    }

    KV_ASSIGN_OR_RETURN(std::shared_ptr<const Block> index,
                        ReadBlock(*file_, file_name_, meta_limit_, footer_.index, verify));
    if (options_.paranoid) KV_RETURN_IF_ERROR(CheckIndex(index));
    // The index stays pinned for the reader's lifetime (outside the block
    // cache): every lookup needs it, and it is small (one entry per block).
    index_ = std::move(index);
    fences_ = IndexFences::Build(index_.get(), options_.internal_keys);
    // A mapped file is read zero-copy from then on, bypassing the block
    // cache (the page cache holds the blocks). Not if the file is shorter
    // than the manifest says: reads then fail cleanly through Read.
    if (std::optional<std::string_view> mapped = file_->Mapped();
        mapped && mapped->size() >= file_size_) {
      mapped_ = mapped->substr(0, static_cast<std::size_t>(file_size_));
      // Index entries are numbered by their restart points (the writer
      // gives every index entry one); any other index gets no verified-once
      // bits, so its blocks are verified on every read.
      if (index_->num_restarts() == props_.num_data_blocks) {
        verified_.Resize(index_->num_restarts());
      }
    }
    return absl::OkStatus();
  }

  // Paranoid structural check of the index block.
  [[nodiscard]] absl::Status CheckIndex(std::shared_ptr<const Block> index) const {
    BlockIter idx(std::move(index), cmp_, &file_name_, footer_.index.offset, min_key_bytes_);
    std::string prev;
    std::uint64_t expected_offset = 0, count = 0;
    for (idx.SeekToFirst(); idx.Valid(); idx.Next()) {
      if (count > 0 && cmp_(prev, idx.key()) >= 0) {
        return Corrupt(footer_.index.offset, "index keys out of order");
      }
      KV_ASSIGN_OR_RETURN(BlockHandle h, DecodeIndexValue(idx));
      if (h.offset != expected_offset) {
        return Corrupt(footer_.index.offset, "index block handles are not contiguous");
      }
      expected_offset = h.offset + h.size + kBlockTrailerBytes;
      prev.assign(idx.key().data(), idx.key().size());
      ++count;
    }
    KV_RETURN_IF_ERROR(idx.status());
    if (expected_offset != data_end_ || count != props_.num_data_blocks) {
      return Corrupt(footer_.index.offset, "index does not cover the data blocks");
    }
    return absl::OkStatus();
  }

  friend class SSTableIterator;

  const std::shared_ptr<RandomAccessFile> file_;
  const std::string file_name_;
  const std::uint64_t file_size_;
  const SSTableReaderOptions options_;
  const KeyComparator cmp_;
  const std::size_t min_key_bytes_;  // shorter stored keys are corruption
  Footer footer_;
  std::uint64_t meta_limit_ = 0;  // footer offset: metadata blocks end here
  std::uint64_t data_end_ = 0;    // data blocks end here
  TableProperties props_;
  std::shared_ptr<const Block> index_;      // pinned
  IndexFences fences_;                      // over index_, when it qualifies
  std::optional<std::string_view> mapped_;  // the file's bytes, if memory-mapped
  mutable AtomicBitmap verified_;           // mapped data blocks whose checksum passed
  AlignedBuffer filter_storage_;            // the filter's lines, 64-byte aligned
  BloomFilterReader filter_;
  bool has_filter_ = false;
};

/// The two-level iterator of SSTableReader::NewIterator: an index block
/// iterator picks the data block; a block iterator walks it.
class SSTableIterator final : public Iterator {
 public:
  /// An iterator over `table`, positioned nowhere; `index` is the table's
  /// index block (pinned by `table`, which the iterator keeps alive).
  SSTableIterator(std::shared_ptr<const SSTableReader> table, const TableReadOptions& ro,
                  const Block* index)
      : table_(std::move(table)),
        ro_(ro),
        index_iter_(index, table_->cmp_, &table_->file_name_, table_->footer_.index.offset,
                    table_->min_key_bytes_) {}

  bool Valid() const override { return status_.ok() && data_iter_ && data_iter_->Valid(); }
  std::string_view key() const override { return data_iter_->key(); }
  std::string_view value() const override { return data_iter_->value(); }
  absl::Status status() const override {
    if (!status_.ok()) return status_;
    if (!index_iter_.status().ok()) return index_iter_.status();
    if (data_iter_ && !data_iter_->status().ok()) return data_iter_->status();
    return absl::OkStatus();
  }

  void SeekToFirst() override {
    if (!status_.ok()) return;
    index_iter_.SeekToFirst();
    if (LoadDataBlock(BlockAccess::kForwardScan)) data_iter_->SeekToFirst();
    SkipEmptyForward();
  }
  void SeekToLast() override {
    if (!status_.ok()) return;
    index_iter_.SeekToLast();
    if (LoadDataBlock(BlockAccess::kBackwardScan)) data_iter_->SeekToLast();
    SkipEmptyBackward();
  }
  void Seek(std::string_view target) override {
    if (!status_.ok()) return;
    table_->SeekIndex(&index_iter_, target);
    if (LoadDataBlock(BlockAccess::kSearch)) data_iter_->Seek(target);
    SkipEmptyForward();
  }
  void Next() override {
    assert(Valid());
    data_iter_->Next();
    SkipEmptyForward();
  }
  void Prev() override {
    assert(Valid());
    data_iter_->Prev();
    SkipEmptyBackward();
  }

 private:
  // Points data_iter_ at the block the index iterator is on (unpositioned),
  // warmed for `access`.
  // False (data_iter_ empty) at the end of the index or on error.
  bool LoadDataBlock(BlockAccess access) {
    if (!index_iter_.Valid()) {
      data_iter_.reset();
      return false;
    }
    absl::StatusOr<BlockHandle> handle = table_->DecodeIndexValue(index_iter_);
    if (!handle.ok()) return Fail(handle.status());
    if (data_iter_ && handle->offset == data_handle_.offset && data_iter_->status().ok()) {
      return true;  // already there
    }
    data_iter_.reset();  // before the block it may borrow is replaced
    std::shared_ptr<const Block> owned;
    absl::Status s = table_->LoadDataBlock(ro_, *handle, index_iter_.restart_index(), access,
                                           &borrowed_, &owned);
    if (!s.ok()) return Fail(std::move(s));
    data_handle_ = *handle;
    if (owned != nullptr) {
      borrowed_.reset();
      data_iter_.emplace(std::move(owned), table_->cmp_, &table_->file_name_, handle->offset,
                         table_->min_key_bytes_);
    } else {
      data_iter_.emplace(&*borrowed_, table_->cmp_, &table_->file_name_, handle->offset,
                         table_->min_key_bytes_);
    }
    return true;
  }

  bool Fail(absl::Status s) {
    status_ = std::move(s);
    data_iter_.reset();
    return false;
  }

  // While the data iterator is exhausted, moves to the next block's start.
  void SkipEmptyForward() {
    while (status_.ok() && (!data_iter_ || !data_iter_->Valid())) {
      if (data_iter_ && !data_iter_->status().ok()) {
        Fail(data_iter_->status());
        return;
      }
      if (!index_iter_.Valid()) {
        data_iter_.reset();
        return;
      }
      index_iter_.Next();
      if (LoadDataBlock(BlockAccess::kForwardScan)) data_iter_->SeekToFirst();
    }
  }

  void SkipEmptyBackward() {
    while (status_.ok() && (!data_iter_ || !data_iter_->Valid())) {
      if (data_iter_ && !data_iter_->status().ok()) {
        Fail(data_iter_->status());
        return;
      }
      if (!index_iter_.Valid()) {
        data_iter_.reset();
        return;
      }
      index_iter_.Prev();
      if (LoadDataBlock(BlockAccess::kBackwardScan)) data_iter_->SeekToLast();
    }
  }

  std::shared_ptr<const SSTableReader> table_;
  TableReadOptions ro_;
  BlockIter index_iter_;
  std::optional<Block> borrowed_;  // the current block of a mapped table
  std::optional<BlockIter> data_iter_;
  BlockHandle data_handle_;
  absl::Status status_;  // sticky: the first error met
};

inline std::unique_ptr<Iterator> SSTableReader::NewIterator(const TableReadOptions& ro) const {
  return std::make_unique<SSTableIterator>(shared_from_this(), ro, index_.get());
}

}  // namespace kv
