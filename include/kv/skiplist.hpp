/// @file
/// kv::SkipList: an ordered set of byte-string keys stored inside its nodes
/// in an Arena, with one writer and any number of lock-free concurrent
/// readers. The memtable is built on it.
///
/// @code
///   struct Cmp { int operator()(const char* a, const char* b) const {...} };
///   kv::Arena arena;
///   kv::SkipList<Cmp> list(Cmp{}, &arena);
///   char* key = list.AllocateKey(8);       // writer side, serialized:
///   std::memcpy(key, "00000042", 8);       //   fill in the key's bytes,
///   list.Insert(key);                      //   then link it
///   kv::SkipList<Cmp>::Iterator it(&list);
///   for (it.Seek(probe); it.Valid(); it.Next()) use(it.key());
/// @endcode
///
/// A key is a run of bytes that the caller writes into a new node (from
/// AllocateKey) and that must say where it ends by itself (a length prefix,
/// a fixed size): the list hands the comparator only its first byte's
/// address. Keeping the key inside the node, rather than a pointer to it,
/// saves 8 bytes per entry and puts the key next to the link a search just
/// followed. Comparator is a callable `int (const char*, const char*)`
/// returning <0, 0, >0. Seek, Contains and Insert also accept any other type
/// T for which the comparator has an overload `int (const char*, const T&)`
/// ordering T consistently with the keys (heterogeneous lookup, so a probe
/// never has to be encoded as a key).
///
/// ## Thread-safety invariants
///
/// 1. Writes (Insert) are externally serialized: at most one thread inserts
///    at a time. Reads (Contains, Iterator) need no lock and may run in any
///    number of threads concurrently with the writer.
/// 2. Nothing is ever removed. A node, once reachable, stays reachable and
///    its key and memory stay valid until the SkipList and its Arena die, so
///    a reader can never hold a dangling pointer.
/// 3. A node is fully built before it is published: the writer fills in its
///    key (and whatever else it allocated with it, such as the memtable's
///    value record) and all of its forward pointers, and only then links it
///    in, level by level from the bottom, with a release store into the
///    predecessor's forward pointer. Readers load forward pointers with acquire, so seeing
///    a node implies seeing its key, its tower, and everything the writer
///    wrote before the link.
/// 4. Level 0 is the whole truth; higher levels are shortcuts. A node may be
///    visible at level 0 but not yet at level 3; a reader that descends
///    through an older shortcut still reaches it along level 0. Every level
///    stays sorted at every instant because each link is a single pointer
///    store that splices in a node whose own pointer was already set.
/// 5. max_height_ is only a hint of how many levels the head uses. The writer
///    raises it (relaxed) before linking a taller node. A reader that sees the
///    new height early finds null in the head's new levels and simply drops
///    down; one that sees the old height starts lower. Either is correct.
/// 6. The random generator, the splice (below) and the node allocated by
///    AllocateKey but not yet inserted belong to the writer.
/// 7. The splice is where the last inserted key went: splice_[l] is its node
///    at each level it reached, and above that the node it was linked after
///    (head_ where none). Only the writer links nodes, so this stays true
///    until the next Insert. It makes a sorted run of inserts cheap: a key
///    that fits between splice_[0] and its successor fits between splice_[l]
///    and its level-l successor at every level, because that successor is
///    also after splice_[0] (it was after the last key when that key was
///    placed) and is on level 0, so it is not before splice_[0]'s successor.
///    Checking level 0 therefore checks the whole splice.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "kv/arena.hpp"

namespace kv {

/// An ordered set of byte-string keys in an Arena; see the file comment.
template <class Comparator>
class SkipList {
 private:
  struct Node;

 public:
  /// Most levels a node can have: at kBranching 2, the top level of a list
  /// of a million keys still holds only a few (a 64 MiB memtable holds
  /// ~440k entries of 16-byte keys and 100-byte values, ~1.1M with
  /// 10-byte values).
  static constexpr int kMaxHeight = 20;
  /// Each level holds ~1/kBranching of the one below. 2, not LevelDB's 4:
  /// a search visits about kBranching - 1 nodes per level, and in a large
  /// list only the lowest levels miss the cache, so a narrower fan-out
  /// costs more levels at the top (cached) for fewer misses at the bottom.
  /// 1M random 16-byte keys, medians of 5 alternating runs of
  /// kv_skiplist_bench: MemTable::Add 918k/s at 4 against 965k/s at 2,
  /// MemTable::Get 595k/s against 673k/s; 5.3 more bytes per node (2 links
  /// on average instead of 1.33).
  static constexpr unsigned kBranching = 2;

