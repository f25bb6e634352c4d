// Version, VersionBuilder and VersionSet (MANIFEST + CURRENT) tests.
#include "db/version_set.hpp"

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "db/file_names.hpp"
#include "db/version.hpp"
#include "kv/mutex.hpp"
#include "test_util.hpp"

namespace kv::detail {
namespace {

FileMetaData Meta(std::uint64_t number, std::string_view lo, std::string_view hi,
                  SequenceNumber lo_seq = 100, SequenceNumber hi_seq = 100,
                  std::uint64_t size = 1000) {
  FileMetaData f;
  f.number = number;
  f.file_size = size;
  f.smallest = MakeInternalKey(lo, lo_seq, ValueType::kValue);
  f.largest = MakeInternalKey(hi, hi_seq, ValueType::kValue);
  f.smallest_seq = std::min(lo_seq, hi_seq);
  f.largest_seq = std::max(lo_seq, hi_seq);
  return f;
}

Options SmallOptions() {
  Options o;
  o.num_levels = 4;
  o.level0_compaction_trigger = 4;
  o.level1_target_bytes = 10000;
  o.level_size_ratio = 10;
  return o;
}

std::vector<std::uint64_t> Numbers(const std::vector<FileRef>& files) {
  std::vector<std::uint64_t> out;
  for (const FileRef& f : files) out.push_back(f->number);
  return out;
}

std::shared_ptr<const Version> Build(const Options& o, const VersionEdit& e,
                                     std::shared_ptr<const Version> base = nullptr) {
  VersionBuilder b(o, base);
  absl::Status s = b.Apply(e);
  INFO(s.ToString());
  REQUIRE(s.ok());
  auto v = b.Build();
  INFO(v.status().ToString());
  REQUIRE(v.ok());
  return *v;
}

// ---------------------------------------------------------------------------
// Version and VersionBuilder

TEST_CASE("Version: builder orders L0 newest first and deeper levels by key") {
  const Options o = SmallOptions();
  VersionEdit e;
  e.AddFile(0, Meta(5, "a", "z", 10, 20));
  e.AddFile(0, Meta(6, "c", "d", 30, 40));
  e.AddFile(0, Meta(4, "b", "e", 30, 40));  // same largest_seq as #6: number breaks the tie
  e.AddFile(1, Meta(9, "m", "p"));
  e.AddFile(1, Meta(8, "a", "c"));
  e.AddFile(1, Meta(7, "q", "z"));
  auto v = Build(o, e);
  CHECK(v->num_levels() == 4);
  CHECK(Numbers(v->files(0)) == std::vector<std::uint64_t>{6, 4, 5});
  CHECK(Numbers(v->files(1)) == std::vector<std::uint64_t>{8, 9, 7});
  CHECK(v->NumFiles(2) == 0);
  CHECK(v->LevelBytes(1) == 3000);
  CHECK(v->TotalBytes() == 6000);

  VersionEdit e2;
  e2.RemoveFile(0, 5);
  e2.RemoveFile(1, 9);
  e2.AddFile(2, Meta(9, "m", "p"));  // a trivial move: removal applies first
  auto v2 = Build(o, e2, v);
  CHECK(Numbers(v2->files(0)) == std::vector<std::uint64_t>{6, 4});
  CHECK(Numbers(v2->files(1)) == std::vector<std::uint64_t>{8, 7});
  CHECK(Numbers(v2->files(2)) == std::vector<std::uint64_t>{9});
  // The base is untouched and the unchanged files are shared, not copied.
  CHECK(v->NumFiles(0) == 3);
  CHECK(v2->files(1)[0] == v->files(1)[0]);
}

TEST_CASE("Version: builder rejects inconsistent edits") {
  const Options o = SmallOptions();
  VersionEdit base;
  base.AddFile(1, Meta(1, "a", "c"));
  auto v = Build(o, base);
  VersionBuilder b(o, v);
  VersionEdit e;
  absl::Status s;
  SECTION("removing an absent file") {
    e.RemoveFile(1, 2);
    s = b.Apply(e);
    CHECK(absl::IsDataLoss(s));
  }
  SECTION("removing from the wrong level") {
    e.RemoveFile(0, 1);
    s = b.Apply(e);
    CHECK(absl::IsDataLoss(s));
  }
  SECTION("adding a number twice") {
    e.AddFile(2, Meta(1, "x", "y"));
    s = b.Apply(e);
    CHECK(absl::IsDataLoss(s));
  }
  SECTION("a level beyond num_levels") {
    e.AddFile(4, Meta(2, "x", "y"));
    s = b.Apply(e);
    CHECK(absl::IsInvalidArgument(s));
  }
  SECTION("overlapping files in L1") {
    e.AddFile(1, Meta(2, "b", "d"));
    REQUIRE_OK(b.Apply(e));
    s = b.Build().status();
    CHECK(absl::IsDataLoss(s));
  }
  SECTION("the same internal key at a boundary") {
    e.AddFile(1, Meta(2, "c", "d"));  // "c"@100 is also #1's largest
    REQUIRE_OK(b.Apply(e));
    s = b.Build().status();
    CHECK(absl::IsDataLoss(s));
  }
  INFO(s.ToString());
  CHECK(s.message().size() > 0);
}

TEST_CASE("Version: a user key split across two L1 files is allowed and found in both") {
  const Options o = SmallOptions();
  VersionEdit e;
  e.AddFile(1, Meta(1, "a", "k", 50, 90));  // ends with k@90 (newer)
  e.AddFile(1, Meta(2, "k", "p", 40, 60));  // starts with k@40 (older)
  e.AddFile(1, Meta(3, "q", "t"));
  e.AddFile(2, Meta(4, "a", "z"));
  e.AddFile(0, Meta(5, "j", "l", 200, 210));
  e.AddFile(0, Meta(6, "x", "y", 300, 300));
  e.AddFile(0, Meta(7, "a", "k", 220, 230));
  auto v = Build(o, e);

  auto lookup = [&](std::string_view key, int stop_after = 100) {
    std::vector<std::pair<int, std::uint64_t>> seen;
    v->ForEachFileContaining(key, [&](int level, const FileRef& f) {
      seen.emplace_back(level, f->number);
      return static_cast<int>(seen.size()) < stop_after;
    });
    return seen;
  };
  using Seen = std::vector<std::pair<int, std::uint64_t>>;
  CHECK(lookup("k") == Seen{{0, 7}, {0, 5}, {1, 1}, {1, 2}, {2, 4}});
  CHECK(lookup("k", 3) == Seen{{0, 7}, {0, 5}, {1, 1}});
  CHECK(lookup("b") == Seen{{0, 7}, {1, 1}, {2, 4}});
  CHECK(lookup("p") == Seen{{1, 2}, {2, 4}});
  CHECK(lookup("pz") == Seen{{2, 4}});
  CHECK(lookup("x") == Seen{{0, 6}, {2, 4}});
  CHECK(lookup("zz").empty());
  CHECK(lookup("").empty());
}

TEST_CASE("Version: GetOverlappingInputs and OverlapInLevel") {
  const Options o = SmallOptions();
  VersionEdit e;
  // L0: a chain a-c, b-f, e-h overlaps transitively; x-z stands alone.
  e.AddFile(0, Meta(1, "a", "c", 1, 1));
  e.AddFile(0, Meta(2, "e", "h", 2, 2));
  e.AddFile(0, Meta(3, "x", "z", 3, 3));
  e.AddFile(0, Meta(4, "b", "f", 4, 4));
  e.AddFile(1, Meta(5, "a", "c"));
  e.AddFile(1, Meta(6, "d", "f"));
  e.AddFile(1, Meta(7, "m", "n"));
  auto v = Build(o, e);
  using N = std::vector<std::uint64_t>;
  auto sorted = [](std::vector<std::uint64_t> n) {
    std::sort(n.begin(), n.end());
    return n;
  };
  CHECK(sorted(Numbers(v->GetOverlappingInputs(0, "a", "a"))) == N{1, 2, 4});
  CHECK(sorted(Numbers(v->GetOverlappingInputs(0, "g", "g"))) == N{1, 2, 4});
  CHECK(Numbers(v->GetOverlappingInputs(0, "i", "w")).empty());
  CHECK(Numbers(v->GetOverlappingInputs(0, "y", std::nullopt)) == N{3});
  CHECK(Numbers(v->GetOverlappingInputs(0, std::nullopt, std::nullopt)).size() == 4);

  CHECK(Numbers(v->GetOverlappingInputs(1, "c", "d")) == N{5, 6});
  CHECK(Numbers(v->GetOverlappingInputs(1, "f", "m")) == N{6, 7});
  CHECK(Numbers(v->GetOverlappingInputs(1, "g", "l")).empty());
  CHECK(Numbers(v->GetOverlappingInputs(1, std::nullopt, "b")) == N{5});
  CHECK(Numbers(v->GetOverlappingInputs(1, "n", std::nullopt)) == N{7});
  CHECK(Numbers(v->GetOverlappingInputs(1, std::nullopt, std::nullopt)) == N{5, 6, 7});
  CHECK(Numbers(v->GetOverlappingInputs(2, std::nullopt, std::nullopt)).empty());

  CHECK(v->OverlapInLevel(1, "f", "g"));
  CHECK_FALSE(v->OverlapInLevel(1, "g", "l"));
  CHECK_FALSE(v->OverlapInLevel(1, "o", std::nullopt));
  CHECK(v->OverlapInLevel(0, "i", "x"));
  CHECK_FALSE(v->OverlapInLevel(0, "i", "w"));
  CHECK_FALSE(v->OverlapInLevel(3, std::nullopt, std::nullopt));
}

TEST_CASE("Version: compaction scores") {
  const Options o = SmallOptions();  // L0 trigger 4, L1 10000 bytes, L2 100000
  VersionEdit e;
  for (int i = 0; i < 2; ++i) e.AddFile(0, Meta(10 + i, "a", "b", i + 1, i + 1));
  e.AddFile(1, Meta(20, "a", "b", 1, 1, 15000));
  e.AddFile(2, Meta(30, "a", "b", 1, 1, 50000));
  e.AddFile(3, Meta(40, "a", "b", 1, 1, 1ull << 40));  // last level: never scored
  auto v = Build(o, e);
  CHECK(v->level_score(0) == Approx(0.5));
  CHECK(v->level_score(1) == Approx(1.5));
  CHECK(v->level_score(2) == Approx(0.5));
  CHECK(v->level_score(3) == 0);
  CHECK(v->compaction_level() == 1);
  CHECK(v->compaction_score() == Approx(1.5));
  CHECK(MaxBytesForLevel(o, 3) == 1000000);
  Options huge = o;
  huge.level1_target_bytes = 1ull << 62;
  CHECK(MaxBytesForLevel(huge, 5) == std::numeric_limits<std::uint64_t>::max());

  auto empty = std::make_shared<const Version>(o);
  CHECK(empty->compaction_score() == 0);
  CHECK(empty->DebugString().find("L3: 0 files") != std::string::npos);
  CHECK(v->DebugString().find("#20 15000 bytes") != std::string::npos);
}

// ---------------------------------------------------------------------------
// VersionSet

constexpr char kDir[] = "/db";

// Creates table file `number` of `size` bytes.
void MakeTable(FileSystem& fs, std::uint64_t number, std::uint64_t size) {
  REQUIRE_OK(
      WriteStringToFile(fs, std::string(size, 't'), JoinPath(kDir, TableFileName(number)), false));
}

FileMetaData NewTable(FileSystem& fs, VersionSet& vs, std::string_view lo, std::string_view hi,
                      std::uint64_t size = 100) {
  FileMetaData f = Meta(vs.NewFileNumber(), lo, hi, 1, 1, size);
  MakeTable(fs, f.number, size);
  return f;
}

struct Fixture {
  std::shared_ptr<FileSystem> fs = NewMemFileSystem();
  Options options = SmallOptions();
  kv::Mutex mu;
  Fixture() { REQUIRE_OK(fs->CreateDir(kDir)); }
  std::unique_ptr<VersionSet> Open() { return std::make_unique<VersionSet>(kDir, fs, options); }
  absl::Status Apply(VersionSet& vs, VersionEdit* e) {
    kv::MutexLock l(&mu);
    return vs.LogAndApply(e, &mu);
  }
  std::string Current() {
    auto s = ReadFileToString(*fs, JoinPath(kDir, kCurrentFileName));
    REQUIRE_OK(s);
    return *s;
  }
};

TEST_CASE("VersionSet: CreateNew, LogAndApply and Recover round trip") {
  Fixture t;
  auto vs = t.Open();
  REQUIRE_OK(vs->CreateNew());
  CHECK(t.Current() == "MANIFEST-000001\n");
  CHECK(vs->manifest_file_number() == 1);
  CHECK(vs->next_file_number() == 2);
  CHECK(vs->log_number() == 0);
  CHECK(vs->last_sequence() == 0);

  const std::uint64_t wal = vs->NewFileNumber();  // 2
  VersionEdit e1;
  FileMetaData a = NewTable(*t.fs, *vs, "a", "f", 111);
  FileMetaData b = NewTable(*t.fs, *vs, "g", "k", 222);
  e1.AddFile(0, a);
  e1.AddFile(1, b);
  e1.SetLogNumber(wal);
  vs->SetLastSequence(50);
  REQUIRE_OK(t.Apply(*vs, &e1));
  CHECK(e1.next_file_number() == vs->next_file_number());
  CHECK(e1.last_sequence() == 50u);
  CHECK(vs->log_number() == wal);
  CHECK(vs->current()->NumFiles(0) == 1);

  VersionEdit e2;  // no log number: keeps the current one
  e2.RemoveFile(0, a.number);
  FileMetaData c = NewTable(*t.fs, *vs, "a", "f", 333);
  e2.AddFile(1, c);
  e2.SetCompactPointer(1, c.largest);
  vs->SetLastSequence(77);
  REQUIRE_OK(t.Apply(*vs, &e2));
  CHECK(e2.log_number() == wal);
  const std::uint64_t next = vs->next_file_number();
  vs.reset();

  auto vs2 = t.Open();
  REQUIRE_OK(vs2->Recover());
  CHECK(vs2->log_number() == wal);
  CHECK(vs2->last_sequence() == 77);
  CHECK(vs2->next_file_number() == next + 1);  // the new manifest took `next`
  CHECK(vs2->manifest_file_number() == next);
  CHECK(t.Current() == ManifestFileName(next) + "\n");
  CHECK(vs2->current()->NumFiles(0) == 0);
  CHECK(Numbers(vs2->current()->files(1)) == std::vector<std::uint64_t>{c.number, b.number});
  CHECK(*vs2->current()->files(1)[0] == c);
  REQUIRE(vs2->compact_pointers().size() == 4);
  CHECK(vs2->compact_pointers()[1] == c.largest);

  // The snapshot manifest replays to the same state again, and appends work.
  VersionEdit e3;
  FileMetaData d = NewTable(*t.fs, *vs2, "x", "z", 444);
  e3.AddFile(2, d);
  REQUIRE_OK(t.Apply(*vs2, &e3));
  vs2.reset();
  auto vs3 = t.Open();
  REQUIRE_OK(vs3->Recover());
  CHECK(vs3->current()->NumFiles(1) == 2);
  CHECK(vs3->current()->NumFiles(2) == 1);
  CHECK(vs3->last_sequence() == 77);
  CHECK(vs3->compact_pointers()[1] == c.largest);
}

TEST_CASE("VersionSet: Recover without CURRENT is NotFound; a bad CURRENT is DataLoss") {
  Fixture t;
  auto vs = t.Open();
  CHECK(absl::IsNotFound(vs->Recover()));
  REQUIRE_OK(vs->CreateNew());
  const std::string current = JoinPath(kDir, kCurrentFileName);
  SECTION("no newline") {
    REQUIRE_OK(WriteStringToFile(*t.fs, "MANIFEST-000001", current, false));
    CHECK(absl::IsDataLoss(t.Open()->Recover()));
  }
  SECTION("not a manifest name") {
    REQUIRE_OK(WriteStringToFile(*t.fs, "000001.sst\n", current, false));
    absl::Status s = t.Open()->Recover();
    CHECK(absl::IsDataLoss(s));
    CHECK(s.message().find("CURRENT") != std::string::npos);
  }
  SECTION("names a missing manifest") {
    REQUIRE_OK(WriteStringToFile(*t.fs, "MANIFEST-000009\n", current, false));
    CHECK(absl::IsNotFound(t.Open()->Recover()));
  }
}

TEST_CASE("VersionSet: a torn last manifest record is dropped") {
  Fixture t;
  auto vs = t.Open();
  REQUIRE_OK(vs->CreateNew());
  VersionEdit e1;
  FileMetaData a = NewTable(*t.fs, *vs, "a", "b");
  e1.AddFile(1, a);
  REQUIRE_OK(t.Apply(*vs, &e1));
  const std::string manifest = JoinPath(kDir, ManifestFileName(vs->manifest_file_number()));
  auto size1 = t.fs->GetFileSize(manifest);
  REQUIRE_OK(size1);
  VersionEdit e2;
  FileMetaData b = NewTable(*t.fs, *vs, "c", "d");
  e2.AddFile(1, b);
  REQUIRE_OK(t.Apply(*vs, &e2));
  auto size2 = t.fs->GetFileSize(manifest);
  REQUIRE_OK(size2);
  vs.reset();

  const std::uint64_t cut = GENERATE_COPY(range(*size1 + 1, *size2));
  REQUIRE_OK(t.fs->TruncateFile(manifest, cut));
  auto vs2 = t.Open();
  REQUIRE_OK(vs2->Recover());
  CHECK(Numbers(vs2->current()->files(1)) == std::vector<std::uint64_t>{a.number});
}

TEST_CASE("VersionSet: corruption before the last record is DataLoss naming the manifest") {
  Fixture t;
  auto vs = t.Open();
  REQUIRE_OK(vs->CreateNew());
  for (int i = 0; i < 3; ++i) {
    VersionEdit e;
    e.AddFile(1, NewTable(*t.fs, *vs, std::string(1, static_cast<char>('a' + 2 * i)),
                          std::string(1, static_cast<char>('b' + 2 * i))));
    REQUIRE_OK(t.Apply(*vs, &e));
  }
  const std::string name = ManifestFileName(vs->manifest_file_number());
  const std::string path = JoinPath(kDir, name);
  vs.reset();
  auto bytes = ReadFileToString(*t.fs, path);
  REQUIRE_OK(bytes);
  std::string damaged = *bytes;
  damaged[damaged.size() / 2] ^= 0x10;  // inside a middle record
  REQUIRE_OK(WriteStringToFile(*t.fs, damaged, path, false));
  absl::Status s = t.Open()->Recover();
  INFO(s.ToString());
  CHECK(absl::IsDataLoss(s));
  CHECK(s.message().find(name) != std::string::npos);
  CHECK(s.message().find("offset") != std::string::npos);
}

TEST_CASE("VersionSet: a missing or resized table is DataLoss naming it") {
  Fixture t;
  auto vs = t.Open();
  REQUIRE_OK(vs->CreateNew());
  VersionEdit e;
  FileMetaData a = NewTable(*t.fs, *vs, "a", "b", 500);
  e.AddFile(0, a);
  REQUIRE_OK(t.Apply(*vs, &e));
  vs.reset();
  const std::string table = TableFileName(a.number);
  SECTION("missing") { REQUIRE_OK(t.fs->RemoveFile(JoinPath(kDir, table))); }
  SECTION("wrong size") { MakeTable(*t.fs, a.number, 499); }
  const std::string current_before = t.Current();
  absl::Status s = t.Open()->Recover();
  INFO(s.ToString());
  CHECK(absl::IsDataLoss(s));
  CHECK(s.message().find(table) != std::string::npos);
  CHECK(t.Current() == current_before);  // a failed recovery switches nothing
}

TEST_CASE("VersionSet: LiveTableNumbers keeps the files of versions still held") {
  Fixture t;
  auto vs = t.Open();
  REQUIRE_OK(vs->CreateNew());
  VersionEdit e1;
  FileMetaData a = NewTable(*t.fs, *vs, "a", "b");
  FileMetaData b = NewTable(*t.fs, *vs, "c", "d");
  e1.AddFile(0, a);
  e1.AddFile(0, b);
  REQUIRE_OK(t.Apply(*vs, &e1));
  std::shared_ptr<const Version> held = vs->current();

  VersionEdit e2;
  FileMetaData c = NewTable(*t.fs, *vs, "a", "d");
  e2.RemoveFile(0, a.number);
  e2.RemoveFile(0, b.number);
  e2.AddFile(1, c);
  REQUIRE_OK(t.Apply(*vs, &e2));
  CHECK(vs->LiveTableNumbers() == std::set<std::uint64_t>{a.number, b.number, c.number});
  held.reset();
  CHECK(vs->LiveTableNumbers() == std::set<std::uint64_t>{c.number});
}

TEST_CASE("VersionSet: an edit the builder rejects changes nothing") {
  Fixture t;
  auto vs = t.Open();
  REQUIRE_OK(vs->CreateNew());
  VersionEdit bad;
  bad.RemoveFile(1, 12345);
  auto before = vs->current();
  CHECK(absl::IsDataLoss(t.Apply(*vs, &bad)));
  CHECK(vs->current() == before);
  vs.reset();
  REQUIRE_OK(t.Open()->Recover());
}

// A file system that fails every write-side operation once armed.
class FailingFs final : public FileSystem {
 public:
  explicit FailingFs(std::shared_ptr<FileSystem> base) : base_(std::move(base)) {}
  std::atomic<bool> fail{false};

