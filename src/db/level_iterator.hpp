// LevelIterator: one iterator over all the tables of a level >= 1, whose
// files are sorted and do not overlap. Only one table is open at a time: a
// Seek binary-searches the file list by largest key and opens that table,
// and moving past a table's end opens the next one. A DB iterator thus
// merges one child per deeper level instead of one per file.
//
// An error (a table that fails to open or read) stops the iterator where
// it is: Valid() is false and status() reports it. It never skips to the
// next table, which could expose older versions of the keys the failed
// table hides.
//
// Thread-safety: like every Iterator, one thread at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "db/version_edit.hpp"
#include "kv/internal_key.hpp"
#include "kv/iterator.hpp"

namespace kv::detail {

class LevelIterator final : public Iterator {
 public:
  // Opens an iterator over one table (its status carries any open error).
  using OpenTable = std::function<std::unique_ptr<Iterator>(const FileMetaData&)>;

  // REQUIRES: `files` sorted by key, not overlapping (a level >= 1).
  LevelIterator(std::vector<FileRef> files, OpenTable open)
      : files_(std::move(files)), open_(std::move(open)) {}

  bool Valid() const override { return table_ != nullptr && table_->Valid(); }
  std::string_view key() const override { return table_->key(); }
  std::string_view value() const override { return table_->value(); }
  absl::Status status() const override {
    return table_ != nullptr ? table_->status() : absl::OkStatus();
  }

  void SeekToFirst() override {
    if (!Open(0)) return;
    table_->SeekToFirst();
    SkipEmptyTablesForward();
  }
  void SeekToLast() override {
    if (!Open(files_.size() - 1)) return;
    table_->SeekToLast();
    SkipEmptyTablesBackward();
  }
  void Seek(std::string_view target) override {
    // The first table whose largest key is >= target holds the answer (or,
    // if the target falls in a gap, its first key is the answer).
    const auto it = std::partition_point(files_.begin(), files_.end(), [&](const FileRef& f) {
      return CompareInternalKeys(f->largest, target) < 0;
    });
    if (!Open(static_cast<std::size_t>(it - files_.begin()))) return;
    table_->Seek(target);
    SkipEmptyTablesForward();
  }
  void Next() override {
    table_->Next();
    SkipEmptyTablesForward();
  }
  void Prev() override {
    table_->Prev();
    SkipEmptyTablesBackward();
  }

 private:
  // Makes table `index` the current one (reusing it if it already is);
  // false (and no current table) if index is past the end.
  bool Open(std::size_t index) {
    if (index >= files_.size()) {
      table_.reset();
      index_ = files_.size();
      return false;
    }
    if (table_ == nullptr || index_ != index) {
      table_ = open_(*files_[index]);
      index_ = index;
    }
    return true;
  }
  // While the current table is exhausted (and healthy), moves to the start
  // of the next one.
  void SkipEmptyTablesForward() {
    while (table_ != nullptr && !table_->Valid() && table_->status().ok()) {
      if (!Open(index_ + 1)) return;
      table_->SeekToFirst();
    }
  }
  void SkipEmptyTablesBackward() {
    while (table_ != nullptr && !table_->Valid() && table_->status().ok()) {
      if (index_ == 0) {
        table_.reset();
        return;
      }
      Open(index_ - 1);
      table_->SeekToLast();
    }
  }

  const std::vector<FileRef> files_;
  const OpenTable open_;
  std::unique_ptr<Iterator> table_;  // the current table's iterator, or null
  std::size_t index_ = 0;            // files_ index of table_
};

}  // namespace kv::detail
