// prefix_scan: a secondary index laid out as keys, and range scans over it.
//
// kv only knows ordered byte-string keys, so an index is just more keys. The
// layout used here:
//
//   user/<id>                  -> "<name>\t<email>\t<city>"   the record
//   idx/email/<email>/<id>     -> ""                          find by email
//   idx/city/<city>/<id>       -> ""                          find by city
//
// A record and its index keys are always written in ONE WriteBatch, so a
// reader (or a crash) never sees a record without its index entries or an
// index entry pointing at a stale record. Updating a user deletes the old
// index keys in that same batch.
//
// Lookups are range scans: Seek() to a prefix and read while keys still start
// with it. The same range can be written [prefix, PrefixUpperBound(prefix)),
// which is also how to scan backwards from the end of a prefix.
//
// Key components must not contain the separator '/' (or use a fixed width,
// an escape, or a length prefix): "idx/city/New/York/7" would be ambiguous.
//
//   prefix_scan [DB_DIR]    # default: a fresh temporary directory, removed at exit
//
// Exits 0 on success; otherwise prints the failing status and exits 1.
#include <stdlib.h>  // mkdtemp

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kv/db.hpp"

namespace {

struct User {
  std::string id;  // fixed width ("0042") so that ids sort numerically
  std::string name;
  std::string email;
  std::string city;
};

std::string UserKey(std::string_view id) { return absl::StrCat("user/", kv::Sv(id)); }
std::string EmailPrefix(std::string_view email) {
  return absl::StrCat("idx/email/", kv::Sv(email), "/");
}
std::string CityPrefix(std::string_view city) {
  return absl::StrCat("idx/city/", kv::Sv(city), "/");
}

std::string EncodeUser(const User& u) { return absl::StrCat(u.name, "\t", u.email, "\t", u.city); }

absl::StatusOr<User> DecodeUser(std::string_view id, std::string_view value) {
  std::vector<std::string> fields = absl::StrSplit(kv::Sv(value), '\t');
  if (fields.size() != 3) {
    return absl::DataLossError(absl::StrCat("bad record for user ", kv::Sv(id)));
  }
  return User{std::string(id), fields[0], fields[1], fields[2]};
}

// The smallest key greater than every key that starts with `prefix`: drop
// trailing 0xff bytes, then increment the last byte. nullopt if there is none
// (the prefix is empty or all 0xff): the range then runs to the end.
//   "idx/city/" -> "idx/city0"      "ab\xff" -> "ac"      "\xff\xff" -> nullopt
std::optional<std::string> PrefixUpperBound(std::string_view prefix) {
  std::string bound(prefix);
  while (!bound.empty() && static_cast<unsigned char>(bound.back()) == 0xff) bound.pop_back();
  if (bound.empty()) return std::nullopt;
  bound.back() = static_cast<char>(static_cast<unsigned char>(bound.back()) + 1);
  return bound;
}

// Reads a user, or nullopt if there is none.
absl::StatusOr<std::optional<User>> GetUser(kv::DB& db, std::string_view id) {
  absl::StatusOr<std::string> value = db.Get(UserKey(id));
  if (absl::IsNotFound(value.status())) return std::nullopt;
  KV_RETURN_IF_ERROR(value.status());
  KV_ASSIGN_OR_RETURN(User user, DecodeUser(id, *value));
  return user;
}

// Inserts or updates a user together with its index keys, atomically. On
// update, the index keys for the old email/city go in the same batch.
//
// The read of the old record and the write are two steps: with several
// writers updating the same user, serialize them with your own lock.
absl::Status PutUser(kv::DB& db, const User& user) {
  KV_ASSIGN_OR_RETURN(std::optional<User> old, GetUser(db, user.id));
  kv::WriteBatch batch;
  if (old && old->email != user.email) batch.Delete(EmailPrefix(old->email) + user.id);
  if (old && old->city != user.city) batch.Delete(CityPrefix(old->city) + user.id);
  batch.Put(UserKey(user.id), EncodeUser(user));
  batch.Put(EmailPrefix(user.email) + user.id, "");
  batch.Put(CityPrefix(user.city) + user.id, "");
  return db.Write(kv::WriteOptions{}, batch);
}

// Deletes a user and its index keys, atomically.
absl::Status DeleteUser(kv::DB& db, std::string_view id) {
  KV_ASSIGN_OR_RETURN(std::optional<User> old, GetUser(db, id));
  if (!old) return absl::OkStatus();
  kv::WriteBatch batch;
  batch.Delete(UserKey(id));
  batch.Delete(EmailPrefix(old->email) + old->id);
  batch.Delete(CityPrefix(old->city) + old->id);
  return db.Write(kv::WriteOptions{}, batch);
}

// The part of every key under `prefix` after the prefix, in key order: for an
// index prefix, the ids. The classic loop: Seek to the prefix, stop at the
// first key that no longer starts with it. Always check status() after.
absl::StatusOr<std::vector<std::string>> ScanPrefix(kv::DB& db, std::string_view prefix) {
  std::vector<std::string> suffixes;
  std::unique_ptr<kv::Iterator> it = db.NewIterator();
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    suffixes.emplace_back(it->key().substr(prefix.size()));
  }
  KV_RETURN_IF_ERROR(it->status());
  return suffixes;
}