  absl::StatusOr<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& p) override {
    return base_->NewSequentialFile(p);
  }
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& p) override {
    return base_->NewRandomAccessFile(p);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override {
    if (fail) return Err(p);
    KV_ASSIGN_OR_RETURN(auto f, base_->NewWritableFile(p));
    return std::unique_ptr<WritableFile>(std::make_unique<File>(std::move(f), &fail));
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& p) override {
    if (fail) return Err(p);
    return base_->NewAppendableFile(p);
  }
  bool FileExists(const std::string& p) override { return base_->FileExists(p); }
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& d) override {
    return base_->GetChildren(d);
  }
  absl::StatusOr<std::uint64_t> GetFileSize(const std::string& p) override {
    return base_->GetFileSize(p);
  }
  absl::Status RemoveFile(const std::string& p) override { return base_->RemoveFile(p); }
  absl::Status CreateDir(const std::string& d) override { return base_->CreateDir(d); }
  absl::Status RemoveDir(const std::string& d) override { return base_->RemoveDir(d); }
  absl::Status RenameFile(const std::string& a, const std::string& b) override {
    if (fail) return Err(a);
    return base_->RenameFile(a, b);
  }
  absl::Status TruncateFile(const std::string& p, std::uint64_t n) override {
    return base_->TruncateFile(p, n);
  }
  absl::Status SyncDir(const std::string& d) override {
    if (fail) return Err(d);
    return base_->SyncDir(d);
  }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& p) override {
    return base_->LockFile(p);
  }

 private:
  static absl::Status Err(std::string_view p) {
    return absl::UnavailableError(absl::StrCat("injected failure: ", Sv(p)));
  }
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> f, std::atomic<bool>* fail)
        : f_(std::move(f)), fail_(fail) {}
    absl::Status Append(std::string_view d) override {
      if (*fail_) {
        // Half the bytes land: a torn record.
        absl::Status ignored = f_->Append(d.substr(0, d.size() / 2));
        (void)ignored;
        return Err("append");
      }
      return f_->Append(d);
    }
    absl::Status Sync() override { return *fail_ ? Err("sync") : f_->Sync(); }
    absl::Status Close() override { return f_->Close(); }
    std::uint64_t Size() const override { return f_->Size(); }

   private:
    std::unique_ptr<WritableFile> f_;
    std::atomic<bool>* fail_;
  };
  std::shared_ptr<FileSystem> base_;
};

