/// @file
/// Status propagation macros. This Abseil release has none of its own.
///
/// @code
///   KV_RETURN_IF_ERROR(file->Append(data));
///   KV_ASSIGN_OR_RETURN(auto file, fs.NewWritableFile(path));
/// @endcode
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kv {
/// Debian's Abseil is built with its own absl::string_view (not an alias of
/// std::string_view), so absl::StrCat / absl::Status do not take a
/// std::string_view directly: pass Sv(view).
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }
}  // namespace kv

#define KV_CONCAT_INNER_(a, b) a##b
#define KV_CONCAT_(a, b) KV_CONCAT_INNER_(a, b)

/// Evaluates `expr` (an absl::Status) once; returns it from the enclosing
/// function if it is not OK.
#define KV_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status kv_status_ = (expr);      \
    if (!kv_status_.ok()) return kv_status_; \
  } while (false)

/// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status if not OK,
/// otherwise move-assigns its value to `lhs` (which may be a declaration).
#define KV_ASSIGN_OR_RETURN(lhs, rexpr) \
  KV_ASSIGN_OR_RETURN_IMPL_(KV_CONCAT_(kv_statusor_, __LINE__), lhs, rexpr)

#define KV_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                              \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()
