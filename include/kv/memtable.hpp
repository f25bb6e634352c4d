/// @file
/// kv::MemTable: the in-memory write buffer, an arena-backed skiplist of
/// internal-key entries (see internal_key.hpp for the key order and types).
///
/// @code
///   kv::MemTable mem;
///   mem.Add(seq, kv::ValueType::kValue, "k", "v");          // one writer
///   std::string v;
///   auto r = mem.Get("k", snapshot_seq, now_micros, &v);   // any thread
///   auto it = mem.NewIterator();                            // internal keys
/// @endcode
///
/// Entry layout: each entry is a skiplist node holding the key record, and
/// a value record taken from the far end of the same arena block
/// (Arena::AllocateAlignedWithTail):
/// @code
///   node:         links (8 bytes per level) | key record
///   key record:   varint32 internal_key_length | internal_key (user_key + fixed64 trailer)
///                 | fixed32 value_ref
///   value record: varint32 stored_value_length | stored_value
/// @endcode
/// where stored_value for kValueWithExpiry is fixed64(expiry_micros) + value.
/// value_ref's low 31 bits are the offset from value_ref's own first byte to
/// the value record (less than one arena block). A value record over an
/// eighth of an arena block is allocated apart; then value_ref's top bit is
/// set and the offset leads to an 8-byte native pointer to it instead.
///
/// Keeping values apart from the nodes and keys is what makes searches
/// cheap: a search touches only nodes and keys, which sit together at the
/// front of each block, a few to a cache line, in a third of the memory
/// (100-byte values: 64 MiB of entries, of which the nodes and keys are
/// ~20 MiB), so more of the upper levels stay cached and each visited node
/// costs one miss. Sharing the block with the values is what makes a 4-byte
/// offset enough, and leaves only one partly filled block.
///
/// Thread safety: Add is externally serialized (one writer at a time). Get,
/// iterators, ApproximateMemoryUsage and num_entries may run concurrently with
/// Add and with each other (see skiplist.hpp for why readers need no lock).
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "kv/arena.hpp"
#include "kv/coding.hpp"
#include "kv/concurrent_bloom.hpp"
#include "kv/internal_key.hpp"
#include "kv/iterator.hpp"
#include "kv/skiplist.hpp"

namespace kv {

namespace detail {

// Reads a varint32 length prefix written by MemTable::Add. Entries are our
// own bytes, so the fast path trusts them; the slow path is bounded to 5 bytes.
inline const char* DecodeEntryLength(const char* p, std::uint32_t* len) {
  const auto b = static_cast<unsigned char>(*p);
  if (b < 0x80) {
    *len = b;
    return p + 1;
  }
  const char* next = DecodeVarint32(p, p + 5, len);
  assert(next != nullptr);
  return next;
}

// The internal key of an encoded entry.
inline std::string_view EntryKey(const char* entry) {
  std::uint32_t len = 0;
  const char* p = DecodeEntryLength(entry, &len);
  return {p, len};
}

// value_ref's top bit: the offset leads to a pointer to the value record.
inline constexpr std::uint32_t kIndirectValueBit = std::uint32_t{1} << 31;

// The value record of an entry whose key is `key` (from EntryKey): the key
// record ends with value_ref.
inline const char* EntryValueRecord(std::string_view key) {
  const char* const ref_field = key.data() + key.size();
  const std::uint32_t ref = DecodeFixed32(ref_field);
  const char* target = ref_field + (ref & ~kIndirectValueBit);
  if ((ref & kIndirectValueBit) == 0) return target;
  const char* value_record = nullptr;
  std::memcpy(&value_record, target, sizeof(value_record));
  return value_record;
}

// The stored value of an entry whose key is `key` (from EntryKey).
inline std::string_view EntryValue(std::string_view key) {
  const char* const value_record = EntryValueRecord(key);
  std::uint32_t len = 0;
  const char* p = DecodeEntryLength(value_record, &len);
  return {p, len};
}

// A probe (user_key, trailer) compared as if it were an internal key,
// without encoding it.
struct MemTableLookupKey {
  std::string_view user_key;
  std::uint64_t trailer = 0;
};

// Orders entries (and probes) by kv::CompareInternalKeys.
struct MemTableKeyComparator {
  int operator()(const char* a, const char* b) const {
    return CompareInternalKeys(EntryKey(a), EntryKey(b));
  }
  // Probe: an encoded internal key (>= kTrailerBytes).
  int operator()(const char* a, std::string_view internal_key) const {
    return CompareInternalKeys(EntryKey(a), internal_key);
  }
  int operator()(const char* a, const MemTableLookupKey& probe) const {
    const std::string_view k = EntryKey(a);
    const int r = CompareUserKeys(ExtractUserKey(k), probe.user_key);
    if (r != 0) return r;
    const std::uint64_t t = ExtractTrailer(k);
    return t > probe.trailer ? -1 : (t < probe.trailer ? 1 : 0);
  }
};

using MemTableSkipList = SkipList<MemTableKeyComparator>;

class MemTableIterator final : public Iterator {
 public:
  explicit MemTableIterator(const MemTableSkipList* list) : it_(list) {}

