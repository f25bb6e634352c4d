// Fuzz target: the kv::DB API against a std::map model.
//
// The input is a script: each op is one byte (op % 12) followed by its
// arguments. Ops: Put, Delete, Write(batch of up to 8 entries), Get,
// iterator Seek + a walk of Next/Prev steps, full forward/backward scans,
// Flush, CompactRange, reopen, take/release a snapshot (reads through it
// must see the model as it was), a property read. The DB lives in an
// in-memory file system with a 16 KiB memtable and tiny levels, so
// flushes and compactions happen within a short script. Any difference
// from the model, or any error status, abort()s.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "kv/db.hpp"
#include "kv/env.hpp"
#include "kv/write_batch.hpp"

namespace {

using Model = std::map<std::string, std::string>;
constexpr int kMaxOps = 300;
const std::string kDir = "/db";

#define KV_FUZZ_OK(expr)                                                \
  do {                                                                  \
    const absl::Status kv_fuzz_s_ = (expr);                             \
    KV_FUZZ_CHECK(kv_fuzz_s_.ok(), #expr ": " + kv_fuzz_s_.ToString()); \
  } while (false)

std::string Key(kv::fuzz::Input& in) {
  const std::uint8_t b = in.Byte();
  std::string key(1, static_cast<char>('a' + b % 26));
  if ((b & 0x80) != 0) key.append(in.ShortString(6));  // occasionally longer / binary
  return key;
}

std::string Value(kv::fuzz::Input& in) {
  const std::uint8_t b = in.Byte();
  if (b % 8 == 0) return kv::fuzz::Filler(std::size_t{b} * 16, b);  // up to ~4 KiB
  return std::string(in.ShortString(24));
}

class Harness {
 public:
  Harness() {
    options_.file_system = kv::NewMemFileSystem();
    options_.memtable_bytes = 16 << 10;
    options_.block_bytes = 256;
    options_.block_cache_bytes = 64 << 10;
    options_.level0_compaction_trigger = 2;
    options_.level0_slowdown_trigger = 8;
    options_.level0_stop_trigger = 12;
    options_.level1_target_bytes = 16 << 10;
    options_.target_file_bytes = 8 << 10;
    options_.num_levels = 4;
    options_.max_open_files = 10;
    Open();
  }
  ~Harness() {
    snapshot_.reset();
    db_.reset();
  }

  void Run(kv::fuzz::Input& in) {
    for (int op = 0; op < kMaxOps && !in.empty(); ++op) Step(in);
    ScanAll(nullptr, model_);
    if (snapshot_) ScanAll(snapshot_.get(), snapshot_model_);
  }

 private:
  void Open() {
    auto db = kv::DB::Open(options_, kDir);
    KV_FUZZ_CHECK(db.ok(), "Open: " + db.status().ToString());
    db_ = *std::move(db);
  }

  void Step(kv::fuzz::Input& in) {
    switch (in.Byte() % 12) {
      case 0: {
        std::string k = Key(in), v = Value(in);
        KV_FUZZ_OK(db_->Put(k, v));
        model_[k] = v;
        break;
      }
      case 1: {
        std::string k = Key(in);
        KV_FUZZ_OK(db_->Delete(k));
        model_.erase(k);
        break;
      }
      case 2: {
        kv::WriteBatch batch;
        Model after = model_;
        const int n = in.Byte() % 9;
        for (int i = 0; i < n; ++i) {
          std::string k = Key(in);
          if (in.Bool()) {
            batch.Delete(k);
            after.erase(k);
          } else {
            std::string v = Value(in);
            batch.Put(k, v);
            after[k] = v;
          }
        }
        KV_FUZZ_OK(db_->Write({}, batch));
        model_ = std::move(after);
        break;
      }
      case 3:
        CheckGet(Key(in), nullptr, model_);
        break;
      case 4:
      case 5:
        Walk(in, in.Bool() && snapshot_ ? snapshot_.get() : nullptr);
        break;
      case 6:
        if (in.Bool()) {
          ScanAll(nullptr, model_);
        } else if (snapshot_) {
          ScanAll(snapshot_.get(), snapshot_model_);
        }
        break;
      case 7:
        KV_FUZZ_OK(db_->Flush());
        break;
      case 8: {
        const std::uint8_t b = in.Byte();
        std::optional<std::string> begin, end;
        if ((b & 1) != 0) begin = Key(in);
        if ((b & 2) != 0) end = Key(in);
        KV_FUZZ_OK(db_->CompactRange(begin, end));
        break;
      }
      case 9:  // reopen: everything acknowledged must survive
        snapshot_.reset();
        db_.reset();
        Open();
        break;
      case 10:
        if (snapshot_ && in.Bool()) {
          snapshot_.reset();
        } else {
          snapshot_ = db_->GetSnapshot();
          snapshot_model_ = model_;
        }
        break;
      case 11: {
        if (snapshot_ && in.Bool()) {
          CheckGet(Key(in), snapshot_.get(), snapshot_model_);
        } else {
          KV_FUZZ_CHECK(db_->GetProperty("kv.stats").has_value(), "kv.stats missing");
          KV_FUZZ_CHECK(db_->GetProperty("kv.num-files-at-level0").has_value(), "level0 missing");
        }
        break;
      }
    }
  }

  void CheckGet(const std::string& key, const kv::Snapshot* snap, const Model& model) {
    std::string value;
    const absl::Status s = db_->Get(kv::ReadOptions{.snapshot = snap}, key, &value);
    auto it = model.find(key);
    if (it == model.end()) {
      KV_FUZZ_CHECK(absl::IsNotFound(s), "Get(" + key + ") of an absent key: " + s.ToString());
    } else {
      KV_FUZZ_CHECK(s.ok(), "Get(" + key + "): " + s.ToString());
      KV_FUZZ_CHECK(value == it->second, "Get(" + key + ") returned a wrong value");
    }
  }

  void ScanAll(const kv::Snapshot* snap, const Model& model) {
    auto it = db_->NewIterator(kv::ReadOptions{.snapshot = snap});
    auto m = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      KV_FUZZ_CHECK(m != model.end(), "scan: extra key " + std::string(it->key()));
      KV_FUZZ_CHECK(it->key() == m->first && it->value() == m->second,
                    "scan: got " + std::string(it->key()) + ", expected " + m->first);
    }
    KV_FUZZ_OK(it->status());
    KV_FUZZ_CHECK(m == model.end(), "scan: missing key " + (m == model.end() ? "" : m->first));
    auto r = model.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++r) {
      KV_FUZZ_CHECK(r != model.rend(), "reverse scan: extra key " + std::string(it->key()));
      KV_FUZZ_CHECK(it->key() == r->first && it->value() == r->second,
                    "reverse scan: got " + std::string(it->key()) + ", expected " + r->first);
    }
    KV_FUZZ_OK(it->status());
    KV_FUZZ_CHECK(r == model.rend(), "reverse scan: missing key");
  }

