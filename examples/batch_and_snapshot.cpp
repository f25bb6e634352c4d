// batch_and_snapshot: atomic multi-key updates and consistent reads.
//
// A tiny "bank": ten accounts whose balances always add up to the same total.
// A writer thread keeps moving money between random accounts, each transfer
// one WriteBatch (debit + credit, applied atomically). Meanwhile the main
// thread takes snapshots and sums every balance as of each snapshot: the sum
// must equal the total every time, however the transfers interleave, and a
// snapshot keeps showing the same balances while newer writes pile up.
//
//   batch_and_snapshot [DB_DIR]   # default: a fresh temporary directory, removed at exit
//
// Exits 0 if the invariant always held; otherwise prints what broke and exits 1.
#include <stdlib.h>  // mkdtemp

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kv/db.hpp"

namespace {

constexpr int kAccounts = 10;
constexpr std::int64_t kInitialBalance = 1000;
constexpr std::int64_t kTotal = kAccounts * kInitialBalance;
constexpr char kPrefix[] = "account/";

// "account/007": fixed-width ids keep the keys in numeric order.
std::string AccountKey(int id) {
  std::string digits = std::to_string(id);
  return absl::StrCat(kPrefix, std::string(3 - digits.size(), '0'), digits);
}

absl::StatusOr<std::int64_t> ParseBalance(std::string_view key, std::string_view value) {
  std::int64_t balance = 0;
  if (!absl::SimpleAtoi(kv::Sv(value), &balance)) {
    return absl::DataLossError(absl::StrCat("bad balance for ", kv::Sv(key)));
  }
  return balance;
}

// Reads one account's balance, at the snapshot in `options` (or now).
absl::StatusOr<std::int64_t> GetBalance(kv::DB& db, const kv::ReadOptions& options, int id) {
  std::string key = AccountKey(id);
  std::string value;
  KV_RETURN_IF_ERROR(db.Get(options, key, &value));
  return ParseBalance(key, value);
}

// Every balance, read with one iterator over the "account/" keys. The
// iterator sees a single point in time (the snapshot's, if one is set).
absl::StatusOr<std::map<std::string, std::int64_t>> ScanBalances(kv::DB& db,
                                                                 const kv::ReadOptions& options) {
  std::map<std::string, std::int64_t> balances;
  std::unique_ptr<kv::Iterator> it = db.NewIterator(options);
  for (it->Seek(kPrefix); it->Valid() && it->key().starts_with(kPrefix); it->Next()) {
    KV_ASSIGN_OR_RETURN(std::int64_t balance, ParseBalance(it->key(), it->value()));
    balances.emplace(std::string(it->key()), balance);
  }
  KV_RETURN_IF_ERROR(it->status());
  return balances;
}

std::int64_t Sum(const std::map<std::string, std::int64_t>& balances) {
  std::int64_t sum = 0;
  for (const auto& [key, balance] : balances) sum += balance;
  return sum;
}

// Moves a random amount between two random accounts until `stop` is set.
// Each transfer is one atomic WriteBatch: readers never see the debit
// without the credit.
//
// The read-modify-write (Get both balances, then Write) is safe here only
// because this is the sole writer. kv has no transactions: with several
// writers, serialize transfers with your own lock.
absl::Status TransferLoop(kv::DB& db, const std::atomic<bool>& stop, std::uint64_t* transfers) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> pick(0, kAccounts - 1);
  kv::WriteBatch batch;
  while (!stop.load(std::memory_order_relaxed)) {
    int from = pick(rng);
    int to = pick(rng);
    if (from == to) continue;
    KV_ASSIGN_OR_RETURN(std::int64_t from_balance, GetBalance(db, {}, from));
    KV_ASSIGN_OR_RETURN(std::int64_t to_balance, GetBalance(db, {}, to));
    if (from_balance == 0) continue;
    std::int64_t amount = std::uniform_int_distribution<std::int64_t>(1, from_balance)(rng);

    batch.Clear();  // a batch can be reused after Clear()
    batch.Put(AccountKey(from), std::to_string(from_balance - amount));
    batch.Put(AccountKey(to), std::to_string(to_balance + amount));
    KV_RETURN_IF_ERROR(db.Write(kv::WriteOptions{}, batch));
    ++*transfers;
  }
  return absl::OkStatus();
}