  /// Uses `arena` for every node; the arena must outlive the list.
  /// `seed` seeds the height generator (any value works).
  explicit SkipList(Comparator cmp, Arena* arena, std::uint64_t seed = 0x5eed1e55cafef00dULL)
      : compare_(cmp), arena_(arena), head_(NewNode(kMaxHeight, 0, 0).node), rng_state_(seed | 1) {
    for (int i = 0; i < kMaxHeight; ++i) {
      head_->SetNextRelaxed(i, nullptr);
      splice_[i] = head_;
    }
  }
  SkipList(const SkipList&) = delete;
  SkipList& operator=(const SkipList&) = delete;

  /// Room for a key of `key_bytes` bytes inside a new node, for the writer to
  /// fill in and then pass to Insert. The node is not in the list until then.
  /// REQUIRES: key_bytes > 0; external synchronization with other
  /// AllocateKey/Insert calls; Insert before the next AllocateKey.
  char* AllocateKey(std::size_t key_bytes) { return AllocateKey(key_bytes, 0, nullptr); }

  /// AllocateKey, plus `tail_bytes` > 0 more bytes at *tail taken from the
  /// far end of the same arena block (Arena::AllocateAlignedWithTail): they
  /// lie after the key, less than one arena block past it, so a 32-bit
  /// offset from the key reaches them. Readers see them once the key is
  /// inserted (invariant 3).
  char* AllocateKey(std::size_t key_bytes, std::size_t tail_bytes, char** tail) {
    assert(key_bytes > 0);
    assert(pending_ == nullptr);
    pending_height_ = RandomHeight();
    const NewNodeResult r = NewNode(pending_height_, key_bytes, tail_bytes);
    if (tail != nullptr) *tail = r.tail;
    pending_ = r.node;
    return r.node->key();
  }

  /// Links the key last returned by AllocateKey, now filled in.
  /// REQUIRES: no key comparing equal to `key` is in the list.
  /// REQUIRES: external synchronization with other AllocateKey/Insert calls.
  /// A key that lands right after the previously inserted one (ascending
  /// inserts: sequence numbers, time stamps, a sorted load) costs two
  /// comparisons instead of a search.
  void Insert(const char* key) { Insert(key, key); }

  /// Insert(key), comparing the list's keys against `probe` instead of
  /// `key`: a probe that orders exactly as `key` does but is cheaper to
  /// compare against (say, `key` decoded once rather than at each of the
  /// ~30 comparisons of a search). REQUIRES: for every key k in the list,
  /// compare_(k, probe) == compare_(k, key).
  template <typename Probe>
  void Insert(const char* key, const Probe& probe) {
    Node* const x = pending_;
    assert(x != nullptr && x->key() == key);
    (void)key;
    pending_ = nullptr;
    Node** const prev = splice_;
    if (!SpliceFits(probe)) {
      Node* found = FindGreaterOrEqual(probe, prev);
      assert(found == nullptr || compare_(found->key(), probe) != 0);
      (void)found;
    }

    const int height = pending_height_;
    const int old_height = GetMaxHeight();
    if (height > old_height) {
      for (int i = old_height; i < height; ++i) prev[i] = head_;
      // Invariant 5: relaxed is enough; readers cope with either value.
      max_height_.store(height, std::memory_order_relaxed);
    }

    for (int i = 0; i < height; ++i) {
      // Only the writer stores these, so relaxed reads of its own writes are fine;
      // the release in SetNext publishes x (invariant 3).
      x->SetNextRelaxed(i, prev[i]->NextRelaxed(i));
      prev[i]->SetNext(i, x);
      prev[i] = x;  // the splice for a key just after x (invariant 7)
    }
  }

