// kvctl's entry point: the real streams and terminal detection around
// RunKvctl (kvctl.hpp).
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "kvctl.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  kv::kvctl::Terminal term;
  term.stdin_is_tty = isatty(STDIN_FILENO) == 1;
  term.stderr_is_tty = isatty(STDERR_FILENO) == 1;
  const int code = kv::kvctl::RunKvctl(args, std::cin, std::cout, std::cerr, term);
  std::cout.flush();
  return code;
}
