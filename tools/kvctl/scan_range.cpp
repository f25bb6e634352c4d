// A key range walk; see scan_range.hpp.
#include "scan_range.hpp"

#include <algorithm>

namespace kv::kvctl {

absl::Status ForEachInRange(
    DB& db, const ScanRange& range,
    const std::function<void(std::string_view key, std::string_view value)>& visit) {
  std::unique_ptr<Iterator> it = db.NewIterator(ReadOptions{.fill_cache = false});
  std::string start = range.from.value_or("");
  if (range.prefix) start = std::max(start, *range.prefix);
  std::uint64_t seen = 0;
  for (it->Seek(start); it->Valid() && seen < range.limit; it->Next()) {
    const std::string_view key = it->key();
    if (range.to && key >= std::string_view(*range.to)) break;
    if (range.prefix && !key.starts_with(*range.prefix)) break;
    visit(key, it->value());
    ++seen;
  }
  return it->status();
}

}  // namespace kv::kvctl
