// kv_stress: crash torture for kv (in the spirit of RocksDB's db_stress +
// crash test). Three modes:
//
//   kv_stress run     --db DIR --ack FILE [--threads N] [--seed S] [--keys K]
//   kv_stress verify  --db DIR --ack FILE [--keys K]
//   kv_stress torture --db DIR [--ack FILE] --rounds R [--minutes M] [--seed S]
//                     [--threads N] [--keep]
//
// `run` writes until killed from N threads. Thread t owns the keys
// "t<tt>.k<iiiii>" (no two threads share a key, so per key the history is
// sequential). Every value is a pure function of (generation, thread, op
// number, key) -- "<gen>.<t>.<op>.<key>.<len>:<fill>" -- so any value read back
// can be checked for being well-formed and traced to the op that wrote it.
// Each write op appends to the ack file (O_APPEND, one write(2) per record):
//   I <gen> <t> <op> <kind> <sync> <idx>=<digest>|<idx>=- ...   before the op
//   A <gen> <t> <op> <kind> <sync> <idx>=<digest>|<idx>=- ...   after it returned OK
// plus one "G <gen> <threads>" line when a run starts. A SIGKILL leaves a
// prefix of records: every op with an A line was acknowledged; an op with an I
// line and no A line was in flight (it may or may not have happened).
//
// `verify` reopens the DB, replays the ack file into a per-key model and
// checks: every acknowledged write is visible (or the effect of an in-flight
// op that came after it); every key holds a well-formed value of its own key
// space; each in-flight WriteBatch is all-or-nothing; Get agrees with a full
// scan. Exit status 0 (OK) or 1 (violation, explained on stderr).
//
// `torture` loops: fork/exec `run`, sleep 100-1500 ms, SIGKILL, `verify`.
// It stops at the first failure, keeping the DB and ack file.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kv/db.hpp"

namespace {

// ---------------------------------------------------------------- values

std::uint64_t SplitMix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string KeyName(int thread, int idx) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "t%02d.k%05d", thread, idx);
  return buf;
}

// Parses "t<tt>.k<iiiii>"; false if the key is not of that shape.
bool ParseKey(std::string_view key, int* thread, int* idx) {
  if (key.size() != 10 || key[0] != 't' || key[3] != '.' || key[4] != 'k') return false;
  int t = 0, i = 0;
  for (int p = 1; p < 3; ++p) {
    if (key[p] < '0' || key[p] > '9') return false;
    t = t * 10 + (key[p] - '0');
  }
  for (int p = 5; p < 10; ++p) {
    if (key[p] < '0' || key[p] > '9') return false;
    i = i * 10 + (key[p] - '0');
  }
  *thread = t;
  *idx = i;
  return true;
}

// The value op (gen, thread, op) writes to key: deterministic, 0..300 bytes of fill.
std::string MakeValue(std::uint64_t gen, int thread, std::uint64_t op, std::string_view key) {
  std::uint64_t state = (gen * 1000003ull) ^ (static_cast<std::uint64_t>(thread) << 48) ^
                        (op * 0x9e3779b97f4a7c15ull) ^ Fnv1a(key);
  const std::size_t len = SplitMix(state) % 301;
  std::string v = std::to_string(gen) + "." + std::to_string(thread) + "." + std::to_string(op) +
                  "." + std::string(key) + "." + std::to_string(len) + ":";
  for (std::size_t i = 0; i < len; ++i) {
    v.push_back(static_cast<char>('a' + SplitMix(state) % 26));
  }
  return v;
}

struct ValueId {
  std::uint64_t gen = 0;
  int thread = 0;
  std::uint64_t op = 0;
};

// Decodes a value's origin and checks it is exactly what that op writes to key.
std::optional<ValueId> ParseValue(std::string_view key, std::string_view value) {
  ValueId id;
  std::uint64_t t = 0;
  char keybuf[16] = {0};
  std::string head(value.substr(0, std::min<std::size_t>(value.size(), 80)));
  if (std::sscanf(head.c_str(), "%" SCNu64 ".%" SCNu64 ".%" SCNu64 ".%15[^.]", &id.gen, &t, &id.op,
                  keybuf) != 4) {
    return std::nullopt;
  }
  if (t > 99) return std::nullopt;
  id.thread = static_cast<int>(t);
  if (value != MakeValue(id.gen, id.thread, id.op, key)) return std::nullopt;
  return id;
}

