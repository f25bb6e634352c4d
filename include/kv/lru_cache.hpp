/// @file
/// A thread-safe, sharded, charge-bounded LRU cache of immutable values.
///
/// kv uses it as the block cache: SSTable readers key decoded blocks by
/// (table cache id, block offset) and share them through std::shared_ptr.
///
/// @code
///   kv::ShardedLruCache<Block> cache(64 << 20);           // 64 MiB, 16 shards
///   if (auto block = cache.Lookup({table_id, offset})) { ... use *block ... }
///   else cache.Insert({table_id, offset}, std::move(loaded), loaded_size);
/// @endcode
///
/// Semantics
/// - The cache holds up to `capacity_bytes` of total charge. The charge of an
///   entry is whatever the caller says it costs (usually its byte size).
/// - Lookup returns the value or nullptr; a hit makes the entry the shard's
///   most recently used one. Insert replaces any entry under the same key.
///   After inserting, the shard evicts its least recently used entries until
///   its total charge is within its capacity again.
/// - An entry whose charge exceeds its shard's capacity is not kept at all
///   (Insert still drops any older entry under that key, so a later Lookup
///   never returns a stale value). Hence TotalCharge() <= capacity() always.
/// - capacity 0 disables the cache: every Lookup misses, Insert drops.
/// - Per-shard capacity is capacity / 2^shard_bits, the remainder spread one
///   byte each over the first shards, so the shard capacities add up exactly to
///   capacity. Keep shard_bits small when the capacity is small.
/// - Evicting, replacing or erasing only drops the cache's own shared_ptr: a
///   reader still holding a value keeps it alive, so there is no
///   use-after-free however lookups and evictions interleave.
///
/// Thread safety
/// Every public member may be called concurrently from any thread. The key
/// space is split into 2^shard_bits shards by the top bits of a 64-bit mix of
/// the key; each shard is an independent LRU cache (hash map + recency list +
/// charge total) guarded by its own kv::Mutex, so threads touching different
/// shards never contend. Invariants, all under the shard's mutex:
///   * the map and the list hold the same entries (the map points at the list
///     node of its key), the list ordered from most to least recently used;
///   * usage == sum of the charges of the listed entries, and usage <= the
///     shard's capacity whenever the mutex is released.
/// A Lookup hit takes one hash, one lock, an O(1) splice and a shared_ptr copy.
/// Values being dropped (evicted, replaced, erased) are moved into a local
/// list and destroyed after the mutex is released, so freeing a big value
/// never lengthens a critical section; for the same reason Insert allocates its
/// list node before taking the lock. Hit/miss counters are relaxed atomics kept
/// per shard (no shared cache line to bounce between threads); the totals and
/// TotalCharge() are sums over the shards, each exact at the moment it was
/// read, so under concurrent use they are a snapshot, not an atomic total.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "kv/mutex.hpp"

namespace kv {

/// A block cache key: id: a table's cache id; offset: the block's offset in
/// that table.
struct CacheKey {
  /// A table's cache id.
  std::uint64_t id;
  /// The block's offset in that table.
  std::uint64_t offset;

  /// Keys are equal when both fields are.
  friend bool operator==(const CacheKey&, const CacheKey&) = default;
};

/// A well-mixed 64-bit hash of a CacheKey (a multiply to fold id into offset,
/// then the MurmurHash3 64-bit finalizer). Its top bits pick the shard and the
/// whole value is used by the shard's hash map.
inline std::uint64_t HashCacheKey(const CacheKey& key) {
  std::uint64_t h = key.id * 0x9E3779B97F4A7C15ull;
  h ^= key.offset + (h >> 29);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

namespace detail {

// A key with its hash already computed, so a shard's map never hashes again.
struct PrehashedCacheKey {
  CacheKey key;
  std::uint64_t hash;
};

// Transparent hash/eq so the shard maps accept a PrehashedCacheKey.
struct CacheKeyHash {
  using is_transparent = void;
  std::size_t operator()(const CacheKey& k) const { return HashCacheKey(k); }
  std::size_t operator()(const PrehashedCacheKey& k) const { return k.hash; }
};
struct CacheKeyEq {
  using is_transparent = void;
  static const CacheKey& Key(const CacheKey& k) { return k; }
  static const CacheKey& Key(const PrehashedCacheKey& k) { return k.key; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return Key(a) == Key(b);
  }
};

// One independently locked LRU cache; see ShardedLruCache.
template <typename V>
class LruShard {
 public:
  LruShard() = default;
  LruShard(const LruShard&) = delete;
  LruShard& operator=(const LruShard&) = delete;

  // Called once before the shard is shared between threads.
  void SetCapacity(std::size_t capacity) ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    capacity_ = capacity;
  }

  std::shared_ptr<const V> Lookup(const PrehashedCacheKey& key) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      kv::MutexLock l(&mu_);
      auto it = map_.find(key);
      if (it != map_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);
        hits_.fetch_add(1, std::memory_order_relaxed);
        return it->second->value;
      }
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }

  void Insert(const PrehashedCacheKey& key, std::shared_ptr<const V> value, std::size_t charge)
      ABSL_LOCKS_EXCLUDED(mu_) {
    // Destroyed after `l` (declared later): dropped values die unlocked.
    List garbage;
    List node;
    node.push_back(Entry{key.key, key.hash, std::move(value), charge});
    kv::MutexLock l(&mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      DropLocked(it, &garbage);
    }
    if (charge > capacity_ || capacity_ == 0) {
      return;  // Too big to keep; the node dies with `garbage`/`node`.
    }
    // Map first: if it throws, the cache is unchanged but for the old entry.
    map_.emplace(key.key, node.begin());  // Iterator stays valid across splice.
    lru_.splice(lru_.begin(), node);
    usage_ += charge;
    while (usage_ > capacity_) {
      assert(!lru_.empty());
      const Entry& lru = lru_.back();
      auto victim = map_.find(PrehashedCacheKey{lru.key, lru.hash});
      assert(victim != map_.end());
      DropLocked(victim, &garbage);
    }
  }

