// Fuzz target: kv::Block::FromContents and kv::BlockIter.
//
// Input: one mode byte, then mode-specific bytes.
//   mode % 2 == 0  the rest is a block's contents, parsed and walked in both
//                  directions and sought with user-key and internal-key
//                  comparators: only "no crash, no hang, errors are statuses".
//   mode % 2 == 1  keys and values described by the input are built into a
//                  block with kv::BlockBuilder (the next byte's high bit
//                  picks the split layout); the iterator must return
//                  exactly them forward, backward and from every Seek. Then
//                  one byte is changed and the block is walked again
//                  (no crash).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_util.hpp"
#include "kv/block.hpp"
#include "kv/block_builder.hpp"
#include "kv/internal_key.hpp"

namespace {

constexpr int kMaxSteps = 20000;

// Walks the whole block both ways and seeks to `targets`; bounded steps.
void Exercise(const std::shared_ptr<const kv::Block>& block, kv::KeyComparator cmp,
              std::size_t min_key_bytes, const std::vector<std::string>& targets) {
  kv::BlockIter it(block, cmp, nullptr, 0, min_key_bytes);
  int steps = 0;
  for (it.SeekToFirst(); it.Valid() && steps < kMaxSteps; it.Next(), ++steps) {
    KV_FUZZ_CHECK(it.key().size() >= min_key_bytes, "key shorter than the minimum");
  }
  kv::BlockIter back(block, cmp, nullptr, 0, min_key_bytes);
  steps = 0;
  for (back.SeekToLast(); back.Valid() && steps < kMaxSteps; back.Prev(), ++steps) {
  }
  for (const std::string& t : targets) {
    kv::BlockIter s(block, cmp, nullptr, 0, min_key_bytes);
    s.Seek(t);
    for (int i = 0; i < 4 && s.Valid(); ++i) (i % 2 == 0) ? s.Next() : s.Prev();
    KV_FUZZ_CHECK(s.Valid() || s.status().ok() || s.status().code() == absl::StatusCode::kDataLoss,
                  s.status().ToString());
  }
}

void Raw(kv::fuzz::Input& in) {
  std::vector<std::string> targets;
  for (int i = 0; i < 3; ++i) targets.emplace_back(in.ShortString(12));
  auto block = kv::Block::FromContents(in.Rest());
  if (!block.ok()) {
    KV_FUZZ_CHECK(block.status().code() == absl::StatusCode::kDataLoss, block.status().ToString());
    return;
  }
  Exercise(*block, kv::CompareUserKeys, 0, targets);
  for (std::string& t : targets) t.append(8, '\x01');  // internal-key shaped
  Exercise(*block, kv::CompareInternalKeys, kv::kTrailerBytes, targets);
}

void Built(kv::fuzz::Input& in) {
  // The low 7 bits pick the restart interval, the high bit the layout.
  const int shape = in.Byte();
  const int restart_interval = 1 + (shape & 0x7f) % 20;
  const auto layout = (shape & 0x80) != 0 ? kv::BlockLayout::kSplit : kv::BlockLayout::kInterleaved;
  std::map<std::string, std::string> model;
  const int n = in.Byte();
  for (int i = 0; i < n && !in.empty(); ++i) {
    std::string key(in.ShortString(10));
    model[key] = std::string(in.ShortString(20));
  }
  kv::BlockBuilder builder(restart_interval, layout);
  for (const auto& [k, v] : model) builder.Add(k, v);
  std::string contents(builder.Finish());
  auto block = kv::Block::FromContents(contents);
  KV_FUZZ_CHECK(block.ok(), block.status().ToString());

  std::vector<std::pair<std::string, std::string>> expected(model.begin(), model.end());
  kv::BlockIter it(*block, kv::CompareUserKeys);
  std::size_t i = 0;
  for (it.SeekToFirst(); it.Valid(); it.Next(), ++i) {
    KV_FUZZ_CHECK(i < expected.size(), "too many entries forward");
    KV_FUZZ_CHECK(it.key() == expected[i].first && it.value() == expected[i].second,
                  "wrong entry forward at " + std::to_string(i));
  }
  KV_FUZZ_CHECK(it.status().ok() && i == expected.size(), "forward walk short");
  i = expected.size();
  for (it.SeekToLast(); it.Valid(); it.Prev()) {
    KV_FUZZ_CHECK(i > 0, "too many entries backward");
    --i;
    KV_FUZZ_CHECK(it.key() == expected[i].first && it.value() == expected[i].second,
                  "wrong entry backward at " + std::to_string(i));
  }
  KV_FUZZ_CHECK(it.status().ok() && i == 0, "backward walk short");

  // Seeks: every key, something between keys, and input-chosen targets.
  std::vector<std::string> targets;
  for (const auto& [k, v] : model) {
    targets.push_back(k);
    targets.push_back(k + '\0');
  }
  for (int t = 0; t < 4; ++t) targets.emplace_back(in.ShortString(10));
  for (const std::string& t : targets) {
    it.Seek(t);
    auto lb = model.lower_bound(t);
    if (lb == model.end()) {
      KV_FUZZ_CHECK(!it.Valid() && it.status().ok(), "Seek past the end is valid");
      continue;
    }
    KV_FUZZ_CHECK(it.Valid() && it.key() == lb->first && it.value() == lb->second,
                  "Seek landed on the wrong entry");
    it.Prev();
    if (lb == model.begin()) {
      KV_FUZZ_CHECK(!it.Valid(), "Prev before the first entry is valid");
    } else {
      KV_FUZZ_CHECK(it.Valid() && it.key() == std::prev(lb)->first, "Prev after Seek wrong");
    }
  }

  // Damage one byte: must stay memory safe.
  if (!contents.empty()) {
    const std::size_t pos = in.U16() % contents.size();
    contents[pos] = static_cast<char>(contents[pos] ^ (in.Byte() | 1));
    auto bad = kv::Block::FromContents(contents);
    if (bad.ok()) Exercise(*bad, kv::CompareUserKeys, 0, {targets.front()});
  }
}

}  // namespace

KV_FUZZ_ENTRY(block_reader) {
  kv::fuzz::Input in(data, size);
  if (in.Byte() % 2 == 0) {
    Raw(in);
  } else {
    Built(in);
  }
  return 0;
}