std::string Hex(std::uint64_t x) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, x);
  return buf;
}

// ---------------------------------------------------------------- options

kv::Options StressOptions() {
  return kv::Options{.memtable_bytes = 32 << 10,
                     .block_bytes = 1 << 10,
                     .block_cache_bytes = 256 << 10,
                     .level0_compaction_trigger = 2,
                     .level1_target_bytes = 128 << 10,
                     .level_size_ratio = 4,
                     .num_levels = 5,
                     .target_file_bytes = 32 << 10};
}

struct Args {
  std::string mode;
  std::string db;
  std::string ack;
  int threads = 4;
  std::uint64_t seed = 1;
  int keys = 400;
  int rounds = 0;
  double minutes = 0;
  bool keep = false;
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr,
               "kv_stress: %s\n"
               "usage: kv_stress run     --db DIR --ack FILE [--threads N] [--seed S] [--keys K]\n"
               "       kv_stress verify  --db DIR --ack FILE [--keys K]\n"
               "       kv_stress torture --db DIR [--ack FILE] [--rounds R] [--minutes M]\n"
               "                         [--seed S] [--threads N] [--keep]\n",
               msg);
  std::exit(2);
}

Args ParseArgs(int argc, char** argv) {
  if (argc < 2) Usage("missing mode");
  Args a;
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string f = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(("missing value for " + f).c_str());
      return argv[++i];
    };
    if (f == "--db")
      a.db = next();
    else if (f == "--ack")
      a.ack = next();
    else if (f == "--threads")
      a.threads = std::stoi(next());
    else if (f == "--seed")
      a.seed = std::stoull(next());
    else if (f == "--keys")
      a.keys = std::stoi(next());
    else if (f == "--rounds")
      a.rounds = std::stoi(next());
    else if (f == "--minutes")
      a.minutes = std::stod(next());
    else if (f == "--keep")
      a.keep = true;
    else
      Usage(("unknown flag " + f).c_str());
  }
  if (a.db.empty()) Usage("--db is required");
  if (a.ack.empty()) {
    if (a.mode == "torture")
      a.ack = a.db + ".ack";
    else
      Usage("--ack is required");
  }
  if (a.threads < 1 || a.threads > 99) Usage("--threads must be 1..99");
  if (a.keys < 1 || a.keys > 99999) Usage("--keys must be 1..99999");
  return a;
}

// ---------------------------------------------------------------- ack file

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One write op as logged: keys (index) with the digest of the value put, or
// nullopt for a delete.
struct LoggedOp {
  char tag = 0;  // 'I' or 'A'
  std::uint64_t gen = 0;
  int thread = 0;
  std::uint64_t op = 0;
  char kind = 0;  // 'P' put, 'D' delete, 'B' batch
  bool sync = false;
  std::vector<std::pair<int, std::optional<std::uint64_t>>> keys;
};

std::string FormatOp(const LoggedOp& op) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%c %" PRIu64 " %d %" PRIu64 " %c %d", op.tag, op.gen, op.thread,
                op.op, op.kind, op.sync ? 1 : 0);
  std::string s = buf;
  for (const auto& [idx, digest] : op.keys) {
    std::snprintf(buf, sizeof buf, " %d=%s", idx, digest ? Hex(*digest).c_str() : "-");
    s.append(buf);
  }
  s.push_back('\n');
  return s;
}

bool ParseOp(const std::string& line, LoggedOp* op) {
  std::istringstream in(line);
  std::string tag, kind;
  int sync = 0;
  if (!(in >> tag >> op->gen >> op->thread >> op->op >> kind >> sync)) return false;
  if (tag.size() != 1 || kind.size() != 1) return false;
  op->tag = tag[0];
  op->kind = kind[0];
  op->sync = sync != 0;
  std::string kd;
  while (in >> kd) {
    const std::size_t eq = kd.find('=');
    if (eq == std::string::npos) return false;
    const int idx = std::stoi(kd.substr(0, eq));
    const std::string d = kd.substr(eq + 1);
    if (d == "-")
      op->keys.emplace_back(idx, std::nullopt);
    else
      op->keys.emplace_back(idx, std::stoull(d, nullptr, 16));
  }
  return !op->keys.empty();
}

