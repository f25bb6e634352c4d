// Command-line parsing for kvctl commands; see args.hpp.
#include "args.hpp"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kv/status_macros.hpp"

namespace kv::kvctl {

absl::StatusOr<ParsedArgs> ParseArgs(std::span<const std::string> args,
                                     std::span<const FlagSpec> specs) {
  ParsedArgs parsed;
  bool flags_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '", arg, "'"));
    }
    std::string_view body = std::string_view(arg).substr(2);
    std::optional<std::string> inline_value;
    if (const std::size_t eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == body) spec = &s;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '--", Sv(body), "'"));
    }
    if (parsed.Has(body)) {
      return absl::InvalidArgumentError(absl::StrCat("option '--", Sv(body), "' given twice"));
    }
    std::string value;
    if (spec->takes_value) {
      if (inline_value) {
        value = *std::move(inline_value);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("option '--", Sv(body), "' needs a value"));
      }
    } else if (inline_value) {
      return absl::InvalidArgumentError(absl::StrCat("option '--", Sv(body), "' takes no value"));
    }
    parsed.flags.emplace(std::string(body), std::move(value));
  }
  return parsed;
}

absl::StatusOr<std::uint64_t> ParseCount(std::string_view flag, std::string_view text) {
  std::uint64_t n = 0;
  if (text.empty() || text[0] == '-' || text[0] == '+' || !absl::SimpleAtoi(Sv(text), &n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "option '--", Sv(flag), "' needs a non-negative integer, got '", Sv(text), "'"));
  }
  return n;
}

}  // namespace kv::kvctl
