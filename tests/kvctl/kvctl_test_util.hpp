// Helpers for kvctl's tests: run kvctl in-process and capture its output,
// or run the real binary (KVCTL_PATH, set by tools/CMakeLists.txt).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kvctl/kvctl.hpp"

namespace kv::kvctl::test {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

inline Result Run(const std::vector<std::string>& args, const std::string& input = "",
                  Terminal term = {}) {
  std::istringstream in(input);
  std::ostringstream out, err;
  Result r;
  r.code = RunKvctl(args, in, out, err, term);
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline std::string ShellQuoteArg(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// Runs the kvctl binary with `args` and `input` on stdin; captures stdout
// (stderr is discarded) and the exit code.
inline Result RunBinary(const std::vector<std::string>& args, const std::string& input,
                        const std::filesystem::path& scratch_dir) {
  const std::filesystem::path in_path = scratch_dir / "kvctl_stdin.txt";
  {
    std::ofstream f(in_path, std::ios::binary);
    f << input;
  }
  std::string cmd = ShellQuoteArg(KVCTL_PATH);
  for (const std::string& a : args) cmd += " " + ShellQuoteArg(a);
  cmd += " < " + ShellQuoteArg(in_path.string()) + " 2>/dev/null";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace kv::kvctl::test
