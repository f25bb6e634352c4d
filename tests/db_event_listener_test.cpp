// Options::listeners: flush and compaction begin/completed events carry the
// right files and byte counts, callbacks may call back into the DB (no lock
// is held), and a background error is reported once.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "fault_test_util.hpp"
#include "kv/db.hpp"
#include "kv/event_listener.hpp"
#include "kv/fault_injection_fs.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

const std::string kDir = "/db";

// Records every event. Callbacks run on the background thread; the test
// thread reads the records after the DB call that caused them returns.
class Recorder final : public EventListener {
 public:
  struct Event {
    std::string what;
    FlushJobInfo flush;
    CompactionJobInfo compaction;
    absl::Status error;
    bool property_ok = false;  // GetProperty from inside the callback worked
  };

  void OnFlushBegin(const FlushJobInfo& info) override { Add({"flush_begin", info, {}, {}}); }
  void OnFlushCompleted(const FlushJobInfo& info) override {
    Add({"flush_completed", info, {}, {}});
  }
  void OnCompactionBegin(const CompactionJobInfo& info) override {
    Add({"compaction_begin", {}, info, {}});
  }
  void OnCompactionCompleted(const CompactionJobInfo& info) override {
    Add({"compaction_completed", {}, info, {}});
  }
  void OnBackgroundError(const absl::Status& error) override { Add({"error", {}, {}, error}); }

  std::vector<Event> events() {
    std::lock_guard<std::mutex> l(mu_);
    return events_;
  }
  std::atomic<DB*> db{nullptr};

 private:
  void Add(Event e) {
    // Calls back into the DB: deadlocks if the DB held its lock.
    if (DB* d = db.load()) e.property_ok = d->GetProperty("kv.stats").has_value();
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back(std::move(e));
  }
  std::mutex mu_;
  std::vector<Event> events_;
};

TEST_CASE("flush and compaction events, with callbacks calling into the DB") {
  auto fs = test::NewFaultFs();
  auto recorder = std::make_shared<Recorder>();
  Options options;
  options.file_system = fs;
  options.level0_compaction_trigger = 8;  // only CompactRange compacts here
  options.listeners.push_back(recorder);
  auto opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  std::unique_ptr<DB> db = std::move(*opened);
  recorder->db = db.get();

  for (int t = 0; t < 2; ++t) {
    for (int i = 0; i < 500; ++i) REQUIRE_OK(db->Put("key" + std::to_string(i), "value"));
    REQUIRE_OK(db->Flush());
  }
  std::vector<Recorder::Event> events = recorder->events();
  REQUIRE(events.size() == 4);
  for (int t = 0; t < 2; ++t) {
    const auto& begin = events[static_cast<std::size_t>(2 * t)];
    const auto& done = events[static_cast<std::size_t>(2 * t + 1)];
    CHECK(begin.what == "flush_begin");
    CHECK(done.what == "flush_completed");
    CHECK(begin.flush.file_number == done.flush.file_number);
    CHECK(done.flush.entries == 500);
    CHECK(done.flush.file_bytes > 500 * 8);
    CHECK(fs->FileExists(done.flush.file_path));
    CHECK(fs->GetFileSize(done.flush.file_path).value() == done.flush.file_bytes);
    CHECK(done.property_ok);
  }
  const std::uint64_t table_a = events[1].flush.file_number;
  const std::uint64_t table_b = events[3].flush.file_number;

  REQUIRE_OK(db->CompactRange(std::nullopt, std::nullopt));
  events = recorder->events();
  REQUIRE(events.size() >= 6);
  CHECK(events[4].what == "compaction_begin");
  CHECK(events[5].what == "compaction_completed");
  const CompactionJobInfo& c = events[5].compaction;
  CHECK(c.manual);
  CHECK_FALSE(c.trivial_move);
  CHECK(c.input_level == 0);
  CHECK(c.output_level == 1);
  std::vector<std::uint64_t> inputs = c.input_files;
  std::sort(inputs.begin(), inputs.end());
  CHECK(inputs == std::vector<std::uint64_t>{table_a, table_b});
  CHECK(events[4].compaction.input_files == c.input_files);
  REQUIRE(c.output_files.size() == 1);
  CHECK(c.bytes_read == events[1].flush.file_bytes + events[3].flush.file_bytes);
  CHECK(c.bytes_written > 0);
  CHECK(c.bytes_written < c.bytes_read);  // 500 keys overwritten once
  CHECK(events[5].property_ok);
  for (const auto& e : events) CHECK(e.what != "error");
  recorder->db = nullptr;
}

TEST_CASE("a background error is reported once to OnBackgroundError") {
  auto fs = test::NewFaultFs();
  auto recorder = std::make_shared<Recorder>();
  Options options;
  options.file_system = fs;
  options.listeners.push_back(recorder);
  auto opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  std::unique_ptr<DB> db = std::move(*opened);
  REQUIRE_OK(db->Put("k", "v"));
  fs->FailAlways(FaultOp::kNewWritable, ENOSPC, ".sst");
  CHECK_FALSE(db->Flush().ok());
  CHECK_FALSE(db->Put("k2", "v").ok());  // sticky: the same error again, not reported again
  std::vector<Recorder::Event> errors;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    errors.clear();
    for (const auto& e : recorder->events()) {
      if (e.what == "error") errors.push_back(e);
    }
    if (!errors.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a second report would be here
  errors.clear();
  for (const auto& e : recorder->events()) {
    if (e.what == "error") errors.push_back(e);
  }
  REQUIRE(errors.size() == 1);
  CHECK(absl::StrContains(errors[0].error.message(), ".sst"));
  CHECK(db->Get("k").value() == "v");  // reads go on
  fs->ClearFaults();
}

TEST_CASE("no listeners: nothing changes (the default)") {
  auto fs = test::NewFaultFs();
  Options options;
  options.file_system = fs;
  options.listeners.push_back(nullptr);  // tolerated: skipped
  auto opened = DB::Open(options, kDir);
  REQUIRE_OK(opened);
  REQUIRE_OK((*opened)->Put("k", "v"));
  REQUIRE_OK((*opened)->Flush());
}

}  // namespace
}  // namespace kv
