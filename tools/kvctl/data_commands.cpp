// kvctl get, put, delete, scan and stats.
#include <ostream>

#include "absl/strings/str_cat.h"
#include "command.hpp"
#include "escape.hpp"
#include "scan_range.hpp"

namespace kv::kvctl {

int RunGet(const Invocation& inv) {
  absl::StatusOr<std::string> key = BytesArg(inv, inv.args.positional[1]);
  if (!key.ok()) return UsageError(inv, key.status());
  absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv.args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(inv, db.status());
  std::string value;
  const absl::Status s = (*db)->Get(ReadOptions{}, *key, &value);
  if (absl::IsNotFound(s)) {
    inv.err << "kvctl: get: key " << DisplayBytes(*key, inv.args.Has("hex")) << " not found\n";
    return kExitNotFound;
  }
  if (!s.ok()) return Fail(inv, s);
  if (inv.args.Has("raw")) {
    inv.out.write(value.data(), static_cast<std::streamsize>(value.size()));
  } else {
    inv.out << DisplayBytes(value, inv.args.Has("hex")) << "\n";
  }
  return kExitOk;
}

int RunPut(const Invocation& inv) {
  absl::StatusOr<std::string> key = BytesArg(inv, inv.args.positional[1]);
  if (!key.ok()) return UsageError(inv, key.status());
  absl::StatusOr<std::string> value = BytesArg(inv, inv.args.positional[2]);
  if (!value.ok()) return UsageError(inv, value.status());
  absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv.args.positional[0], /*create=*/true);
  if (!db.ok()) return Fail(inv, db.status());
  const absl::Status s = (*db)->Put(WriteOptions{.sync = inv.args.Has("sync")}, *key, *value);
  if (!s.ok()) return Fail(inv, s);
  return kExitOk;
}

int RunDelete(const Invocation& inv) {
  absl::StatusOr<std::string> key = BytesArg(inv, inv.args.positional[1]);
  if (!key.ok()) return UsageError(inv, key.status());
  absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv.args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(inv, db.status());
  const absl::Status s = (*db)->Delete(WriteOptions{.sync = inv.args.Has("sync")}, *key);
  if (!s.ok()) return Fail(inv, s);
  return kExitOk;
}

int RunScan(const Invocation& inv) {
  ScanRange range;
  for (auto [flag, field] : {std::pair{"from", &range.from}, std::pair{"to", &range.to},
                             std::pair{"prefix", &range.prefix}}) {
    if (std::optional<std::string> v = inv.args.Value(flag)) {
      absl::StatusOr<std::string> bytes = BytesArg(inv, *v);
      if (!bytes.ok()) return UsageError(inv, bytes.status());
      *field = *std::move(bytes);
    }
  }
  if (std::optional<std::string> v = inv.args.Value("limit")) {
    absl::StatusOr<std::uint64_t> n = ParseCount("limit", *v);
    if (!n.ok()) return UsageError(inv, n.status());
    range.limit = *n;
  }
  absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv.args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(inv, db.status());
  const bool hex = inv.args.Has("hex");
  const bool keys_only = inv.args.Has("keys-only");
  const absl::Status s =
      ForEachInRange(**db, range, [&](std::string_view key, std::string_view value) {
        inv.out << DisplayBytes(key, hex);
        if (!keys_only) inv.out << '\t' << DisplayBytes(value, hex);
        inv.out << '\n';
      });
  if (!s.ok()) return Fail(inv, s);
  return kExitOk;
}

int RunStats(const Invocation& inv) {
  absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv.args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(inv, db.status());
  std::optional<std::string> stats = (*db)->GetProperty("kv.stats");
  if (!stats) return Fail(inv, absl::InternalError("the DB has no kv.stats property"));
  inv.out << *stats;
  if (!stats->empty() && stats->back() != '\n') inv.out << '\n';
  return kExitOk;
}

}  // namespace kv::kvctl