absl::Status Run(const std::filesystem::path& dir) {
  std::cout << "opening a DB in " << dir << "\n";
  // A small memtable so that flushes and compactions happen during the run:
  // snapshots stay consistent across them.
  KV_ASSIGN_OR_RETURN(std::unique_ptr<kv::DB> db,
                      kv::DB::Open(kv::Options{.memtable_bytes = 64 << 10}, dir));

  // Open all accounts in one batch: either every account exists or none.
  kv::WriteBatch open_accounts;
  for (int id = 0; id < kAccounts; ++id) {
    open_accounts.Put(AccountKey(id), std::to_string(kInitialBalance));
  }
  KV_RETURN_IF_ERROR(db->Write(kv::WriteOptions{.sync = true}, open_accounts));
  std::cout << "opened " << kAccounts << " accounts, total " << kTotal << "\n";

  // The writer runs until told to stop; its status is read after join().
  std::atomic<bool> stop{false};
  std::uint64_t transfers = 0;
  absl::Status writer_status;
  std::thread writer([&] { writer_status = TransferLoop(*db, stop, &transfers); });

  absl::Status reader_status = [&]() -> absl::Status {
    constexpr int kRounds = 8;
    for (int round = 1; round <= kRounds; ++round) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));

      // Take a snapshot and read through it. Everything read with
      // ReadOptions{.snapshot = ...} sees the DB exactly as it was here.
      std::unique_ptr<const kv::Snapshot> snapshot = db->GetSnapshot();
      kv::ReadOptions at_snapshot{.snapshot = snapshot.get()};
      KV_ASSIGN_OR_RETURN(auto first, ScanBalances(*db, at_snapshot));

      // Let the writer run on, then read the same snapshot again, this time
      // with point lookups: the balances must not have moved.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::int64_t point_sum = 0;
      for (int id = 0; id < kAccounts; ++id) {
        KV_ASSIGN_OR_RETURN(std::int64_t balance, GetBalance(*db, at_snapshot, id));
        if (balance != first[AccountKey(id)]) {
          return absl::InternalError(absl::StrCat("snapshot changed under us: ", AccountKey(id),
                                                  " was ", first[AccountKey(id)], ", now ",
                                                  balance));
        }
        point_sum += balance;
      }

      std::int64_t scan_sum = Sum(first);
      std::cout << "round " << round << ": snapshot at sequence " << snapshot->sequence() << ", "
                << first.size() << " accounts, sum " << scan_sum << " (scan) / " << point_sum
                << " (gets)\n";
      if (first.size() != kAccounts || scan_sum != kTotal || point_sum != kTotal) {
        return absl::InternalError(absl::StrCat("invariant broken: expected ", kAccounts,
                                                " accounts summing to ", kTotal));
      }
      // The snapshot is released here (unique_ptr); compaction may then
      // drop the old versions it was keeping alive.
    }
    return absl::OkStatus();
  }();

  stop.store(true, std::memory_order_relaxed);
  writer.join();
  KV_RETURN_IF_ERROR(writer_status);
  KV_RETURN_IF_ERROR(reader_status);

  // Without a snapshot an iterator still sees one point in time (now).
  KV_ASSIGN_OR_RETURN(auto latest, ScanBalances(*db, kv::ReadOptions{}));
  std::cout << transfers << " transfers done; final sum " << Sum(latest) << "\n";
  if (Sum(latest) != kTotal) return absl::InternalError("final sum is wrong");
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  bool temporary = false;
  if (argc > 1) {
    dir = argv[1];
  } else {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kv-batch-and-snapshot-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "batch_and_snapshot: cannot create a temporary directory\n";
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
    std::cerr << "batch_and_snapshot: FAILED: " << status << "\n";
    return 1;
  }
  std::cout << "batch_and_snapshot: OK\n";
  return 0;
}
