// LevelIterator: one iterator over all the tables of a level >= 1, whose
// files are sorted and do not overlap. One table is current at a time: a
// Seek binary-searches the file list by largest key and opens that table,
// and moving past a table's end opens the next one. A DB iterator thus
// merges one child per deeper level instead of one per file.
//
// The iterators of the last kSpareTables tables it left stay open as
// spares, so random seeks over a level of a few tables do not build and
// free a table iterator each time (callgrind, kv_bench seekrandom at 200k
// keys, one level of 3 tables: 3316 -> 3123 instructions per Seek). Only
// tables whose reader is pinned to their FileMetaData (db/table_slot.hpp)
// are kept: that reader stays open for as long as this iterator's version
// anyway, while a spare of any other table would hold a reader open beyond
// the table cache's max_open_files.
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
  // Makes table `index` the current one (reusing it if it already is, or a
  // spare of it); false (and no current table) if index is past the end.
  // Every caller positions the table afterwards, so a spare's old position
  // never shows.
  bool Open(std::size_t index) {
    if (index >= files_.size()) {
      Park();
      index_ = files_.size();
      return false;
    }
    if (table_ == nullptr || index_ != index) {
      std::unique_ptr<Iterator> spare = TakeSpare(index);  // before Park can drop it
      Park();
      table_ = spare != nullptr ? std::move(spare) : open_(*files_[index]);
      index_ = index;
    }
    return true;
  }

  // Leaves no current table, keeping its iterator as a spare if it is
  // healthy (an error sticks to an iterator; a failed table is reopened)
  // and its table's reader is pinned (see the file comment).
  void Park() {
    if (table_ == nullptr) return;
    const FileMetaData& file = *files_[index_];
    if (table_->status().ok() && file.table_slot->reader(file.number) != nullptr) {
      if (spares_.size() == kSpareTables) spares_.erase(spares_.begin());  // the oldest
      spares_.emplace_back(index_, std::move(table_));
    }
    table_.reset();
  }

  // The spare iterator of table `index`, or null.
  std::unique_ptr<Iterator> TakeSpare(std::size_t index) {
    for (auto it = spares_.begin(); it != spares_.end(); ++it) {
      if (it->first == index) {
        std::unique_ptr<Iterator> table = std::move(it->second);
        spares_.erase(it);
        return table;
      }
    }
    return nullptr;
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
        Park();
        return;
      }
      Open(index_ - 1);
      table_->SeekToLast();
    }
  }

  static constexpr std::size_t kSpareTables = 8;

  const std::vector<FileRef> files_;
  const OpenTable open_;
  std::unique_ptr<Iterator> table_;  // the current table's iterator, or null
  std::size_t index_ = 0;            // files_ index of table_
  // (files_ index, iterator) of recently left tables, oldest first.
  std::vector<std::pair<std::size_t, std::unique_ptr<Iterator>>> spares_;
};

}  // namespace kv::detail
