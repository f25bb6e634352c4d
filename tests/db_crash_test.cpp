// Crash test: a child process writes batches from several threads and
// reports each acknowledged batch to the parent through a pipe; the parent
// SIGKILLs it at a random moment, reopens the DB, and checks that every
// acknowledged batch is present and that every batch is all-or-nothing.
//
// Each batch b writes keys "b<id>-0".."b<id>-<n-1>" (all with value "<id>")
// and a marker key "batch<id>", so atomicity is checkable per batch.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kv/db.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

constexpr int kKeysPerBatch = 5;

std::string BatchKey(std::uint64_t id, int i) {
  return "b" + std::to_string(id) + "-" + std::to_string(i);
}
std::string MarkerKey(std::uint64_t id) { return "batch" + std::to_string(id); }

// The child: writes forever (until killed), from 3 threads, ids disjoint
// per round and thread. Writes each acknowledged id to `ack_fd`.
[[noreturn]] void ChildWriter(const std::string& dir, int ack_fd, std::uint64_t round) {
  Options options{.memtable_bytes = 32 << 10,
                  .level0_compaction_trigger = 2,
                  .level1_target_bytes = 64 << 10,
                  .target_file_bytes = 32 << 10};
  auto db = DB::Open(options, dir);
  if (!db.ok()) _exit(3);
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t n = 0;; ++n) {
        const std::uint64_t id = (round << 32) | (t << 28) | n;
        WriteBatch batch;
        for (int i = 0; i < kKeysPerBatch; ++i) batch.Put(BatchKey(id, i), std::to_string(id));
        batch.Put(MarkerKey(id), std::to_string(id));
        if (!(*db)->Write(WriteOptions{.sync = n % 16 == 0}, batch).ok()) _exit(4);
        char buf[8];
        EncodeFixed64(buf, id);
        if (write(ack_fd, buf, 8) != 8) _exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  _exit(0);
}

TEST_CASE("crash: SIGKILL at random points loses no acknowledged batch", "[db][crash]") {
  test::TempDir tmp;
  const std::string dir = tmp.str() + "/db";
  std::mt19937_64 rng(test::TestSeed());
  std::set<std::uint64_t> acknowledged;
  constexpr int kRounds = 6;
  for (std::uint64_t round = 1; round <= kRounds; ++round) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      ChildWriter(dir, fds[1], round);
    }
    close(fds[1]);
    // Let it run for a random while, reading acks as they come.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(100 + rng() % 400);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    std::string pending;
    auto drain = [&] {
      char buf[4096];
      while (true) {
        const ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        pending.append(buf, static_cast<std::size_t>(n));
      }
      while (pending.size() >= 8) {
        acknowledged.insert(DecodeFixed64(pending.data()));
        pending.erase(0, 8);
      }
    };
    while (std::chrono::steady_clock::now() < deadline) {
      drain();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));  // it was still writing, not failed
    drain();                       // acks written before the kill
    close(fds[0]);

    auto db = DB::Open({}, dir);
    REQUIRE_OK(db);
    // Every acknowledged batch is present in full.
    for (std::uint64_t id : acknowledged) {
      auto marker = (*db)->Get(MarkerKey(id));
      INFO("batch " << id);
      REQUIRE_OK(marker);
    }
    // Every batch present is present in full (all-or-nothing).
    std::size_t batches_seen = 0;
    auto it = (*db)->NewIterator();
    for (it->Seek("batch"); it->Valid() && it->key().substr(0, 5) == "batch"; it->Next()) {
      const std::uint64_t id = std::stoull(std::string(it->value()));
      REQUIRE(it->key() == MarkerKey(id));
      for (int i = 0; i < kKeysPerBatch; ++i) {
        auto v = (*db)->Get(BatchKey(id, i));
        REQUIRE_OK(v);
        REQUIRE(*v == std::to_string(id));
      }
      ++batches_seen;
    }
    REQUIRE_OK(it->status());
    REQUIRE(batches_seen >= acknowledged.size());
    // Keys without a marker would be a torn batch.
    std::size_t keys = 0;
    for (it->Seek("b"); it->Valid() && it->key().substr(0, 5) != "batch"; it->Next()) ++keys;
    REQUIRE(keys == batches_seen * kKeysPerBatch);
  }
  INFO("acknowledged batches: " << acknowledged.size());
  REQUIRE(acknowledged.size() > 0);
}

}  // namespace
}  // namespace kv
