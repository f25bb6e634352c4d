// MergingIterator: one sorted view over several sorted child iterators
// (memtables and SSTables), all over internal keys.
//
// Equal keys cannot occur across children (every internal key carries a
// unique sequence number), so the merge needs no tie-breaking. The child
// count is small (memtables + L0 files + one per deeper level), so the
// current child is found by a linear scan: no heap to keep consistent when
// the direction changes.
//
// Thread-safety: like every Iterator, one thread at a time.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "kv/internal_key.hpp"
#include "kv/iterator.hpp"

namespace kv::detail {

class MergingIterator final : public Iterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<Iterator>> children)
      : children_(std::move(children)) {}

  bool Valid() const override { return current_ != nullptr; }

  void SeekToFirst() override {
    for (auto& c : children_) c->SeekToFirst();
    forward_ = true;
    FindSmallest();
  }
  void SeekToLast() override {
    for (auto& c : children_) c->SeekToLast();
    forward_ = false;
    FindLargest();
  }
  void Seek(std::string_view target) override {
    for (auto& c : children_) c->Seek(target);
    forward_ = true;
    FindSmallest();
  }

  void Next() override {
    // When turning around, every other child must be moved to the first
    // entry after key(): it currently sits at or before it.
    if (!forward_) {
      const std::string_view k = key();
      for (auto& c : children_) {
        if (c.get() == current_) continue;
        c->Seek(k);
        if (c->Valid() && CompareInternalKeys(c->key(), k) == 0) c->Next();
      }
      forward_ = true;
    }
    current_->Next();
    FindSmallest();
  }

  void Prev() override {
    // Turning around: move every other child to the last entry before key().
    if (forward_) {
      const std::string_view k = key();
      for (auto& c : children_) {
        if (c.get() == current_) continue;
        c->Seek(k);
        if (c->Valid()) {
          c->Prev();
        } else {
          c->SeekToLast();  // every entry of c is before k
        }
      }
      forward_ = false;
    }
    current_->Prev();
    FindLargest();
  }

  std::string_view key() const override { return current_->key(); }
  std::string_view value() const override { return current_->value(); }

  absl::Status status() const override {
    for (const auto& c : children_) {
      absl::Status s = c->status();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  // A child that failed stops the merge: continuing with the others would
  // show older versions of the keys the failed child holds newer ones of.
  bool AnyChildFailed() const {
    for (const auto& c : children_) {
      if (!c->Valid() && !c->status().ok()) return true;
    }
    return false;
  }

  void FindSmallest() {
    current_ = nullptr;
    if (AnyChildFailed()) return;
    for (auto& c : children_) {
      if (c->Valid() &&
          (current_ == nullptr || CompareInternalKeys(c->key(), current_->key()) < 0)) {
        current_ = c.get();
      }
    }
  }
  void FindLargest() {
    current_ = nullptr;
    if (AnyChildFailed()) return;
    for (auto& c : children_) {
      if (c->Valid() &&
          (current_ == nullptr || CompareInternalKeys(c->key(), current_->key()) > 0)) {
        current_ = c.get();
      }
    }
  }

  std::vector<std::unique_ptr<Iterator>> children_;
  Iterator* current_ = nullptr;
  bool forward_ = true;
};

}  // namespace kv::detail