// Drops a trailing partial record (a kill in the middle of a write(2)).
void TrimPartialTail(const std::string& path) {
  const std::string data = ReadFile(path);
  if (data.empty() || data.back() == '\n') return;
  const std::size_t keep = data.rfind('\n') == std::string::npos ? 0 : data.rfind('\n') + 1;
  if (truncate(path.c_str(), static_cast<off_t>(keep)) != 0) {
    std::perror("truncate ack file");
    std::exit(2);
  }
}

class AckLog {
 public:
  explicit AckLog(const std::string& path) {
    fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      std::perror("open ack file");
      std::exit(2);
    }
  }
  ~AckLog() { close(fd_); }
  AckLog(const AckLog&) = delete;
  AckLog& operator=(const AckLog&) = delete;
  void Append(const std::string& record) {
    // One write(2) per record: O_APPEND makes concurrent records not interleave.
    if (write(fd_, record.data(), record.size()) != static_cast<ssize_t>(record.size())) {
      std::perror("write ack file");
      _exit(2);
    }
  }

 private:
  int fd_ = -1;
};

// ---------------------------------------------------------------- run

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "kv_stress run: FAILED: %s\n", msg.c_str());
  std::fflush(stderr);
  _exit(3);
}

std::uint64_t NextGeneration(const std::string& ack_path) {
  std::uint64_t gen = 0;
  std::istringstream in(ReadFile(ack_path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > 2 && line[0] == 'G')
      gen = std::max<std::uint64_t>(gen, std::stoull(line.substr(2)));
  }
  return gen + 1;
}

void StressThread(kv::DB* db, AckLog* log, std::uint64_t gen, int thread, int keys,
                  std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ (gen * 7919) ^ (static_cast<std::uint64_t>(thread) << 40));
  // What this thread itself wrote in this run (read-your-writes check).
  std::map<int, std::optional<std::string>> mine;
  for (std::uint64_t opno = 0;;) {
    const int r = static_cast<int>(rng() % 1000);
    if (r < 700) {  // a write: put, delete or batch
      LoggedOp op{.tag = 'I',
                  .gen = gen,
                  .thread = thread,
                  .op = opno,
                  .kind = r < 350   ? 'P'
                          : r < 500 ? 'D'
                                    : 'B',
                  .sync = rng() % 8 == 0,
                  .keys = {}};
      const int n = op.kind == 'B' ? 2 + static_cast<int>(rng() % 6) : 1;
      std::set<int> chosen;
      while (static_cast<int>(chosen.size()) < std::min(n, keys)) {
        chosen.insert(static_cast<int>(rng() % static_cast<std::uint64_t>(keys)));
      }
      kv::WriteBatch batch;
      std::vector<std::pair<int, std::optional<std::string>>> effects;
      for (int idx : chosen) {
        const std::string key = KeyName(thread, idx);
        const bool del = op.kind == 'D' || (op.kind == 'B' && rng() % 5 == 0);
        if (del) {
          batch.Delete(key);
          op.keys.emplace_back(idx, std::nullopt);
          effects.emplace_back(idx, std::nullopt);
        } else {
          std::string v = MakeValue(gen, thread, opno, key);
          batch.Put(key, v);
          op.keys.emplace_back(idx, Fnv1a(v));
          effects.emplace_back(idx, std::move(v));
        }
      }
      log->Append(FormatOp(op));
      const kv::WriteOptions wo{.sync = op.sync};
      absl::Status s;
      if (op.kind == 'P')
        s = db->Put(wo, KeyName(thread, effects[0].first), *effects[0].second);
      else if (op.kind == 'D')
        s = db->Delete(wo, KeyName(thread, effects[0].first));
      else
        s = db->Write(wo, batch);
      if (!s.ok()) Die("write op " + std::to_string(opno) + ": " + s.ToString());
      op.tag = 'A';
      log->Append(FormatOp(op));
      for (auto& [idx, v] : effects) mine[idx] = std::move(v);
      ++opno;
    } else if (r < 960) {  // point read of an own key
      const int idx = static_cast<int>(rng() % static_cast<std::uint64_t>(keys));
      const std::string key = KeyName(thread, idx);
      std::string v;
      const absl::Status s = db->Get(kv::ReadOptions{}, key, &v);
      if (!s.ok() && !absl::IsNotFound(s)) Die("Get " + key + ": " + s.ToString());
      if (s.ok() && !ParseValue(key, v)) Die("Get " + key + " returned a malformed value: " + v);
      auto it = mine.find(idx);
      if (it != mine.end()) {
        if (it->second.has_value() != s.ok() || (s.ok() && v != *it->second)) {
          Die("Get " + key + " does not read this thread's own last write: got " +
              (s.ok() ? v : "NotFound") + ", wrote " + (it->second ? *it->second : "<delete>"));
        }
      }
    } else if (r < 995) {  // scan own key space
      auto it = db->NewIterator();
      const std::string prefix = KeyName(thread, 0).substr(0, 4);
      std::string last;
      std::size_t count = 0;
      for (it->Seek(prefix); it->Valid() && it->key().substr(0, 4) == prefix; it->Next()) {
        const std::string key(it->key());
        if (!last.empty() && key <= last) Die("scan out of order: " + last + " then " + key);
        if (!ParseValue(key, it->value())) {
          Die("scan: malformed value at " + key + ": " + std::string(it->value()));
        }
        last = key;
        if (++count > static_cast<std::size_t>(keys)) Die("scan: more keys than the key space");
      }
      if (!it->status().ok()) Die("scan: " + it->status().ToString());
    } else if (r < 998) {
      const absl::Status s = db->Flush();
      if (!s.ok()) Die("Flush: " + s.ToString());
    } else {
      const std::string a = KeyName(static_cast<int>(rng() % 100), 0);
      const std::string b = KeyName(static_cast<int>(rng() % 100), 99999);
      const absl::Status s = db->CompactRange(
          std::min(a, b), rng() % 4 == 0 ? std::optional<std::string_view>()
                                         : std::optional<std::string_view>(std::max(a, b)));
      if (!s.ok()) Die("CompactRange: " + s.ToString());
    }
  }
}