  bool Valid() const override { return it_.Valid(); }
  void SeekToFirst() override { it_.SeekToFirst(); }
  void SeekToLast() override { it_.SeekToLast(); }
  // `target` is an internal key. A target shorter than a trailer is read as
  // a bare user key: Seek lands on the newest entry of the first user key
  // >= target.
  void Seek(std::string_view target) override {
    if (target.size() >= kTrailerBytes) {
      it_.Seek(target);
    } else {
      it_.Seek(MemTableLookupKey{target, std::numeric_limits<std::uint64_t>::max()});
    }
  }
  // Also starts fetching the new entry's value record (at the back of its
  // arena block, away from its key): a flush reads every value, in key order.
  void Next() override {
    it_.Next();
    if (it_.Valid()) __builtin_prefetch(EntryValueRecord(EntryKey(it_.key())));
  }
  void Prev() override { it_.Prev(); }
  std::string_view key() const override { return EntryKey(it_.key()); }
  std::string_view value() const override { return EntryValue(EntryKey(it_.key())); }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  MemTableSkipList::Iterator it_;
};

}  // namespace detail

/// The in-memory write buffer; see the file comment.
class MemTable {
 public:
  /// An empty memtable with its own arena.
  /// `bloom_bytes` > 0 gives the memtable a bloom filter of that size over
  /// its user keys: a Get for an absent key then usually skips the skiplist
  /// search. The filter's bytes count in ApproximateMemoryUsage.
  /// `blocks` picks the arena's blocks: ArenaBlocks::kHugePages makes
  /// searches in a large memtable cheaper (see arena.hpp) but rounds memory
  /// use up to 2 MiB, so it suits memtables of tens of MiB.
  explicit MemTable(std::size_t bloom_bytes = 0, ArenaBlocks blocks = ArenaBlocks::kSmall,
                    std::shared_ptr<HugePageBlockPool> pool = nullptr)
      : arena_(blocks, std::move(pool)),
        table_(detail::MemTableKeyComparator{}, &arena_),
        bloom_(bloom_bytes) {}
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  /// Adds one entry. For ValueType::kValueWithExpiry the stored value is
  /// fixed64(expiry_micros) followed by `value` (see internal_key.hpp);
  /// expiry_micros is ignored for other types.
  /// REQUIRES: callers serialize Add (one writer at a time); Get/iterators may
  /// run concurrently.
  /// REQUIRES: seq <= kMaxSequenceNumber; (user_key, seq, type) not already added;
  /// the key and the stored value are each below 4 GiB.
  void Add(SequenceNumber seq, ValueType type, std::string_view user_key, std::string_view value,
           std::uint64_t expiry_micros = 0) {
    const bool expiring = type == ValueType::kValueWithExpiry;
    const std::size_t key_size = user_key.size() + kTrailerBytes;
    const std::size_t value_size = value.size() + (expiring ? kExpiryBytes : 0);
    assert(key_size <= std::numeric_limits<std::uint32_t>::max());
    assert(value_size <= std::numeric_limits<std::uint32_t>::max());
    const std::size_t value_record_size =
        static_cast<std::size_t>(VarintLength(value_size)) + value_size;
    // Large values get an allocation of their own, reached through a
    // pointer in the tail: a node with a value over an eighth of a block
    // could exceed the quarter block beyond which AllocateAlignedWithTail
    // gives the pair a block of its own (a heap allocation per entry).
    const bool indirect = value_record_size > arena_.block_size() / 8;
    const std::size_t key_record_size =
        static_cast<std::size_t>(VarintLength(key_size)) + key_size + sizeof(std::uint32_t);
    char* tail = nullptr;
    char* const key_record = table_.AllocateKey(
        key_record_size, indirect ? sizeof(const char*) : value_record_size, &tail);
    char* value_record = tail;
    if (indirect) {
      value_record = arena_.Allocate(value_record_size);
      std::memcpy(tail, &value_record, sizeof(value_record));
    }

    char* p = EncodeVarint64(value_record, value_size);
    if (expiring) {
      EncodeFixed64(p, expiry_micros);
      p += kExpiryBytes;
    }
    if (!value.empty()) std::memcpy(p, value.data(), value.size());

    p = EncodeVarint64(key_record, key_size);
    if (!user_key.empty()) std::memcpy(p, user_key.data(), user_key.size());
    p += user_key.size();
    EncodeFixed64(p, PackTrailer(seq, type));
    p += kTrailerBytes;
    const auto offset = static_cast<std::uint32_t>(tail - p);  // < one block
    assert(tail > p && (offset & detail::kIndirectValueBit) == 0);
    EncodeFixed32(p, indirect ? offset | detail::kIndirectValueBit : offset);

    // Into the filter before the entry is visible: a reader that can see
    // the entry (through the skiplist's release/acquire, or the DB's
    // published sequence) also sees its bits.
    bloom_.AddHashSingleWriter(BloomHash(user_key));  // Add is serialized
    // The search compares against the key decoded once, not against the
    // record.
    table_.Insert(key_record, detail::MemTableLookupKey{user_key, PackTrailer(seq, type)});
    num_entries_.fetch_add(1, std::memory_order_relaxed);
  }