  /// True if a key comparing equal to `probe` is in the list. Thread-safe.
  template <typename T>
  bool Contains(const T& probe) const {
    Node* x = FindGreaterOrEqual(probe, nullptr);
    return x != nullptr && compare_(x->key(), probe) == 0;
  }

  /// A cursor over the list. Safe to use concurrently with Insert; it sees a
  /// key if that key was linked before the cursor reached its position.
  /// One Iterator is used by one thread at a time.
  class Iterator {
   public:
    /// The list must outlive the iterator. Starts not Valid().
    explicit Iterator(const SkipList* list) : list_(list) {}

    /// True if the iterator is positioned at a key.
    bool Valid() const { return node_ != nullptr; }
    /// REQUIRES: Valid()
    /// The key at the current position: its first byte, in the node.
    const char* key() const {
      assert(Valid());
      return node_->key();
    }
    /// REQUIRES: Valid()
    /// Moves to the next key (not Valid() after the last).
    void Next() {
      assert(Valid());
      node_ = node_->Next(0);
      // Nodes sit in memory in insertion order, not key order, so a scan
      // misses the cache at each one: start fetching the one after this
      // now, overlapping its miss with the caller's work on this one.
      if (node_ != nullptr) {
        if (Node* after = node_->Next(0); after != nullptr) __builtin_prefetch(after);
      }
    }
    /// REQUIRES: Valid()
    /// Moves to the previous key (not Valid() before the first). O(log n): nodes have no back
    /// pointers.
    void Prev() {
      assert(Valid());
      // No back pointers: search for the last node before this one.
      node_ = list_->FindLessThan(node_->key());
      if (node_ == list_->head_) node_ = nullptr;
    }
    /// Positions at the first key >= target.
    template <typename T>
    void Seek(const T& target) {
      node_ = list_->FindGreaterOrEqual(target, nullptr);
    }
    /// Positions at the first key (not Valid() if the list is empty).
    void SeekToFirst() { node_ = list_->head_->Next(0); }
    /// Positions at the last key (not Valid() if the list is empty).
    void SeekToLast() {
      node_ = list_->FindLast();
      if (node_ == list_->head_) node_ = nullptr;
    }

   private:
    const SkipList* list_;
    Node* node_ = nullptr;
  };

 private:
  using Link = std::atomic<Node*>;

  // A node is one arena allocation: its tower of `height` links, highest
  // level first, then the key's bytes. A Node* points at the level-0 link,
  // so the key starts right after it (a search that follows a level-0 link
  // usually finds the key in the same cache line) and level i is i links
  // before it.
  struct Node {
    char* key() { return reinterpret_cast<char*>(this) + sizeof(Link); }
    const char* key() const { return reinterpret_cast<const char*>(this) + sizeof(Link); }

    Link* link(int level) {
      // Byte arithmetic within the arena block, then the Link that NewNode
      // constructed there.
      return std::launder(reinterpret_cast<Link*>(reinterpret_cast<char*>(this) -
                                                  static_cast<std::ptrdiff_t>(level) *
                                                      static_cast<std::ptrdiff_t>(sizeof(Link))));
    }
    Node* Next(int level) { return link(level)->load(std::memory_order_acquire); }
    void SetNext(int level, Node* x) { link(level)->store(x, std::memory_order_release); }
    Node* NextRelaxed(int level) { return link(level)->load(std::memory_order_relaxed); }
    void SetNextRelaxed(int level, Node* x) { link(level)->store(x, std::memory_order_relaxed); }
  };
  static_assert(std::is_trivially_destructible_v<Link>, "SkipList links are never destroyed");
  static_assert(alignof(Link) <= Arena::kAlign, "Arena::AllocateAligned must suffice for a link");

