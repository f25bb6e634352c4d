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
/// Normal builds: plain aliases of absl::Mutex / absl::MutexLock /
/// absl::CondVar, so nothing changes.
///
/// ThreadSanitizer builds (KV_THREAD_SANITIZER, set for gcc's
/// -fsanitize=thread and clang's): Debian's prebuilt Abseil is not
/// TSan-instrumented, and absl::Mutex synchronizes through futexes TSan cannot
/// see, so every field it guards would be reported as racy. Under TSan these
/// names are instead small wrappers of std::mutex / std::condition_variable,
/// whose pthread calls TSan intercepts. They offer only the subset kv uses:
/// Mutex::Lock/Unlock/TryLock/AssertHeld, MutexLock(Mutex*), and
/// CondVar::Wait(Mutex*)/Signal/SignalAll. Both variants carry the Abseil
/// lock annotations, so clang's -Wthread-safety analysis sees the same thing.
///
/// kv and whatever uses these types must be built in the same mode (a
/// TSan-built kv with non-TSan callers would be an ODR violation).
#pragma once

#include "absl/base/thread_annotations.h"

#if defined(__SANITIZE_THREAD__)
/// Defined (as 1) when compiling under ThreadSanitizer; see the file comment.
#define KV_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KV_THREAD_SANITIZER 1
#endif
#endif

#ifndef KV_THREAD_SANITIZER

#include "absl/synchronization/mutex.h"

namespace kv {

/// An exclusive lock: absl::Mutex (a std::mutex wrapper under TSan).
using Mutex = absl::Mutex;
/// Holds a Mutex for its scope: absl::MutexLock (takes a pointer).
using MutexLock = absl::MutexLock;
/// A condition variable used with a kv::Mutex: absl::CondVar.
using CondVar = absl::CondVar;

}  // namespace kv

#else  // KV_THREAD_SANITIZER

#include <cassert>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kv {

class CondVar;

/// A non-recursive exclusive lock (std::mutex) with absl::Mutex's names.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_.lock();
    owner_ = std::this_thread::get_id();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    AssertHeld();
    owner_ = std::thread::id();
    mu_.unlock();
  }
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
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace kv

#endif  // KV_THREAD_SANITIZER
