// kv_bench workloads: see workloads.hpp for the semantics.
#include "workloads.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "key_permutation.hpp"
#include "kv/status_macros.hpp"

namespace kv::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kValuePoolBytes = 1 << 20;
constexpr int kSeekNexts = 10;
constexpr int kReadWhileWritingReaders = 3;
// Scans time one step in this many. A step costs ~100 ns, about what a pair
// of clock reads costs here, so timing every step would halve every engine's
// measured scan rate and pull their ratios toward 1. The sampled latencies
// keep their percentiles; ops/s comes from the whole scan's wall time.
constexpr std::uint64_t kScanTimingStride = 16;

std::uint64_t NanosSince(Clock::time_point t0) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

bool IsReadWorkload(const std::string& name) {
  return name == "readrandom" || name == "readmissing" || name == "readseq" ||
         name == "readreverse" || name == "seekrandom" || name == "readwhilewriting" ||
         name == "mixed";
}

}  // namespace

const std::vector<std::string>& AllWorkloads() {
  static const std::vector<std::string> kAll = {
      "fillseq",      "fillrandom",  "overwrite",  "readrandom",       "readmissing",
      "readseq",      "readreverse", "seekrandom", "readwhilewriting", "mixed",
      "deleterandom", "fillsync",    "fillsync4",  "fillsync16"};
  return kAll;
}

Runner::Runner(BenchConfig config) : config_(std::move(config)) {
  std::mt19937_64 rng(config_.seed ^ 0x5eedull);
  value_pool_.resize(kValuePoolBytes + static_cast<std::size_t>(config_.value_size));
  for (char& c : value_pool_) c = static_cast<char>(rng());
}

absl::Status Runner::Open() { return Reopen(/*fresh=*/false); }

absl::Status Runner::Reopen(bool fresh) {
  engine_.reset();
  if (fresh) {
    std::error_code ec;
    std::filesystem::remove_all(config_.db, ec);
    if (ec)
      return absl::InternalError(absl::StrCat("rm -r ", config_.db.string(), ": ", ec.message()));
    filled_ = false;
    dirty_ = false;
  }
  KV_ASSIGN_OR_RETURN(engine_, OpenEngine(config_.engine, config_.settings, config_.db));
  return absl::OkStatus();
}

std::string Runner::Key(std::uint64_t n) const {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%0*llu", config_.key_size, static_cast<unsigned long long>(n));
  return std::string(buf);
}

std::string_view Runner::Value(std::uint64_t* pos) const {
  const std::size_t at = static_cast<std::size_t>(*pos % kValuePoolBytes);
  *pos += static_cast<std::uint64_t>(config_.value_size) * 7 + 13;
  return std::string_view(value_pool_).substr(at, static_cast<std::size_t>(config_.value_size));
}

template <typename Fn>
absl::Status Runner::RunThreads(int threads, Fn fn, WorkloadResult* r) {
  std::vector<Histogram> hists(static_cast<std::size_t>(threads));
  std::vector<std::uint64_t> ops(static_cast<std::size_t>(threads), 0);
  std::vector<absl::Status> status(static_cast<std::size_t>(threads));
  const Clock::time_point t0 = Clock::now();
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t) {
      const auto i = static_cast<std::size_t>(t);
      pool.emplace_back([&, t, i] { status[i] = fn(t, &hists[i], &ops[i]); });
    }
  }
  r->seconds = static_cast<double>(NanosSince(t0)) / 1e9;
  for (std::size_t i = 0; i < hists.size(); ++i) {
    r->latency.Merge(hists[i]);
    r->ops += ops[i];
    KV_RETURN_IF_ERROR(status[i]);
  }
  return absl::OkStatus();
}

absl::Status Runner::Settle(std::unique_ptr<WorkloadResult>* settle) {
  auto r = std::make_unique<WorkloadResult>();
  r->name = "settle";
  const Clock::time_point t0 = Clock::now();
  KV_RETURN_IF_ERROR(engine_->Settle());
  r->seconds = static_cast<double>(NanosSince(t0)) / 1e9;
  r->ops = 1;
  r->note = "flush + compact whole range, waited for";
  dirty_ = false;
  if (db_bytes_after_fill_ == 0) db_bytes_after_fill_ = DirectoryBytes(config_.db.string());
  *settle = std::move(r);
  return absl::OkStatus();
}