  /// What Get found for a key.
  enum class LookupResult { kAbsent, kFound, kDeleted };

  /// Looks at the newest entry for user_key with sequence <= seq. kFound:
  /// *value = the user value (expiry prefix stripped). kDeleted: a tombstone,
  /// or an entry expired at now_micros (expiry <= now_micros). kAbsent: no
  /// entry for that key at or below seq. Thread-safe; allocates only for the
  /// value copy.
  LookupResult Get(std::string_view user_key, SequenceNumber seq, std::uint64_t now_micros,
                   std::string* value) const {
    return Get(
        user_key, seq, [now_micros] { return now_micros; }, value);
  }
  /// Get with the time asked for only if the entry found has an expiry time:
  /// `now_micros()` returns the time in microseconds (see DBImpl::Get, which
  /// reads the clock only then).
  template <typename NowMicros>
  requires std::is_invocable_r_v<std::uint64_t, NowMicros&> LookupResult
  Get(std::string_view user_key, SequenceNumber seq, NowMicros&& now_micros, std::string* value)
  const {
    // An empty memtable (after a flush, every Get asks one) costs nothing;
    // otherwise the filter usually answers for keys it does not hold.
    if (empty() || !bloom_.HashMayMatch(BloomHash(user_key))) return LookupResult::kAbsent;
    if (seq > kMaxSequenceNumber) seq = kMaxSequenceNumber;
    detail::MemTableSkipList::Iterator it(&table_);
    // The largest type sorts first among entries with the same sequence, so
    // this lands on the newest entry with sequence <= seq.
    it.Seek(detail::MemTableLookupKey{user_key, PackTrailer(seq, kValueTypeForSeek)});
    if (!it.Valid()) return LookupResult::kAbsent;
    const std::string_view ikey = detail::EntryKey(it.key());
    if (CompareUserKeys(ExtractUserKey(ikey), user_key) != 0) return LookupResult::kAbsent;

    const auto type = static_cast<ValueType>(ExtractTrailer(ikey) & 0xff);
    switch (type) {
      case ValueType::kValue: {
        const std::string_view stored = detail::EntryValue(ikey);
        value->assign(stored.data(), stored.size());
        return LookupResult::kFound;
      }
      case ValueType::kValueWithExpiry: {
        std::uint64_t expiry = 0;
        std::string_view user_value;
        if (!SplitExpiringValue(detail::EntryValue(ikey), &expiry, &user_value) ||
            expiry <= now_micros()) {
          return LookupResult::kDeleted;
        }
        value->assign(user_value.data(), user_value.size());
        return LookupResult::kFound;
      }
      case ValueType::kDeletion:
        break;
    }
    return LookupResult::kDeleted;
  }

  /// An iterator over all entries in internal-key order
  /// (kv::CompareInternalKeys): key() is the internal key, value() the stored
  /// value (for kValueWithExpiry the 8-byte expiry then the user value). Seek
  /// takes an internal key. The MemTable must outlive the iterator.
  std::unique_ptr<Iterator> NewIterator() const {
    return std::make_unique<detail::MemTableIterator>(&table_);
  }

  /// Bytes held (the arena and the filter). Thread-safe.
  std::size_t ApproximateMemoryUsage() const { return arena_.MemoryUsage() + bloom_.bytes(); }
  /// Number of entries added. Thread-safe.
  std::uint64_t num_entries() const { return num_entries_.load(std::memory_order_relaxed); }
  /// True if nothing was added yet. Thread-safe.
  bool empty() const { return num_entries() == 0; }

 private:
  Arena arena_;  // nodes with their key records at the front of each block,
                 // value records at the back
  detail::MemTableSkipList table_;
  ConcurrentBloomFilter bloom_;  // over user keys; empty (always "maybe") if sized 0
  std::atomic<std::uint64_t> num_entries_{0};
};

}  // namespace kv
