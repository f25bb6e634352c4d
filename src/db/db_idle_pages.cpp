// Options::release_idle_table_pages: dropping the mapped pages of tables
// once reads have stopped.
//
// A read through a table's mapping leaves the pages it touched (64 KiB
// around each, by the kernel's fault-around) counted in the process's
// resident set until the table is deleted. After a read-heavy phase that is
// the whole DB, and it stays counted through any length of writes. So while
// read pages may be mapped, the background thread checks every period
// whether a read has started since its last check; if none has, it drops
// the page table entries of every current table (madvise MADV_DONTNEED: the
// data stays in the page cache). Reads never wait for this and never see a
// difference but a minor fault.
//
// Reads are counted in PinReadView, which holds mu_ anyway, so a Get pays
// one increment. Tables held only by an older version (an open iterator)
// are left alone: they are on their way out.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>

#include "db/db_impl.hpp"

namespace kv::detail {

void DBImpl::NoteReadForIdlePagesLocked() {
  if (!read_idle_timer_.NoteRead()) return;
  read_idle_timer_.Arm(clock_->MonotonicMicros());
  bg_cv_.SignalAll();  // the background thread may be in an untimed wait
}

void DBImpl::WaitForBackgroundWorkLocked() {
  if (!read_idle_timer_.armed()) {
    bg_cv_.Wait(&mu_);
    return;
  }
  const std::uint64_t wait_micros = read_idle_timer_.MicrosUntilCheck(clock_->MonotonicMicros());
  // The wait is in real time, at most one period: Options::clock may be a
  // test's manual clock, which moves on its own schedule.
  const auto longest =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.release_idle_table_pages);
  const auto wait = std::min(std::chrono::microseconds(wait_micros), longest);
  if (wait.count() == 0 || bg_cv_.WaitUntil(&mu_, std::chrono::steady_clock::now() + wait)) {
    MaybeReleaseIdleTablePagesLocked();
  }
}

void DBImpl::MaybeReleaseIdleTablePagesLocked() {
  if (!read_idle_timer_.CheckIdle(clock_->MonotonicMicros())) return;
  const std::shared_ptr<const Version> version = versions_->current();
  mu_.Unlock();
  for (int level = 0; level < version->num_levels(); ++level) {
    for (const auto& file : version->files(level)) table_cache_->ReleaseMappedPages(*file);
  }
  mu_.Lock();
  DBStats::Add(stats_.idle_table_page_releases);
}

}  // namespace kv::detail
