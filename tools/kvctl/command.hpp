// What every kvctl command shares: its invocation (parsed arguments and
// streams), the command table entry, error reporting that maps a status to
// an exit code, and opening the DB.
//
//   int RunGet(const Invocation& inv) {
//     absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv, inv.args.positional[0], false);
//     if (!db.ok()) return Fail(inv, db.status());
//     ...
//   }
//
// Command functions are called by RunKvctl after ParseArgs succeeded, the
// positional count was checked against [min_args, max_args], and --help was
// handled; they print results to inv.out and errors (via Fail/UsageError) to
// inv.err, and return an ExitCode.
#pragma once

#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "args.hpp"
#include "kv/db.hpp"
#include "kvctl.hpp"

namespace kv::kvctl {

struct Command;

struct Invocation {
  const Command& command;
  ParsedArgs args;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  Terminal term;
};

struct Command {
  std::string_view name;
  std::string_view synopsis;  // e.g. "get DB_DIR KEY [--hex] [--raw] [--hex-in]"
  std::string_view summary;   // one line for `kvctl --help`
  std::string_view details;   // the rest of `kvctl help NAME`
  std::span<const FlagSpec> flags;
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  int (*run)(const Invocation&) = nullptr;
};

// The command table, in help order.
std::span<const Command> Commands();
const Command* FindCommand(std::string_view name);

// Prints "kvctl: NAME: message" and returns the exit code for the status:
// kDataLoss 3, kFailedPrecondition 5, anything else 4 (a missing file too:
// exit code 1 is kept for `get` of an absent key).
int Fail(const Invocation& inv, const absl::Status& status);
// Prints "kvctl: NAME: message" and the command's synopsis; returns 2.
int UsageError(const Invocation& inv, std::string_view message);
int UsageError(const Invocation& inv, const absl::Status& status);

// Opens the DB in `dir`. Unless `create`, a directory without a DB is an
// error (kInvalidArgument "no kv database in ...") and nothing is created.
// A directory held by another DB is kFailedPrecondition with a hint.
absl::StatusOr<std::unique_ptr<DB>> OpenDb(const std::string& dir, bool create);

// A key/value/bound argument: itself, or decoded from hex with --hex-in.
absl::StatusOr<std::string> BytesArg(const Invocation& inv, const std::string& arg);

// The commands.
int RunGet(const Invocation& inv);
int RunPut(const Invocation& inv);
int RunDelete(const Invocation& inv);
int RunScan(const Invocation& inv);
int RunStats(const Invocation& inv);
int RunCompact(const Invocation& inv);
int RunVerify(const Invocation& inv);
int RunDumpSst(const Invocation& inv);
int RunDumpWal(const Invocation& inv);
int RunDumpManifest(const Invocation& inv);
int RunShell(const Invocation& inv);

}  // namespace kv::kvctl
