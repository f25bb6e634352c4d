// kvctl shell: the line protocol over one open DB; see shell.hpp.
#include "shell.hpp"

#include <istream>
#include <ostream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "command.hpp"
#include "escape.hpp"
#include "scan_range.hpp"

namespace kv::kvctl {
namespace {

constexpr std::string_view kShellHelp[] = {
    "SET key value          -> OK",
    "GET key                -> VALUE value | NOT_FOUND",
    "DEL key                -> OK",
    "SCAN [prefix [limit]]  -> KEY key VALUE value ... END",
    "QUIT | EXIT            -> ends the session",
    "tokens: bare, or \"double quoted\" with \\\" \\\\ \\n \\t \\r \\0 \\xHH",
};

std::string Err(std::string_view message) { return absl::StrCat("ERR ", EscapeForLine(message)); }

std::string ArityError(std::string_view usage) {
  return Err(absl::StrCat("wrong number of arguments; usage: ", Sv(usage)));
}

}  // namespace

ShellSession::Result ShellSession::Handle(std::string_view line, std::vector<std::string>* reply) {
  reply->clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF input
  const std::size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos || line[first] == '#') return kContinue;
  absl::StatusOr<std::vector<std::string>> tokens = ShellTokenize(line);
  if (!tokens.ok()) {
    reply->push_back(Err(StdSv(tokens.status().message())));
    return kContinue;
  }
  const std::vector<std::string>& t = *tokens;
  if (t.empty()) return kContinue;
  const std::string cmd = absl::AsciiStrToUpper(t[0]);
  const std::size_t n = t.size() - 1;
  if (cmd == "QUIT" || cmd == "EXIT") return kQuit;
  if (cmd == "HELP") {
    for (std::string_view h : kShellHelp) reply->emplace_back(h);
    reply->emplace_back("END");
    return kContinue;
  }
  if (cmd == "SET") {
    if (n != 2) {
      reply->push_back(ArityError("SET key value"));
      return kContinue;
    }
    const absl::Status s = db_.Put(t[1], t[2]);
    reply->push_back(s.ok() ? "OK" : Err(s.ToString()));
    return kContinue;
  }
  if (cmd == "GET") {
    if (n != 1) {
      reply->push_back(ArityError("GET key"));
      return kContinue;
    }
    std::string value;
    const absl::Status s = db_.Get(ReadOptions{}, t[1], &value);
    if (absl::IsNotFound(s)) {
      reply->push_back("NOT_FOUND");
    } else if (!s.ok()) {
      reply->push_back(Err(s.ToString()));
    } else {
      reply->push_back(absl::StrCat("VALUE ", ShellQuote(value)));
    }
    return kContinue;
  }
  if (cmd == "DEL") {
    if (n != 1) {
      reply->push_back(ArityError("DEL key"));
      return kContinue;
    }
    const absl::Status s = db_.Delete(t[1]);
    reply->push_back(s.ok() ? "OK" : Err(s.ToString()));
    return kContinue;
  }
  if (cmd == "SCAN") {
    if (n > 2) {
      reply->push_back(ArityError("SCAN [prefix [limit]]"));
      return kContinue;
    }
    ScanRange range;
    if (n >= 1) range.prefix = t[1];
    if (n == 2) {
      std::uint64_t limit = 0;
      if (t[2].empty() || t[2][0] == '-' || t[2][0] == '+' || !absl::SimpleAtoi(t[2], &limit)) {
        reply->push_back(Err(absl::StrCat("SCAN limit must be a non-negative integer, got '",
                                          EscapeForLine(t[2]), "'")));
        return kContinue;
      }
      range.limit = limit;
    }
    std::vector<std::string> lines;
    const absl::Status s = ForEachInRange(db_, range, [&](auto key, auto value) {
      lines.push_back(absl::StrCat("KEY ", ShellQuote(key), " VALUE ", ShellQuote(value)));
    });
    if (!s.ok()) {
      reply->push_back(Err(s.ToString()));
    } else {
      *reply = std::move(lines);
      reply->emplace_back("END");
    }
    return kContinue;
  }
  reply->push_back(Err(absl::StrCat("unknown command '", EscapeForLine(t[0]),
                                    "' (SET, GET, DEL, SCAN, HELP, QUIT)")));
  return kContinue;
}

int RunShell(const Invocation& inv) {
  absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv.args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(inv, db.status());
  ShellSession session(**db);
  const bool prompt = inv.term.stdin_is_tty;
  std::string line;
  std::vector<std::string> reply;
  while (true) {
    if (prompt) inv.out << "kv> " << std::flush;
    if (!std::getline(inv.in, line)) break;
    const ShellSession::Result r = session.Handle(line, &reply);
    for (const std::string& l : reply) inv.out << l << '\n';
    inv.out.flush();
    if (r == ShellSession::kQuit) break;
  }
  if (prompt) inv.out << "\n";
  return kExitOk;
}

}  // namespace kv::kvctl
