// SnapshotList: the registry of live snapshots (and iterators, which take
// an implicit one), so compaction knows the oldest sequence number and read
// time any reader may still need.
//
// Thread-safety: all methods are thread-safe (own mutex); it is shared with
// every Snapshot handle through a shared_ptr, so a Snapshot released after
// its DB (a user error API.md forbids) still finds a valid registry.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "kv/db.hpp"
#include "kv/internal_key.hpp"
#include "kv/mutex.hpp"

namespace kv::detail {

class SnapshotList : public std::enable_shared_from_this<SnapshotList> {
 public:
  // Registers and returns a snapshot at (sequence, read time).
  std::unique_ptr<const Snapshot> Create(SequenceNumber sequence, std::uint64_t read_time_micros)
      ABSL_LOCKS_EXCLUDED(mu_) {
    Acquire(sequence, read_time_micros);
    return std::unique_ptr<const Snapshot>(
        new Snapshot(shared_from_this(), sequence, read_time_micros));  // private constructor
  }

  // Registers an implicit reader (an iterator) at (sequence, read time).
  void Acquire(SequenceNumber sequence, std::uint64_t read_time_micros) ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    ++live_[{sequence, read_time_micros}];
  }
  void Release(SequenceNumber sequence, std::uint64_t read_time_micros) ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    auto it = live_.find({sequence, read_time_micros});
    if (it != live_.end() && --it->second == 0) live_.erase(it);
  }

  // The oldest (sequence, read time) any live reader holds, or nullopt.
  std::optional<std::pair<SequenceNumber, std::uint64_t>> Oldest() const ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    if (live_.empty()) return std::nullopt;
    return live_.begin()->first;
  }
  // Every live sequence number, ascending (compaction keeps one version per
  // snapshot "stripe").
  std::vector<SequenceNumber> Sequences() const ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    std::vector<SequenceNumber> out;
    for (const auto& [k, n] : live_) {
      if (out.empty() || out.back() != k.first) out.push_back(k.first);
    }
    return out;
  }
  // The earliest read time any live reader judges expiry at, or nullopt.
  std::optional<std::uint64_t> OldestReadTime() const ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    std::optional<std::uint64_t> t;
    for (const auto& [k, n] : live_) t = t ? std::min(*t, k.second) : k.second;
    return t;
  }
  std::size_t size() const ABSL_LOCKS_EXCLUDED(mu_) {
    kv::MutexLock l(&mu_);
    std::size_t n = 0;
    for (const auto& [k, c] : live_) n += c;
    return n;
  }

 private:
  mutable kv::Mutex mu_;
  // (sequence, read time) -> number of holders, ordered oldest first.
  std::map<std::pair<SequenceNumber, std::uint64_t>, int> live_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::detail