int Run(const Args& a) {
  TrimPartialTail(a.ack);
  const std::uint64_t gen = NextGeneration(a.ack);
  AckLog log(a.ack);
  log.Append("G " + std::to_string(gen) + " " + std::to_string(a.threads) + "\n");
  auto db = kv::DB::Open(StressOptions(), a.db);
  if (!db.ok()) Die("Open: " + db.status().ToString());
  std::vector<std::thread> threads;
  for (int t = 0; t < a.threads; ++t) {
    threads.emplace_back(StressThread, db->get(), &log, gen, t, a.keys, a.seed);
  }
  for (auto& t : threads) t.join();  // never returns: threads run until killed
  return 0;
}

// ---------------------------------------------------------------- verify

struct KeyState {
  bool acked = false;  // some acknowledged write touched the key
  std::uint64_t gen = 0, op = 0;
  bool present = false;
  std::uint64_t digest = 0;
};

std::string Describe(const ValueId& id) {
  return "value of gen " + std::to_string(id.gen) + " thread " + std::to_string(id.thread) +
         " op " + std::to_string(id.op);
}

int Verify(const Args& a) {
  auto fail = [](const std::string& msg) {
    std::fprintf(stderr, "kv_stress verify: FAILED: %s\n", msg.c_str());
    return 1;
  };
  // --- replay the ack file
  const std::string data = ReadFile(a.ack);
  std::map<std::pair<int, int>, KeyState> model;  // (thread, idx) -> last acked state
  // (gen, thread) -> ops with an I line and no A line yet, by op number.
  std::map<std::pair<std::uint64_t, int>, std::map<std::uint64_t, LoggedOp>> open;
  std::map<std::pair<std::uint64_t, int>, std::uint64_t> next_op;
  std::uint64_t acked_ops = 0, last_gen = 0;
  std::size_t pos = 0, lineno = 0;
  while (pos < data.size()) {
    const std::size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) break;  // partial trailing record: never acknowledged
    const std::string line = data.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (line.empty()) continue;
    if (line[0] == 'G') {
      const std::uint64_t g = std::stoull(line.substr(2));
      if (g <= last_gen)
        return fail("ack file line " + std::to_string(lineno) + ": generation not increasing");
      last_gen = g;
      continue;
    }
    if (line[0] == 'R') {  // an earlier verify's finding about an in-flight op
      std::uint64_t g = 0, opno = 0;
      int t = 0, applied = 0;
      if (std::sscanf(line.c_str(), "R %" SCNu64 " %d %" SCNu64 " %d", &g, &t, &opno, &applied) !=
          4) {
        return fail("ack file line " + std::to_string(lineno) + " unparsable: " + line);
      }
      auto& ops = open[{g, t}];
      auto it = ops.find(opno);
      if (it == ops.end())
        return fail("ack file line " + std::to_string(lineno) +
                    ": finding about an op not in flight");
      if (applied) {
        // Recovered once, it must stay: from now on it counts as acknowledged
        // (for keys no later acknowledged write has overwritten).
        for (const auto& [idx, digest] : it->second.keys) {
          KeyState& k = model[{t, idx}];
          if (k.acked && std::make_pair(k.gen, k.op) > std::make_pair(g, opno)) continue;
          k = KeyState{.acked = true,
                       .gen = g,
                       .op = opno,
                       .present = digest.has_value(),
                       .digest = digest.value_or(0)};
        }
      }
      // Not applied: it never happened, and no trace of it may appear later.
      ops.erase(it);
      continue;
    }
    LoggedOp op;
    if (!ParseOp(line, &op))
      return fail("ack file line " + std::to_string(lineno) + " unparsable: " + line);
    if (op.gen != last_gen)
      return fail("ack file line " + std::to_string(lineno) + ": wrong generation");
    const auto gt = std::make_pair(op.gen, op.thread);
    if (op.tag == 'I') {
      if (op.op != next_op[gt])
        return fail("ack file line " + std::to_string(lineno) + ": op number gap");
      ++next_op[gt];
      if (!open[gt].empty())
        return fail("ack file line " + std::to_string(lineno) +
                    ": two ops in flight on one thread");
      open[gt][op.op] = op;
    } else if (op.tag == 'A') {
      auto it = open[gt].find(op.op);
      if (it == open[gt].end())
        return fail("ack file line " + std::to_string(lineno) + ": ack without intent");
      open[gt].erase(it);
      ++acked_ops;
      for (const auto& [idx, digest] : op.keys) {
        KeyState& k = model[{op.thread, idx}];
        k = KeyState{.acked = true,
                     .gen = op.gen,
                     .op = op.op,
                     .present = digest.has_value(),
                     .digest = digest.value_or(0)};
      }
    } else {
      return fail("ack file line " + std::to_string(lineno) + ": unknown tag");
    }
  }
  // In-flight ops, oldest first per key. An in-flight op matters for a key only
  // if no acknowledged write to that key came after it.
  std::map<std::pair<int, int>, std::vector<const LoggedOp*>> inflight;
  std::vector<const LoggedOp*> inflight_ops;
  std::size_t num_inflight = 0;
  for (const auto& [gt, ops] : open) {
    for (const auto& [opno, op] : ops) {
      ++num_inflight;
      inflight_ops.push_back(&op);
      for (const auto& [idx, digest] : op.keys) {
        const KeyState& k = model[{op.thread, idx}];
        if (k.acked && std::make_pair(k.gen, k.op) > std::make_pair(op.gen, op.op)) continue;
        inflight[{op.thread, idx}].push_back(&op);
      }
    }
  }

  // --- read the DB
  auto db = kv::DB::Open(StressOptions(), a.db);
  if (!db.ok()) return fail("Open: " + db.status().ToString());
  std::map<std::pair<int, int>, std::string> actual;
  {
    auto it = (*db)->NewIterator();
    std::string last;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key(it->key());
      if (!last.empty() && key <= last) return fail("scan out of order: " + last + " then " + key);
      last = key;
      int t = 0, idx = 0;
      if (!ParseKey(key, &t, &idx)) return fail("key never written: " + key);
      actual[{t, idx}] = std::string(it->value());
    }
    if (!it->status().ok()) return fail("scan: " + it->status().ToString());
  }
  std::set<std::pair<int, int>> all_keys;
  for (const auto& [k, s] : model) all_keys.insert(k);
  for (const auto& [k, v] : actual) all_keys.insert(k);
  std::size_t live = 0;
  for (const auto& k : all_keys) {
    const std::string key = KeyName(k.first, k.second);
    // Get must agree with the scan.
    std::string got;
    const absl::Status s = (*db)->Get(kv::ReadOptions{}, key, &got);
    if (!s.ok() && !absl::IsNotFound(s)) return fail("Get " + key + ": " + s.ToString());
    auto act = actual.find(k);
    if (s.ok() != (act != actual.end()) || (s.ok() && got != act->second)) {
      return fail("Get " + key + " disagrees with the scan");
    }
    const KeyState& m = model[k];
    const auto& pend = inflight[k];
    std::string expect =
        !m.acked    ? "absent (never acknowledged)"
        : m.present ? "acked value of gen " + std::to_string(m.gen) + " op " + std::to_string(m.op)
                    : "absent (acked delete at gen " + std::to_string(m.gen) + " op " +
                          std::to_string(m.op) + ")";
    for (const LoggedOp* p : pend) {
      expect += " or in-flight gen " + std::to_string(p->gen) + " op " + std::to_string(p->op);
    }
    if (act == actual.end()) {
      // Absent: fine if the last acked state is absent, or an in-flight op deleted it.
      bool ok = !m.present;
      for (const LoggedOp* p : pend) {
        for (const auto& [idx, digest] : p->keys) ok |= idx == k.second && !digest;
      }
      if (!ok) return fail("LOST WRITE: key " + key + " is absent; expected " + expect);
      continue;
    }
    ++live;
    const std::string& v = act->second;
    const auto id = ParseValue(key, v);
    if (!id) return fail("key " + key + " holds a malformed value: " + v.substr(0, 120));
    if (id->thread != k.first)
      return fail("key " + key + " holds a value of another thread: " + Describe(*id));
    bool ok = m.present && id->gen == m.gen && id->op == m.op && Fnv1a(v) == m.digest;
    for (const LoggedOp* p : pend) {
      ok |= id->gen == p->gen && id->op == p->op;
    }
    if (!ok) {
      const bool stale = m.acked && std::make_pair(id->gen, id->op) < std::make_pair(m.gen, m.op);
      return fail(
          std::string(stale ? "STALE VALUE (acknowledged write lost)" : "UNEXPECTED VALUE") +
          ": key " + key + " holds " + Describe(*id) + "; expected " + expect);
    }
  }
  // All-or-nothing for in-flight ops: among the keys the op still decides,
  // either all show its effect or all show the state before it. The finding is
  // recorded ("R" lines) so later rounds hold the DB to it.
  std::string findings;
  for (const LoggedOp* p : inflight_ops) {
    std::vector<std::string> applied, not_applied;
    for (const auto& [idx, digest] : p->keys) {
      const std::pair<int, int> k{p->thread, idx};
      const auto& pend = inflight[k];
      // Only keys where this op is the sole in-flight candidate are decisive.
      if (pend.size() != 1 || pend[0] != p) continue;
      const KeyState& m = model[k];
      auto act = actual.find(k);
      const bool shows_p =
          digest ? act != actual.end() && Fnv1a(act->second) == *digest : act == actual.end();
      const bool shows_before =
          m.present ? act != actual.end() && Fnv1a(act->second) == m.digest : act == actual.end();
      if (shows_p && !shows_before) applied.push_back(KeyName(p->thread, idx));
      if (shows_before && !shows_p) not_applied.push_back(KeyName(p->thread, idx));
    }
    if (!applied.empty() && !not_applied.empty()) {
      return fail(std::string(p->kind == 'B' ? "TORN BATCH" : "INCONSISTENT OP") + ": gen " +
                  std::to_string(p->gen) + " thread " + std::to_string(p->thread) + " op " +
                  std::to_string(p->op) + " applied to " + applied[0] + " but not to " +
                  not_applied[0]);
    }
    if (!applied.empty() || !not_applied.empty()) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "R %" PRIu64 " %d %" PRIu64 " %d\n", p->gen, p->thread, p->op,
                    applied.empty() ? 0 : 1);
      findings.append(buf);
    }
  }
  db->reset();  // close before recording, like a clean shutdown
  if (!findings.empty()) {
    // The killed run may have left a partial last record: appending after it
    // would glue the findings onto that line.
    TrimPartialTail(a.ack);
    AckLog(a.ack).Append(findings);
  }
  std::printf("kv_stress verify: OK: %" PRIu64 " acknowledged ops over %" PRIu64
              " generations, %zu in flight, %zu live keys\n",
              acked_ops, last_gen, num_inflight, live);
  return 0;
}

