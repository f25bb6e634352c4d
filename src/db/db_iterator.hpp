// DBIterator: turns a merged stream of internal entries (every version of
// every key, newest first within a key) into the user's view at one point
// in time: for each user key, the newest version with sequence <= the
// read sequence, skipped if it is a tombstone or expired at the read time.
//
// Forward movement leaves the inner iterator AT the entry yielded. Reverse
// movement leaves the inner iterator just BEFORE all entries of the yielded
// key, with the key and value saved in saved_key_ / saved_value_ (the inner
// entries cannot be viewed any more). Changing direction re-seeks. Either
// way key_/value_ view the yielded entry.
//
// The iterator owns whatever keeps its sources alive (memtables, the table
// version) through `pins`.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kv/coding.hpp"
#include "kv/internal_key.hpp"
#include "kv/iterator.hpp"

namespace kv::detail {

class DBIterator final : public Iterator {
 public:
  DBIterator(std::unique_ptr<Iterator> inner, SequenceNumber read_sequence,
             std::uint64_t read_time_micros, std::vector<std::shared_ptr<const void>> pins)
      : inner_(std::move(inner)),
        read_sequence_(read_sequence),
        read_time_micros_(read_time_micros),
        pins_(std::move(pins)) {}

  ~DBIterator() override {
    inner_.reset();  // before the pins that keep its sources alive
  }

  bool Valid() const override { return valid_; }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  absl::Status status() const override { return status_.ok() ? inner_->status() : status_; }

  void SeekToFirst() override {
    forward_ = true;
    inner_->SeekToFirst();
    FindNextVisible(/*skipping=*/false);
  }
  void Seek(std::string_view target) override {
    forward_ = true;
    seek_key_.clear();
    AppendInternalKey(&seek_key_, target, read_sequence_, kValueTypeForSeek);
    inner_->Seek(seek_key_);
    FindNextVisible(/*skipping=*/false);
  }
  void SeekToLast() override {
    forward_ = false;
    inner_->SeekToLast();
    FindPrevVisible();
  }

  void Next() override {
    if (!forward_) {
      // inner_ is before saved_key_'s entries: step to the first entry after them.
      forward_ = true;
      seek_key_.clear();
      AppendInternalKey(&seek_key_, saved_key_, 0, ValueType::kDeletion);
      inner_->Seek(seek_key_);  // first entry at or after the oldest version of saved_key_
      if (inner_->Valid() && ExtractUserKey(inner_->key()) == std::string_view(saved_key_)) {
        inner_->Next();
      }
      FindNextVisible(/*skipping=*/false);
      return;
    }
    SaveKey(ExtractUserKey(inner_->key()));
    inner_->Next();
    FindNextVisible(/*skipping=*/true);
  }

  void Prev() override {
    if (forward_) {
      // inner_ is at the yielded entry: move before every entry of its key.
      SaveKey(ExtractUserKey(inner_->key()));
      seek_key_.clear();
      AppendInternalKey(&seek_key_, saved_key_, kMaxSequenceNumber, kValueTypeForSeek);
      inner_->Seek(seek_key_);
      if (inner_->Valid()) {
        inner_->Prev();
      } else {
        inner_->SeekToLast();
      }
      while (inner_->Valid() && ExtractUserKey(inner_->key()) == std::string_view(saved_key_)) {
        inner_->Prev();
      }
      forward_ = false;
    }
    FindPrevVisible();
  }

 private:
  // saved_key_ = key. The key never aliases saved_key_ (it points into the
  // inner iterator), so a plain copy into the reused capacity does; the
  // generic std::string::assign is several times the cost per step.
  void SaveKey(std::string_view key) {
    saved_key_.resize(key.size());
    CopyShortBytes(saved_key_.data(), key.data(), key.size());
  }

  // The user value of an entry (expiry prefix stripped).
  static std::string_view UserValue(std::string_view ikey, std::string_view stored) {
    if (static_cast<ValueType>(ExtractTrailer(ikey) & 0xff) == ValueType::kValueWithExpiry) {
      return stored.substr(kExpiryBytes);
    }
    return stored;
  }

  // True if the entry is readable: a parsable key whose newest visible
  // version is a live value. Sets status_ on a malformed key.
  bool Parse(ParsedInternalKey* parsed) {
    if (!ParseInternalKey(inner_->key(), parsed)) {
      status_ = absl::DataLossError("malformed internal key in iterator source");
      return false;
    }
    return true;
  }

  bool IsLive(const ParsedInternalKey& k, std::string_view stored) const {
    if (k.type == ValueType::kDeletion) return false;
    if (k.type == ValueType::kValueWithExpiry) {
      std::uint64_t expiry = 0;
      std::string_view v;
      if (!SplitExpiringValue(stored, &expiry, &v)) return false;
      return expiry > read_time_micros_;
    }
    return true;
  }

  // Forward: advance inner_ to the newest visible live version of the next
  // user key. With skipping, entries of saved_key_ are passed over first.
  // (Forward iteration uses saved_key_ only as this skip key: reusing its
  // capacity avoids an allocation per step for keys beyond 15 bytes.)
  void FindNextVisible(bool skipping) {
    while (inner_->Valid()) {
      ParsedInternalKey k;
      if (!Parse(&k)) break;
      if (k.sequence <= read_sequence_) {
        if (skipping && CompareUserKeys(k.user_key, saved_key_) == 0) {
          // an older version of a key already decided
        } else if (const std::string_view stored = inner_->value(); IsLive(k, stored)) {
          // Views into inner_'s entry, which stays put until the next move.
          key_ = k.user_key;
          value_ = UserValue(inner_->key(), stored);
          valid_ = true;
          return;
        } else {
          // The newest visible version is a tombstone or expired: hide the key.
          SaveKey(k.user_key);
          skipping = true;
        }
      }
      inner_->Next();
    }
    valid_ = false;
  }

  // Reverse: inner_ is at (or before) the last entry of some key. Walk back
  // over the key's versions oldest to newest; the last visible one decides.
  void FindPrevVisible() {
    while (inner_->Valid()) {
      ParsedInternalKey k;
      if (!Parse(&k)) break;
      SaveKey(k.user_key);
      bool have_value = false;
      // Entries of one user key appear oldest first when walking backwards.
      while (inner_->Valid()) {
        ParsedInternalKey e;
        if (!Parse(&e)) {
          valid_ = false;
          return;
        }
        if (e.user_key != std::string_view(saved_key_)) break;
        if (e.sequence <= read_sequence_) {
          if (IsLive(e, inner_->value())) {
            const std::string_view v = UserValue(inner_->key(), inner_->value());
            saved_value_.assign(v.data(), v.size());
            have_value = true;
          } else {
            have_value = false;
          }
        }
        inner_->Prev();
      }
      if (have_value) {
        key_ = saved_key_;
        value_ = saved_value_;
        valid_ = true;
        return;
      }
    }
    valid_ = false;
  }

  std::unique_ptr<Iterator> inner_;
  const SequenceNumber read_sequence_;
  const std::uint64_t read_time_micros_;
  std::vector<std::shared_ptr<const void>> pins_;
  bool valid_ = false;
  bool forward_ = true;
  // The yielded entry, set whenever valid_ becomes true: views into inner_'s
  // current entry (forward) or into saved_key_/saved_value_ (reverse). Kept
  // so key() and value() need not walk down the iterator stack each call.
  std::string_view key_;
  std::string_view value_;
  std::string saved_key_;
  std::string saved_value_;
  std::string seek_key_;
  absl::Status status_;
};

}  // namespace kv::detail
