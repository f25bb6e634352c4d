// IdleTimer (db/idle_timer.hpp): when reads count as stopped, for
// Options::release_idle_table_pages.
#include <cstdint>

#include <catch2/catch.hpp>

#include "db/idle_timer.hpp"

namespace {

using kv::detail::IdleTimer;

constexpr std::uint64_t kPeriod = 1000;

TEST_CASE("IdleTimer: unread, it is never armed and never idle", "[idle_timer]") {
  IdleTimer t(kPeriod);
  CHECK_FALSE(t.armed());
  CHECK(t.MicrosUntilCheck(0) == 0);
  CHECK_FALSE(t.CheckIdle(0));
  CHECK_FALSE(t.CheckIdle(100 * kPeriod));
}

TEST_CASE("IdleTimer: idle between one and two periods after the last read", "[idle_timer]") {
  IdleTimer t(kPeriod);
  REQUIRE(t.NoteRead());  // the first read asks to be armed
  t.Arm(0);
  CHECK(t.armed());
  CHECK_FALSE(t.NoteRead());  // already armed
  CHECK(t.MicrosUntilCheck(0) == kPeriod);
  CHECK(t.MicrosUntilCheck(kPeriod - 1) == 1);
  CHECK_FALSE(t.CheckIdle(kPeriod - 1));  // not due: nothing changes
  CHECK_FALSE(t.CheckIdle(kPeriod));      // due, but reads came: another period
  CHECK(t.MicrosUntilCheck(kPeriod) == kPeriod);
  CHECK_FALSE(t.CheckIdle(2 * kPeriod - 1));
  CHECK(t.CheckIdle(2 * kPeriod));  // a whole period without a read
  CHECK_FALSE(t.armed());
  CHECK_FALSE(t.CheckIdle(10 * kPeriod));  // disarmed: idle once, not again
  CHECK(t.NoteRead());                     // the next read arms it again
}

TEST_CASE("IdleTimer: a read in every period keeps it from going idle", "[idle_timer]") {
  IdleTimer t(kPeriod);
  REQUIRE(t.NoteRead());
  t.Arm(0);
  for (std::uint64_t k = 1; k <= 20; ++k) {
    (void)t.NoteRead();
    CHECK_FALSE(t.CheckIdle(k * kPeriod));
  }
  CHECK(t.CheckIdle(21 * kPeriod));
}

TEST_CASE("IdleTimer: a late check starts its period from when it ran", "[idle_timer]") {
  IdleTimer t(kPeriod);
  REQUIRE(t.NoteRead());
  t.Arm(0);
  CHECK_FALSE(t.CheckIdle(5 * kPeriod));  // the arming read, seen late
  CHECK(t.MicrosUntilCheck(5 * kPeriod) == kPeriod);
  CHECK_FALSE(t.CheckIdle(6 * kPeriod - 1));
  CHECK(t.CheckIdle(6 * kPeriod));
}

TEST_CASE("IdleTimer: period 0 never arms", "[idle_timer]") {
  IdleTimer t(0);
  CHECK_FALSE(t.NoteRead());
  CHECK_FALSE(t.armed());
  CHECK_FALSE(t.CheckIdle(1'000'000));
}

}  // namespace
