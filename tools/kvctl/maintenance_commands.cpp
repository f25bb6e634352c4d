// kvctl compact and verify, with a progress line on a terminal.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "command.hpp"
#include "progress_line.hpp"

namespace kv::kvctl {
namespace {

// "L0=3 L1=0 L2=5 ..." from the kv.num-files-at-level<N> properties.
std::string FilesPerLevel(DB& db) {
  std::string out;
  for (int level = 0; level < 64; ++level) {
    std::optional<std::string> n = db.GetProperty(absl::StrCat("kv.num-files-at-level", level));
    if (!n) break;
    absl::StrAppend(&out, level == 0 ? "" : " ", "L", level, "=", *n);
  }
  return out;
}

// Runs `show()` once now, on the caller's thread, then every `period` on
// its own thread until destroyed. The first call is synchronous so that
// even work that ends before the thread is first scheduled shows a line.
class Poller {
 public:
  Poller(std::chrono::milliseconds period, std::function<void()> show) {
    show();
    thread_ = std::thread([this, period, show = std::move(show)] {
      std::unique_lock<std::mutex> l(mu_);
      while (!cv_.wait_for(l, period, [this] { return stop_; })) {
        l.unlock();
        show();
        l.lock();
      }
    });
  }
  ~Poller() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

std::string Mib(std::uint64_t bytes) {
  return absl::StrCat(bytes / (1 << 20), ".", (bytes % (1 << 20)) * 10 / (1 << 20), " MiB");
}

}  // namespace

int RunCompact(const Invocation& inv) {
  absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv.args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(inv, db.status());
  DB& d = **db;
  const std::string before = FilesPerLevel(d);
  absl::Status s;
  {
    ProgressLine line(inv.err, inv.term.stderr_is_tty);
    std::optional<Poller> poller;
    const auto start = std::chrono::steady_clock::now();
    if (inv.term.stderr_is_tty) {
      poller.emplace(std::chrono::milliseconds(200), [&] {
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
        line.Show(absl::StrCat("compacting (", secs, " s): ", FilesPerLevel(d)));
      });
    }
    s = d.CompactRange(std::nullopt, std::nullopt);
  }
  if (!s.ok()) return Fail(inv, s);
  inv.out << "compacted: files per level before: " << before << "\n"
          << "                            after: " << FilesPerLevel(d) << "\n";
  return kExitOk;
}

int RunVerify(const Invocation& inv) {
  absl::StatusOr<std::unique_ptr<DB>> db = OpenDb(inv.args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(inv, db.status());
  VerifyProgress last;
  absl::Status s;
  {
    ProgressLine line(inv.err, inv.term.stderr_is_tty);
    VerifyOptions options;
    options.progress = [&](const VerifyProgress& p) {
      last = p;
      line.Show(absl::StrCat("verifying: ", p.files_done, "/", p.files_total, " files, ",
                             Mib(p.bytes_done), " of ", Mib(p.bytes_total), " (", p.current_file,
                             ")"));
    };
    s = (*db)->VerifyChecksums(options);
  }
  if (!s.ok()) return Fail(inv, s);
  inv.out << "OK: " << last.files_done << " table files, " << last.bytes_done
          << " bytes verified\n";
  return kExitOk;
}

}  // namespace kv::kvctl
