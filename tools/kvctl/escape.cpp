// Byte-string rendering and shell-protocol quoting; see escape.hpp.
#include "escape.hpp"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kv::kvctl {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

bool InRange(char c, int lo, int hi) {
  const int b = static_cast<unsigned char>(c);
  return b >= lo && b <= hi;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendHexByte(std::string* out, char c) {
  const auto b = static_cast<unsigned char>(c);
  out->push_back(kHexDigits[b >> 4]);
  out->push_back(kHexDigits[b & 0xf]);
}

// Appends `s` with the quoted-token escapes (quotes themselves escaped only
// when `escape_quote`).
void AppendEscaped(std::string* out, std::string_view s, bool escape_quote) {
  for (char c : s) {
    switch (c) {
      case '"':
        out->append(escape_quote ? "\\\"" : "\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        if (InRange(c, 0x20, 0x7e)) {
          out->push_back(c);
        } else {
          out->append("\\x");
          AppendHexByte(out, c);
        }
    }
  }
}

}  // namespace

bool IsPlainText(std::string_view s) {
  if (s.starts_with("0x")) return false;
  for (char c : s) {
    if (!InRange(c, 0x20, 0x7e)) return false;
  }
  return true;
}

std::string ToHex(std::string_view s) {
  std::string out = "0x";
  out.reserve(2 + 2 * s.size());
  for (char c : s) AppendHexByte(&out, c);
  return out;
}

std::string DisplayBytes(std::string_view s, bool force_hex) {
  if (!force_hex && IsPlainText(s)) return std::string(s);
  return ToHex(s);
}

absl::StatusOr<std::string> ParseHex(std::string_view s) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  if (s.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex string has an odd number of digits: '", EscapeForLine(s), "'"));
  }
  std::string out;
  out.reserve(s.size() / 2);
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = HexValue(s[i]);
    const int lo = HexValue(s[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat("not a hex string: '", EscapeForLine(s), "'"));
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ShellTokenize(std::string_view line) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  auto is_sep = [](char c) { return c == ' ' || c == '\t'; };
  while (true) {
    while (i < line.size() && is_sep(line[i])) ++i;
    if (i == line.size()) break;
    std::string token;
    if (line[i] != '"') {
      while (i < line.size() && !is_sep(line[i])) token.push_back(line[i++]);
      tokens.push_back(std::move(token));
      continue;
    }
    const std::size_t start = i++;
    bool closed = false;
    while (i < line.size()) {
      const char c = line[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c != '\\') {
        token.push_back(c);
        continue;
      }
      if (i == line.size()) break;
      const char e = line[i++];
      switch (e) {
        case '"':
        case '\\':
          token.push_back(e);
          break;
        case 'n':
          token.push_back('\n');
          break;
        case 't':
          token.push_back('\t');
          break;
        case 'r':
          token.push_back('\r');
          break;
        case '0':
          token.push_back('\0');
          break;
        case 'x': {
          const int hi = i < line.size() ? HexValue(line[i]) : -1;
          const int lo = i + 1 < line.size() ? HexValue(line[i + 1]) : -1;
          if (hi < 0 || lo < 0) {
            return absl::InvalidArgumentError(
                absl::StrCat("bad \\x escape (two hex digits expected) at column ", i - 1));
          }
          token.push_back(static_cast<char>((hi << 4) | lo));
          i += 2;
          break;
        }
        default:
          return absl::InvalidArgumentError(absl::StrCat(
              "unknown escape '\\", EscapeForLine(std::string_view(&e, 1)), "' at column ", i - 1));
      }
    }
    if (!closed) {
      return absl::InvalidArgumentError(
          absl::StrCat("unterminated quoted token starting at column ", start + 1));
    }
    if (i < line.size() && !is_sep(line[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("a closing quote must be followed by a space (column ", i + 1, ")"));
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

std::string ShellQuote(std::string_view s) {
  bool bare = !s.empty() && s.front() != '"';
  for (char c : s) {
    if (!InRange(c, 0x21, 0x7e)) {
      bare = false;
      break;
    }
  }
  if (bare) return std::string(s);
  std::string out = "\"";
  AppendEscaped(&out, s, /*escape_quote=*/true);
  out.push_back('"');
  return out;
}

std::string EscapeForLine(std::string_view s) {
  std::string out;
  AppendEscaped(&out, s, /*escape_quote=*/false);
  return out;
}

}  // namespace kv::kvctl
