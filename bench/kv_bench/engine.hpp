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
#include <filesystem>
#include <memory>
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
  // Always: no compression, WAL on.
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
