// IdleTimer: decides when reads have stopped for a whole period, for
// Options::release_idle_table_pages (db_idle_pages.cpp).
//
// Reads are counted; the first read after a release arms the timer, and
// from then on a check is due every period. A due check that finds reads
// since the previous one starts another period; one that finds none says
// "idle" and disarms until the next read. So "idle" comes between one and
// two periods after the last read, and an unread DB schedules nothing.
//
// Not thread-safe: the DB calls it under its mutex. Times are in
// microseconds of any monotonic clock.
#pragma once

#include <cstdint>

namespace kv::detail {

class IdleTimer {
 public:
  // period_micros 0: never armed, never idle.
  explicit IdleTimer(std::uint64_t period_micros) : period_(period_micros) {}

  // Counts a read. True if the timer needs arming (Arm), which happens on
  // the first read after a release: the caller then reads the clock and
  // wakes whoever runs the checks.
  bool NoteRead() {
    ++reads_;
    return !armed_ && period_ > 0;
  }
  void Arm(std::uint64_t now) {
    armed_ = true;
    next_check_ = now + period_;
  }
  bool armed() const { return armed_; }

  // Microseconds until the next check is due; 0 if due (or not armed).
  std::uint64_t MicrosUntilCheck(std::uint64_t now) const {
    return armed_ && now < next_check_ ? next_check_ - now : 0;
  }

  // Runs the check if one is due: true if no read has come since the
  // previous check (or since arming), a period or more ago. The timer is
  // then disarmed.
  bool CheckIdle(std::uint64_t now) {
    if (!armed_ || now < next_check_) return false;
    next_check_ = now + period_;
    if (reads_ > 0) {
      reads_ = 0;
      return false;
    }
    armed_ = false;
    return true;
  }

 private:
  const std::uint64_t period_;
  std::uint64_t reads_ = 0;  // since the last check
  bool armed_ = false;
  std::uint64_t next_check_ = 0;
};

}  // namespace kv::detail
