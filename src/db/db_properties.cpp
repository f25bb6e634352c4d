// DB properties: kv.stats (human-readable), kv.num-files-at-level<N>, and
// kv.prometheus (every metric in the Prometheus text exposition format).
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/db_impl.hpp"
#include "db/prometheus_writer.hpp"

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
  auto g = [](const auto& c) { return DBStats::Get(c); };
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
                    imm_ != nullptr ? " (+ one immutable memtable being flushed)" : "",
                    ", kept for reuse: ", MemTableBlocksKeptBytes(),
                    ", cleared ahead: ", MemTableBlocksPrefaultedBytes(), "\n");
    absl::StrAppend(&out, "Last sequence: ", versions_->last_sequence(),
                    ", live WAL: ", WalFileName(wal_number_),
                    ", live snapshots/iterators: ", snapshots_->size(), "\n");
    if (!bg_error_.ok()) absl::StrAppend(&out, "Background error: ", bg_error_.ToString(), "\n");
  }
  const std::uint64_t user_bytes = g(st.bytes_written);
  absl::StrAppend(&out, "Writes: ", g(st.writes), " (", g(st.write_entries),
                  " entries: ", g(st.puts), " puts, ", g(st.deletes), " deletes), ", user_bytes,
                  " user bytes, ", g(st.write_errors), " failed\n");
  const std::uint64_t records = g(st.wal_records);
  absl::StrAppendFormat(
      &out,
      "WAL: %d records, %d bytes, %d syncs, %.2f writers per group, %d sync groups gathered\n",
      records, g(st.wal_bytes), g(st.wal_syncs),
      records == 0 ? 0.0
                   : static_cast<double>(g(st.group_commit_writers)) / static_cast<double>(records),
      g(st.sync_gathers));
  absl::StrAppend(&out, "Reads: ", g(st.gets), " gets (", g(st.get_hits), " found), ",
                  g(st.iterators_created), " iterators\n");
  absl::StrAppend(&out, "Table readers: ", table_cache_->pinned_readers(), " pinned, ",
                  table_cache_->lru_readers(), " in the LRU; mapped pages released ",
                  g(st.idle_table_page_releases), " times after reads stopped\n");
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

