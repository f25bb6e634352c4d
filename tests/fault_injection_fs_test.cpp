// Tests of FaultInjectionFileSystem: injected failures per operation, the
// inactive (crashed) mode, and power-loss semantics case by case, plus a
// randomized comparison against a naive model of POSIX durability.
#include "kv/fault_injection_fs.hpp"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kv/env.hpp"
#include "kv/status_macros.hpp"
#include "test_util.hpp"

namespace kv {
namespace {

struct Fixture {
  std::shared_ptr<FaultInjectionFileSystem> fs =
      std::make_shared<FaultInjectionFileSystem>(NewMemFileSystem());
  const std::string dir = "/db";
  Fixture() { REQUIRE_OK(fs->CreateDir(dir)); }
  std::string P(const std::string& name) const { return JoinPath(dir, name); }

  // Creates `name` with `data`, syncs its data and its directory entry.
  void Durable(const std::string& name, const std::string& data) {
    REQUIRE_OK(WriteStringToFile(*fs, data, P(name), /*sync=*/true));
    REQUIRE_OK(fs->SyncDir(dir));
  }
  std::string Read(const std::string& name) {
    auto s = ReadFileToString(*fs, P(name));
    REQUIRE_OK(s);
    return *s;
  }
  std::vector<std::string> Children() {
    auto c = fs->GetChildren(dir);
    REQUIRE_OK(c);
    std::sort(c->begin(), c->end());
    return *c;
  }
  void PowerLoss() { REQUIRE_OK(fs->SimulatePowerLoss()); }
};

using Names = std::vector<std::string>;

TEST_CASE("pass-through behaves like the base file system", "[fault_fs]") {
  Fixture f;
  REQUIRE_OK(WriteStringToFile(*f.fs, "hello", f.P("a"), false));
  CHECK(f.Read("a") == "hello");
  CHECK(f.fs->FileExists(f.P("a")));
  CHECK(*f.fs->GetFileSize(f.P("a")) == 5);
  REQUIRE_OK(f.fs->RenameFile(f.P("a"), f.P("b")));
  CHECK(f.Children() == Names{"b"});
  CHECK(absl::IsNotFound(f.fs->RemoveFile(f.P("a"))));
  CHECK(absl::IsNotFound(f.fs->RenameFile(f.P("a"), f.P("c"))));
  CHECK(absl::IsNotFound(f.fs->TruncateFile(f.P("a"), 0)));
  REQUIRE_OK(f.fs->RemoveFile(f.P("b")));
  CHECK(f.Children().empty());
  auto lock = f.fs->LockFile(f.P("LOCK"));
  REQUIRE_OK(lock);
  CHECK(absl::IsFailedPrecondition(f.fs->LockFile(f.P("LOCK")).status()));
  lock->reset();
  REQUIRE_OK(f.fs->LockFile(f.P("LOCK")));
}

// Files some of the calls below need, opened before a fault is armed.
struct Handles {
  std::unique_ptr<WritableFile> w;    // appends to "w"
  std::unique_ptr<SequentialFile> r;  // reads "w"
  explicit Handles(Fixture& f) {
    REQUIRE_OK(WriteStringToFile(*f.fs, "wwww", f.P("w"), false));
    REQUIRE_OK(f.fs->CreateDir(f.P("sub")));
    auto wf = f.fs->NewAppendableFile(f.P("w"));
    REQUIRE_OK(wf);
    w = *std::move(wf);
    auto rf = f.fs->NewSequentialFile(f.P("w"));
    REQUIRE_OK(rf);
    r = *std::move(rf);
  }
};

// One call of each FaultOp that succeeds when no fault is armed.
struct OpCase {
  FaultOp op;
  std::function<absl::Status(Fixture&, Handles&)> call;
};

std::vector<OpCase> OpCases() {
  return {
      {FaultOp::kAppend, [](Fixture&, Handles& h) { return h.w->Append("x"); }},
      {FaultOp::kSync, [](Fixture&, Handles& h) { return h.w->Sync(); }},
      {FaultOp::kSyncDir, [](Fixture& f, Handles&) { return f.fs->SyncDir(f.dir); }},
      {FaultOp::kRename,
       [](Fixture& f, Handles&) {
         // Two renames per call would count twice: alternate names instead.
         const bool at_w = f.fs->FileExists(f.P("w"));
         return at_w ? f.fs->RenameFile(f.P("w"), f.P("w2"))
                     : f.fs->RenameFile(f.P("w2"), f.P("w"));
       }},
      {FaultOp::kRemove,
       [](Fixture& f, Handles&) {
         KV_RETURN_IF_ERROR(f.fs->RemoveFile(f.P("w")));
         return WriteStringToFile(*f.fs, "w", f.P("w"), false);
       }},
      {FaultOp::kNewWritable,
       [](Fixture& f, Handles&) { return f.fs->NewWritableFile(f.P("n")).status(); }},
      {FaultOp::kRead,
       [](Fixture&, Handles& h) {
         char buf[4];
         return h.r->Read(1, buf).status();
       }},
      {FaultOp::kTruncate, [](Fixture& f, Handles&) { return f.fs->TruncateFile(f.P("w"), 1); }},
      {FaultOp::kOpenRead,
       [](Fixture& f, Handles&) { return f.fs->NewRandomAccessFile(f.P("w")).status(); }},
      {FaultOp::kCreateDir, [](Fixture& f, Handles&) { return f.fs->CreateDir(f.P("d2")); }},
      {FaultOp::kRemoveDir,
       [](Fixture& f, Handles&) {
         KV_RETURN_IF_ERROR(f.fs->RemoveDir(f.P("sub")));
         return f.fs->CreateDir(f.P("sub"));
       }},
      {FaultOp::kLock, [](Fixture& f, Handles&) { return f.fs->LockFile(f.P("LOCK")).status(); }},
      {FaultOp::kClose,
       [](Fixture& f, Handles&) {
         KV_ASSIGN_OR_RETURN(auto w, f.fs->NewAppendableFile(f.P("c")));
         return w->Close();
       }},
  };
}

TEST_CASE("FailNth fails exactly the n-th call of each op, once", "[fault_fs]") {
  const std::vector<OpCase> cases = OpCases();
  REQUIRE(cases.size() == static_cast<std::size_t>(kNumFaultOps));
  for (const OpCase& c : cases) {
    DYNAMIC_SECTION(FaultOpName(c.op)) {
      Fixture f;
      Handles h(f);
      const std::uint64_t before = f.fs->Count(c.op);
      f.fs->FailNth(c.op, 3, ENOSPC);
      REQUIRE_OK(c.call(f, h));
      REQUIRE_OK(c.call(f, h));
      const absl::Status s = c.call(f, h);
      INFO(s.ToString());
      CHECK(absl::IsResourceExhausted(s));
      CHECK(s.message().find("injected") != absl::string_view::npos);
      REQUIRE_OK(c.call(f, h));  // once only
      REQUIRE_OK(c.call(f, h));
      CHECK(f.fs->Count(c.op) == before + 5);
    }
  }
}

TEST_CASE("FailAlways fails every call of each op until cleared", "[fault_fs]") {
  for (const OpCase& c : OpCases()) {
    DYNAMIC_SECTION(FaultOpName(c.op)) {
      Fixture f;
      Handles h(f);
      f.fs->FailAlways(c.op, EIO);
      for (int i = 0; i < 3; ++i) CHECK(absl::IsInternal(c.call(f, h)));
      f.fs->ClearFaults();
      REQUIRE_OK(c.call(f, h));
    }
  }
}

TEST_CASE("FailAlways with a path substring and default errno", "[fault_fs]") {
  Fixture f;
  f.fs->FailAlways(FaultOp::kNewWritable, EACCES, ".sst");
  f.fs->FailNth(FaultOp::kSync, 1);  // default EIO
  CHECK(absl::IsPermissionDenied(f.fs->NewWritableFile(f.P("000001.sst")).status()));
  auto w = f.fs->NewWritableFile(f.P("000001.log"));
  REQUIRE_OK(w);
  CHECK(absl::IsInternal((*w)->Sync()));
  REQUIRE_OK((*w)->Sync());
  CHECK_FALSE(f.fs->FileExists(f.P("000001.sst")));
  CHECK(f.fs->Count(FaultOp::kNewWritable) == 2);
  f.fs->ResetCounts();
  CHECK(f.fs->Count(FaultOp::kNewWritable) == 0);
}

TEST_CASE("an injected failure has no effect", "[fault_fs]") {
  Fixture f;
  f.Durable("a", "AAA");
  f.fs->FailAlways(FaultOp::kAppend, EIO);
  f.fs->FailAlways(FaultOp::kRename, EIO);
  f.fs->FailAlways(FaultOp::kRemove, EIO);
  f.fs->FailAlways(FaultOp::kTruncate, EIO);
  f.fs->FailAlways(FaultOp::kNewWritable, EIO);
  auto w = f.fs->NewAppendableFile(f.P("a"));
  CHECK_FALSE(w.ok());
  f.fs->ClearFaults();
  w = f.fs->NewAppendableFile(f.P("a"));
  REQUIRE_OK(w);
  f.fs->FailAlways(FaultOp::kAppend, EIO);
  f.fs->FailAlways(FaultOp::kRename, EIO);
  f.fs->FailAlways(FaultOp::kRemove, EIO);
  f.fs->FailAlways(FaultOp::kTruncate, EIO);
  CHECK_FALSE((*w)->Append("more").ok());
  CHECK_FALSE(f.fs->RenameFile(f.P("a"), f.P("b")).ok());
  CHECK_FALSE(f.fs->RemoveFile(f.P("a")).ok());
  CHECK_FALSE(f.fs->TruncateFile(f.P("a"), 1).ok());
  CHECK(f.Children() == Names{"a"});
  CHECK(f.Read("a") == "AAA");
}

TEST_CASE("a failed Sync or SyncDir makes nothing durable", "[fault_fs]") {
  Fixture f;
  f.Durable("a", "A");
  auto w = f.fs->NewAppendableFile(f.P("a"));
  REQUIRE_OK(w);
  REQUIRE_OK((*w)->Append("B"));
  f.fs->FailNth(FaultOp::kSync, 1);
  CHECK_FALSE((*w)->Sync().ok());
  REQUIRE_OK(WriteStringToFile(*f.fs, "N", f.P("new"), true));
  f.fs->FailNth(FaultOp::kSyncDir, 1);
  CHECK_FALSE(f.fs->SyncDir(f.dir).ok());
  f.PowerLoss();
  CHECK(f.Children() == Names{"a"});
  CHECK(f.Read("a") == "A");
}

TEST_CASE("inactive: mutations fail with kUnavailable, reads work", "[fault_fs]") {
  Fixture f;
  f.Durable("a", "AAA");
  auto w = f.fs->NewAppendableFile(f.P("a"));
  REQUIRE_OK(w);
  f.fs->SetActive(false);
  CHECK_FALSE(f.fs->IsActive());
  CHECK(absl::IsUnavailable((*w)->Append("x")));
  CHECK(absl::IsUnavailable((*w)->Sync()));
  CHECK(absl::IsUnavailable(f.fs->NewWritableFile(f.P("b")).status()));
  CHECK(absl::IsUnavailable(f.fs->NewAppendableFile(f.P("b")).status()));
  CHECK(absl::IsUnavailable(f.fs->RenameFile(f.P("a"), f.P("b"))));
  CHECK(absl::IsUnavailable(f.fs->RemoveFile(f.P("a"))));
  CHECK(absl::IsUnavailable(f.fs->TruncateFile(f.P("a"), 0)));
  CHECK(absl::IsUnavailable(f.fs->SyncDir(f.dir)));
  CHECK(absl::IsUnavailable(f.fs->CreateDir(f.P("d"))));
  CHECK(absl::IsUnavailable(f.fs->RemoveDir(f.dir)));
  CHECK(absl::IsUnavailable(f.fs->LockFile(f.P("LOCK")).status()));
  CHECK(f.Read("a") == "AAA");
  CHECK(f.Children() == Names{"a"});
  f.fs->SetActive(true);
  REQUIRE_OK((*w)->Append("x"));
  CHECK(f.Read("a") == "AAAx");
}

TEST_CASE("power loss: file data", "[fault_fs][power_loss]") {
  Fixture f;
  SECTION("synced bytes kept, bytes appended after the last Sync lost") {
    f.Durable("a", "");
    auto w = f.fs->NewAppendableFile(f.P("a"));
    REQUIRE_OK(w);
    REQUIRE_OK((*w)->Append("synced"));
    REQUIRE_OK((*w)->Sync());
    REQUIRE_OK((*w)->Append("-lost"));
    CHECK(f.Read("a") == "synced-lost");
    f.PowerLoss();
    CHECK(f.Read("a") == "synced");
  }
  SECTION("a dir-synced file never data-synced comes back empty") {
    REQUIRE_OK(WriteStringToFile(*f.fs, "data", f.P("a"), /*sync=*/false));
    REQUIRE_OK(f.fs->SyncDir(f.dir));
    f.PowerLoss();
    CHECK(f.Children() == Names{"a"});
    CHECK(f.Read("a").empty());
  }
  SECTION("TruncateFile is undone unless synced afterwards") {
    f.Durable("a", "0123456789");
    REQUIRE_OK(f.fs->TruncateFile(f.P("a"), 4));
    CHECK(f.Read("a") == "0123");
    f.PowerLoss();
    CHECK(f.Read("a") == "0123456789");

    REQUIRE_OK(f.fs->TruncateFile(f.P("a"), 4));
    auto w = f.fs->NewAppendableFile(f.P("a"));
    REQUIRE_OK(w);
    REQUIRE_OK((*w)->Append("X"));
    REQUIRE_OK((*w)->Sync());
    REQUIRE_OK((*w)->Append("lost"));
    f.PowerLoss();
    CHECK(f.Read("a") == "0123X");
  }
  SECTION("truncate below the synced size, then append, then lose it") {
    f.Durable("a", "0123456789");
    REQUIRE_OK(f.fs->TruncateFile(f.P("a"), 2));
    auto w = f.fs->NewAppendableFile(f.P("a"));
    REQUIRE_OK(w);
    REQUIRE_OK((*w)->Append("zzzzzzzzzzzzzzz"));
    REQUIRE_OK(f.fs->TruncateFile(f.P("a"), 1));
    f.PowerLoss();
    CHECK(f.Read("a") == "0123456789");
  }
  SECTION("extending truncation is lost too") {
    f.Durable("a", "ab");
    REQUIRE_OK(f.fs->TruncateFile(f.P("a"), 5));
    f.PowerLoss();
    CHECK(f.Read("a") == "ab");
  }
  SECTION("NewWritableFile over a durable file: old contents back unless synced") {
    f.Durable("a", "old");
    {
      auto w = f.fs->NewWritableFile(f.P("a"));
      REQUIRE_OK(w);
      REQUIRE_OK((*w)->Append("new"));
    }
    CHECK(f.Read("a") == "new");
    f.PowerLoss();
    CHECK(f.Read("a") == "old");
    REQUIRE_OK(WriteStringToFile(*f.fs, "new", f.P("a"), /*sync=*/true));
    f.PowerLoss();
    CHECK(f.Read("a") == "new");
  }
}

TEST_CASE("power loss: directory entries", "[fault_fs][power_loss]") {
  Fixture f;
  SECTION("a created file vanishes without SyncDir, even with its data synced") {
    REQUIRE_OK(WriteStringToFile(*f.fs, "data", f.P("a"), /*sync=*/true));
    f.PowerLoss();
    CHECK(f.Children().empty());
  }
  SECTION("a created and dir-synced file stays") {
    f.Durable("a", "data");
    f.PowerLoss();
    CHECK(f.Children() == Names{"a"});
    CHECK(f.Read("a") == "data");
  }
  SECTION("SyncDir of another directory does not help") {
    REQUIRE_OK(f.fs->CreateDir("/other"));
    REQUIRE_OK(WriteStringToFile(*f.fs, "data", f.P("a"), /*sync=*/true));
    REQUIRE_OK(f.fs->SyncDir("/other"));
    f.PowerLoss();
    CHECK(f.Children().empty());
  }
  SECTION("an unsynced rename is reverted, the target gets its old file back") {
    f.Durable("a", "AAA");
    f.Durable("b", "BBB");
    REQUIRE_OK(f.fs->RenameFile(f.P("a"), f.P("b")));
    CHECK(f.Children() == Names{"b"});
    f.PowerLoss();
    CHECK(f.Children() == Names{"a", "b"});
    CHECK(f.Read("a") == "AAA");
    CHECK(f.Read("b") == "BBB");
  }
  SECTION("an unsynced rename to a new name is reverted") {
    f.Durable("a", "AAA");
    REQUIRE_OK(f.fs->RenameFile(f.P("a"), f.P("b")));
    f.PowerLoss();
    CHECK(f.Children() == Names{"a"});
    CHECK(f.Read("a") == "AAA");
  }
  SECTION("a dir-synced rename is kept") {
    f.Durable("a", "AAA");
    f.Durable("b", "BBB");
    REQUIRE_OK(f.fs->RenameFile(f.P("a"), f.P("b")));
    REQUIRE_OK(f.fs->SyncDir(f.dir));
    f.PowerLoss();
    CHECK(f.Children() == Names{"b"});
    CHECK(f.Read("b") == "AAA");
  }
  SECTION("the CURRENT pattern: write temp, sync, rename, SyncDir") {
    f.Durable("CURRENT", "MANIFEST-1");
    REQUIRE_OK(WriteStringToFile(*f.fs, "MANIFEST-2", f.P("CURRENT.tmp"), /*sync=*/true));
    REQUIRE_OK(f.fs->RenameFile(f.P("CURRENT.tmp"), f.P("CURRENT")));
    SECTION("without the SyncDir the old CURRENT is back") {
      f.PowerLoss();
      CHECK(f.Children() == Names{"CURRENT"});
      CHECK(f.Read("CURRENT") == "MANIFEST-1");
    }
    SECTION("with it the new one is durable") {
      REQUIRE_OK(f.fs->SyncDir(f.dir));
      f.PowerLoss();
      CHECK(f.Children() == Names{"CURRENT"});
      CHECK(f.Read("CURRENT") == "MANIFEST-2");
    }
  }
  SECTION("a renamed file keeps its durable data, not its unsynced appends") {
    f.Durable("a", "AAA");
    auto w = f.fs->NewAppendableFile(f.P("a"));
    REQUIRE_OK(w);
    REQUIRE_OK((*w)->Append("+unsynced"));
    REQUIRE_OK(f.fs->RenameFile(f.P("a"), f.P("b")));
    REQUIRE_OK(f.fs->SyncDir(f.dir));
    f.PowerLoss();
    CHECK(f.Children() == Names{"b"});
    CHECK(f.Read("b") == "AAA");
  }
  SECTION("an unsynced removal is undone, a synced one is not") {
    f.Durable("a", "AAA");
    f.Durable("b", "BBB");
    REQUIRE_OK(f.fs->RemoveFile(f.P("a")));
    f.PowerLoss();
    CHECK(f.Children() == Names{"a", "b"});
    CHECK(f.Read("a") == "AAA");
    REQUIRE_OK(f.fs->RemoveFile(f.P("b")));
    REQUIRE_OK(f.fs->SyncDir(f.dir));
    f.PowerLoss();
    CHECK(f.Children() == Names{"a"});
  }
  SECTION("a removed file comes back with what was synced through an open writer") {
    f.Durable("a", "AAA");
    auto w = f.fs->NewAppendableFile(f.P("a"));
    REQUIRE_OK(w);
    REQUIRE_OK(f.fs->RemoveFile(f.P("a")));
    REQUIRE_OK((*w)->Append("+synced"));
    REQUIRE_OK((*w)->Sync());
    REQUIRE_OK((*w)->Append("+lost"));
    f.PowerLoss();
    CHECK(f.Read("a") == "AAA+synced");
  }
  SECTION("create then remove without SyncDir leaves nothing") {
    REQUIRE_OK(WriteStringToFile(*f.fs, "x", f.P("tmp"), true));
    REQUIRE_OK(f.fs->RemoveFile(f.P("tmp")));
    f.PowerLoss();
    CHECK(f.Children().empty());
  }
  SECTION("a rename across directories durable in one of them only") {
    REQUIRE_OK(f.fs->CreateDir("/db2"));
    REQUIRE_OK(f.fs->SyncDir("/"));
    f.Durable("a", "AAA");
    REQUIRE_OK(f.fs->RenameFile(f.P("a"), "/db2/b"));
    REQUIRE_OK(f.fs->SyncDir("/db2"));
    f.PowerLoss();
    CHECK(f.Children() == Names{"a"});
    CHECK(f.Read("a") == "AAA");
    auto b = ReadFileToString(*f.fs, "/db2/b");
    REQUIRE_OK(b);
    CHECK(*b == "AAA");
  }
  SECTION("files the wrapper never touched are durable as they are") {
    auto base = NewMemFileSystem();
    REQUIRE_OK(base->CreateDir("/pre"));
    REQUIRE_OK(WriteStringToFile(*base, "kept", "/pre/x", false));
    REQUIRE_OK(WriteStringToFile(*base, "kept2", "/pre/y", false));
    FaultInjectionFileSystem fs(base);
    auto w = fs.NewAppendableFile("/pre/y");
    REQUIRE_OK(w);
    REQUIRE_OK((*w)->Append("+lost"));
    REQUIRE_OK(fs.RenameFile("/pre/x", "/pre/z"));
    REQUIRE_OK(fs.SimulatePowerLoss());
    CHECK(*ReadFileToString(fs, "/pre/x") == "kept");
    CHECK(*ReadFileToString(fs, "/pre/y") == "kept2");
    CHECK_FALSE(fs.FileExists("/pre/z"));
  }
}

TEST_CASE("power loss: a reboot", "[fault_fs][power_loss]") {
  Fixture f;
  f.Durable("a", "AAA");
  auto w = f.fs->NewAppendableFile(f.P("a"));
  REQUIRE_OK(w);
  auto r = f.fs->NewRandomAccessFile(f.P("a"));
  REQUIRE_OK(r);
  auto s = f.fs->NewSequentialFile(f.P("a"));
  REQUIRE_OK(s);
  auto lock = f.fs->LockFile(f.P("LOCK"));
  REQUIRE_OK(lock);
  f.PowerLoss();
  // Old handles are dead and cannot touch the new state.
  CHECK(absl::IsUnavailable((*w)->Append("zombie")));
  CHECK(absl::IsUnavailable((*w)->Sync()));
  char buf[8];
  CHECK(absl::IsUnavailable((*r)->Read(0, 3, buf).status()));
  CHECK(absl::IsUnavailable((*s)->Read(3, buf).status()));
  CHECK(f.Read("a") == "AAA");
  // The lock was released; dropping the old one later does not free the new.
  auto lock2 = f.fs->LockFile(f.P("LOCK"));
  REQUIRE_OK(lock2);
  lock->reset();
  CHECK(absl::IsFailedPrecondition(f.fs->LockFile(f.P("LOCK")).status()));
  // The new state works normally, and is the new durable baseline.
  auto w2 = f.fs->NewAppendableFile(f.P("a"));
  REQUIRE_OK(w2);
  REQUIRE_OK((*w2)->Append("B"));
  REQUIRE_OK((*w2)->Sync());
  f.PowerLoss();
  CHECK(f.Read("a") == "AAAB");
  CHECK(f.Children() == Names{"a"});  // LOCK was never dir-synced
}

TEST_CASE("power loss over the POSIX file system", "[fault_fs][power_loss]") {
  test::TempDir tmp;
  FaultInjectionFileSystem fs(FileSystem::Default());
  const std::string a = JoinPath(tmp.str(), "a");
  const std::string b = JoinPath(tmp.str(), "b");
  REQUIRE_OK(WriteStringToFile(fs, "AAA", a, true));
  REQUIRE_OK(fs.SyncDir(tmp.str()));
  auto w = fs.NewAppendableFile(a);
  REQUIRE_OK(w);
  REQUIRE_OK((*w)->Append("lost"));
  REQUIRE_OK(WriteStringToFile(fs, "BBB", b, true));
  REQUIRE_OK(fs.SimulatePowerLoss());
  CHECK(*ReadFileToString(fs, a) == "AAA");
  CHECK_FALSE(fs.FileExists(b));
}

// A naive model of the same rules, with full copies of everything: files
// (current and durable contents) and, per directory, the current and the
// last-synced name -> file maps.
struct Model {
  struct File {
    std::string current, durable;
  };
  std::vector<File> files;
  std::map<std::string, std::map<std::string, int>> names, durable_names;  // dir -> name -> id
};

TEST_CASE("power loss matches a naive model on random operations", "[fault_fs][power_loss]") {
  const std::uint64_t seed = test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<std::string> dirs = {"/d1", "/d2"};
  const std::vector<std::string> names = {"a", "b", "c", "d"};

  for (int round = 0; round < 60; ++round) {
    Fixture f;  // only for its fs; uses /d1 and /d2
    for (const auto& d : dirs) REQUIRE_OK(f.fs->CreateDir(d));
    Model m;
    struct OpenWriter {
      int id;
      std::unique_ptr<WritableFile> w;
    };
    std::vector<OpenWriter> writers;
    for (int cycle = 0; cycle < 3; ++cycle) {
      for (int step = 0; step < 40; ++step) {
        const std::string& dir = dirs[pick(dirs.size())];
        const std::string& name = names[pick(names.size())];
        const std::string path = JoinPath(dir, name);
        auto& dnames = m.names[dir];
        const bool exists = dnames.count(name) != 0;
        switch (pick(8)) {
          case 0: {  // create or truncate-open
            auto w = f.fs->NewWritableFile(path);
            REQUIRE_OK(w);
            int id;
            if (exists) {
              id = dnames[name];
              m.files[id].current.clear();
            } else {
              id = static_cast<int>(m.files.size());
              m.files.push_back({});
              dnames[name] = id;
            }
            writers.push_back({id, *std::move(w)});
            break;
          }
          case 1:
          case 2: {  // append
            if (writers.empty()) break;
            OpenWriter& ow = writers[pick(writers.size())];
            const std::string data(1 + pick(5), static_cast<char>('a' + pick(26)));
            REQUIRE_OK(ow.w->Append(data));
            m.files[ow.id].current += data;
            break;
          }
          case 3: {  // sync
            if (writers.empty()) break;
            OpenWriter& ow = writers[pick(writers.size())];
            REQUIRE_OK(ow.w->Sync());
            m.files[ow.id].durable = m.files[ow.id].current;
            break;
          }
          case 4: {  // SyncDir
            REQUIRE_OK(f.fs->SyncDir(dir));
            m.durable_names[dir] = dnames;
            break;
          }
          case 5: {  // rename
            const std::string& to_dir = dirs[pick(dirs.size())];
            const std::string& to_name = names[pick(names.size())];
            const absl::Status s = f.fs->RenameFile(path, JoinPath(to_dir, to_name));
            if (!exists) {
              CHECK(absl::IsNotFound(s));
              break;
            }
            REQUIRE_OK(s);
            const int id = dnames[name];
            dnames.erase(name);
            m.names[to_dir][to_name] = id;
            break;
          }
          case 6: {  // remove
            const absl::Status s = f.fs->RemoveFile(path);
            if (!exists) {
              CHECK(absl::IsNotFound(s));
              break;
            }
            REQUIRE_OK(s);
            dnames.erase(name);
            break;
          }
          case 7: {  // truncate
            if (!exists) break;
            std::string& cur = m.files[dnames[name]].current;
            const std::size_t size = pick(cur.size() + 3);
            REQUIRE_OK(f.fs->TruncateFile(path, size));
            cur.resize(size, '\0');
            break;
          }
        }
      }
      // Before the power loss the file system shows the current state...
      for (const auto& d : dirs) {
        for (const auto& [name, id] : m.names[d]) {
          auto got = ReadFileToString(*f.fs, JoinPath(d, name));
          REQUIRE_OK(got);
          CHECK(*got == m.files[id].current);
        }
      }
      // ...and after it, exactly the durable one.
      f.PowerLoss();
      writers.clear();
      Model next;
      for (const auto& d : dirs) {
        Names expected_names;
        for (const auto& [name, id] : m.durable_names[d]) {
          expected_names.push_back(name);
          auto got = ReadFileToString(*f.fs, JoinPath(d, name));
          REQUIRE_OK(got);
          INFO("round " << round << " cycle " << cycle << " file " << JoinPath(d, name));
          CHECK(*got == m.files[id].durable);
          const int nid = static_cast<int>(next.files.size());
          next.files.push_back({m.files[id].durable, m.files[id].durable});
          next.names[d][name] = nid;
        }
        auto kids = f.fs->GetChildren(d);
        REQUIRE_OK(kids);
        std::sort(kids->begin(), kids->end());
        CHECK(*kids == expected_names);
        next.durable_names[d] = next.names[d];
      }
      m = std::move(next);
    }
  }
}

// ---------------------------------------------------------------------------
// Torn writes, random errors, bit flips, fault counters.

// "synced" durable in /db/a, then `unsynced` appended and power lost with
// torn writes on (garbage probability g) under `seed`: what survives.
std::string TornOutcome(std::uint64_t seed, const std::string& unsynced, double g = 0.0,
                        FaultCounters* counters = nullptr) {
  Fixture f;
  f.fs->SetSeed(seed);
  f.fs->SetTornWrites(true, g);
  f.Durable("a", "");
  auto w = f.fs->NewAppendableFile(f.P("a"));
  REQUIRE_OK(w);
  REQUIRE_OK((*w)->Append("synced"));
  REQUIRE_OK((*w)->Sync());
  REQUIRE_OK((*w)->Append(unsynced));
  f.PowerLoss();
  if (counters != nullptr) *counters = f.fs->GetFaultCounters();
  return f.Read("a");
}

TEST_CASE("torn writes: off by default, all unsynced bytes dropped", "[fault_fs][torn]") {
  Fixture f;
  f.fs->SetSeed(1);
  f.Durable("a", "");
  auto w = f.fs->NewAppendableFile(f.P("a"));
  REQUIRE_OK(w);
  REQUIRE_OK((*w)->Append("synced"));
  REQUIRE_OK((*w)->Sync());
  REQUIRE_OK((*w)->Append("-unsynced"));
  f.PowerLoss();
  CHECK(f.Read("a") == "synced");
  const FaultCounters c = f.fs->GetFaultCounters();
  CHECK(c.power_losses == 1);
  CHECK(c.unsynced_tails == 1);
  CHECK(c.torn_tails == 0);
  CHECK(c.torn_bytes == 0);
}

TEST_CASE("torn writes keep a seeded prefix of the unsynced bytes", "[fault_fs][torn]") {
  const std::string unsynced = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::map<std::size_t, int> kept_lengths;
  std::uint64_t torn_bytes = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    INFO("seed " << seed);
    FaultCounters c;
    const std::string got = TornOutcome(seed, unsynced, 0.0, &c);
    REQUIRE(got.size() >= 6);
    REQUIRE(got.substr(0, 6) == "synced");
    const std::string tail = got.substr(6);
    REQUIRE(tail == unsynced.substr(0, tail.size()));  // a prefix, never garbage
    ++kept_lengths[tail.size()];
    CHECK(c.unsynced_tails == 1);
    CHECK(c.torn_tails == (tail.empty() ? 0u : 1u));
    CHECK(c.torn_bytes == tail.size());
    CHECK(c.garbage_bytes == 0);
    torn_bytes += c.torn_bytes;
    // Same seed, same outcome.
    REQUIRE(TornOutcome(seed, unsynced) == got);
  }
  // Nothing, everything and lengths in between all happen.
  CHECK(kept_lengths[0] > 10);
  CHECK(kept_lengths[unsynced.size()] > 10);
  CHECK(kept_lengths.size() > 15);
  CHECK(torn_bytes > 0);
}

TEST_CASE("torn writes with garbage garble only the kept unsynced tail", "[fault_fs][torn]") {
  const std::string unsynced(100, 'u');
  int garbled = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    INFO("seed " << seed);
    FaultCounters c;
    const std::string got = TornOutcome(seed, unsynced, /*g=*/1.0, &c);
    REQUIRE(got.substr(0, 6) == "synced");  // synced bytes are never touched
    const std::string tail = got.substr(6);
    REQUIRE(tail.size() <= unsynced.size());
    CHECK(c.torn_bytes == tail.size());
    if (tail.empty()) {
      CHECK(c.garbage_tails == 0);
      continue;
    }
    CHECK(c.garbage_tails == 1);
    REQUIRE(c.garbage_bytes >= 1);
    REQUIRE(c.garbage_bytes <= 16);
    REQUIRE(c.garbage_bytes <= tail.size());
    // Everything before the garbled end is the data written.
    const std::size_t clean = tail.size() - c.garbage_bytes;
    CHECK(tail.substr(0, clean) == unsynced.substr(0, clean));
    if (tail.substr(clean) != unsynced.substr(clean, c.garbage_bytes)) ++garbled;
    REQUIRE(TornOutcome(seed, unsynced, 1.0) == got);
  }
  CHECK(garbled > 50);  // random bytes differ from 'u' nearly always
}

