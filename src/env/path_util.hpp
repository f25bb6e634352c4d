// Lexical path helpers shared by the in-memory and fault-injecting file
// systems (the POSIX one leaves paths to the kernel).
//
//   NormalizePath("/db//x/")  == "/db/x"
//   NormalizePath("./db/x")   == "db/x"
//   ParentDir("/db/x") == "/db", ParentDir("/x") == "/", ParentDir("x") == "."
//   BaseName("/db/x")  == "x"
//
// Only duplicate '/', trailing '/' and leading "./" are rewritten; ".." and
// symbolic links are not resolved. "" normalizes to ".".
#pragma once

#include <string>
#include <string_view>

namespace kv::detail {

inline std::string NormalizePath(std::string_view path) {
  // Drop leading "./" (and "/" runs after it) before copying.
  while (path.size() >= 2 && path[0] == '.' && path[1] == '/') {
    path.remove_prefix(1);
    while (path.size() >= 2 && path[0] == '/' && path[1] == '/') path.remove_prefix(1);
    path.remove_prefix(1);
  }
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out.empty()) out.push_back('.');
  return out;
}

// REQUIRES: `path` is normalized.
inline std::string ParentDir(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// REQUIRES: `path` is normalized.
inline std::string BaseName(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// True for the directories that always exist: "/" and ".".
inline bool IsRootDir(const std::string& normalized) {
  return normalized == "/" || normalized == ".";
}

}  // namespace kv::detail
