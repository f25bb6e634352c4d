/// @file
/// kv::Mutex, kv::MutexLock, kv::CondVar: the locking primitives kv uses.
///
/// @code
///   kv::Mutex mu_;
///   int n_ ABSL_GUARDED_BY(mu_);
///   kv::CondVar cv_;
///   { kv::MutexLock l(&mu_); while (n_ == 0) cv_.Wait(&mu_); --n_; }
///   { kv::MutexLock l(&mu_); ++n_; cv_.Signal(); }
/// @endcode
///
/// Small wrappers of std::mutex / std::condition_variable carrying the
/// Abseil lock annotations, so clang's -Wthread-safety analysis checks every
/// ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED in kv. They offer only the
/// subset kv uses: Mutex::Lock/Unlock/TryLock/AssertHeld, MutexLock(Mutex*),
/// and CondVar::Wait(Mutex*)/Signal/SignalAll.
///
/// Why not absl::Mutex: (1) Debian's prebuilt Abseil is compiled without
/// NDEBUG, so absl::Mutex runs its deadlock-cycle detection on every Lock
/// (about 6% of all instructions of a kv_bench readrandom/fillrandom run
/// under callgrind went to it); (2) it is not TSan-instrumented, and it
/// synchronizes through futexes TSan cannot see, so every field it guards
/// would be reported as racy. std::mutex's pthread calls are cheap and TSan
/// intercepts them.
#pragma once

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"

namespace kv {

class CondVar;

/// A non-recursive exclusive lock (std::mutex) with absl::Mutex's names.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  /// Blocks until the calling thread holds the lock (not reentrant).
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.lock();
    owner_ = std::this_thread::get_id();
  }
  /// Releases the lock. REQUIRES: held by the calling thread.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    AssertHeld();
    owner_ = std::thread::id();
    mu_.unlock();
  }
  /// Takes the lock if it is free; true if it did.
  [[nodiscard]] bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    if (!mu_.try_lock()) return false;
    owner_ = std::this_thread::get_id();
    return true;
  }
  /// Asserts (in debug builds) that the calling thread holds the lock.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {
    // owner_ is only written by the thread holding the lock, so reading it
    // equal to our own id is race-free exactly when the assertion holds.
    assert(owner_ == std::this_thread::get_id());
  }

 private:
  friend class CondVar;
  std::mutex mu_;
  std::thread::id owner_;  // holder of mu_, or id() when unlocked
};

/// Holds a Mutex for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  /// Locks `*mu` until this object is destroyed.
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  Mutex* const mu_;
};

/// A condition variable used with a kv::Mutex. Wait may wake spuriously, as
/// absl::CondVar's may: callers loop on their condition.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  /// REQUIRES: *mu is held by the caller; it is released while waiting and
  /// held again on return.
  void Wait(Mutex* mu) {
    mu->AssertHeld();
    mu->owner_ = std::thread::id();
    std::unique_lock<std::mutex> l(mu->mu_, std::adopt_lock);
    cv_.wait(l);
    l.release();  // the caller keeps holding mu
    mu->owner_ = std::this_thread::get_id();
  }
  /// Like Wait, but gives up at `deadline`: true if it returned because the
  /// deadline passed, false if woken (perhaps spuriously) before.
  bool WaitUntil(Mutex* mu, std::chrono::steady_clock::time_point deadline) {
    mu->AssertHeld();
    mu->owner_ = std::thread::id();
    std::unique_lock<std::mutex> l(mu->mu_, std::adopt_lock);
    const bool timed_out = cv_.wait_until(l, deadline) == std::cv_status::timeout;
    l.release();  // the caller keeps holding mu
    mu->owner_ = std::this_thread::get_id();
    return timed_out;
  }
  /// Wakes one waiter, if any.
  void Signal() { cv_.notify_one(); }
  /// Wakes every waiter.
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace kv