TEST_CASE("torn writes: different seeds give different outcomes", "[fault_fs][torn]") {
  const std::string unsynced(1000, 'x');
  std::set<std::string> outcomes;
  for (std::uint64_t seed = 0; seed < 10; ++seed) outcomes.insert(TornOutcome(seed, unsynced));
  CHECK(outcomes.size() >= 4);
}

TEST_CASE("torn writes: which files are torn", "[fault_fs][torn]") {
  Fixture f;
  f.fs->SetTornWrites(true);
  SECTION("a new file never synced, its name dir-synced: a prefix of its data") {
    std::set<std::size_t> sizes;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
      f.fs->SetSeed(seed);
      const std::string name = "n" + std::to_string(seed);
      REQUIRE_OK(WriteStringToFile(*f.fs, "abcdefgh", f.P(name), /*sync=*/false));
      REQUIRE_OK(f.fs->SyncDir(f.dir));
      f.PowerLoss();
      const std::string got = f.Read(name);
      CHECK(got == std::string("abcdefgh").substr(0, got.size()));
      sizes.insert(got.size());
    }
    CHECK(sizes.size() > 3);
  }
  SECTION("a created file whose name is not durable still vanishes") {
    REQUIRE_OK(WriteStringToFile(*f.fs, "abcdefgh", f.P("gone"), /*sync=*/false));
    f.PowerLoss();
    CHECK(f.Children().empty());
  }
  SECTION("a truncation below the synced size is not torn: the durable contents come back") {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      f.fs->SetSeed(seed);
      f.Durable("t", "durable-contents");
      REQUIRE_OK(f.fs->TruncateFile(f.P("t"), 3));
      auto w = f.fs->NewAppendableFile(f.P("t"));
      REQUIRE_OK(w);
      REQUIRE_OK((*w)->Append("XYZ"));
      f.PowerLoss();
      CHECK(f.Read("t") == "durable-contents");
    }
  }
  SECTION("a removed file with an open writer: a prefix of its unsynced appends") {
    std::set<std::string> outcomes;
    for (std::uint64_t seed = 0; seed < 30; ++seed) {
      f.fs->SetSeed(seed);
      f.Durable("r", "AAA");
      auto w = f.fs->NewAppendableFile(f.P("r"));
      REQUIRE_OK(w);
      REQUIRE_OK(f.fs->RemoveFile(f.P("r")));
      REQUIRE_OK((*w)->Append("+unsynced"));
      f.PowerLoss();
      const std::string got = f.Read("r");
      CHECK(got == std::string("AAA+unsynced").substr(0, got.size()));
      CHECK(got.size() >= 3);
      outcomes.insert(got);
    }
    CHECK(outcomes.size() > 3);
  }
  SECTION("turned off again: nothing unsynced survives") {
    f.fs->SetTornWrites(false);
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      f.fs->SetSeed(seed);
      f.Durable("o", "syn");
      auto w = f.fs->NewAppendableFile(f.P("o"));
      REQUIRE_OK(w);
      REQUIRE_OK((*w)->Append("unsynced"));
      f.PowerLoss();
      CHECK(f.Read("o") == "syn");
    }
  }
}

