// ReaderHorizon: who can still read which versions, as the flush and
// compaction drop rules need it.
//
// Readers are the live snapshots and iterators (each a sequence number and
// a read time) plus "now". The live snapshot sequences cut the sequence
// space into stripes; every reader sees the same newest version of a key
// within one stripe, so of several versions of a key in one stripe only the
// newest needs to be kept.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kv/internal_key.hpp"

namespace kv::detail {

struct ReaderHorizon {
  std::vector<SequenceNumber> snapshots;    // ascending
  std::uint64_t expiry_horizon_micros = 0;  // expired before this for every reader

  // Index of the stripe holding `seq`: the first snapshot >= seq, or
  // snapshots.size() for the stripe only "now" sees.
  std::size_t Stripe(SequenceNumber seq) const {
    return static_cast<std::size_t>(std::lower_bound(snapshots.begin(), snapshots.end(), seq) -
                                    snapshots.begin());
  }
  // True if every reader sees `seq` or something newer.
  bool InOldestStripe(SequenceNumber seq) const { return Stripe(seq) == 0; }
  // True if a version at `older` is hidden from every reader by a version of
  // the same key at `newer` (> older).
  bool Shadows(SequenceNumber newer, SequenceNumber older) const {
    return Stripe(newer) == Stripe(older);
  }
};

}  // namespace kv::detail
