// Fuzz target: kv::detail::WriteBatchInternal::Iterate (WAL record payloads)
// and ResolveTtl.
//
// Input: a write batch's encoding. Iterate must return OK or
// kInvalidArgument. When OK, the entries it reported, re-encoded in the
// documented layout, must decode to the same entries; SetContents +
// ResolveTtl (no default TTL) must keep them unchanged.
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fuzz_util.hpp"
#include "kv/coding.hpp"
#include "kv/write_batch.hpp"
#include "kv/write_batch_internal.hpp"

namespace {

using Entry = std::tuple<char, std::string, std::string, std::uint64_t>;  // op, key, value, expiry

class Recorder final : public kv::detail::BatchHandler {
 public:
  void Put(std::string_view key, std::string_view value, std::uint64_t expiry) override {
    entries.emplace_back('P', std::string(key), std::string(value), expiry);
  }
  void Delete(std::string_view key) override {
    entries.emplace_back('D', std::string(key), std::string(), 0);
  }
  std::vector<Entry> entries;
};

std::string Encode(std::uint64_t seq, const std::vector<Entry>& entries) {
  std::string rep;
  kv::PutFixed64(&rep, seq);
  kv::PutFixed32(&rep, static_cast<std::uint32_t>(entries.size()));
  for (const auto& [op, key, value, expiry] : entries) {
    if (op == 'D') {
      rep.push_back(static_cast<char>(kv::detail::kTagDelete));
      kv::PutLengthPrefixed(&rep, key);
    } else {
      rep.push_back(
          static_cast<char>(expiry == 0 ? kv::detail::kTagPut : kv::detail::kTagPutExpiring));
      kv::PutLengthPrefixed(&rep, key);
      kv::PutLengthPrefixed(&rep, value);
      if (expiry != 0) kv::PutFixed64(&rep, expiry);
    }
  }
  return rep;
}

}  // namespace

KV_FUZZ_ENTRY(write_batch) {
  using kv::detail::WriteBatchInternal;
  const std::string_view contents(reinterpret_cast<const char*>(data), size);
  Recorder rec;
  const absl::Status s = WriteBatchInternal::Iterate(contents, &rec);
  if (!s.ok()) {
    KV_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s.ToString());
    return 0;
  }
  KV_FUZZ_CHECK(contents.size() >= kv::detail::kBatchHeaderBytes, "short batch accepted");
  KV_FUZZ_CHECK(rec.entries.size() == kv::DecodeFixed32(contents.data() + 8), "count mismatch");

  // Re-encode canonically and decode again.
  const std::string rep = Encode(kv::DecodeFixed64(contents.data()), rec.entries);
  Recorder again;
  KV_FUZZ_CHECK(WriteBatchInternal::Iterate(rep, &again).ok(), "re-encoded batch rejected");
  KV_FUZZ_CHECK(again.entries == rec.entries, "entries changed in a round trip");

  // What the DB does with a replayed batch's contents.
  kv::WriteBatch batch;
  KV_FUZZ_CHECK(WriteBatchInternal::SetContents(&batch, contents).ok(), "SetContents");
  KV_FUZZ_CHECK(WriteBatchInternal::Count(batch) == rec.entries.size(), "Count");
  kv::WriteBatch resolved;
  const absl::Status r = WriteBatchInternal::ResolveTtl(batch, 0, 1'000'000, &resolved);
  KV_FUZZ_CHECK(r.ok(), "ResolveTtl rejected a valid batch: " + r.ToString());
  Recorder after;
  KV_FUZZ_CHECK(WriteBatchInternal::Iterate(WriteBatchInternal::Contents(resolved), &after).ok(),
                "resolved batch rejected");
  KV_FUZZ_CHECK(after.entries == rec.entries, "ResolveTtl without a TTL changed entries");
  return 0;
}