absl::StatusOr<WorkloadResult> Runner::Run(const std::string& name,
                                           std::unique_ptr<WorkloadResult>* settle) {
  WorkloadResult r;
  r.name = name;
  const std::uint64_t num = config_.num;
  const int threads = std::max(1, config_.threads);
  const std::uint64_t per_thread =
      std::max<std::uint64_t>(1, num / static_cast<std::uint64_t>(threads));
  Engine* e = engine_.get();
  const std::uint64_t seed = config_.seed + std::hash<std::string>{}(name);

  const bool needs_data = IsReadWorkload(name) || name == "overwrite" || name == "deleterandom";
  if (needs_data && !filled_) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, " needs a filled DB: run fillseq or fillrandom before it"));
  }
  if (IsReadWorkload(name) && dirty_) KV_RETURN_IF_ERROR(Settle(settle));

  // Random puts/gets/deletes over the present keys, `per_thread` per thread.
  auto random_ops = [&](int t, Histogram* h, std::uint64_t* ops, auto op) -> absl::Status {
    std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
    std::uint64_t vpos = rng();
    std::string value;
    for (std::uint64_t i = 0; i < per_thread; ++i) {
      const std::uint64_t k = rng() % num;
      const Clock::time_point t0 = Clock::now();
      KV_RETURN_IF_ERROR(op(k, rng, &vpos, &value));
      h->Add(NanosSince(t0));
      ++*ops;
    }
    return absl::OkStatus();
  };
  std::atomic<std::uint64_t> found{0};

  if (name == "fillseq" || name == "fillrandom") {
    KV_RETURN_IF_ERROR(Reopen(/*fresh=*/true));
    e = engine_.get();
    const bool random_order = name == "fillrandom";
    const KeyPermutation permutation(num, seed);  // no shuffled vector: see key_permutation.hpp
    KV_RETURN_IF_ERROR(RunThreads(
        1,
        [&](int, Histogram* h, std::uint64_t* ops) -> absl::Status {
          std::uint64_t vpos = 0;
          for (std::uint64_t i = 0; i < num; ++i) {
            const std::string key = Key(2 * (random_order ? permutation(i) : i));
            const Clock::time_point t0 = Clock::now();
            KV_RETURN_IF_ERROR(e->Put(key, Value(&vpos), false));
            h->Add(NanosSince(t0));
            ++*ops;
          }
          return absl::OkStatus();
        },
        &r));
    filled_ = true;
    dirty_ = true;
    r.note = name == "fillrandom" ? "every key once, random order" : "";
  } else if (name == "overwrite" || name == "deleterandom") {
    const bool del = name == "deleterandom";
    KV_RETURN_IF_ERROR(RunThreads(
        threads,
        [&](int t, Histogram* h, std::uint64_t* ops) {
          return random_ops(t, h, ops,
                            [&](std::uint64_t k, auto&, std::uint64_t* vpos, std::string*) {
                              const std::string key = Key(2 * k);
                              return del ? e->Delete(key, false) : e->Put(key, Value(vpos), false);
                            });
        },
        &r));
    dirty_ = true;
  } else if (name == "readrandom" || name == "readmissing") {
    const std::uint64_t odd = name == "readmissing" ? 1 : 0;
    KV_RETURN_IF_ERROR(RunThreads(
        threads,
        [&](int t, Histogram* h, std::uint64_t* ops) {
          return random_ops(t, h, ops, [&](std::uint64_t k, auto&, std::uint64_t*, std::string* v) {
            KV_ASSIGN_OR_RETURN(bool hit, e->Get(Key(2 * k + odd), v));
            if (hit) found.fetch_add(1, std::memory_order_relaxed);
            return absl::OkStatus();
          });
        },
        &r));
    r.note = absl::StrCat(found.load(), " of ", r.ops, " found");
  } else if (name == "readseq" || name == "readreverse") {
    const bool fwd = name == "readseq";
    KV_RETURN_IF_ERROR(RunThreads(
        1,
        [&](int, Histogram* h, std::uint64_t* ops) -> absl::Status {
          std::unique_ptr<Cursor> c = e->NewCursor();
          std::uint64_t bytes = 0;
          auto step = [&] { fwd ? c->Next() : c->Prev(); };
          fwd ? c->SeekToFirst() : c->SeekToLast();
          while (c->Valid() && *ops < num) {
            bytes += c->key().size() + c->value().size();
            if (*ops % kScanTimingStride == 0) {
              const Clock::time_point t0 = Clock::now();
              step();
              h->Add(NanosSince(t0));
            } else {
              step();
            }
            ++*ops;
          }
          KV_RETURN_IF_ERROR(c->status());
          if (bytes == 0 && num > 0) return absl::InternalError("scan found nothing");
          return absl::OkStatus();
        },
        &r));
  } else if (name == "seekrandom") {
    KV_RETURN_IF_ERROR(RunThreads(
        threads,
        [&](int t, Histogram* h, std::uint64_t* ops) {
          std::unique_ptr<Cursor> c = e->NewCursor();
          return random_ops(t, h, ops, [&](std::uint64_t k, auto&, std::uint64_t*, std::string*) {
            c->Seek(Key(2 * k));
            if (c->Valid()) found.fetch_add(1, std::memory_order_relaxed);
            for (int n = 0; n < kSeekNexts && c->Valid(); ++n) c->Next();
            return c->status();
          });
        },
        &r));
    r.note = absl::StrCat("Seek + ", kSeekNexts, " Next; one cursor per thread");
  } else if (name == "readwhilewriting") {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> writes{0};
    Clock::time_point wt0 = Clock::now();
    double writer_seconds = 0;
    absl::Status writer_status;
    std::jthread writer([&] {
      std::mt19937_64 rng(seed + 1000);
      std::uint64_t vpos = rng();
      wt0 = Clock::now();
      while (!stop.load(std::memory_order_relaxed)) {
        writer_status = e->Put(Key(2 * (rng() % num)), Value(&vpos), false);
        if (!writer_status.ok()) break;
        writes.fetch_add(1, std::memory_order_relaxed);
      }
      writer_seconds = static_cast<double>(NanosSince(wt0)) / 1e9;
    });
    const std::uint64_t reads_each = std::max<std::uint64_t>(1, num / kReadWhileWritingReaders);
    absl::Status readers = RunThreads(
        kReadWhileWritingReaders,
        [&](int t, Histogram* h, std::uint64_t* ops) -> absl::Status {
          std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
          std::string v;
          for (std::uint64_t i = 0; i < reads_each; ++i) {
            const std::string key = Key(2 * (rng() % num));
            const Clock::time_point t0 = Clock::now();
            KV_ASSIGN_OR_RETURN(bool hit, e->Get(key, &v));
            h->Add(NanosSince(t0));
            if (hit) found.fetch_add(1, std::memory_order_relaxed);
            ++*ops;
          }
          return absl::OkStatus();
        },
        &r);
    stop.store(true);
    writer.join();
    KV_RETURN_IF_ERROR(readers);
    KV_RETURN_IF_ERROR(writer_status);
    r.writer_ops_per_sec =
        writer_seconds > 0 ? static_cast<double>(writes.load()) / writer_seconds : 0;
    r.note = absl::StrFormat("%d readers (ops/s and latency are theirs), 1 writer: %.0f puts/s",
                             kReadWhileWritingReaders, r.writer_ops_per_sec);
    dirty_ = true;
  } else if (name == "mixed") {
    KV_RETURN_IF_ERROR(RunThreads(
        threads,
        [&](int t, Histogram* h, std::uint64_t* ops) {
          return random_ops(
              t, h, ops,
              [&](std::uint64_t k, auto& rng, std::uint64_t* vpos, std::string* v) -> absl::Status {
                const std::string key = Key(2 * k);
                if (rng() & 1) return e->Put(key, Value(vpos), false);
                KV_ASSIGN_OR_RETURN(bool hit, e->Get(key, v));
                if (hit) found.fetch_add(1, std::memory_order_relaxed);
                return absl::OkStatus();
              });
        },
        &r));
    r.note = "50% Get / 50% Put of existing keys";
    dirty_ = true;
  } else if (name == "fillsync" || name == "fillsync4" || name == "fillsync16") {
    const int sync_threads = name == "fillsync" ? 1 : name == "fillsync4" ? 4 : 16;
    KV_RETURN_IF_ERROR(Reopen(/*fresh=*/true));
    e = engine_.get();
    const std::uint64_t each =
        std::max<std::uint64_t>(1, config_.sync_ops / static_cast<std::uint64_t>(sync_threads));
    const SyncCounts before = CurrentSyncCounts();
    KV_RETURN_IF_ERROR(RunThreads(
        sync_threads,
        [&](int t, Histogram* h, std::uint64_t* ops) -> absl::Status {
          std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
          std::uint64_t vpos = rng();
          for (std::uint64_t i = 0; i < each; ++i) {
            const std::string key = Key(2 * (rng() % num));
            const Clock::time_point t0 = Clock::now();
            KV_RETURN_IF_ERROR(e->Put(key, Value(&vpos), true));
            h->Add(NanosSince(t0));
            ++*ops;
          }
          return absl::OkStatus();
        },
        &r));
    const SyncCounts after = CurrentSyncCounts();
    r.syncs_per_write = r.ops == 0 ? 0
                                   : static_cast<double>(after.total() - before.total()) /
                                         static_cast<double>(r.ops);
    r.note = absl::StrFormat("%d thread(s), sync=true; %d fdatasync + %d fsync calls", sync_threads,
                             after.fdatasync - before.fdatasync, after.fsync - before.fsync);
    // The fresh DB holds only sync_ops keys: later reads would be meaningless.
    filled_ = false;
    dirty_ = true;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown workload '", name, "'"));
  }
  return r;
}

}  // namespace kv::bench