// Users in one city, via the city index, reading each record.
absl::StatusOr<std::vector<User>> UsersInCity(kv::DB& db, std::string_view city) {
  KV_ASSIGN_OR_RETURN(std::vector<std::string> ids, ScanPrefix(db, CityPrefix(city)));
  std::vector<User> users;
  for (const std::string& id : ids) {
    KV_ASSIGN_OR_RETURN(std::optional<User> user, GetUser(db, id));
    if (!user) return absl::DataLossError(absl::StrCat("index points at missing user ", id));
    users.push_back(*std::move(user));
  }
  return users;
}

// Keys in [begin, end): the same kind of scan with an explicit upper bound
// (end == nullopt: to the last key).
absl::StatusOr<std::vector<std::string>> ScanRange(kv::DB& db, std::string_view begin,
                                                   const std::optional<std::string>& end) {
  std::vector<std::string> keys;
  std::unique_ptr<kv::Iterator> it = db.NewIterator();
  for (it->Seek(begin); it->Valid() && (!end || it->key() < *end); it->Next()) {
    keys.emplace_back(it->key());
  }
  KV_RETURN_IF_ERROR(it->status());
  return keys;
}

// The last key starting with `prefix`, scanning backwards: Seek to the upper
// bound (the first key past the prefix) and step back once.
absl::StatusOr<std::optional<std::string>> LastKeyWithPrefix(kv::DB& db, std::string_view prefix) {
  std::unique_ptr<kv::Iterator> it = db.NewIterator();
  std::optional<std::string> bound = PrefixUpperBound(prefix);
  if (bound) {
    it->Seek(*bound);
    if (it->Valid()) {
      it->Prev();
    } else {
      it->SeekToLast();  // nothing at or past the bound
    }
  } else {
    it->SeekToLast();
  }
  std::optional<std::string> last;
  if (it->Valid() && it->key().starts_with(prefix)) last = std::string(it->key());
  KV_RETURN_IF_ERROR(it->status());
  return last;
}

absl::Status Expect(bool ok, std::string_view what) {
  if (ok) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("unexpected: ", kv::Sv(what)));
}

std::string Names(const std::vector<User>& users) {
  return absl::StrJoin(users, ", ", [](std::string* out, const User& u) {
    absl::StrAppend(out, u.name, " (", u.id, ")");
  });
}

