// DB::VerifyChecksums: a full read of every live table, straight from disk.
//
// Each table is opened with a fresh, cache-less, paranoid reader so that
// every block (footer, properties, filter, index, every data block) is read
// from the file and its checksum checked, rather than trusting a block the
// cache may hold. On top of the per-block checks, entries must be in strictly
// increasing internal-key order and inside the [smallest, largest] range the
// manifest records for the file.
#include <string>

#include "absl/strings/str_cat.h"
#include "db/db_impl.hpp"
#include "db/file_names.hpp"
#include "kv/internal_key.hpp"
#include "kv/sstable_reader.hpp"

namespace kv::detail {
namespace {

absl::Status VerifyTable(FileSystem& fs, const std::string& path, const FileMetaData& meta) {
  KV_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, fs.NewRandomAccessFile(path));
  SSTableReaderOptions reader_options;
  reader_options.cache_id = meta.number;
  reader_options.block_cache = nullptr;  // read every block from the file
  reader_options.verify_checksums = true;
  reader_options.paranoid = true;
  KV_ASSIGN_OR_RETURN(std::shared_ptr<SSTableReader> reader,
                      SSTableReader::Open(std::shared_ptr<RandomAccessFile>(std::move(file)), path,
                                          meta.file_size, reader_options));
  TableReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  ro.read_mapped = false;  // one pass: do not leave the table resident in this process
  std::unique_ptr<Iterator> it = reader->NewIterator(ro);
  std::string prev;
  std::uint64_t entries = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key();
    if (entries > 0 && CompareInternalKeys(prev, key) >= 0) {
      return absl::DataLossError(
          absl::StrCat(path, ": entry ", entries, " is out of order (not after the previous key)"));
    }
    if (entries == 0 && CompareInternalKeys(key, meta.smallest) < 0) {
      return absl::DataLossError(absl::StrCat(
          path, ": first key is below the smallest key the manifest records for the file"));
    }
    prev.assign(key.data(), key.size());
    ++entries;
  }
  KV_RETURN_IF_ERROR(it->status());
  if (entries > 0 && CompareInternalKeys(prev, meta.largest) > 0) {
    return absl::DataLossError(absl::StrCat(
        path, ": last key is above the largest key the manifest records for the file"));
  }
  if (entries != meta.num_entries && meta.num_entries != 0) {
    return absl::DataLossError(absl::StrCat(path, ": holds ", entries,
                                            " entries, the manifest records ", meta.num_entries));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DBImpl::VerifyChecksums(const VerifyOptions& options) {
  // Holding the version keeps its files from being deleted while we read.
  std::shared_ptr<const Version> version;
  {
    kv::MutexLock l(&mu_);
    version = versions_->current();
  }
  VerifyProgress progress;
  for (int level = 0; level < version->num_levels(); ++level) {
    for (const FileRef& f : version->files(level)) {
      ++progress.files_total;
      progress.bytes_total += f->file_size;
    }
  }
  for (int level = 0; level < version->num_levels(); ++level) {
    for (const FileRef& f : version->files(level)) {
      const std::string path = JoinPath(dir_, TableFileName(f->number));
      KV_RETURN_IF_ERROR(VerifyTable(*fs_, path, *f));
      ++progress.files_done;
      progress.bytes_done += f->file_size;
      progress.current_file = path;
      if (options.progress) options.progress(progress);
    }
  }
  return absl::OkStatus();
}

}  // namespace kv::detail