std::string DBImpl::PrometheusText() {
  const DBStats& st = stats_;
  auto g = [](const auto& c) { return DBStats::Get(c); };
  PrometheusWriter out;
  // Operations.
  out.Counter("writes_total", "Successful write calls (Put, Delete, Write).", g(st.writes));
  out.Counter("puts_total", "Put entries written.", g(st.puts));
  out.Counter("deletes_total", "Delete entries written.", g(st.deletes));
  out.Counter("write_errors_total", "Write calls that failed.", g(st.write_errors));
  out.Counter("gets_total", "Get calls.", g(st.gets));
  out.Counter("get_hits_total", "Get calls that found a value.", g(st.get_hits));
  out.Counter("iterators_created_total", "Iterators created.", g(st.iterators_created));
  out.Counter("idle_table_page_releases_total",
              "Times every table's mapped pages were released after reads stopped.",
              g(st.idle_table_page_releases));
  // Bytes.
  out.Counter("user_bytes_written_total", "User key and value bytes written.", g(st.bytes_written));
  out.Counter("bytes_read_total", "Value bytes returned by Get.", g(st.bytes_read));
  // WAL and group commit.
  out.Counter("wal_records_total", "WAL records (one per write group).", g(st.wal_records));
  out.Counter("wal_bytes_total", "Bytes appended to WALs.", g(st.wal_bytes));
  out.Counter("wal_syncs_total", "fdatasync calls on WAL files.", g(st.wal_syncs));
  out.Counter("sync_group_gathers_total",
              "Sync write leaders that waited briefly for the writers of the last group.",
              g(st.sync_gathers));
  out.Counter("group_commit_writers_total",
              "Writers served by group commits (divide by wal_records_total for group size).",
              g(st.group_commit_writers));
  std::uint64_t group_counts[DBStats::kGroupSizeSlots];
  for (std::size_t i = 0; i < DBStats::kGroupSizeSlots; ++i) group_counts[i] = g(st.group_size[i]);
  out.Histogram("write_group_size", "Writers per write group (one WAL record each).",
                DBStats::kGroupSizeBounds, group_counts, g(st.group_commit_writers));
  // Read path: block cache and bloom filters.
  const BlockCache& cache = table_cache_->block_cache();
  out.Counter("block_cache_hits_total", "Block cache lookups that hit (data and index blocks).",
              cache.hits());
  out.Counter("block_cache_misses_total", "Block cache lookups that missed.", cache.misses());
  out.Gauge("pinned_table_readers", "Open table readers pinned to their tables' metadata.",
            static_cast<std::uint64_t>(table_cache_->pinned_readers()));
  out.Gauge("lru_table_readers", "Open table readers in the table cache's LRU.",
            table_cache_->lru_readers());
  out.Gauge("block_cache_bytes", "Bytes charged to the block cache.", cache.TotalCharge());
  out.Gauge("block_cache_capacity_bytes", "The block cache's capacity.", cache.capacity());
  out.Counter("bloom_useful_total",
              "Table lookups the bloom filter ruled out (no block read needed).",
              g(st.bloom_useful));
  out.Counter("bloom_false_positive_total",
              "Table lookups the bloom filter let through that found no version of the key.",
              g(st.bloom_false_positive));
  out.Counter("bloom_true_positive_total",
              "Table lookups the bloom filter let through that found the key.",
              g(st.bloom_true_positive));
  // Background work.
  out.Counter("flushes_total", "Memtable flushes.", g(st.flushes));
  out.Counter("flush_bytes_written_total", "Table bytes written by flushes.",
              g(st.flush_bytes_written));
  out.Counter("compactions_total", "Compactions run (trivial moves included).", g(st.compactions));
  out.Counter("trivial_moves_total", "Compactions that moved a file down without rewriting it.",
              g(st.trivial_moves));
  out.Counter("compaction_bytes_read_total", "Bytes read by compactions.",
              g(st.compaction_bytes_read));
  out.Counter("compaction_bytes_written_total", "Bytes written by compactions.",
              g(st.compaction_bytes_written));
  out.Counter("stalls_total", "Writes stopped until background work caught up.", g(st.stall_count));
  out.Counter("stall_micros_total", "Microseconds writes spent stopped.", g(st.stall_micros));
  out.Counter("slowdowns_total", "Writes delayed by the L0 slowdown trigger.",
              g(st.slowdown_count));
  out.Counter("slowdown_micros_total", "Microseconds of slowdown delays.", g(st.slowdown_micros));
  out.Counter("background_errors_total", "Sticky background errors.", g(st.background_errors));
  // Recovery.
  out.Counter("recovered_records_total", "WAL records replayed by recovery.",
              g(st.recovered_records));
  out.Counter("recovery_dropped_bytes_total", "WAL bytes recovery dropped as corruption.",
              g(st.recovery_dropped_bytes));
  out.Counter("recovery_torn_tail_bytes_total", "Torn WAL tail bytes recovery dropped.",
              g(st.recovery_torn_tail_bytes));
  // State, read under the lock.
  std::vector<std::uint64_t> files, bytes;
  std::uint64_t mem_bytes = 0, imm_bytes = 0, snapshots = 0;
  {
    kv::MutexLock l(&mu_);
    mem_bytes = mem_->ApproximateMemoryUsage();
    imm_bytes = imm_ != nullptr ? imm_->ApproximateMemoryUsage() : 0;
    snapshots = snapshots_->size();
    const std::shared_ptr<const Version> v = versions_->current();
    for (int level = 0; level < v->num_levels(); ++level) {
      files.push_back(static_cast<std::uint64_t>(v->NumFiles(level)));
      bytes.push_back(v->LevelBytes(level));
    }
  }
  out.Gauge("memtable_bytes", "Bytes held by the active memtable.", mem_bytes);
  out.Gauge("immutable_memtable_bytes", "Bytes held by the memtable being flushed (0 if none).",
            imm_bytes);
  out.Gauge("memtable_blocks_kept_bytes",
            "Huge page blocks of flushed memtables kept for the next memtables.",
            MemTableBlocksKeptBytes());
  out.Gauge("memtable_blocks_prefaulted_bytes",
            "Fresh memtable blocks cleared ahead of a growing memtable.",
            MemTableBlocksPrefaultedBytes());
  out.Gauge("live_snapshots", "Snapshots and iterators holding a read point.", snapshots);
  out.LabeledGauge("level_files", "SSTables per level.", "level", files);
  out.LabeledGauge("level_bytes", "Table bytes per level.", "level", bytes);
  return std::move(out).Finish();
}

}  // namespace kv::detail
