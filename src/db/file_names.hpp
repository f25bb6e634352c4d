// The names of the files in a kv DB directory, and parsing them back.
//
//   000007.wal        write-ahead log number 7
//   000012.sst        SSTable number 12
//   MANIFEST-000003   version-edit log number 3
//   CURRENT           one line: the name of the live MANIFEST
//   LOCK              held with an OS lock while a DB has the directory open
//   LOG, LOG.old      human-readable event log (rotated on open)
//   000009.tmp        a temporary (CURRENT being replaced)
//   000005.wal.dropped a WAL that recovery found corrupt and did not replay
//                     (kept for inspection; removed by DB::Destroy)
//   000008.sst.orphan  a table the manifest did not name after recovery found
//                     the manifest's tail torn (kept, never read; see db_open.cpp)
//
// All numbered files share one counter (the version set's next file
// number), so a number identifies a file regardless of its kind. Anything
// else in the directory is not kv's and is never touched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "kv/status_macros.hpp"

namespace kv::detail {

enum class FileKind {
  kWal,
  kTable,
  kManifest,
  kCurrent,
  kLock,
  kInfoLog,
  kOldInfoLog,
  kTemp,
  kDroppedWal,
  kOrphanTable
};

inline constexpr std::string_view kCurrentFileName = "CURRENT";
inline constexpr std::string_view kLockFileName = "LOCK";
inline constexpr std::string_view kInfoLogFileName = "LOG";
inline constexpr std::string_view kOldInfoLogFileName = "LOG.old";

inline std::string WalFileName(std::uint64_t number) { return absl::StrFormat("%06d.wal", number); }
inline std::string TableFileName(std::uint64_t number) {
  return absl::StrFormat("%06d.sst", number);
}
inline std::string ManifestFileName(std::uint64_t number) {
  return absl::StrFormat("MANIFEST-%06d", number);
}
inline std::string DroppedWalFileName(std::uint64_t number) {
  return absl::StrFormat("%06d.wal.dropped", number);
}
inline std::string OrphanTableFileName(std::uint64_t number) {
  return absl::StrFormat("%06d.sst.orphan", number);
}
inline std::string TempFileName(std::uint64_t number) {
  return absl::StrFormat("%06d.tmp", number);
}

struct ParsedFileName {
  FileKind kind;
  std::uint64_t number = 0;  // 0 for unnumbered kinds
};

// Recognizes kv's own file names; nullopt for anything else.
inline std::optional<ParsedFileName> ParseFileName(std::string_view name) {
  if (name == kCurrentFileName) return ParsedFileName{FileKind::kCurrent};
  if (name == kLockFileName) return ParsedFileName{FileKind::kLock};
  if (name == kInfoLogFileName) return ParsedFileName{FileKind::kInfoLog};
  if (name == kOldInfoLogFileName) return ParsedFileName{FileKind::kOldInfoLog};
  auto all_digits = [](std::string_view s) {
    if (s.empty() || s.size() > 19) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  std::uint64_t number = 0;
  constexpr std::string_view kManifestPrefix = "MANIFEST-";
  if (name.substr(0, kManifestPrefix.size()) == kManifestPrefix) {
    std::string_view digits = name.substr(kManifestPrefix.size());
    if (!all_digits(digits) || !absl::SimpleAtoi(Sv(digits), &number)) return std::nullopt;
    return ParsedFileName{FileKind::kManifest, number};
  }
  const std::size_t dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view digits = name.substr(0, dot);
  std::string_view suffix = name.substr(dot);
  if (!all_digits(digits) || !absl::SimpleAtoi(Sv(digits), &number)) return std::nullopt;
  if (suffix == ".wal") return ParsedFileName{FileKind::kWal, number};
  if (suffix == ".sst") return ParsedFileName{FileKind::kTable, number};
  if (suffix == ".tmp") return ParsedFileName{FileKind::kTemp, number};
  if (suffix == ".wal.dropped") return ParsedFileName{FileKind::kDroppedWal, number};
  if (suffix == ".sst.orphan") return ParsedFileName{FileKind::kOrphanTable, number};
  return std::nullopt;
}

}  // namespace kv::detail