TEST_CASE(
    "VersionSet: a failed manifest write leaves the version unchanged; the next edit "
    "starts a new manifest") {
  Fixture t;
  auto failing = std::make_shared<FailingFs>(t.fs);
  auto vs = std::make_unique<VersionSet>(kDir, failing, t.options);
  REQUIRE_OK(vs->CreateNew());
  VersionEdit e1;
  FileMetaData a = NewTable(*t.fs, *vs, "a", "b");
  e1.AddFile(1, a);
  REQUIRE_OK(t.Apply(*vs, &e1));
  const std::uint64_t old_manifest = vs->manifest_file_number();

  VersionEdit e2;
  FileMetaData b = NewTable(*t.fs, *vs, "c", "d");
  e2.AddFile(1, b);
  auto before = vs->current();
  failing->fail = true;
  absl::Status s = t.Apply(*vs, &e2);
  CHECK(absl::IsUnavailable(s));
  CHECK(vs->current() == before);
  // Retrying while the disk still fails: still nothing changes.
  VersionEdit e2b = e2;
  CHECK_FALSE(t.Apply(*vs, &e2b).ok());
  CHECK(vs->current() == before);
  failing->fail = false;

  VersionEdit e3;
  e3.AddFile(1, b);
  REQUIRE_OK(t.Apply(*vs, &e3));
  CHECK(vs->manifest_file_number() > old_manifest);
  CHECK(t.Current() == ManifestFileName(vs->manifest_file_number()) + "\n");
  vs.reset();
  auto vs2 = t.Open();
  REQUIRE_OK(vs2->Recover());
  CHECK(Numbers(vs2->current()->files(1)) == std::vector<std::uint64_t>{a.number, b.number});
}

