// Turns an errno value into an absl::Status whose message names the path.
//
//   if (::unlink(path.c_str()) != 0) return kv::detail::IoError(path, errno);
//   // -> NotFoundError("/db/000012.log: No such file or directory (errno 2)")
//
// Code mapping (chosen so callers can branch on the code, not the errno):
//   ENOENT                                        -> kNotFound
//   EEXIST                                        -> kAlreadyExists
//   EACCES, EPERM, EROFS                          -> kPermissionDenied
//   ENOSPC, EDQUOT, EFBIG, EMFILE, ENFILE, ENOMEM -> kResourceExhausted
//   EINTR, EAGAIN/EWOULDBLOCK, EBUSY              -> kUnavailable
//   ENOTEMPTY, ENOTDIR, EISDIR, EBADF, EXDEV      -> kFailedPrecondition
//   EINVAL, ENAMETOOLONG, ELOOP                   -> kInvalidArgument
//   ETIMEDOUT                                     -> kDeadlineExceeded
//   ENOSYS, EOPNOTSUPP                            -> kUnimplemented
//   EIO and everything else                       -> kInternal
// kDataLoss is deliberately not produced here: it is reserved for checksum
// and format failures detected by kv itself.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kv/status_macros.hpp"

namespace kv::detail {

// Absl code for an errno value (see the table above).
inline absl::StatusCode ErrnoToCode(int err) {
  switch (err) {
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::StatusCode::kResourceExhausted;
    case EINTR:
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EBUSY:
      return absl::StatusCode::kUnavailable;
    case ENOTEMPTY:
    case ENOTDIR:
    case EISDIR:
    case EBADF:
    case EXDEV:
      return absl::StatusCode::kFailedPrecondition;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
      return absl::StatusCode::kInvalidArgument;
    case ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case ENOSYS:
    case EOPNOTSUPP:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kInternal;
  }
}

// strerror_r comes in a GNU flavour (returns char*) and an XSI flavour
// (returns int); these overloads accept either.
inline const char* StrerrorResult(const char* gnu_result, const char* /*buf*/) {
  return gnu_result;
}
inline const char* StrerrorResult(int xsi_result, const char* buf) {
  return xsi_result == 0 ? buf : "unknown error";
}

// Thread-safe strerror.
inline std::string ErrnoMessage(int err) {
  char buf[128] = {0};
  return StrerrorResult(strerror_r(err, buf, sizeof(buf)), buf);
}

// "<path>: <strerror> (errno N)" with the code from ErrnoToCode.
inline absl::Status IoError(std::string_view context_path, int err) {
  return absl::Status(ErrnoToCode(err), absl::StrCat(Sv(context_path), ": ", ErrnoMessage(err),
                                                     " (errno ", err, ")"));
}

// Same, naming the operation too: "rename /a -> /b: ..." or "open /a: ...".
inline absl::Status IoError(std::string_view op, std::string_view context_path, int err) {
  return absl::Status(ErrnoToCode(err), absl::StrCat(Sv(op), " ", Sv(context_path), ": ",
                                                     ErrnoMessage(err), " (errno ", err, ")"));
}

}  // namespace kv::detail
