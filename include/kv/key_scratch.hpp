/// @file
/// kv::KeyScratch: memory a block iterator rebuilds prefix-compressed keys
/// in (kv/block.hpp), without a heap allocation for short keys.
///
/// Thread-safety: one thread at a time.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

#include "kv/coding.hpp"

namespace kv {

/// Scratch memory for a key rebuilt from a shared prefix and a suffix;
/// keys up to kInlineBytes long need no heap allocation. Not movable: the
/// views it hands out point into it.
class KeyScratch {
 public:
  /// Inline capacity (internal keys of up to 40 user-key bytes fit).
  static constexpr std::size_t kInlineBytes = 48;

  KeyScratch() = default;
  KeyScratch(const KeyScratch&) = delete;
  KeyScratch& operator=(const KeyScratch&) = delete;

  /// Makes the contents prev[0, shared) + suffix and returns them. `prev`
  /// may be the view this scratch returned last (the previous key).
  /// REQUIRES: shared <= prev.size(); prev and suffix are that view or do
  /// not overlap this scratch's memory.
  std::string_view Rebuild(std::string_view prev, std::size_t shared, std::string_view suffix) {
    const std::size_t n = shared + suffix.size();
    char* dst = data();
    if (n > capacity_) {
      auto bigger = std::make_unique_for_overwrite<char[]>(n * 2);
      if (shared > 0) std::memcpy(bigger.get(), prev.data(), shared);
      heap_ = std::move(bigger);
      capacity_ = n * 2;
      dst = heap_.get();
    } else if (prev.data() != dst && shared > 0) {
      CopyShortBytes(dst, prev.data(), shared);
    }
    CopyShortBytes(dst + shared, suffix.data(), suffix.size());
    return {dst, n};
  }

 private:
  char* data() { return heap_ ? heap_.get() : inline_; }

  char inline_[kInlineBytes];
  std::unique_ptr<char[]> heap_;
  std::size_t capacity_ = kInlineBytes;
};

}  // namespace kv
