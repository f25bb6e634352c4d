// DB properties: kv.stats (human-readable), kv.num-files-at-level<N>, and
// kv.prometheus (every metric in the Prometheus text exposition format).
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/db_impl.hpp"

namespace kv::detail {

std::optional<std::string> DBImpl::GetProperty(std::string_view name) {
  constexpr std::string_view kFilesAtLevel = "kv.num-files-at-level";
  if (name.substr(0, kFilesAtLevel.size()) == kFilesAtLevel) {
    int level = 0;
    if (!absl::SimpleAtoi(Sv(name.substr(kFilesAtLevel.size())), &level) || level < 0 ||
        level >= options_.num_levels) {
      return std::nullopt;
    }
    kv::MutexLock l(&mu_);
    return absl::StrCat(versions_->current()->NumFiles(level));
  }
  if (name == "kv.stats") return StatsString();
  if (name == "kv.prometheus") return PrometheusText();
  return std::nullopt;
}

std::string DBImpl::StatsString() {
  const DBStats& st = stats_;
  auto g = [](const DBStats::Counter& c) { return DBStats::Get(c); };
  std::string out;
  std::uint64_t table_bytes_written = 0;
  {
    kv::MutexLock l(&mu_);
    const std::shared_ptr<const Version> v = versions_->current();
    absl::StrAppend(&out, "Level  Files  Size(MiB)  Read(MiB)  Written(MiB)\n");
    for (int level = 0; level < v->num_levels(); ++level) {
      const auto lv = static_cast<std::size_t>(level);
      absl::StrAppendFormat(&out, "L%-5d %5d %10.2f %10.2f %13.2f\n", level, v->NumFiles(level),
                            static_cast<double>(v->LevelBytes(level)) / 1048576.0,
                            static_cast<double>(level_bytes_read_[lv]) / 1048576.0,
                            static_cast<double>(level_bytes_written_[lv]) / 1048576.0);
      table_bytes_written += level_bytes_written_[lv];
    }
    absl::StrAppend(&out, "Memtable bytes: ", mem_->ApproximateMemoryUsage(),
                    imm_ != nullptr ? " (+ one immutable memtable being flushed)" : "", "\n");
    absl::StrAppend(&out, "Last sequence: ", versions_->last_sequence(),
                    ", live WAL: ", wal_number_, ", live snapshots/iterators: ", snapshots_->size(),
                    "\n");
    if (!bg_error_.ok()) absl::StrAppend(&out, "Background error: ", bg_error_.ToString(), "\n");
  }
  const std::uint64_t user_bytes = g(st.bytes_written);
  absl::StrAppend(&out, "Writes: ", g(st.writes), " (", g(st.write_entries),
                  " entries: ", g(st.puts), " puts, ", g(st.deletes), " deletes), ", user_bytes,
                  " user bytes, ", g(st.write_errors), " failed\n");
  const std::uint64_t records = g(st.wal_records);
  absl::StrAppendFormat(&out, "WAL: %d records, %d bytes, %d syncs, %.2f writers per group\n",
                        records, g(st.wal_bytes), g(st.wal_syncs),
                        records == 0 ? 0.0
                                     : static_cast<double>(g(st.group_commit_writers)) /
                                           static_cast<double>(records));
  absl::StrAppend(&out, "Reads: ", g(st.gets), " gets (", g(st.get_hits), " found), ",
                  g(st.iterators_created), " iterators\n");
  absl::StrAppend(&out, "Flushes: ", g(st.flushes), " (", g(st.flush_bytes_written),
                  " bytes); compactions: ", g(st.compactions), " (read ",
                  g(st.compaction_bytes_read), " bytes, wrote ", g(st.compaction_bytes_written),
                  " bytes), trivial moves: ", g(st.trivial_moves), "\n");
  absl::StrAppendFormat(
      &out, "Write amplification (table bytes written / user bytes): %.2f\n",
      user_bytes == 0 ? 0.0
                      : static_cast<double>(table_bytes_written) / static_cast<double>(user_bytes));
  absl::StrAppend(&out, "Stalls: ", g(st.stall_count), " stops (", g(st.stall_micros), " us), ",
                  g(st.slowdown_count), " slowdowns (", g(st.slowdown_micros), " us)\n");
  absl::StrAppend(&out, "Recovery: ", g(st.recovered_records), " WAL records replayed, ",
                  g(st.recovery_torn_tail_bytes), " torn-tail bytes dropped, ",
                  g(st.recovery_dropped_bytes), " bytes dropped as corruption, ",
                  g(st.manifest_torn_tail_bytes), " manifest torn-tail bytes (",
                  g(st.orphan_tables_kept), " unreferenced tables kept as .sst.orphan)\n");
  absl::StrAppend(&out, "Background errors: ", g(st.background_errors), "\n");
  return out;
}

namespace {
void AppendMetric(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help, std::uint64_t value) {
  absl::StrAppend(out, "# HELP kv_", Sv(name), " ", Sv(help), "\n# TYPE kv_", Sv(name), " ",
                  Sv(type), "\nkv_", Sv(name), " ", value, "\n");
}
}  // namespace

std::string DBImpl::PrometheusText() {
  const DBStats& st = stats_;
  auto g = [](const DBStats::Counter& c) { return DBStats::Get(c); };
  std::string out;
  AppendMetric(&out, "writes_total", "counter", "Successful write calls (Put, Delete, Write).",
               g(st.writes));
  AppendMetric(&out, "puts_total", "counter", "Put entries written.", g(st.puts));
  AppendMetric(&out, "deletes_total", "counter", "Delete entries written.", g(st.deletes));
  AppendMetric(&out, "write_errors_total", "counter", "Write calls that failed.",
               g(st.write_errors));
  AppendMetric(&out, "user_bytes_written_total", "counter", "User key and value bytes written.",
               g(st.bytes_written));
  AppendMetric(&out, "wal_records_total", "counter", "WAL records (one per write group).",
               g(st.wal_records));
  AppendMetric(&out, "wal_bytes_total", "counter", "Bytes appended to WALs.", g(st.wal_bytes));
  AppendMetric(&out, "wal_syncs_total", "counter", "fdatasync calls on WAL files.",
               g(st.wal_syncs));
  AppendMetric(&out, "group_commit_writers_total", "counter",
               "Writers served by group commits (divide by wal_records_total for group size).",
               g(st.group_commit_writers));
  AppendMetric(&out, "gets_total", "counter", "Get calls.", g(st.gets));
  AppendMetric(&out, "get_hits_total", "counter", "Get calls that found a value.", g(st.get_hits));
  AppendMetric(&out, "bytes_read_total", "counter", "Value bytes returned by Get.",
               g(st.bytes_read));
  AppendMetric(&out, "iterators_created_total", "counter", "Iterators created.",
               g(st.iterators_created));
  AppendMetric(&out, "flushes_total", "counter", "Memtable flushes.", g(st.flushes));
  AppendMetric(&out, "flush_bytes_written_total", "counter", "Table bytes written by flushes.",
               g(st.flush_bytes_written));
  AppendMetric(&out, "compactions_total", "counter", "Compactions run.", g(st.compactions));
  AppendMetric(&out, "compaction_bytes_read_total", "counter", "Bytes read by compactions.",
               g(st.compaction_bytes_read));
  AppendMetric(&out, "compaction_bytes_written_total", "counter", "Bytes written by compactions.",
               g(st.compaction_bytes_written));
  AppendMetric(&out, "stalls_total", "counter", "Writes stopped until background work caught up.",
               g(st.stall_count));
  AppendMetric(&out, "stall_micros_total", "counter", "Microseconds writes spent stopped.",
               g(st.stall_micros));
  AppendMetric(&out, "slowdowns_total", "counter", "Writes delayed by the L0 slowdown trigger.",
               g(st.slowdown_count));
  AppendMetric(&out, "slowdown_micros_total", "counter", "Microseconds of slowdown delays.",
               g(st.slowdown_micros));
  AppendMetric(&out, "recovery_dropped_bytes_total", "counter",
               "WAL bytes recovery dropped as corruption.", g(st.recovery_dropped_bytes));
  AppendMetric(&out, "background_errors_total", "counter", "Sticky background errors.",
               g(st.background_errors));
  kv::MutexLock l(&mu_);
  AppendMetric(&out, "memtable_bytes", "gauge", "Bytes held by the active memtable.",
               mem_->ApproximateMemoryUsage());
  const std::shared_ptr<const Version> v = versions_->current();
  absl::StrAppend(&out, "# HELP kv_level_files SSTables per level.\n# TYPE kv_level_files gauge\n");
  for (int level = 0; level < v->num_levels(); ++level) {
    absl::StrAppend(&out, "kv_level_files{level=\"", level, "\"} ", v->NumFiles(level), "\n");
  }
  absl::StrAppend(&out,
                  "# HELP kv_level_bytes Table bytes per level.\n# TYPE kv_level_bytes gauge\n");
  for (int level = 0; level < v->num_levels(); ++level) {
    absl::StrAppend(&out, "kv_level_bytes{level=\"", level, "\"} ", v->LevelBytes(level), "\n");
  }
  return out;
}

}  // namespace kv::detail