TEST_CASE("VersionSet: randomized edits and reopens match a model") {
  const std::uint64_t seed = kv::test::TestSeed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  Fixture t;
  auto vs = t.Open();
  REQUIRE_OK(vs->CreateNew());
  // Model: level -> set of file numbers; L1+ files get disjoint key ranges
  // by giving each file its own two-letter key "kNNNN".
  std::map<std::uint64_t, int> model;
  std::map<std::uint64_t, FileMetaData> metas;
  SequenceNumber seq = 0;
  for (int step = 0; step < 200; ++step) {
    VersionEdit e;
    const int adds = static_cast<int>(rng() % 3);
    for (int i = 0; i < adds; ++i) {
      const std::uint64_t n = vs->NewFileNumber();
      const std::string key = absl::StrFormat("k%06d", n);
      FileMetaData f = Meta(n, key, key + "z", seq + 1, seq + 2, 10 + n);
      MakeTable(*t.fs, n, f.file_size);
      const int level = static_cast<int>(rng() % 4);
      e.AddFile(level, f);
      model[n] = level;
      metas[n] = f;
    }
    if (!model.empty() && rng() % 2) {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      e.RemoveFile(it->second, it->first);
      model.erase(it);
    }
    seq += 3;
    vs->SetLastSequence(seq);
    REQUIRE_OK(t.Apply(*vs, &e));
    if (rng() % 10 == 0) {
      const std::uint64_t next = vs->next_file_number();
      vs = t.Open();
      REQUIRE_OK(vs->Recover());
      CHECK(vs->next_file_number() >= next);
      CHECK(vs->last_sequence() == seq);
    }
    std::map<std::uint64_t, int> got;
    for (int level = 0; level < 4; ++level) {
      for (const FileRef& f : vs->current()->files(level)) {
        got[f->number] = level;
        CHECK(*f == metas[f->number]);
      }
    }
    REQUIRE(got == model);
  }
}

}  // namespace
}  // namespace kv::detail

