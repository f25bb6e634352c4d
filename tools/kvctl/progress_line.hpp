// A single self-overwriting status line on a terminal (carriage return,
// text, erase to end of line), for kvctl compact and verify. Does nothing
// when disabled (stderr not a terminal), so piped output stays clean.
//
//   ProgressLine line(inv.err, inv.term.stderr_is_tty);
//   line.Show("compacting: L0=3 L1=1");
//   line.Clear();  // before printing the result
//
// Thread-safety: Show/Clear may be called from any thread; calls are
// serialized.
#pragma once

#include <ostream>
#include <string_view>

#include "kv/mutex.hpp"

namespace kv::kvctl {

class ProgressLine {
 public:
  ProgressLine(std::ostream& os, bool enabled) : os_(os), enabled_(enabled) {}
  ~ProgressLine() { Clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void Show(std::string_view text) {
    if (!enabled_) return;
    kv::MutexLock l(&mu_);
    os_ << '\r' << text << "\x1b[K" << std::flush;
    shown_ = true;
  }
  void Clear() {
    if (!enabled_) return;
    kv::MutexLock l(&mu_);
    if (shown_) os_ << "\r\x1b[K" << std::flush;
    shown_ = false;
  }

 private:
  std::ostream& os_;
  const bool enabled_;
  kv::Mutex mu_;
  bool shown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kv::kvctl
