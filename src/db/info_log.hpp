// InfoLog: the human-readable LOG file of a DB directory.
//
//   2026/11/21-20:51:07.123456 recovered 3 WALs: 1200 records, 0 bytes dropped
//
// Rotated on open (LOG -> LOG.old). Writing it never fails an operation:
// if the file cannot be opened or written, lines are dropped silently.
// Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kv/env.hpp"
#include "kv/mutex.hpp"

namespace kv::detail {

class InfoLog {
 public:
  // Opens `dir`/LOG for appending after renaming an existing one to LOG.old.
  InfoLog(FileSystem& fs, const std::string& dir, std::shared_ptr<Clock> clock)
      : clock_(std::move(clock)) {
    const std::string path = JoinPath(dir, "LOG");
    if (fs.FileExists(path)) (void)fs.RenameFile(path, JoinPath(dir, "LOG.old"));
    auto file = fs.NewWritableFile(path);
    if (file.ok()) file_ = std::move(file).value();
  }
  ~InfoLog() {
    kv::MutexLock l(&mu_);
    if (file_ != nullptr) (void)file_->Close();
  }

  // Appends one timestamped line (a newline is added). A multi-line
  // message (a version summary, say) stays one line: its line breaks become
  // "; ", so every line of the file starts with a timestamp.
  template <typename... Args>
  void Log(const Args&... args) ABSL_LOCKS_EXCLUDED(mu_) {
    const absl::Time now = absl::FromUnixMicros(static_cast<std::int64_t>(clock_->NowMicros()));
    std::string message = absl::StrCat(args...);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    absl::StrReplaceAll({{"\n", "; "}}, &message);
    std::string line = absl::StrCat(
        absl::FormatTime("%Y/%m/%d-%H:%M:%E6S ", now, absl::UTCTimeZone()), message, "\n");
    kv::MutexLock l(&mu_);
    if (file_ != nullptr) (void)file_->Append(line);
  }

 private:
  std::shared_ptr<Clock> clock_;
  kv::Mutex mu_;
  std::unique_ptr<WritableFile> file_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kv::detail
