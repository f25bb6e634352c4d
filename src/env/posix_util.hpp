// Small POSIX helpers shared by the POSIX file system's files: EINTR retry
// and closing a descriptor.
//
//   const int fd = RetryOnEintr([&] { return ::open(p, O_RDONLY | O_CLOEXEC); });
//   ...
//   CloseFd(fd);
#pragma once

#include <unistd.h>

#include <cerrno>

namespace kv::detail {

// Retries `fn` while it fails with EINTR (returns -1 with errno EINTR).
template <typename Fn>
auto RetryOnEintr(Fn fn) {
  decltype(fn()) r;
  do {
    r = fn();
  } while (r == -1 && errno == EINTR);
  return r;
}

// Closes `fd`, ignoring errors. close() must not be retried on EINTR on
// Linux: the descriptor is gone either way.
inline void CloseFd(int fd) { ::close(fd); }

}  // namespace kv::detail