namespace kv::detail {
namespace {

TEST_CASE("VersionSet: DumpManifest renders every edit") {
  Fixture t;
  auto vs = t.Open();
  REQUIRE_OK(vs->CreateNew());
  VersionEdit e;
  FileMetaData a = NewTable(*t.fs, *vs, "apple", "banana");
  e.AddFile(1, a);
  REQUIRE_OK(t.Apply(*vs, &e));
  const std::string path = JoinPath(kDir, ManifestFileName(vs->manifest_file_number()));
  auto dump = DumpManifest(*t.fs, path);
  REQUIRE_OK(dump);
  INFO(*dump);
  CHECK(dump->find("record 0 after offset") != std::string::npos);
  CHECK(dump->find("format_version: 1") != std::string::npos);
  CHECK(dump->find("add_file: L1 #2") != std::string::npos);
  CHECK(dump->find("'apple'@1:1") != std::string::npos);
  CHECK(absl::IsInvalidArgument(DumpManifest(*t.fs, JoinPath(kDir, "CURRENT")).status()));
  auto size = t.fs->GetFileSize(path);
  REQUIRE_OK(size);
  REQUIRE_OK(t.fs->TruncateFile(path, *size - 3));
  auto torn = DumpManifest(*t.fs, path);
  REQUIRE_OK(torn);
  CHECK(torn->find("torn last record") != std::string::npos);
}

}  // namespace
}  // namespace kv::detail
