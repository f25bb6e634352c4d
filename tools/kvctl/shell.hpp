// The `kvctl shell` line protocol, separated from stream handling so it can
// be driven one line at a time.
//
//   ShellSession session(db);
//   std::vector<std::string> reply;
//   if (session.Handle("SET \"a key\" value", &reply) == ShellSession::kQuit) ...
//   // reply == {"OK"}
//
// Requests and replies are described in escape.hpp (tokens) and
// docs/KVCTL.md (commands). Every reply line is complete, without a newline.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kv/db.hpp"

namespace kv::kvctl {

class ShellSession {
 public:
  enum Result { kContinue, kQuit };

  // REQUIRES: db outlives the session.
  explicit ShellSession(DB& db) : db_(db) {}

  // Answers one request line (without its newline) into *reply (cleared
  // first). Blank lines and # comments answer nothing.
  Result Handle(std::string_view line, std::vector<std::string>* reply);

 private:
  DB& db_;
};

}  // namespace kv::kvctl
