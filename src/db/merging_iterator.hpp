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
  explicit MergingIterator(std::vector<std::unique_ptr<Iterator>> children) {
    children_.reserve(children.size());
    for (auto& c : children) children_.emplace_back(std::move(c));
  }

  bool Valid() const override { return current_ != nullptr; }
  void SeekToFirst() override {
    for (Child& c : children_) c.SeekToFirst();
    forward_ = true;
    FindSmallest(/*check_all=*/true);
  }
  void SeekToLast() override {
    for (Child& c : children_) c.SeekToLast();
    forward_ = false;
    FindLargest(/*check_all=*/true);
  }
  void Seek(std::string_view target) override {
    for (Child& c : children_) c.Seek(target);
    forward_ = true;
    FindSmallest(/*check_all=*/true);
  }

  void Next() override {
    // When turning around, every other child must be moved to the first
    // entry after key(): it currently sits at or before it.
    const bool turning = !forward_;
    if (turning) {
      const std::string_view k = key();
      for (Child& c : children_) {
        if (&c == current_) continue;
        c.Seek(k);
        if (c.valid() && CompareInternalKeys(c.key(), k) == 0) c.Next();
      }
      forward_ = true;
    }
    current_->Next();
    FindSmallest(/*check_all=*/turning);
  }

  void Prev() override {
    // Turning around: move every other child to the last entry before key().
    const bool turning = forward_;
    if (turning) {
      const std::string_view k = key();
      for (Child& c : children_) {
        if (&c == current_) continue;
        c.Seek(k);
        if (c.valid()) {
          c.Prev();
        } else if (!c.Failed()) {
          c.SeekToLast();  // every entry of c is before k
        }
      }
      forward_ = false;
    }
    current_->Prev();
    FindLargest(/*check_all=*/turning);
  }

  std::string_view key() const override { return current_->key(); }
  std::string_view value() const override { return current_->iter()->value(); }
  absl::Status status() const override {
    for (const Child& c : children_) {
      absl::Status s = c.iter()->status();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  // A child iterator with its validity and key cached after every move, so
  // picking the next child compares cached views instead of making two
  // virtual calls (through several iterator layers) per child per step.
  class Child {
   public:
    explicit Child(std::unique_ptr<Iterator> it) : it_(std::move(it)) {}
    Iterator* iter() const { return it_.get(); }
    bool valid() const { return valid_; }
    std::string_view key() const { return key_; }
    // Invalid with an error (an exhausted child is not failed).
    bool Failed() const { return !valid_ && !it_->status().ok(); }

    void SeekToFirst() { it_->SeekToFirst(), Update(); }
    void SeekToLast() { it_->SeekToLast(), Update(); }
    void Seek(std::string_view target) { it_->Seek(target), Update(); }
    void Next() { it_->Next(), Update(); }
    void Prev() { it_->Prev(), Update(); }

   private:
    void Update() {
      valid_ = it_->Valid();
      key_ = valid_ ? it_->key() : std::string_view();
    }
    std::unique_ptr<Iterator> it_;
    bool valid_ = false;
    std::string_view key_;
  };

  // A child that failed stops the merge: continuing with the others would
  // show older versions of the keys the failed child holds newer ones of.
  // `check_all`: every child may have moved (a positioning call, a change
  // of direction); otherwise only current_ moved, and no other child had
  // failed (the merge would have stopped), so only it needs checking.
  bool Failed(bool check_all) const {
    if (!check_all) return current_->Failed();
    for (const Child& c : children_) {
      if (c.Failed()) return true;
    }
    return false;
  }

  void FindSmallest(bool check_all) {
    if (Failed(check_all)) {
      current_ = nullptr;
      return;
    }
    current_ = nullptr;
    for (Child& c : children_) {
      if (c.valid() && (current_ == nullptr || CompareInternalKeys(c.key(), current_->key()) < 0)) {
        current_ = &c;
      }
    }
  }
  void FindLargest(bool check_all) {
    if (Failed(check_all)) {
      current_ = nullptr;
      return;
    }
    current_ = nullptr;
    for (Child& c : children_) {
      if (c.valid() && (current_ == nullptr || CompareInternalKeys(c.key(), current_->key()) > 0)) {
        current_ = &c;
      }
    }
  }

  std::vector<Child> children_;
  Child* current_ = nullptr;  // into children_ (never reallocated after construction)
  bool forward_ = true;
};

}  // namespace kv::detail
