// ttl_cache: a small persistent cache whose entries expire, built on kv's TTLs.
//
// A Put made with WriteOptions{.ttl = ...} (or a WriteBatch entry with its
// own TTL) reads as absent once the TTL has passed: Get returns NotFound and
// iterators skip it. Nothing has to sweep the cache; compaction later drops
// the expired entries from disk.
//
// This program caches a few values with a 1 s TTL and a few without, watches
// one entry expire, shows that a snapshot taken before the expiry still sees
// it, and compacts to show the expired bytes leaving the disk. It runs for
// about 1-2 seconds.
//
//   ttl_cache [DB_DIR]    # default: a fresh temporary directory, removed at exit
//
// Exits 0 on success; otherwise prints the failing status and exits 1.
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kv/db.hpp"

namespace {

using std::chrono::seconds;

// A cache over kv::DB: values are written with a TTL and read back until it
// passes. Safe to use from many threads (kv::DB is).
class TtlCache {
 public:
  // Opens (or creates) the cache in `dir`; entries live `default_ttl` unless
  // Put says otherwise.
  static absl::StatusOr<TtlCache> Open(const std::filesystem::path& dir, seconds default_ttl) {
    KV_ASSIGN_OR_RETURN(std::unique_ptr<kv::DB> db, kv::DB::Open(kv::Options{}, dir));
    return TtlCache(std::move(db), default_ttl);
  }

  // Caches key -> value for the default TTL.
  absl::Status Put(std::string_view key, std::string_view value) {
    return Put(key, value, default_ttl_);
  }
  // Caches key -> value for `ttl`; seconds{0} means "never expires".
  absl::Status Put(std::string_view key, std::string_view value, seconds ttl) {
    return db_->Put(kv::WriteOptions{.ttl = ttl}, key, value);
  }

  // The cached value, or nullopt if absent or expired. Errors (I/O,
  // corruption) are reported, not mistaken for a miss.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key,
                                                 const kv::ReadOptions& options = {}) {
    std::string value;
    absl::Status s = db_->Get(options, key, &value);
    if (absl::IsNotFound(s)) return std::nullopt;
    KV_RETURN_IF_ERROR(s);
    return value;
  }

  // Drops an entry before its TTL.
  absl::Status Invalidate(std::string_view key) { return db_->Delete(key); }

  // The DB underneath, for batches, snapshots, compaction and properties.
  kv::DB& db() { return *db_; }

 private:
  TtlCache(std::unique_ptr<kv::DB> db, seconds default_ttl)
      : db_(std::move(db)), default_ttl_(default_ttl) {}

  std::unique_ptr<kv::DB> db_;
  seconds default_ttl_;
};

// Bytes of the table files (*.sst) in the DB directory: what compaction
// rewrites. (The live WAL is left out: its file reserves space ahead of its
// writes, so its length says little about the data.)
std::uintmax_t TableBytes(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == ".sst") {
      total += entry.file_size(ec);
    }
  }
  return total;
}

std::string Show(const std::optional<std::string>& value) {
  return value ? absl::StrCat("\"", *value, "\"") : "(miss)";
}

absl::Status Expect(bool ok, std::string_view what) {
  if (ok) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("unexpected: ", kv::Sv(what)));
}

