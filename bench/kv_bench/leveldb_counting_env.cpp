// LevelDbCountingEnv: wraps each new table/WAL file in a byte counter.
#include "leveldb_counting_env.hpp"

#include <memory>
#include <string_view>

namespace kv::bench {
namespace {

class CountingFile final : public leveldb::WritableFile {
 public:
  CountingFile(leveldb::WritableFile* target, std::atomic<std::uint64_t>* counter)
      : target_(target), counter_(counter) {}
  leveldb::Status Append(const leveldb::Slice& data) override {
    leveldb::Status s = target_->Append(data);
    if (s.ok()) counter_->fetch_add(data.size(), std::memory_order_relaxed);
    return s;
  }
  leveldb::Status Close() override { return target_->Close(); }
  leveldb::Status Flush() override { return target_->Flush(); }
  leveldb::Status Sync() override { return target_->Sync(); }

 private:
  std::unique_ptr<leveldb::WritableFile> target_;
  std::atomic<std::uint64_t>* counter_;
};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::atomic<std::uint64_t>* LevelDbCountingEnv::CounterFor(const std::string& fname) {
  if (EndsWith(fname, ".ldb") || EndsWith(fname, ".sst")) return &table_bytes_;
  if (EndsWith(fname, ".log") && !EndsWith(fname, "/LOG")) return &wal_bytes_;
  return nullptr;
}

leveldb::Status LevelDbCountingEnv::Wrap(const std::string& fname, leveldb::Status s,
                                         leveldb::WritableFile** result) {
  std::atomic<std::uint64_t>* counter = CounterFor(fname);
  // LevelDB owns *result (a raw pointer by its API); the wrapper owns the original.
  if (s.ok() && counter != nullptr) {
    *result = std::make_unique<CountingFile>(*result, counter).release();
  }
  return s;
}

leveldb::Status LevelDbCountingEnv::NewWritableFile(const std::string& fname,
                                                    leveldb::WritableFile** result) {
  return Wrap(fname, target()->NewWritableFile(fname, result), result);
}

leveldb::Status LevelDbCountingEnv::NewAppendableFile(const std::string& fname,
                                                      leveldb::WritableFile** result) {
  return Wrap(fname, target()->NewAppendableFile(fname, result), result);
}

}  // namespace kv::bench
