// Shared command plumbing: error reporting, opening the DB, byte arguments.
#include <filesystem>
#include <ostream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "command.hpp"
#include "escape.hpp"

namespace kv::kvctl {

int Fail(const Invocation& inv, const absl::Status& status) {
  inv.err << "kvctl: " << inv.command.name << ": " << EscapeForLine(StdSv(status.message()))
          << "\n";
  switch (status.code()) {
    case absl::StatusCode::kDataLoss:
      return kExitCorruption;
    case absl::StatusCode::kFailedPrecondition:
      return kExitLocked;
    default:
      return kExitError;
  }
}

int UsageError(const Invocation& inv, std::string_view message) {
  inv.err << "kvctl: " << inv.command.name << ": " << message << "\n"
          << "usage: kvctl " << inv.command.synopsis << "\n"
          << "(kvctl help " << inv.command.name << " for details)\n";
  return kExitUsage;
}

int UsageError(const Invocation& inv, const absl::Status& status) {
  return UsageError(inv, StdSv(status.message()));
}

absl::StatusOr<std::unique_ptr<DB>> OpenDb(const std::string& dir, bool create) {
  if (!create) {
    std::error_code ec;
    const std::filesystem::path current = std::filesystem::path(dir) / "CURRENT";
    if (!std::filesystem::is_directory(dir, ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat("no kv database at '", dir, "': no such directory"));
    }
    if (!std::filesystem::exists(current, ec)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no kv database in '", dir, "' (no CURRENT file); only `kvctl put` creates one"));
    }
  }
  Options options;
  options.create_if_missing = create;
  // A command-line session needs little cache.
  options.block_cache_bytes = 8 << 20;
  absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(options, dir);
  if (!db.ok() && absl::IsFailedPrecondition(db.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", dir, "' is in use by another open DB (its LOCK is held): ", db.status().message()));
  }
  return db;
}

absl::StatusOr<std::string> BytesArg(const Invocation& inv, const std::string& arg) {
  if (inv.args.Has("hex-in")) return ParseHex(arg);
  return arg;
}

}  // namespace kv::kvctl