// Reads `path` through a RandomAccessFile `reads` times (16 bytes at
// rotating offsets); returns which reads failed (each must be EIO).
std::vector<bool> RandomReadFailures(FaultInjectionFileSystem& fs, const std::string& path,
                                     int reads) {
  auto file = fs.NewRandomAccessFile(path);
  REQUIRE_OK(file);
  std::vector<bool> failed;
  char scratch[16];
  for (int i = 0; i < reads; ++i) {
    auto got = (*file)->Read(static_cast<std::uint64_t>(i % 48), 16, scratch);
    if (!got.ok()) REQUIRE(absl::IsInternal(got.status()));
    failed.push_back(!got.ok());
  }
  return failed;
}

TEST_CASE("read error rate: seeded, near p, only on matching paths", "[fault_fs][random]") {
  Fixture f;
  f.Durable("000001.sst", std::string(64, 's'));
  f.Durable("000002.log", std::string(64, 'l'));
  f.fs->SetSeed(42);
  f.fs->SetReadErrorRate(0.25, ".sst");
  const std::vector<bool> a = RandomReadFailures(*f.fs, f.P("000001.sst"), 4000);
  const auto failures = static_cast<std::uint64_t>(std::count(a.begin(), a.end(), true));
  CHECK(failures > 850);  // 1000 expected, sd ~27
  CHECK(failures < 1150);
  // The other file is never hit.
  const std::vector<bool> other = RandomReadFailures(*f.fs, f.P("000002.log"), 500);
  CHECK(std::count(other.begin(), other.end(), true) == 0);
  FaultCounters c = f.fs->GetFaultCounters();
  CHECK(c.random_errors == failures);
  CHECK(c.injected[static_cast<int>(FaultOp::kRead)] == failures);
  CHECK(c.injected_total() == failures);
  CHECK(c.ToString().find("Read=" + std::to_string(failures)) != std::string::npos);

  // Same seed: the same failures; another seed: others.
  f.fs->SetSeed(42);
  CHECK(RandomReadFailures(*f.fs, f.P("000001.sst"), 4000) == a);
  f.fs->SetSeed(43);
  CHECK(RandomReadFailures(*f.fs, f.P("000001.sst"), 4000) != a);

  // Sequential reads and Skip are reads too.
  f.fs->SetReadErrorRate(1.0, ".sst");
  auto seq = f.fs->NewSequentialFile(f.P("000001.sst"));
  REQUIRE_OK(seq);
  char scratch[8];
  CHECK(absl::IsInternal((*seq)->Read(8, scratch).status()));
  CHECK(absl::IsInternal((*seq)->Skip(8)));

  // Rate 0 removes the rule, as does ClearFaults.
  f.fs->SetReadErrorRate(0.0, ".sst");
  auto none = RandomReadFailures(*f.fs, f.P("000001.sst"), 200);
  CHECK(std::count(none.begin(), none.end(), true) == 0);
  f.fs->SetReadErrorRate(1.0);
  f.fs->ClearFaults();
  none = RandomReadFailures(*f.fs, f.P("000001.sst"), 200);
  CHECK(std::count(none.begin(), none.end(), true) == 0);
  f.fs->ResetFaultCounters();
  CHECK(f.fs->GetFaultCounters().injected_total() == 0);
}

