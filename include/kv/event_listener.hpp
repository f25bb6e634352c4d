/// @file
/// EventListener: optional callbacks on a DB's background work, registered in
/// Options::listeners. Override the events you care about:
///
/// @code
///   struct FlushLogger : kv::EventListener {
///     void OnFlushCompleted(const kv::FlushJobInfo& info) override {
///       std::printf("flushed %s: %llu bytes\n", info.file_path.c_str(),
///                   static_cast<unsigned long long>(info.file_bytes));
///     }
///   };
///   kv::Options options;
///   options.listeners.push_back(std::make_shared<FlushLogger>());
/// @endcode
///
/// Threading: every callback runs on the DB's background thread, with no DB
/// lock held, so it may call the DB's read methods and GetProperty. Keep
/// callbacks short: background work (and writers stalled behind it) waits
/// for them. A callback must not throw, and must not destroy the DB.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kv {

/// A memtable flush: the memtable written to one new L0 table.
struct FlushJobInfo {
  std::uint64_t file_number = 0;  ///< the table being written
  std::string file_path;          ///< its path
  /// The table's size in bytes. Set in OnFlushCompleted only.
  std::uint64_t file_bytes = 0;
  std::uint64_t entries = 0;          ///< entries written (in OnFlushCompleted)
  std::uint64_t duration_micros = 0;  ///< time the flush took (in OnFlushCompleted)
};

/// A compaction: input tables of two adjacent levels merged into new tables
/// of the lower one (or, for a trivial move, one table moved down as is; or,
/// in DB::CompactRange's last step, tables of the deepest level it covers
/// rewritten in that level).
struct CompactionJobInfo {
  /// The upper of the two levels (equal to output_level for that last step).
  int input_level = 0;
  int output_level = 1;                    ///< the level written
  bool manual = false;                     ///< asked for by DB::CompactRange
  bool trivial_move = false;               ///< moved down without rewriting
  std::vector<std::uint64_t> input_files;  ///< file numbers read, both levels
  /// File numbers of the tables written. Set in OnCompactionCompleted only.
  std::vector<std::uint64_t> output_files;
  std::uint64_t bytes_read = 0;       ///< table bytes read (in OnCompactionCompleted)
  std::uint64_t bytes_written = 0;    ///< table bytes written (in OnCompactionCompleted)
  std::uint64_t duration_micros = 0;  ///< time taken (in OnCompactionCompleted)
};

/// Callbacks on background events. Every method has an empty default.
class EventListener {
 public:
  virtual ~EventListener() = default;

  /// A flush is about to write its table.
  virtual void OnFlushBegin(const FlushJobInfo& /*info*/) {}
  /// A flush's table is installed (durable and visible to reads).
  virtual void OnFlushCompleted(const FlushJobInfo& /*info*/) {}
  /// A compaction is about to read its inputs.
  virtual void OnCompactionBegin(const CompactionJobInfo& /*info*/) {}
  /// A compaction's outputs are installed and its inputs obsolete.
  virtual void OnCompactionCompleted(const CompactionJobInfo& /*info*/) {}
  /// The DB entered its sticky error state (a flush, compaction, manifest
  /// or WAL write failed): writes fail until it is reopened; reads go on.
  /// Called once, shortly after the failure.
  virtual void OnBackgroundError(const absl::Status& /*error*/) {}
};

}  // namespace kv
