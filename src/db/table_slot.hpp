// TableSlot: where a table's open reader can be pinned to the table's
// FileMetaData, so a read finds it with one atomic load instead of a
// table-cache lookup (a mutex, a hash probe and an LRU splice: 21% of the
// instructions of a Get for an absent key).
//
//   if (const SSTableReader* t = file.table_slot->reader(file.number)) ...;  // readers
//   slot->TryPin(number, reader, budget_token);                              // TableCache
//
// Every copy of a FileMetaData shares its slot (a trivial move copies the
// metadata to the next level and keeps the reader), and the pinned reader
// lives until the last copy dies, which is after the last version naming the
// table is gone: a read that holds a version may use the raw pointer.
// The TableCache decides what to pin and hands in a budget token that is
// released with the reader, which is how it bounds the open files.
//
// Thread-safety: reader()/owner() are lock-free and safe concurrently with
// TryPin; the first TryPin wins and the slot never changes after that.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

namespace kv {
class SSTableReader;
}

namespace kv::detail {

class TableSlot {
 public:
  TableSlot() = default;
  TableSlot(const TableSlot&) = delete;
  TableSlot& operator=(const TableSlot&) = delete;

  // The pinned reader of table `number`, or null if none is pinned (or the
  // slot was pinned for another number, which correct callers never see).
  const SSTableReader* reader(std::uint64_t number) const {
    const SSTableReader* r = reader_.load(std::memory_order_acquire);
    return r != nullptr && number_ == number ? r : nullptr;
  }
  // The owner of the pinned reader, for callers that keep it beyond the
  // version (iterators). REQUIRES: reader(number) returned non-null.
  const std::shared_ptr<SSTableReader>& owner() const { return owner_; }

  // Pins `reader` (of table `number`) unless a reader is already pinned;
  // `budget` is destroyed after the reader, when the slot dies. Returns
  // whether this call pinned.
  bool TryPin(std::uint64_t number, std::shared_ptr<SSTableReader> reader,
              std::shared_ptr<void> budget) {
    if (claimed_.exchange(true, std::memory_order_acq_rel)) return false;
    budget_ = std::move(budget);
    owner_ = std::move(reader);
    number_ = number;
    // Publishes budget_, owner_ and number_ to readers that see the pointer.
    reader_.store(owner_.get(), std::memory_order_release);
    return true;
  }

 private:
  std::atomic<bool> claimed_{false};
  // Written once, by the claiming TryPin, before reader_ is published.
  // budget_ is declared first so that it is released after the reader.
  std::shared_ptr<void> budget_;
  std::shared_ptr<SSTableReader> owner_;
  std::uint64_t number_ = 0;
  std::atomic<const SSTableReader*> reader_{nullptr};
};

// A FileMetaData member: every copy shares one slot, and slots never make two
// FileMetaData values unequal (they are a cache, not what the manifest says).
struct SharedTableSlot {
  std::shared_ptr<TableSlot> slot = std::make_shared<TableSlot>();

  TableSlot* operator->() const { return slot.get(); }
  friend bool operator==(const SharedTableSlot&, const SharedTableSlot&) { return true; }
};

}  // namespace kv::detail