TEST_CASE("error rate on a mutating op: a failed append changes nothing", "[fault_fs][random]") {
  Fixture f;
  f.fs->SetSeed(7);
  f.fs->SetErrorRate(FaultOp::kAppend, 0.5, "", ENOSPC);
  auto w = f.fs->NewWritableFile(f.P("a"));
  REQUIRE_OK(w);
  std::string expected;
  int failed = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string piece = std::to_string(i) + ",";
    const absl::Status s = (*w)->Append(piece);
    if (s.ok()) {
      expected += piece;
    } else {
      CHECK(absl::IsResourceExhausted(s));
      ++failed;
    }
  }
  CHECK(failed > 150);
  CHECK(failed < 250);
  CHECK(f.Read("a") == expected);
  CHECK(f.fs->GetFaultCounters().injected[static_cast<int>(FaultOp::kAppend)] ==
        static_cast<std::uint64_t>(failed));
}

// Reads the whole of `path` `reads` times; returns each result.
std::vector<std::string> ReadsWithFlips(FaultInjectionFileSystem& fs, const std::string& path,
                                        int reads) {
  auto file = fs.NewRandomAccessFile(path);
  REQUIRE_OK(file);
  auto size = (*file)->Size();
  REQUIRE_OK(size);
  std::vector<std::string> out;
  std::string scratch(*size, '\0');
  for (int i = 0; i < reads; ++i) {
    auto got = (*file)->Read(0, *size, scratch.data());
    REQUIRE_OK(got);
    out.emplace_back(*got);
  }
  return out;
}

