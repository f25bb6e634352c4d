// VectorIterator: a test Iterator over a sorted vector of (internal key,
// value), which can be made to fail with a given status, from the start or
// after a number of moves.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "kv/internal_key.hpp"
#include "kv/iterator.hpp"

namespace kv::test {

class VectorIterator final : public Iterator {
 public:
  using Entries = std::vector<std::pair<std::string, std::string>>;

  // Fails with `error` (if not OK) once it has been moved `fail_after_moves`
  // times (0: from the start).
  VectorIterator(Entries entries, absl::Status error, int fail_after_moves = 0)
      : entries_(std::move(entries)),
        error_(std::move(error)),
        moves_left_(fail_after_moves),
        pos_(entries_.size()) {}
  bool Valid() const override { return status().ok() && pos_ < entries_.size(); }
  void SeekToFirst() override { Moved(), pos_ = 0; }
  void SeekToLast() override { Moved(), pos_ = entries_.empty() ? 0 : entries_.size() - 1; }
  void Seek(std::string_view target) override {
    Moved();
    pos_ = 0;
    while (pos_ < entries_.size() && CompareInternalKeys(entries_[pos_].first, target) < 0) ++pos_;
  }
  void Next() override { Moved(), ++pos_; }
  void Prev() override { Moved(), pos_ = pos_ == 0 ? entries_.size() : pos_ - 1; }
  std::string_view key() const override { return entries_[pos_].first; }
  std::string_view value() const override { return entries_[pos_].second; }
  absl::Status status() const override { return moves_left_ > 0 ? absl::OkStatus() : error_; }

 private:
  void Moved() {
    if (moves_left_ > 0) --moves_left_;
  }
  Entries entries_;
  absl::Status error_;
  int moves_left_;
  std::size_t pos_;
};

}  // namespace kv::test
