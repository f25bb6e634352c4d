// Small helpers over the FileSystem interface.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "kv/env.hpp"
#include "kv/status_macros.hpp"

namespace kv {

absl::StatusOr<std::string> ReadFileToString(FileSystem& fs, const std::string& path) {
  KV_ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file, fs.NewSequentialFile(path));
  std::string out;
  constexpr std::size_t kChunk = 64 << 10;
  auto scratch = std::make_unique<char[]>(kChunk);
  while (true) {
    KV_ASSIGN_OR_RETURN(std::string_view piece, file->Read(kChunk, scratch.get()));
    if (piece.empty()) break;
    out.append(piece.data(), piece.size());
  }
  return out;
}

absl::Status WriteStringToFile(FileSystem& fs, std::string_view data, const std::string& path,
                               bool sync) {
  KV_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.NewWritableFile(path));
  absl::Status s = file->Append(data);
  if (s.ok() && sync) s = file->Sync();
  absl::Status close = file->Close();
  if (s.ok()) s = close;
  return s;
}

}  // namespace kv