// ---------------------------------------------------------------- torture

// Starts this program with `args`; quiet: its stdout goes to /dev/null.
pid_t Spawn(const std::vector<std::string>& args, bool quiet = false) {
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(2);
  }
  if (pid == 0) {
    if (quiet) {
      const int devnull = open("/dev/null", O_WRONLY);
      if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    }
    std::vector<char*> argv;
    for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    std::perror("execv");
    _exit(127);
  }
  return pid;
}

std::uint64_t CountAcks(const std::string& ack_path) {
  const std::string data = ReadFile(ack_path);
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < data.size();) {
    const std::size_t nl = data.find('\n', i);
    if (nl == std::string::npos) break;
    if (data[i] == 'A') ++n;
    i = nl + 1;
  }
  return n;
}

int Torture(const Args& a) {
  std::error_code ec;
  if (!a.keep) {
    std::filesystem::remove_all(a.db, ec);
    std::filesystem::remove(a.ack, ec);
  }
  std::filesystem::create_directories(std::filesystem::path(a.db).parent_path().empty()
                                          ? std::filesystem::path(".")
                                          : std::filesystem::path(a.db).parent_path(),
                                      ec);
  if (a.rounds <= 0 && a.minutes <= 0) Usage("torture needs --rounds or --minutes");
  std::printf("kv_stress torture: db %s, ack %s, seed %" PRIu64 ", threads %d\n", a.db.c_str(),
              a.ack.c_str(), a.seed, a.threads);
  std::fflush(stdout);
  std::mt19937_64 rng(a.seed);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      start + std::chrono::milliseconds(static_cast<std::int64_t>(a.minutes * 60000));
  int round = 0;
  for (;;) {
    if (a.rounds > 0 && round >= a.rounds) break;
    if (a.minutes > 0 && std::chrono::steady_clock::now() >= deadline) break;
    ++round;
    const std::uint64_t run_seed = rng();
    const pid_t pid = Spawn({"kv_stress", "run", "--db", a.db, "--ack", a.ack, "--threads",
                             std::to_string(a.threads), "--seed", std::to_string(run_seed),
                             "--keys", std::to_string(a.keys)});
    const int sleep_ms = 100 + static_cast<int>(rng() % 1401);
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
      std::fprintf(stderr,
                   "kv_stress torture: FAILED in round %d (run seed %" PRIu64
                   "): run exited before the kill (status %d)\n  DB kept in %s, ack file %s\n",
                   round, run_seed, status, a.db.c_str(), a.ack.c_str());
      return 1;
    }
    const pid_t vpid = Spawn(
        {"kv_stress", "verify", "--db", a.db, "--ack", a.ack, "--keys", std::to_string(a.keys)},
        /*quiet=*/a.rounds == 0 || a.rounds > 10);
    int vstatus = 0;
    waitpid(vpid, &vstatus, 0);
    if (!WIFEXITED(vstatus) || WEXITSTATUS(vstatus) != 0) {
      std::fprintf(stderr,
                   "kv_stress torture: FAILED in round %d (torture seed %" PRIu64
                   ", run seed %" PRIu64
                   ", killed after %d ms): verify status %d\n"
                   "  DB kept in %s, ack file %s\n"
                   "  re-check: kv_stress verify --db %s --ack %s\n",
                   round, a.seed, run_seed, sleep_ms, vstatus, a.db.c_str(), a.ack.c_str(),
                   a.db.c_str(), a.ack.c_str());
      return 1;
    }
    if (round % 25 == 0) {
      std::printf("kv_stress torture: %d rounds survived, %" PRIu64 " acknowledged ops\n", round,
                  CountAcks(a.ack));
    }
    std::fflush(stdout);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("kv_stress torture: PASSED: %d rounds survived, %" PRIu64
              " acknowledged ops, %.1f s\n",
              round, CountAcks(a.ack), secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = ParseArgs(argc, argv);
  if (a.mode == "run") return Run(a);
  if (a.mode == "verify") return Verify(a);
  if (a.mode == "torture") return Torture(a);
  Usage(("unknown mode " + a.mode).c_str());
}
