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

}  // namespace
}  // namespace kv
