// kvctl: kv's command-line tool, as a library so tests can run it in-process.
//
//   std::istringstream in;
//   std::ostringstream out, err;
//   int code = kv::kvctl::RunKvctl({"get", "./db", "mykey"}, in, out, err);
//
// `args` excludes the program name. Output goes to `out`, diagnostics and
// progress lines to `err`; `in` feeds `kvctl shell`. `term` says which
// streams are terminals (a prompt for the shell, progress lines for compact
// and verify); both false for tests and pipes. Exit codes: see ExitCode and
// docs/KVCTL.md.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace kv::kvctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitNotFound = 1,    // get: no such key
  kExitUsage = 2,       // bad command line
  kExitCorruption = 3,  // a checksum or format check failed (kDataLoss)
  kExitError = 4,       // any other error (I/O, no DB in the directory, ...)
  kExitLocked = 5,      // the DB directory is held by another open DB
};

struct Terminal {
  bool stdin_is_tty = false;   // shell: print a prompt
  bool stderr_is_tty = false;  // compact/verify: print progress lines
};

int RunKvctl(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err, Terminal term = {});

}  // namespace kv::kvctl