  struct NewNodeResult {
    Node* node;
    char* tail;  // nullptr unless tail_bytes > 0
  };
  NewNodeResult NewNode(int height, std::size_t key_bytes, std::size_t tail_bytes) {
    const std::size_t node_bytes = sizeof(Link) * static_cast<std::size_t>(height) + key_bytes;
    char* mem = nullptr;
    char* tail = nullptr;
    if (tail_bytes > 0) {
      const Arena::FrontAndTail r = arena_->AllocateAlignedWithTail(node_bytes, tail_bytes);
      mem = r.front;
      tail = r.tail;
    } else {
      mem = arena_->AllocateAligned(node_bytes);
    }
    // Links from the highest level down; the node is the last (level 0).
    auto* links = reinterpret_cast<Link*>(mem);
    for (int i = 0; i < height; ++i) new (&links[i]) Link(nullptr);
    return {reinterpret_cast<Node*>(&links[height - 1]), tail};
  }

  int GetMaxHeight() const { return max_height_.load(std::memory_order_relaxed); }

  // A fast xorshift64* step; writer-only (invariant 6).
  std::uint64_t NextRandom() {
    rng_state_ ^= rng_state_ >> 12;
    rng_state_ ^= rng_state_ << 25;
    rng_state_ ^= rng_state_ >> 27;
    return rng_state_ * 0x2545F4914F6CDD1DULL;
  }

  // Height h with probability (1/kBranching)^(h-1) * (1 - 1/kBranching),
  // capped at kMaxHeight.
  int RandomHeight() {
    std::uint64_t r = NextRandom() >> 32;  // the high bits are the best ones
    int height = 1;
    while (height < kMaxHeight && (r % kBranching) == 0) {
      ++height;
      r /= kBranching;
    }
    return height;
  }

  // The first node with key >= probe, or nullptr. If `prev` is non-null,
  // prev[level] receives the last node before it at each level below the
  // current max height.
  template <typename T>
  Node* FindGreaterOrEqual(const T& probe, Node** prev) const {
    Node* x = head_;
    int level = GetMaxHeight() - 1;
    Node* known_not_less = nullptr;  // a node already found to be >= probe
    while (true) {
      Node* next = x->Next(level);
      // Dropping a level often leads back to the node that stopped us one
      // level up; skip comparing it again.
      if (next != nullptr && next != known_not_less) {
        // The search's next step is either right of `next` or down from
        // x. Each is usually a cache miss: start both now, so they overlap
        // with the one this comparison waits on.
        __builtin_prefetch(next->NextRelaxed(level));
        if (level > 0) __builtin_prefetch(x->NextRelaxed(level - 1));
        if (compare_(next->key(), probe) < 0) {
          x = next;  // still before probe: move right
          continue;
        }
      }
      // next is not before probe (or x is last on this level): go down.
      known_not_less = next;
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      --level;
    }
  }

  // True if `key` belongs right after the last inserted key (invariant 7):
  // then splice_ is already the search result for it at every level.
  template <typename Probe>
  bool SpliceFits(const Probe& probe) const {
    Node* const before = splice_[0];
    if (before != head_ && compare_(before->key(), probe) >= 0) return false;
    Node* const after = before->NextRelaxed(0);  // writer-only: its own stores
    return after == nullptr || compare_(after->key(), probe) > 0;
  }

  // The last node with key < `key`, or head_ if there is none.
  Node* FindLessThan(const char* key) const {
    Node* x = head_;
    int level = GetMaxHeight() - 1;
    while (true) {
      assert(x == head_ || compare_(x->key(), key) < 0);
      Node* next = x->Next(level);
      if (next != nullptr && compare_(next->key(), key) < 0) {
        x = next;
      } else {
        if (level == 0) return x;
        --level;
      }
    }
  }

  // The last node, or head_ if the list is empty.
  Node* FindLast() const {
    Node* x = head_;
    int level = GetMaxHeight() - 1;
    while (true) {
      Node* next = x->Next(level);
      if (next != nullptr) {
        x = next;
      } else {
        if (level == 0) return x;
        --level;
      }
    }
  }

  Comparator const compare_;
  Arena* const arena_;
  Node* const head_;                // sentinel; it has no key
  std::atomic<int> max_height_{1};  // invariant 5
  std::uint64_t rng_state_;         // writer-only
  Node* splice_[kMaxHeight];        // writer-only (invariants 6 and 7)
  Node* pending_ = nullptr;         // writer-only: from AllocateKey, not yet inserted
  int pending_height_ = 0;          // writer-only: pending_'s height
};

}  // namespace kv
