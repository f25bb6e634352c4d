// Byte-string rendering and parsing for kvctl: how keys and values are shown
// on the command line and spoken in the `kvctl shell` line protocol.
//
// Command output (get, scan, dump-*):
//   DisplayBytes(s, /*force_hex=*/false) is `s` itself when it is "plain
//   text" (IsPlainText: every byte in 0x20..0x7e and not starting with "0x"),
//   else "0x" followed by two lowercase hex digits per byte. "0x" alone is
//   the empty string in hex. With force_hex every string is shown in hex.
//   The rule is unambiguous: a shown string that starts with "0x" is hex.
//
// Command-line input: with --hex-in, arguments are hex (an optional "0x"
// prefix, then pairs of hex digits): ParseHex.
//
// Shell protocol tokens (ShellTokenize / ShellQuote):
//   - Tokens are separated by spaces or tabs.
//   - A bare token is taken literally: any run of bytes other than space and
//     tab that does not start with a double quote.
//   - A quoted token starts and ends with `"`; inside it the escapes
//     \" \\ \n \t \r \0 and \xHH (two hex digits, any byte) are decoded and
//     every other byte stands for itself. `""` is the empty string.
//   - ShellQuote writes a token back: bare when non-empty, every byte in
//     0x21..0x7e and not starting with `"`; otherwise quoted, escaping `"`,
//     `\`, newline, tab and CR by name and every other byte outside
//     0x20..0x7e as \xHH. ShellTokenize(ShellQuote(s)) == {s} for every s.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kv::kvctl {

// Debian's Abseil has its own string_view (e.g. Status::message()).
inline std::string_view StdSv(absl::string_view s) { return {s.data(), s.size()}; }

// True if every byte is in 0x20..0x7e and `s` does not start with "0x".
bool IsPlainText(std::string_view s);
// "0x" + lowercase hex of every byte.
std::string ToHex(std::string_view s);
// `s` when IsPlainText(s) and !force_hex, else ToHex(s).
std::string DisplayBytes(std::string_view s, bool force_hex);
// Decodes an optional "0x" prefix then hex digit pairs (either case).
// kInvalidArgument on an odd length or a non-hex character.
absl::StatusOr<std::string> ParseHex(std::string_view s);

// Splits a shell protocol line into tokens (see the banner).
// kInvalidArgument for an unterminated quote, a bad escape, or a quoted
// token immediately followed by something other than a separator.
absl::StatusOr<std::vector<std::string>> ShellTokenize(std::string_view line);
// One token, bare or quoted (see the banner).
std::string ShellQuote(std::string_view s);
// `s` with every byte outside 0x20..0x7e escaped as in a quoted token, but
// without the surrounding quotes: for one-line error messages.
std::string EscapeForLine(std::string_view s);

}  // namespace kv::kvctl