int BitsDifferent(const std::string& a, const std::string& b) {
  REQUIRE(a.size() == b.size());
  int n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    n += __builtin_popcount(static_cast<unsigned char>(a[i] ^ b[i]));
  }
  return n;
}

TEST_CASE("read bit flips: one bit per hit read, the file unchanged", "[fault_fs][random]") {
  Fixture f;
  std::string data;
  for (int i = 0; i < 200; ++i) data += static_cast<char>(i * 7);
  f.Durable("000005.sst", data);
  f.Durable("CURRENT", "MANIFEST-000001\n");
  f.fs->SetSeed(99);

  SECTION("p = 1: every read has exactly one flipped bit, spread over the data") {
    f.fs->SetReadBitFlipRate(1.0, ".sst");
    std::set<std::size_t> bytes_hit;
    for (const std::string& got : ReadsWithFlips(*f.fs, f.P("000005.sst"), 300)) {
      REQUIRE(BitsDifferent(got, data) == 1);
      for (std::size_t i = 0; i < data.size(); ++i) {
        if (got[i] != data[i]) bytes_hit.insert(i);
      }
    }
    CHECK(bytes_hit.size() > 100);
    CHECK(f.fs->GetFaultCounters().bit_flips == 300);
    // Other paths are not hit; a sequential read of a matching path is.
    CHECK(f.Read("CURRENT") == "MANIFEST-000001\n");
    auto seq = f.fs->NewSequentialFile(f.P("000005.sst"));
    REQUIRE_OK(seq);
    std::string scratch(data.size(), '\0');
    auto got = (*seq)->Read(data.size(), scratch.data());
    REQUIRE_OK(got);
    CHECK(BitsDifferent(std::string(*got), data) == 1);
    // The file itself never changed.
    f.fs->ClearFaults();
    CHECK(f.Read("000005.sst") == data);
  }
  SECTION("p = 0.1: about a tenth of reads, deterministic per seed") {
    f.fs->SetReadBitFlipRate(0.1, ".sst");
    const std::vector<std::string> a = ReadsWithFlips(*f.fs, f.P("000005.sst"), 3000);
    int flipped = 0;
    for (const std::string& got : a) {
      const int bits = BitsDifferent(got, data);
      REQUIRE(bits <= 1);
      flipped += bits;
    }
    CHECK(flipped > 230);  // 300 expected, sd ~16
    CHECK(flipped < 370);
    CHECK(f.fs->GetFaultCounters().bit_flips == static_cast<std::uint64_t>(flipped));
    f.fs->SetSeed(99);
    CHECK(ReadsWithFlips(*f.fs, f.P("000005.sst"), 3000) == a);
    f.fs->SetSeed(100);
    CHECK(ReadsWithFlips(*f.fs, f.P("000005.sst"), 3000) != a);
    f.fs->SetReadBitFlipRate(0.0, ".sst");
    for (const std::string& got : ReadsWithFlips(*f.fs, f.P("000005.sst"), 100)) {
      CHECK(got == data);
    }
  }
}

TEST_CASE("fault counters add up and print", "[fault_fs]") {
  FaultCounters a;
  a.injected[static_cast<int>(FaultOp::kSync)] = 2;
  a.torn_tails = 3;
  a.torn_bytes = 100;
  FaultCounters b;
  b.injected[static_cast<int>(FaultOp::kSync)] = 1;
  b.injected[static_cast<int>(FaultOp::kRead)] = 4;
  b.bit_flips = 5;
  b += a;
  CHECK(b.injected_total() == 7);
  CHECK(b.torn_tails == 3);
  CHECK(b.bit_flips == 5);
  const std::string s = b.ToString();
  CHECK(s.find("torn_tails=3") != std::string::npos);
  CHECK(s.find("bit_flips=5") != std::string::npos);
  CHECK(s.find("injected_errors=7 (Sync=3 Read=4)") != std::string::npos);
}

}  // namespace
}  // namespace kv