absl::Status Run(const std::filesystem::path& dir) {
  std::cout << "opening a DB in " << dir << "\n";
  KV_ASSIGN_OR_RETURN(std::unique_ptr<kv::DB> db, kv::DB::Open(kv::Options{}, dir));

  // The upper bound of a prefix, including the 0xff corner cases.
  KV_RETURN_IF_ERROR(Expect(PrefixUpperBound("idx/city/") == "idx/city0", "bound of idx/city/"));
  KV_RETURN_IF_ERROR(Expect(PrefixUpperBound("ab\xff") == "ac", "bound of ab\\xff"));
  KV_RETURN_IF_ERROR(Expect(PrefixUpperBound("\xff\xff") == std::nullopt, "bound of \\xff\\xff"));
  KV_RETURN_IF_ERROR(Expect(PrefixUpperBound("") == std::nullopt, "bound of the empty prefix"));

  const std::vector<User> users = {
      {"0001", "ada", "ada@example.com", "london"}, {"0002", "bob", "bob@example.com", "paris"},
      {"0003", "cyd", "cyd@example.com", "london"}, {"0004", "dee", "dee@example.org", "berlin"},
      {"0005", "eve", "eve@example.org", "paris"},
  };
  for (const User& u : users) KV_RETURN_IF_ERROR(PutUser(*db, u));
  std::cout << "stored " << users.size() << " users with their index keys\n";

  // Find by city: a prefix scan over the city index.
  KV_ASSIGN_OR_RETURN(std::vector<User> london, UsersInCity(*db, "london"));
  std::cout << "in london:  " << Names(london) << "\n";
  KV_RETURN_IF_ERROR(Expect(london.size() == 2, "two users in london"));

  // Find by email: the index prefix ends with '/', so "bob@example.com"
  // never matches "bob@example.community".
  KV_ASSIGN_OR_RETURN(std::vector<std::string> bob,
                      ScanPrefix(*db, EmailPrefix("bob@example.com")));
  std::cout << "bob@example.com -> user " << absl::StrJoin(bob, ",") << "\n";
  KV_RETURN_IF_ERROR(Expect(bob == std::vector<std::string>{"0002"}, "bob's id via email"));

  // An update moves bob to berlin and changes his email: the old index keys
  // are deleted in the same batch that writes the new ones.
  KV_RETURN_IF_ERROR(PutUser(*db, {"0002", "bob", "bob@example.net", "berlin"}));
  KV_ASSIGN_OR_RETURN(std::vector<User> paris, UsersInCity(*db, "paris"));
  KV_ASSIGN_OR_RETURN(std::vector<User> berlin, UsersInCity(*db, "berlin"));
  std::cout << "bob moved to berlin\n";
  std::cout << "in paris:   " << Names(paris) << "\n";
  std::cout << "in berlin:  " << Names(berlin) << "\n";
  KV_RETURN_IF_ERROR(Expect(paris.size() == 1 && paris[0].id == "0005", "only eve in paris"));
  KV_RETURN_IF_ERROR(Expect(berlin.size() == 2, "dee and bob in berlin"));
  KV_ASSIGN_OR_RETURN(bob, ScanPrefix(*db, EmailPrefix("bob@example.com")));
  KV_RETURN_IF_ERROR(Expect(bob.empty(), "old email index key is gone"));

  // Every city that has users: scan the whole city index with an explicit
  // upper bound, i.e. the range ["idx/city/", "idx/city0").
  KV_ASSIGN_OR_RETURN(std::vector<std::string> city_keys,
                      ScanRange(*db, "idx/city/", PrefixUpperBound("idx/city/")));
  std::cout << "city index (" << city_keys.size() << " keys):\n";
  for (const std::string& key : city_keys) std::cout << "  " << key << "\n";
  KV_RETURN_IF_ERROR(Expect(city_keys.size() == users.size(), "one city key per user"));

  // A range of records by id: users 0002 up to (not including) 0005.
  KV_ASSIGN_OR_RETURN(std::vector<std::string> some, ScanRange(*db, "user/0002", "user/0005"));
  std::cout << "user/0002 .. user/0005: " << absl::StrJoin(some, " ") << "\n";
  KV_RETURN_IF_ERROR(Expect(some.size() == 3, "three users in the id range"));

  // Backwards from the end of a prefix: the highest id, i.e. the newest user.
  KV_ASSIGN_OR_RETURN(std::optional<std::string> last, LastKeyWithPrefix(*db, "user/"));
  std::cout << "last user key: " << last.value_or("(none)") << "\n";
  KV_RETURN_IF_ERROR(Expect(last == "user/0005", "user/0005 is the last user"));

  // Deleting a user removes its index keys too.
  KV_RETURN_IF_ERROR(DeleteUser(*db, "0005"));
  KV_ASSIGN_OR_RETURN(paris, UsersInCity(*db, "paris"));
  KV_ASSIGN_OR_RETURN(std::vector<std::string> all_index, ScanPrefix(*db, "idx/"));
  std::cout << "after deleting eve: " << paris.size() << " users in paris, " << all_index.size()
            << " index keys\n";
  KV_RETURN_IF_ERROR(Expect(paris.empty() && all_index.size() == 8, "eve's index keys are gone"));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  bool temporary = false;
  if (argc > 1) {
    dir = argv[1];
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kv-prefix-scan-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "prefix_scan: cannot create a temporary directory\n";
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
    std::cerr << "prefix_scan: FAILED: " << status << "\n";
    return 1;
  }
  std::cout << "prefix_scan: OK\n";
  return 0;
}
