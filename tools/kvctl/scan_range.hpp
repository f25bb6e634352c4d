// A key range walk shared by `kvctl scan` and the shell's SCAN.
//
//   ScanRange r{.prefix = "user:", .limit = 10};
//   KV_RETURN_IF_ERROR(ForEachInRange(db, r, [&](auto key, auto value) { ... }));
//
// Visits, in key order, the keys k with from <= k < to (each bound
// optional) that start with `prefix`, at most `limit` of them, from one
// iterator (one point in time). Returns the iterator's error, if any.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "kv/db.hpp"

namespace kv::kvctl {

struct ScanRange {
  std::optional<std::string> from;    // inclusive
  std::optional<std::string> to;      // exclusive
  std::optional<std::string> prefix;  // keys must start with it
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
};

[[nodiscard]] absl::Status ForEachInRange(
    DB& db, const ScanRange& range,
    const std::function<void(std::string_view key, std::string_view value)>& visit);

}  // namespace kv::kvctl
