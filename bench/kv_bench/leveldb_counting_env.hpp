// A LevelDB Env that counts the bytes LevelDB appends to its table files
// (.ldb/.sst: flush + compaction output) and WAL files (.log), because
// LevelDB itself keeps no such counters. Used by the LevelDB adapter.
//
//   LevelDbCountingEnv env(leveldb::Env::Default());
//   options.env = &env;   // must outlive the DB
//   env.table_bytes(), env.wal_bytes()
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "leveldb/env.h"

namespace kv::bench {

class LevelDbCountingEnv final : public leveldb::EnvWrapper {
 public:
  explicit LevelDbCountingEnv(leveldb::Env* target) : leveldb::EnvWrapper(target) {}

  leveldb::Status NewWritableFile(const std::string& fname,
                                  leveldb::WritableFile** result) override;
  leveldb::Status NewAppendableFile(const std::string& fname,
                                    leveldb::WritableFile** result) override;

  std::uint64_t table_bytes() const { return table_bytes_.load(std::memory_order_relaxed); }
  std::uint64_t wal_bytes() const { return wal_bytes_.load(std::memory_order_relaxed); }

 private:
  // The counter for fname's kind, or nullptr for files not counted.
  std::atomic<std::uint64_t>* CounterFor(const std::string& fname);
  leveldb::Status Wrap(const std::string& fname, leveldb::Status s, leveldb::WritableFile** result);

  std::atomic<std::uint64_t> table_bytes_{0};
  std::atomic<std::uint64_t> wal_bytes_{0};
};

}  // namespace kv::bench
