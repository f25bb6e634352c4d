// RunKvctl: dispatch to a command, and the tool's help.
#include "kvctl.hpp"

#include <iostream>
#include <span>

#include "command.hpp"

namespace kv::kvctl {
namespace {

constexpr std::string_view kToolUsage =
    "usage: kvctl COMMAND DB_DIR [ARGS] [--flags]\n"
    "       kvctl help [COMMAND] | kvctl COMMAND --help\n"
    "\n"
    "Works on a local DB directory that no other process has open (it takes the\n"
    "DB's lock). Only `put` creates a missing DB.\n"
    "\n"
    "Commands:\n";

constexpr std::string_view kExitCodes =
    "\n"
    "Exit codes: 0 ok, 1 key not found, 2 usage error, 3 corruption (data loss),\n"
    "4 other error (I/O, no DB in the directory, ...), 5 DB locked by another process.\n";

void PrintToolHelp(std::ostream& os) {
  os << kToolUsage;
  for (const Command& c : Commands()) {
    std::string name(c.name);
    name.resize(15, ' ');
    os << "  " << name << c.summary << "\n";
  }
  os << kExitCodes;
}

void PrintCommandHelp(std::ostream& os, const Command& c) {
  os << "usage: kvctl " << c.synopsis << "\n\n" << c.summary << ".\n";
  if (!c.details.empty()) os << "\n" << c.details;
}

}  // namespace

int RunKvctl(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err, Terminal term) {
  if (args.empty()) {
    err << "kvctl: no command given\n";
    PrintToolHelp(err);
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h") {
    PrintToolHelp(out);
    return kExitOk;
  }
  if (name == "help") {
    if (args.size() == 1) {
      PrintToolHelp(out);
      return kExitOk;
    }
    const Command* c = FindCommand(args[1]);
    if (c == nullptr || args.size() > 2) {
      err << "kvctl: help: unknown command '" << args[1] << "'\n";
      PrintToolHelp(err);
      return kExitUsage;
    }
    PrintCommandHelp(out, *c);
    return kExitOk;
  }
  const Command* command = FindCommand(name);
  if (command == nullptr) {
    err << "kvctl: unknown command '" << name << "' (see kvctl --help)\n";
    return kExitUsage;
  }
  absl::StatusOr<ParsedArgs> parsed =
      ParseArgs(std::span<const std::string>(args).subspan(1), command->flags);
  Invocation inv{*command, parsed.ok() ? *std::move(parsed) : ParsedArgs{}, in, out, err, term};
  if (!parsed.ok()) return UsageError(inv, parsed.status());
  if (inv.args.help) {
    PrintCommandHelp(out, *command);
    return kExitOk;
  }
  const std::size_t n = inv.args.positional.size();
  if (n < command->min_args) return UsageError(inv, "missing arguments");
  if (n > command->max_args) {
    return UsageError(inv, "too many arguments (quote a key or value holding spaces)");
  }
  return command->run(inv);
}

}  // namespace kv::kvctl
