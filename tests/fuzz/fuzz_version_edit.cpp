// Fuzz target: kv::detail::VersionEdit::DecodeFrom (MANIFEST records).
//
// Input: the record bytes. A failed decode must be kDataLoss and leave the
// edit cleared. A successful one must round-trip: EncodeTo then DecodeFrom
// gives an equal edit, and encoding that again gives the same bytes.
// DebugString() must not crash on anything decoded.
#include <string>
#include <string_view>

#include "db/version_edit.hpp"
#include "fuzz_util.hpp"

KV_FUZZ_ENTRY(version_edit) {
  using kv::detail::VersionEdit;
  const std::string_view src(reinterpret_cast<const char*>(data), size);
  VersionEdit edit;
  edit.SetLogNumber(99);  // DecodeFrom must replace, not merge
  const absl::Status s = edit.DecodeFrom(src);
  if (!s.ok()) {
    KV_FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss, s.ToString());
    KV_FUZZ_CHECK(edit == VersionEdit(), "a failed decode left data behind");
    return 0;
  }
  (void)edit.DebugString();
  std::string encoded;
  edit.EncodeTo(&encoded);
  VersionEdit again;
  const absl::Status s2 = again.DecodeFrom(encoded);
  KV_FUZZ_CHECK(s2.ok(), "re-encoded edit does not decode: " + s2.ToString());
  KV_FUZZ_CHECK(again == edit, "edit changed in an encode/decode round trip:\n" +
                                   edit.DebugString() + "\nvs\n" + again.DebugString());
  std::string encoded2;
  again.EncodeTo(&encoded2);
  KV_FUZZ_CHECK(encoded2 == encoded, "encoding is not stable");
  return 0;
}