  // Seek (or SeekToFirst/Last), then a mix of Next/Prev checked step by step.
  void Walk(kv::fuzz::Input& in, const kv::Snapshot* snap) {
    const Model& model = snap != nullptr ? snapshot_model_ : model_;
    auto it = db_->NewIterator(kv::ReadOptions{.snapshot = snap});
    Model::const_iterator m;
    const std::uint8_t how = in.Byte() % 3;
    if (how == 0) {
      const std::string target = Key(in);
      it->Seek(target);
      m = model.lower_bound(target);
    } else if (how == 1) {
      it->SeekToFirst();
      m = model.begin();
    } else {
      it->SeekToLast();
      m = model.empty() ? model.end() : std::prev(model.end());
    }
    const std::uint8_t moves = in.Byte();
    for (int i = 0;; ++i) {
      KV_FUZZ_OK(it->status());
      if (m == model.end()) {
        KV_FUZZ_CHECK(!it->Valid(),
                      "iterator valid at " + std::string(it->key()) + " where the model has ended");
        return;
      }
      KV_FUZZ_CHECK(it->Valid(), "iterator ended where the model has " + m->first);
      KV_FUZZ_CHECK(it->key() == m->first && it->value() == m->second,
                    "iterator at " + std::string(it->key()) + ", model at " + m->first);
      if (i >= 8) return;
      if (((moves >> i) & 1) != 0) {
        it->Next();
        ++m;
      } else {
        it->Prev();
        m = m == model.begin() ? model.end() : std::prev(m);
      }
    }
  }

  kv::Options options_;
  std::unique_ptr<kv::DB> db_;
  Model model_;
  std::unique_ptr<const kv::Snapshot> snapshot_;
  Model snapshot_model_;
};

}  // namespace

KV_FUZZ_ENTRY(db_api) {
  kv::fuzz::Input in(data, size);
  Harness h;
  h.Run(in);
  return 0;
}
