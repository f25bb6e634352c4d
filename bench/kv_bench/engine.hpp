// kv_bench's storage-engine interface: one small adapter per engine (kv,
// LevelDB, RocksDB) so every workload runs the same code on each.
//
//   absl::StatusOr<std::unique_ptr<Engine>> e = OpenEngine("kv", settings, dir);
//   KV_RETURN_IF_ERROR((*e)->Put(key, value, /*sync=*/false));
//   absl::StatusOr<bool> found = (*e)->Get(key, &value);
//
// LevelDB and RocksDB adapters exist only when CMake found the library
// (KV_BENCH_HAVE_LEVELDB / KV_BENCH_HAVE_ROCKSDB).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kv::bench {

// The settings every engine gets, so the comparison is like for like.
struct EngineSettings {
  std::size_t write_buffer_bytes = 64 << 20;  // memtable size before a flush
  std::size_t block_bytes = 4096;             // SSTable data block size
  int bloom_bits_per_key = 10;                // Bloom filter bits per key
  std::size_t block_cache_bytes = 64 << 20;   // block cache capacity
  // RocksDB: enable options.statistics (tickers for Counters(); costs a
  // little speed, so only the amplification workload turns it on).
  bool collect_statistics = false;
  // Always: no compression, WAL on.
};

// Cumulative write counters for the amplification workload (bytes since Open).
struct WriteCounters {
  std::uint64_t table_bytes = 0;              // table bytes written by flushes + compactions
  std::optional<std::uint64_t> flush_bytes;   // the flush share; nullopt: not told apart
  std::optional<std::uint64_t> wal_bytes;     // nullopt: the engine has no counter
  std::optional<std::uint64_t> stall_micros;  // nullopt: the engine has no counter
};

// An ordered cursor over the engine's keys.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  virtual void Seek(std::string_view target) = 0;
  // REQUIRES: Valid()
  virtual void Next() = 0;
  // REQUIRES: Valid()
  virtual void Prev() = 0;
  virtual bool Valid() const = 0;
  // REQUIRES: Valid()
  virtual std::string_view key() const = 0;
  // REQUIRES: Valid()
  virtual std::string_view value() const = 0;
  virtual absl::Status status() const = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // One line naming the engine, its version and the options as applied.
  virtual std::string Describe() const = 0;
  [[nodiscard]] virtual absl::Status Put(std::string_view key, std::string_view value,
                                         bool sync) = 0;
  [[nodiscard]] virtual absl::Status Delete(std::string_view key, bool sync) = 0;
  // true: found (value in *value); false: absent.
  [[nodiscard]] virtual absl::StatusOr<bool> Get(std::string_view key, std::string* value) = 0;
  [[nodiscard]] virtual std::unique_ptr<Cursor> NewCursor() = 0;
  // Brings the DB to a settled state before read workloads: the memtable is
  // flushed and the whole key range is compacted (and waited for), so every
  // engine starts its reads from fully compacted SSTables.
  [[nodiscard]] virtual absl::Status Settle() = 0;

  // --- Introspection for the amplification workload ---
  // The engine's own property (e.g. "kv.stats", "leveldb.stats"); nullopt if unknown.
  virtual std::optional<std::string> Property(std::string_view name) = 0;
  // The engine's full statistics text (kv.stats, leveldb.stats, rocksdb.stats).
  virtual std::string StatsText() = 0;
  // Table files at `level` (-1 if the engine cannot tell).
  virtual int FilesAtLevel(int level) = 0;
  // Number of levels FilesAtLevel understands.
  virtual int NumLevels() const = 0;
  // Writes the memtable to a table and waits, without compacting anything.
  [[nodiscard]] virtual absl::Status FlushMemtable() = 0;
  // true: background work is known to be pending or running; false: known
  // idle; nullopt: the engine cannot tell (the caller watches for changes).
  virtual std::optional<bool> BackgroundBusy() = 0;
  [[nodiscard]] virtual absl::StatusOr<WriteCounters> Counters() = 0;
};

// The engines compiled into this binary, "kv" first.
std::vector<std::string> AvailableEngines();

// Opens `engine` in `dir` (created if missing; the caller empties it for a
// fresh DB). kInvalidArgument for an engine not compiled in.
[[nodiscard]] absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(std::string_view engine,
                                                                 const EngineSettings& settings,
                                                                 const std::filesystem::path& dir);

// Per-engine factories (engine_<name>.cpp).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Engine>> OpenKvEngine(
    const EngineSettings& settings, const std::filesystem::path& dir);
#ifdef KV_BENCH_HAVE_LEVELDB
[[nodiscard]] absl::StatusOr<std::unique_ptr<Engine>> OpenLevelDbEngine(
    const EngineSettings& settings, const std::filesystem::path& dir);
#endif
#ifdef KV_BENCH_HAVE_ROCKSDB
[[nodiscard]] absl::StatusOr<std::unique_ptr<Engine>> OpenRocksDbEngine(
    const EngineSettings& settings, const std::filesystem::path& dir);
#endif

}  // namespace kv::bench