  void Erase(const PrehashedCacheKey& key) ABSL_LOCKS_EXCLUDED(mu_) {
    List garbage;  // Destroyed after `l`.
    kv::MutexLock l(&mu_);
    auto it = map_.find(key);
    if (it != map_.end()) DropLocked(it, &garbage);
  }

  std::size_t usage() const ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    return usage_;
  }
  std::size_t entries() const ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    return map_.size();
  }
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    CacheKey key;
    std::uint64_t hash;  // HashCacheKey(key), kept to find a victim's map slot.
    std::shared_ptr<const V> value;
    std::size_t charge;
  };
  using List = std::list<Entry>;
  using Map = absl::flat_hash_map<CacheKey, typename List::iterator, CacheKeyHash, CacheKeyEq>;

  // Unlinks the entry at `it` from the map and moves its node to `garbage`.
  void DropLocked(typename Map::iterator it, List* garbage) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const auto node = it->second;
    assert(usage_ >= node->charge);
    usage_ -= node->charge;
    garbage->splice(garbage->end(), lru_, node);
    map_.erase(it);
  }

  mutable kv::Mutex mu_;
  std::size_t capacity_ ABSL_GUARDED_BY(mu_) = 0;
  std::size_t usage_ ABSL_GUARDED_BY(mu_) = 0;
  List lru_ ABSL_GUARDED_BY(mu_);  // Most recently used first.
  Map map_ ABSL_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

}  // namespace detail

template <typename V>
/// The cache; see the file comment. `V` is the (immutable) value type.
class ShardedLruCache {
 public:
  /// Largest shard_bits accepted: at most 2^16 shards.
  static constexpr int kMaxShardBits = 16;

  /// REQUIRES: 0 <= shard_bits <= kMaxShardBits.
  /// A cache of `capacity_bytes` total charge split over 2^shard_bits shards.
  explicit ShardedLruCache(std::size_t capacity_bytes, int shard_bits = 4)
      : capacity_(capacity_bytes),
        shard_bits_(shard_bits),
        shards_(std::make_unique<Shard[]>(std::size_t{1} << shard_bits)) {
    assert(shard_bits >= 0 && shard_bits <= kMaxShardBits);
    const std::size_t n = num_shards();
    for (std::size_t i = 0; i < n; ++i) {
      shards_[i].shard.SetCapacity(capacity_ / n + (i < capacity_ % n ? 1 : 0));
    }
  }
  ShardedLruCache(const ShardedLruCache&) = delete;
  ShardedLruCache& operator=(const ShardedLruCache&) = delete;

  /// The value cached under `key`, or nullptr on a miss. A hit makes the
  /// entry most recently used.
  std::shared_ptr<const V> Lookup(const CacheKey& key) {
    const detail::PrehashedCacheKey k{key, HashCacheKey(key)};
    return ShardFor(k.hash).Lookup(k);
  }

  /// Caches `value` under `key` at cost `charge`, replacing any existing
  /// entry, then evicts least recently used entries of the shard while it is
  /// over capacity. A value whose charge exceeds its shard's capacity is not
  /// kept (the old entry under `key` is still removed).
  /// REQUIRES: value != nullptr.
  void Insert(const CacheKey& key, std::shared_ptr<const V> value, std::size_t charge) {
    assert(value != nullptr);
    const detail::PrehashedCacheKey k{key, HashCacheKey(key)};
    ShardFor(k.hash).Insert(k, std::move(value), charge);
  }

  /// Removes the entry under `key`, if any. Holders of the value keep it.
  void Erase(const CacheKey& key) {
    const detail::PrehashedCacheKey k{key, HashCacheKey(key)};
    ShardFor(k.hash).Erase(k);
  }

  /// Sum of the charges of the cached entries; always <= capacity().
  std::size_t TotalCharge() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < num_shards(); ++i) total += shards_[i].shard.usage();
    return total;
  }
  /// Number of cached entries.
  std::size_t entries() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < num_shards(); ++i) total += shards_[i].shard.entries();
    return total;
  }
  /// Lookups that found their key, since construction.
  std::uint64_t hits() const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < num_shards(); ++i) total += shards_[i].shard.hits();
    return total;
  }
  /// Lookups that missed, since construction.
  std::uint64_t misses() const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < num_shards(); ++i) total += shards_[i].shard.misses();
    return total;
  }
  /// The total capacity given at construction.
  std::size_t capacity() const { return capacity_; }
  /// Number of shards: 2^shard_bits.
  std::size_t num_shards() const { return std::size_t{1} << shard_bits_; }

 private:
  // Each shard on its own cache lines, so shards do not false-share.
  struct alignas(64) Shard {
    detail::LruShard<V> shard;
  };

  detail::LruShard<V>& ShardFor(std::uint64_t hash) const {
    const std::size_t i =
        shard_bits_ == 0 ? 0 : static_cast<std::size_t>(hash >> (64 - shard_bits_));
    return shards_[i].shard;
  }

  const std::size_t capacity_;
  const int shard_bits_;
  const std::unique_ptr<Shard[]> shards_;
};

}  // namespace kv
