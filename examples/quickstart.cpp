// quickstart: the smallest complete tour of kv. Opens a DB, writes, reads,
// deletes, applies a batch atomically, scans in key order, and reopens the DB
// to show the data is still there.
//
//   quickstart [DB_DIR]    # default: a fresh temporary directory, removed at exit
//
// Exits 0 on success; otherwise prints the failing status and exits 1.
#include <stdlib.h>  // mkdtemp

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "kv/db.hpp"

namespace {

absl::Status Run(const std::filesystem::path& dir) {
  std::cout << "opening a DB in " << dir << "\n";
  KV_ASSIGN_OR_RETURN(std::unique_ptr<kv::DB> db, kv::DB::Open(kv::Options{}, dir));

  // Put and Get.
  KV_RETURN_IF_ERROR(db->Put("greeting", "hello, world"));
  KV_ASSIGN_OR_RETURN(std::string value, db->Get("greeting"));
  std::cout << "get greeting      -> " << value << "\n";

  // Delete: the key then reads as NotFound.
  KV_RETURN_IF_ERROR(db->Delete("greeting"));
  absl::StatusOr<std::string> gone = db->Get("greeting");
  if (!absl::IsNotFound(gone.status())) {
    return absl::InternalError("deleted key is still readable");
  }
  std::cout << "after delete      -> " << gone.status() << "\n";

  // A WriteBatch is applied atomically: all of it or none of it, even across
  // a crash. sync = true also makes it durable across power loss.
  kv::WriteBatch batch;
  batch.Put("fruit:banana", "yellow");
  batch.Put("fruit:apple", "red");
  batch.Put("fruit:cherry", "dark red");
  batch.Put("veg:kale", "green");
  batch.Delete("fruit:durian");  // deleting an absent key is fine
  KV_RETURN_IF_ERROR(db->Write(kv::WriteOptions{.sync = true}, batch));
  std::cout << "wrote a batch of " << batch.Count() << " entries\n";

  // Iterators scan in key order (unsigned bytewise). Seek to a prefix and
  // stop when the keys leave it.
  std::cout << "keys starting with \"fruit:\":\n";
  std::unique_ptr<kv::Iterator> it = db->NewIterator();
  for (it->Seek("fruit:"); it->Valid() && it->key().starts_with("fruit:"); it->Next()) {
    std::cout << "  " << it->key() << " = " << it->value() << "\n";
  }
  KV_RETURN_IF_ERROR(it->status());
  it.reset();  // iterators must go before their DB

  // Close (the destructor) and reopen: acknowledged writes are durable.
  db.reset();
  kv::Options reopen;
  reopen.create_if_missing = false;  // it exists now; fail rather than start empty
  KV_ASSIGN_OR_RETURN(db, kv::DB::Open(reopen, dir));
  KV_ASSIGN_OR_RETURN(value, db->Get("fruit:apple"));
  std::cout << "after reopen      -> fruit:apple = " << value << "\n";
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  bool temporary = false;
  if (argc > 1) {
    dir = argv[1];
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kv-quickstart-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "quickstart: cannot create a temporary directory\n";
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
    std::cerr << "quickstart: FAILED: " << status << "\n";
    return 1;
  }
  std::cout << "quickstart: OK\n";
  return 0;
}
