// Command-line parsing for kvctl commands: positional arguments plus
// --flags declared per command.
//
//   static constexpr FlagSpec kFlags[] = {{"limit", true}, {"hex", false}};
//   absl::StatusOr<ParsedArgs> a = ParseArgs(args, kFlags);
//   if (a->Has("hex")) ...; std::optional<std::string> n = a->Value("limit");
//
// Accepted forms: `--name value`, `--name=value` (flags with a value),
// `--name` (switches), `-h`/`--help` (always), and `--` ending the flags
// (everything after it is positional, e.g. a key starting with "--"). Flags
// may appear anywhere among the positionals. A lone "-" is positional.
// Errors (unknown flag, missing value, a value given to a switch, a repeated
// flag) are kInvalidArgument: the caller reports them as usage errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kv::kvctl {

struct FlagSpec {
  std::string_view name;  // without the leading "--"
  bool takes_value = false;
};

struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> flags;  // switches map to ""
  bool help = false;

  bool Has(std::string_view name) const { return flags.find(name) != flags.end(); }
  std::optional<std::string> Value(std::string_view name) const {
    auto it = flags.find(name);
    if (it == flags.end()) return std::nullopt;
    return it->second;
  }
};

absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args,
                                     std::span<const FlagSpec> specs);

// A non-negative decimal integer (for --limit and the like).
absl::StatusOr<std::uint64_t> ParseCount(std::string_view flag, std::string_view text);

}  // namespace kv::kvctl