absl::Status Run(const std::filesystem::path& dir) {
  std::cout << "opening a cache in " << dir << "\n";
  KV_ASSIGN_OR_RETURN(TtlCache cache, TtlCache::Open(dir, seconds{1}));

  // Plenty of short-lived bulk entries (1 s TTL for the whole write), so
  // that compaction later has something to drop.
  kv::WriteBatch batch;
  for (int i = 0; i < 2000; ++i) batch.Put(absl::StrCat("tmp/", i), std::string(256, 'x'));
  KV_RETURN_IF_ERROR(cache.db().Write(kv::WriteOptions{.ttl = seconds{1}}, batch));

  // A batch whose entries carry their own TTLs (an entry's TTL wins over
  // WriteOptions::ttl), one entry that never expires, and one with the
  // default 1 s TTL, written last: once it has expired, so have the others.
  batch.Clear();
  batch.Put("session/bob", "token-b", seconds{60});
  batch.Put("page/home", "<html>...</html>", seconds{1});
  KV_RETURN_IF_ERROR(cache.db().Write(kv::WriteOptions{}, batch));
  KV_RETURN_IF_ERROR(cache.Put("config/theme", "dark", seconds{0}));
  const auto start = std::chrono::steady_clock::now();
  KV_RETURN_IF_ERROR(cache.Put("session/alice", "token-a"));

  // A snapshot judges expiry at the time it was taken.
  std::unique_ptr<const kv::Snapshot> snapshot = cache.db().GetSnapshot();

  KV_ASSIGN_OR_RETURN(std::optional<std::string> alice, cache.Get("session/alice"));
  std::cout << "right away:      session/alice = " << Show(alice) << "\n";
  KV_RETURN_IF_ERROR(Expect(alice == "token-a", "a fresh entry is visible"));

  // Move everything to an SSTable on disk, to measure it.
  KV_RETURN_IF_ERROR(cache.db().Flush());
  const std::uintmax_t bytes_before = TableBytes(dir);

  // Wait for the 1 s TTL to pass (polling; give up after 5 s).
  while (alice) {
    if (std::chrono::steady_clock::now() - start > seconds{5}) {
      return absl::InternalError("session/alice did not expire within 5 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    KV_ASSIGN_OR_RETURN(alice, cache.Get("session/alice"));
  }
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::cout << "after " << waited.count() << " ms: session/alice = " << Show(alice) << "\n";

  KV_ASSIGN_OR_RETURN(std::optional<std::string> page, cache.Get("page/home"));
  KV_ASSIGN_OR_RETURN(std::optional<std::string> bob, cache.Get("session/bob"));
  KV_ASSIGN_OR_RETURN(std::optional<std::string> theme, cache.Get("config/theme"));
  std::cout << "                 page/home = " << Show(page) << ", session/bob = " << Show(bob)
            << ", config/theme = " << Show(theme) << "\n";
  KV_RETURN_IF_ERROR(Expect(!page && bob == "token-b" && theme == "dark", "who expired"));

  // Expired entries are invisible to iterators too.
  int live_tmp = 0;
  {
    std::unique_ptr<kv::Iterator> it = cache.db().NewIterator();
    for (it->Seek("tmp/"); it->Valid() && it->key().starts_with("tmp/"); it->Next()) ++live_tmp;
    KV_RETURN_IF_ERROR(it->status());
  }
  std::cout << "live tmp/ entries: " << live_tmp << " of 2000\n";
  KV_RETURN_IF_ERROR(Expect(live_tmp == 0, "the bulk entries expired"));

  // The snapshot from before the expiry still sees alice.
  KV_ASSIGN_OR_RETURN(std::optional<std::string> old_alice,
                      cache.Get("session/alice", kv::ReadOptions{.snapshot = snapshot.get()}));
  std::cout << "at the snapshot: session/alice = " << Show(old_alice) << "\n";
  KV_RETURN_IF_ERROR(Expect(old_alice == "token-a", "the snapshot still sees alice"));
  // Release it: while it lives, compaction must keep what it can see.
  snapshot.reset();

  // Compaction rewrites the tables without the expired entries.
  KV_RETURN_IF_ERROR(cache.db().CompactRange(std::nullopt, std::nullopt));
  const std::uintmax_t bytes_after = TableBytes(dir);
  std::cout << "tables on disk: " << bytes_before << " bytes before compaction, " << bytes_after
            << " after\n";
  KV_RETURN_IF_ERROR(Expect(bytes_after < bytes_before / 2, "compaction dropped expired data"));

  KV_ASSIGN_OR_RETURN(theme, cache.Get("config/theme"));
  KV_RETURN_IF_ERROR(Expect(theme == "dark", "a live entry survives compaction"));
  KV_RETURN_IF_ERROR(cache.Invalidate("config/theme"));
  KV_ASSIGN_OR_RETURN(theme, cache.Get("config/theme"));
  std::cout << "after Invalidate: config/theme = " << Show(theme) << "\n";
  KV_RETURN_IF_ERROR(Expect(!theme, "an invalidated entry is gone"));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  bool temporary = false;
  if (argc > 1) {
    dir = argv[1];
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kv-ttl-cache-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "ttl_cache: cannot create a temporary directory\n";
      return 1;
    }
    dir = tmpl;
    temporary = true;
  }

  absl::Status status = Run(dir);
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  if (!status.ok()) {
    std::cerr << "ttl_cache: FAILED: " << status << "\n";
    return 1;
  }
  std::cout << "ttl_cache: OK\n";
  return 0;
}
