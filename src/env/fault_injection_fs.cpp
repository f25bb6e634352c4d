// FaultInjectionFileSystem: see include/kv/fault_injection_fs.hpp for the
// durability model. How it is tracked:
//
// Every file the wrapper has touched is an Inode (a file, independent of its
// names, like a POSIX inode). Its durable contents are
//     current contents[0, durable_prefix) + durable_tail
// while it has a name (`path`), or `durable_tail` alone once unlinked (then
// `detached` holds its current contents, still appended to by open writers).
// Append never touches bytes below durable_prefix, so appends cost nothing;
// truncation (TruncateFile, NewWritableFile on an existing file) first moves
// the durable bytes it is about to destroy into durable_tail; Sync sets
// durable_prefix = size and clears durable_tail.
//
// Directory entries: `linked` maps each tracked path to its Inode (its
// current binding). `pending[dir][name]` remembers, for each entry of `dir`
// changed since the last SyncDir(dir), what it named at that SyncDir (nullptr:
// nothing). SyncDir(dir) drops pending[dir]. Power loss computes the durable
// namespace (linked, overridden by pending) and rewrites the base from it.
// Paths never touched by the wrapper are not tracked and stay as they are.
//
// Random faults draw from one std::mt19937_64 (FaultFsState::rng) under the
// mutex, through our own integer/real mappings (the std distributions are
// not the same across standard libraries), so a seed means one outcome.
//
// Everything is serialized by FaultFsState::mu, held across the base calls
// that mutate, so the model and the base never disagree. Reads of file
// contents run outside it.
#include "kv/fault_injection_fs.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "env/io_error.hpp"
#include "env/path_util.hpp"
#include "kv/mutex.hpp"
#include "kv/status_macros.hpp"

namespace kv {

std::string_view FaultOpName(FaultOp op) {
  switch (op) {
    case FaultOp::kAppend:
      return "Append";
    case FaultOp::kSync:
      return "Sync";
    case FaultOp::kSyncDir:
      return "SyncDir";
    case FaultOp::kRename:
      return "RenameFile";
    case FaultOp::kRemove:
      return "RemoveFile";
    case FaultOp::kNewWritable:
      return "NewWritableFile";
    case FaultOp::kRead:
      return "Read";
    case FaultOp::kTruncate:
      return "TruncateFile";
    case FaultOp::kOpenRead:
      return "OpenForRead";
    case FaultOp::kClose:
      return "Close";
    case FaultOp::kCreateDir:
      return "CreateDir";
    case FaultOp::kRemoveDir:
      return "RemoveDir";
    case FaultOp::kLock:
      return "LockFile";
  }
  return "?";
}

std::uint64_t FaultCounters::injected_total() const {
  std::uint64_t n = 0;
  for (std::uint64_t c : injected) n += c;
  return n;
}

FaultCounters& FaultCounters::operator+=(const FaultCounters& o) {
  for (int i = 0; i < kNumFaultOps; ++i) injected[i] += o.injected[i];
  random_errors += o.random_errors;
  bit_flips += o.bit_flips;
  power_losses += o.power_losses;
  unsynced_tails += o.unsynced_tails;
  torn_tails += o.torn_tails;
  torn_bytes += o.torn_bytes;
  garbage_tails += o.garbage_tails;
  garbage_bytes += o.garbage_bytes;
  return *this;
}

std::string FaultCounters::ToString() const {
  std::string out = absl::StrCat("power_losses=", power_losses, " unsynced_tails=", unsynced_tails,
                                 " torn_tails=", torn_tails, " torn_bytes=", torn_bytes,
                                 " garbage_tails=", garbage_tails, " garbage_bytes=", garbage_bytes,
                                 " bit_flips=", bit_flips, " random_errors=", random_errors,
                                 " injected_errors=", injected_total());
  // A flag, not a separator string reassigned in the loop: GCC 12 at -O3
  // reports a false -Wrestrict on that assignment.
  bool any = false;
  for (int i = 0; i < kNumFaultOps; ++i) {
    if (injected[i] == 0) continue;
    absl::StrAppend(&out, any ? " " : " (", Sv(FaultOpName(static_cast<FaultOp>(i))), "=",
                    injected[i]);
    any = true;
  }
  if (any) out += ")";
  return out;
}

namespace detail {

struct FaultInode {
  std::optional<std::string> path;  // current name; nullopt once unlinked
  std::uint64_t durable_prefix = 0;
  std::string durable_tail;
  std::string detached;  // current contents, only while unlinked
};

struct FaultFsState {
  explicit FaultFsState(std::shared_ptr<FileSystem> b) : base(std::move(b)) {}

  const std::shared_ptr<FileSystem> base;
  mutable kv::Mutex mu;

  bool active ABSL_GUARDED_BY(mu) = true;
  // Bumped by every power loss; file objects from an older epoch are dead.
  std::uint64_t epoch ABSL_GUARDED_BY(mu) = 0;

  struct NthFault {
    int remaining;
    int err;
  };
  struct AlwaysFault {
    FaultOp op;
    int err;
    std::string substring;
  };
  std::array<std::uint64_t, kNumFaultOps> counts ABSL_GUARDED_BY(mu){};
  std::array<std::optional<NthFault>, kNumFaultOps> nth ABSL_GUARDED_BY(mu);
  std::vector<AlwaysFault> always ABSL_GUARDED_BY(mu);
  struct RateFault {
    FaultOp op;
    double p;
    int err;
    std::string substring;
  };
  std::vector<RateFault> rates ABSL_GUARDED_BY(mu);
  struct FlipRule {
    double p;
    std::string substring;
  };
  std::vector<FlipRule> flips ABSL_GUARDED_BY(mu);
  bool torn_writes ABSL_GUARDED_BY(mu) = false;
  double garbage_probability ABSL_GUARDED_BY(mu) = 0.0;
  std::mt19937_64 rng ABSL_GUARDED_BY(mu){0};
  FaultCounters faults ABSL_GUARDED_BY(mu);

  // true with probability p.
  bool RollLocked(double p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    return static_cast<double>(rng() >> 11) * 0x1.0p-53 < p;
  }
  // Uniform in [0, n) (a negligible modulo bias). REQUIRES: n > 0.
  std::uint64_t BelowLocked(std::uint64_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    assert(n > 0);
    return rng() % n;
  }

  // With the bit-flip probability of the first rule matching `path`: copies
  // *got into `scratch` (it may point into the base's storage) and flips one
  // random bit there.
  void MaybeFlipLocked(std::string_view path, std::string_view* got, char* scratch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (got->empty()) return;
    for (const FlipRule& f : flips) {
      if (!absl::StrContains(Sv(path), f.substring)) continue;
      if (!RollLocked(f.p)) return;
      if (got->data() != scratch) std::memmove(scratch, got->data(), got->size());
      const std::uint64_t bit = BelowLocked(got->size() * 8);
      scratch[bit / 8] = static_cast<char>(scratch[bit / 8] ^ (1 << (bit % 8)));
      *got = std::string_view(scratch, got->size());
      ++faults.bit_flips;
      return;
    }
  }

  // How many of `n` unsynced bytes a torn write keeps: none, all or a
  // length in between, each about as likely as the others together.
  std::uint64_t TornKeepLocked(std::uint64_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const std::uint64_t pick = BelowLocked(5);
    if (pick == 0) return 0;
    if (pick == 1 || n == 1) return n;
    return 1 + BelowLocked(n - 1);  // [1, n-1]
  }

  // The durable contents `data` of a file about to survive a power loss,
  // whose unsynced appended bytes are `unsynced`: with torn writes, appends
  // a prefix of them (possibly garbled at its end).
  void TearLocked(std::string* data, std::string_view unsynced) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (unsynced.empty()) return;
    ++faults.unsynced_tails;
    if (!torn_writes) return;
    const std::uint64_t keep = TornKeepLocked(unsynced.size());
    if (keep == 0) return;
    ++faults.torn_tails;
    faults.torn_bytes += keep;
    const std::size_t start = data->size();
    data->append(unsynced.substr(0, keep));
    if (RollLocked(garbage_probability)) {
      const std::uint64_t n = std::min<std::uint64_t>(keep, 1 + BelowLocked(16));
      for (std::size_t i = data->size() - n; i < data->size(); ++i) {
        (*data)[i] = static_cast<char>(rng() & 0xff);
      }
      assert(data->size() - n >= start);
      (void)start;
      ++faults.garbage_tails;
      faults.garbage_bytes += n;
    }
  }

  std::map<std::string, std::shared_ptr<FaultInode>> linked ABSL_GUARDED_BY(mu);
  std::map<std::string, std::map<std::string, std::shared_ptr<FaultInode>>> pending
      ABSL_GUARDED_BY(mu);

  std::uint64_t next_lock_id ABSL_GUARDED_BY(mu) = 0;
  std::map<std::uint64_t, std::unique_ptr<FileLock>> locks ABSL_GUARDED_BY(mu);

  // Counts a call of `op` on `path` and decides whether it fails: an injected
  // fault, or kUnavailable for a mutating call while inactive.
  absl::Status CheckLocked(FaultOp op, std::string_view path, bool mutating)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const int i = static_cast<int>(op);
    ++counts[i];
    if (nth[i].has_value() && --nth[i]->remaining == 0) {
      const int err = nth[i]->err;
      nth[i].reset();
      return Injected(op, path, err);
    }
    for (const AlwaysFault& f : always) {
      if (f.op == op && absl::StrContains(Sv(path), f.substring)) return Injected(op, path, f.err);
    }
    for (const RateFault& f : rates) {
      if (f.op == op && absl::StrContains(Sv(path), f.substring) && RollLocked(f.p)) {
        ++faults.random_errors;
        return Injected(op, path, f.err);
      }
    }
    if (mutating && !active) {
      return absl::UnavailableError(absl::StrCat(Sv(FaultOpName(op)), " ", Sv(path),
                                                 ": file system inactive (simulated crash)"));
    }
    return absl::OkStatus();
  }

  absl::Status Injected(FaultOp op, std::string_view path, int err)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    ++faults.injected[static_cast<int>(op)];
    const absl::Status s = IoError(path, err);
    return absl::Status(s.code(),
                        absl::StrCat("injected fault in ", Sv(FaultOpName(op)), ": ", s.message()));
  }

  absl::Status DeadLocked(std::uint64_t file_epoch, std::string_view path) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (file_epoch == epoch) return absl::OkStatus();
    return absl::UnavailableError(
        absl::StrCat(Sv(path), ": file opened before a simulated power loss"));
  }

  // Reads `len` bytes at `offset` of the base file `path`.
  absl::StatusOr<std::string> ReadRange(const std::string& path, std::uint64_t offset,
                                        std::uint64_t len) {
    std::string out(len, '\0');
    if (len == 0) return out;
    KV_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> f, base->NewRandomAccessFile(path));
    KV_ASSIGN_OR_RETURN(std::string_view got, f->Read(offset, len, out.data()));
    if (got.size() != len) {
      return absl::InternalError(absl::StrCat(path, ": shorter than the fault model expected"));
    }
    if (got.data() != out.data()) out.assign(got.data(), got.size());
    return out;
  }

  // The tracked Inode named `p`, adopting an existing untracked base file as
  // fully durable; nullptr if `p` is not an existing file.
  absl::StatusOr<std::shared_ptr<FaultInode>> AdoptLocked(const std::string& p)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = linked.find(p);
    if (it != linked.end()) return it->second;
    if (!base->FileExists(p) || base->GetChildren(p).ok()) return nullptr;
    KV_ASSIGN_OR_RETURN(std::uint64_t size, base->GetFileSize(p));
    auto inode = std::make_shared<FaultInode>();
    inode->path = p;
    inode->durable_prefix = size;
    linked[p] = inode;
    return inode;
  }

  // Before the entry `p` changes: remembers what it durably names, unless
  // it already changed since the last SyncDir of its directory.
  void NoteEntryChangeLocked(const std::string& p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto& dir = pending[ParentDir(p)];
    const std::string name = BaseName(p);
    if (dir.count(name) != 0) return;
    auto it = linked.find(p);
    dir[name] = it == linked.end() ? nullptr : it->second;
  }

  // The inode's current and durable contents, read before it loses its name.
  struct Captured {
    std::string current;
    std::string durable;
  };
  absl::StatusOr<Captured> CaptureLocked(const FaultInode& inode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    assert(inode.path.has_value());
    KV_ASSIGN_OR_RETURN(std::uint64_t size, base->GetFileSize(*inode.path));
    Captured c;
    KV_ASSIGN_OR_RETURN(c.current, ReadRange(*inode.path, 0, size));
    c.durable = c.current.substr(0, inode.durable_prefix) + inode.durable_tail;
    return c;
  }

  // The inode lost its last name (its entry change is already noted).
  void UnlinkLocked(FaultInode& inode, Captured c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    linked.erase(*inode.path);
    inode.path.reset();
    inode.detached = std::move(c.current);
    inode.durable_tail = std::move(c.durable);
    inode.durable_prefix = 0;
  }

  // Before the inode's contents are cut to `new_size`: the durable bytes at
  // and past it, which ApplyTruncate then moves into durable_tail.
  absl::StatusOr<std::string> SaveBeforeTruncateLocked(const FaultInode& inode,
                                                       std::uint64_t new_size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (new_size >= inode.durable_prefix) return std::string();
    return ReadRange(*inode.path, new_size, inode.durable_prefix - new_size);
  }
  static void ApplyTruncate(FaultInode& inode, std::uint64_t new_size, std::string saved) {
    if (new_size >= inode.durable_prefix) return;
    inode.durable_tail = std::move(saved) + inode.durable_tail;
    inode.durable_prefix = new_size;
  }
};

namespace {

class FaultSequentialFile final : public SequentialFile {
 public:
  FaultSequentialFile(std::shared_ptr<FaultFsState> state, std::uint64_t epoch, std::string path,
                      std::unique_ptr<SequentialFile> base)
      : state_(std::move(state)), epoch_(epoch), path_(std::move(path)), base_(std::move(base)) {}

  absl::StatusOr<std::string_view> Read(std::size_t n, char* scratch) override {
    KV_RETURN_IF_ERROR(Check());
    KV_ASSIGN_OR_RETURN(std::string_view got, base_->Read(n, scratch));
    kv::MutexLock l(&state_->mu);
    state_->MaybeFlipLocked(path_, &got, scratch);
    return got;
  }
  absl::Status Skip(std::uint64_t n) override {
    KV_RETURN_IF_ERROR(Check());
    return base_->Skip(n);
  }

 private:
  absl::Status Check() {
    kv::MutexLock l(&state_->mu);
    KV_RETURN_IF_ERROR(state_->DeadLocked(epoch_, path_));
    return state_->CheckLocked(FaultOp::kRead, path_, /*mutating=*/false);
  }

  const std::shared_ptr<FaultFsState> state_;
  const std::uint64_t epoch_;
  const std::string path_;
  const std::unique_ptr<SequentialFile> base_;
};

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(std::shared_ptr<FaultFsState> state, std::uint64_t epoch, std::string path,
                        std::unique_ptr<RandomAccessFile> base)
      : state_(std::move(state)), epoch_(epoch), path_(std::move(path)), base_(std::move(base)) {}

  absl::StatusOr<std::string_view> Read(std::uint64_t offset, std::size_t n,
                                        char* scratch) const override {
    {
      kv::MutexLock l(&state_->mu);
      KV_RETURN_IF_ERROR(state_->DeadLocked(epoch_, path_));
      KV_RETURN_IF_ERROR(state_->CheckLocked(FaultOp::kRead, path_, /*mutating=*/false));
    }
    KV_ASSIGN_OR_RETURN(std::string_view got, base_->Read(offset, n, scratch));
    kv::MutexLock l(&state_->mu);
    state_->MaybeFlipLocked(path_, &got, scratch);
    return got;
  }
  absl::StatusOr<std::uint64_t> Size() const override {
    {
      kv::MutexLock l(&state_->mu);
      KV_RETURN_IF_ERROR(state_->DeadLocked(epoch_, path_));
    }
    return base_->Size();
  }

 private:
  const std::shared_ptr<FaultFsState> state_;
  const std::uint64_t epoch_;
  const std::string path_;
  const std::unique_ptr<RandomAccessFile> base_;
};

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(std::shared_ptr<FaultFsState> state, std::uint64_t epoch,
                    std::shared_ptr<FaultInode> inode, std::string path,
                    std::unique_ptr<WritableFile> base)
      : state_(std::move(state)),
        epoch_(epoch),
        inode_(std::move(inode)),
        path_(std::move(path)),
        base_(std::move(base)) {}

  absl::Status Append(std::string_view data) override {
    kv::MutexLock l(&state_->mu);
    KV_RETURN_IF_ERROR(state_->DeadLocked(epoch_, path_));
    KV_RETURN_IF_ERROR(state_->CheckLocked(FaultOp::kAppend, path_, /*mutating=*/true));
    KV_RETURN_IF_ERROR(base_->Append(data));
    if (!inode_->path.has_value()) inode_->detached.append(data.data(), data.size());
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    kv::MutexLock l(&state_->mu);
    KV_RETURN_IF_ERROR(state_->DeadLocked(epoch_, path_));
    KV_RETURN_IF_ERROR(state_->CheckLocked(FaultOp::kSync, path_, /*mutating=*/true));
    KV_RETURN_IF_ERROR(base_->Sync());
    if (inode_->path.has_value()) {
      // By path, not base_->Size(): a TruncateFile may have changed it.
      KV_ASSIGN_OR_RETURN(inode_->durable_prefix, state_->base->GetFileSize(*inode_->path));
      inode_->durable_tail.clear();
    } else {
      inode_->durable_tail = inode_->detached;
    }
    return absl::OkStatus();
  }

  absl::Status Close() override {
    kv::MutexLock l(&state_->mu);
    absl::Status s = state_->DeadLocked(epoch_, path_);
    if (s.ok()) s = state_->CheckLocked(FaultOp::kClose, path_, /*mutating=*/false);
    const absl::Status closed = base_->Close();
    return s.ok() ? closed : s;
  }

  std::uint64_t Size() const override { return base_->Size(); }

 private:
  const std::shared_ptr<FaultFsState> state_;
  const std::uint64_t epoch_;
  const std::shared_ptr<FaultInode> inode_;
  const std::string path_;
  const std::unique_ptr<WritableFile> base_;
};

class FaultFileLock final : public FileLock {
 public:
  FaultFileLock(std::shared_ptr<FaultFsState> state, std::uint64_t id)
      : state_(std::move(state)), id_(id) {}
  ~FaultFileLock() override {
    kv::MutexLock l(&state_->mu);
    state_->locks.erase(id_);  // no-op if a power loss already released it
  }

 private:
  const std::shared_ptr<FaultFsState> state_;
  const std::uint64_t id_;
};

}  // namespace
}  // namespace detail

using detail::FaultFsState;
using detail::FaultInode;
using detail::NormalizePath;

FaultInjectionFileSystem::FaultInjectionFileSystem(std::shared_ptr<FileSystem> base)
    : state_(std::make_shared<FaultFsState>(std::move(base))) {
  assert(state_->base != nullptr);
}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

const std::shared_ptr<FileSystem>& FaultInjectionFileSystem::base() const { return state_->base; }

void FaultInjectionFileSystem::FailNth(FaultOp op, int n, int err) {
  assert(n >= 1);
  kv::MutexLock l(&state_->mu);
  state_->nth[static_cast<int>(op)] = FaultFsState::NthFault{n, err};
}

void FaultInjectionFileSystem::FailAlways(FaultOp op, int err, std::string path_substring) {
  kv::MutexLock l(&state_->mu);
  state_->always.push_back({op, err, std::move(path_substring)});
}

void FaultInjectionFileSystem::SetErrorRate(FaultOp op, double p, std::string path_substring,
                                            int err) {
  assert(p >= 0.0 && p <= 1.0);
  kv::MutexLock l(&state_->mu);
  auto& rates = state_->rates;
  std::erase_if(rates, [&](const FaultFsState::RateFault& f) {
    return f.op == op && f.substring == path_substring;
  });
  if (p > 0.0) rates.push_back({op, p, err, std::move(path_substring)});
}

void FaultInjectionFileSystem::SetReadBitFlipRate(double p, std::string path_substring) {
  assert(p >= 0.0 && p <= 1.0);
  kv::MutexLock l(&state_->mu);
  auto& flips = state_->flips;
  std::erase_if(flips,
                [&](const FaultFsState::FlipRule& f) { return f.substring == path_substring; });
  if (p > 0.0) flips.push_back({p, std::move(path_substring)});
}

void FaultInjectionFileSystem::ClearFaults() {
  kv::MutexLock l(&state_->mu);
  for (auto& n : state_->nth) n.reset();
  state_->always.clear();
  state_->rates.clear();
  state_->flips.clear();
}

void FaultInjectionFileSystem::SetSeed(std::uint64_t seed) {
  kv::MutexLock l(&state_->mu);
  state_->rng.seed(seed);
}

void FaultInjectionFileSystem::SetTornWrites(bool enabled, double garbage_probability) {
  assert(garbage_probability >= 0.0 && garbage_probability <= 1.0);
  kv::MutexLock l(&state_->mu);
  state_->torn_writes = enabled;
  state_->garbage_probability = garbage_probability;
}

FaultCounters FaultInjectionFileSystem::GetFaultCounters() const {
  kv::MutexLock l(&state_->mu);
  return state_->faults;
}

void FaultInjectionFileSystem::ResetFaultCounters() {
  kv::MutexLock l(&state_->mu);
  state_->faults = FaultCounters{};
}

std::uint64_t FaultInjectionFileSystem::Count(FaultOp op) const {
  kv::MutexLock l(&state_->mu);
  return state_->counts[static_cast<int>(op)];
}

void FaultInjectionFileSystem::ResetCounts() {
  kv::MutexLock l(&state_->mu);
  state_->counts.fill(0);
}

void FaultInjectionFileSystem::SetActive(bool active) {
  kv::MutexLock l(&state_->mu);
  state_->active = active;
}

bool FaultInjectionFileSystem::IsActive() const {
  kv::MutexLock l(&state_->mu);
  return state_->active;
}

absl::StatusOr<std::unique_ptr<SequentialFile>> FaultInjectionFileSystem::NewSequentialFile(
    const std::string& path) {
  std::uint64_t epoch;
  {
    kv::MutexLock l(&state_->mu);
    KV_RETURN_IF_ERROR(state_->CheckLocked(FaultOp::kOpenRead, path, /*mutating=*/false));
    epoch = state_->epoch;
  }
  KV_ASSIGN_OR_RETURN(auto base, state_->base->NewSequentialFile(path));
  return std::make_unique<detail::FaultSequentialFile>(state_, epoch, path, std::move(base));
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>> FaultInjectionFileSystem::NewRandomAccessFile(
    const std::string& path) {
  std::uint64_t epoch;
  {
    kv::MutexLock l(&state_->mu);
    KV_RETURN_IF_ERROR(state_->CheckLocked(FaultOp::kOpenRead, path, /*mutating=*/false));
    epoch = state_->epoch;
  }
  KV_ASSIGN_OR_RETURN(auto base, state_->base->NewRandomAccessFile(path));
  return std::make_unique<detail::FaultRandomAccessFile>(state_, epoch, path, std::move(base));
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path) {
  FaultFsState& s = *state_;
  kv::MutexLock l(&s.mu);
  KV_RETURN_IF_ERROR(s.CheckLocked(FaultOp::kNewWritable, path, /*mutating=*/true));
  const std::string p = NormalizePath(path);
  KV_ASSIGN_OR_RETURN(std::shared_ptr<FaultInode> inode, s.AdoptLocked(p));
  std::string saved;
  if (inode != nullptr) {
    KV_ASSIGN_OR_RETURN(saved, s.SaveBeforeTruncateLocked(*inode, 0));
  }
  KV_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base, s.base->NewWritableFile(path));
  if (inode != nullptr) {
    FaultFsState::ApplyTruncate(*inode, 0, std::move(saved));
  } else {
    s.NoteEntryChangeLocked(p);
    inode = std::make_shared<FaultInode>();
    inode->path = p;
    s.linked[p] = inode;
  }
  return std::make_unique<detail::FaultWritableFile>(state_, s.epoch, std::move(inode), path,
                                                     std::move(base));
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewAppendableFile(
    const std::string& path) {
  FaultFsState& s = *state_;
  kv::MutexLock l(&s.mu);
  KV_RETURN_IF_ERROR(s.CheckLocked(FaultOp::kNewWritable, path, /*mutating=*/true));
  const std::string p = NormalizePath(path);
  KV_ASSIGN_OR_RETURN(std::shared_ptr<FaultInode> inode, s.AdoptLocked(p));
  KV_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base, s.base->NewAppendableFile(path));
  if (inode == nullptr) {
    s.NoteEntryChangeLocked(p);
    inode = std::make_shared<FaultInode>();
    inode->path = p;
    s.linked[p] = inode;
  }
  return std::make_unique<detail::FaultWritableFile>(state_, s.epoch, std::move(inode), path,
                                                     std::move(base));
}

bool FaultInjectionFileSystem::FileExists(const std::string& path) {
  return state_->base->FileExists(path);
}

absl::StatusOr<std::vector<std::string>> FaultInjectionFileSystem::GetChildren(
    const std::string& dir) {
  return state_->base->GetChildren(dir);
}

absl::StatusOr<std::uint64_t> FaultInjectionFileSystem::GetFileSize(const std::string& path) {
  return state_->base->GetFileSize(path);
}

absl::Status FaultInjectionFileSystem::RemoveFile(const std::string& path) {
  FaultFsState& s = *state_;
  kv::MutexLock l(&s.mu);
  KV_RETURN_IF_ERROR(s.CheckLocked(FaultOp::kRemove, path, /*mutating=*/true));
  const std::string p = NormalizePath(path);
  KV_ASSIGN_OR_RETURN(std::shared_ptr<FaultInode> inode, s.AdoptLocked(p));
  if (inode == nullptr) return s.base->RemoveFile(path);  // reports the error
  KV_ASSIGN_OR_RETURN(FaultFsState::Captured c, s.CaptureLocked(*inode));
  KV_RETURN_IF_ERROR(s.base->RemoveFile(path));
  s.NoteEntryChangeLocked(p);
  s.UnlinkLocked(*inode, std::move(c));
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::CreateDir(const std::string& dir) {
  kv::MutexLock l(&state_->mu);
  KV_RETURN_IF_ERROR(state_->CheckLocked(FaultOp::kCreateDir, dir, /*mutating=*/true));
  return state_->base->CreateDir(dir);
}

absl::Status FaultInjectionFileSystem::RemoveDir(const std::string& dir) {
  kv::MutexLock l(&state_->mu);
  KV_RETURN_IF_ERROR(state_->CheckLocked(FaultOp::kRemoveDir, dir, /*mutating=*/true));
  KV_RETURN_IF_ERROR(state_->base->RemoveDir(dir));
  state_->pending.erase(NormalizePath(dir));
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  FaultFsState& s = *state_;
  kv::MutexLock l(&s.mu);
  KV_RETURN_IF_ERROR(
      s.CheckLocked(FaultOp::kRename, absl::StrCat(from, " -> ", to), /*mutating=*/true));
  const std::string f = NormalizePath(from);
  const std::string t = NormalizePath(to);
  if (f == t) return s.base->RenameFile(from, to);
  KV_ASSIGN_OR_RETURN(std::shared_ptr<FaultInode> from_inode, s.AdoptLocked(f));
  if (from_inode == nullptr) return s.base->RenameFile(from, to);  // reports the error
  KV_ASSIGN_OR_RETURN(std::shared_ptr<FaultInode> to_inode, s.AdoptLocked(t));
  FaultFsState::Captured c;
  if (to_inode != nullptr) {
    KV_ASSIGN_OR_RETURN(c, s.CaptureLocked(*to_inode));
  }
  KV_RETURN_IF_ERROR(s.base->RenameFile(from, to));
  s.NoteEntryChangeLocked(f);
  s.NoteEntryChangeLocked(t);
  if (to_inode != nullptr) s.UnlinkLocked(*to_inode, std::move(c));
  s.linked.erase(f);
  from_inode->path = t;
  s.linked[t] = std::move(from_inode);
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::TruncateFile(const std::string& path, std::uint64_t size) {
  FaultFsState& s = *state_;
  kv::MutexLock l(&s.mu);
  KV_RETURN_IF_ERROR(s.CheckLocked(FaultOp::kTruncate, path, /*mutating=*/true));
  KV_ASSIGN_OR_RETURN(std::shared_ptr<FaultInode> inode, s.AdoptLocked(NormalizePath(path)));
  if (inode == nullptr) return s.base->TruncateFile(path, size);  // reports the error
  KV_ASSIGN_OR_RETURN(std::string saved, s.SaveBeforeTruncateLocked(*inode, size));
  KV_RETURN_IF_ERROR(s.base->TruncateFile(path, size));
  FaultFsState::ApplyTruncate(*inode, size, std::move(saved));
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  kv::MutexLock l(&state_->mu);
  KV_RETURN_IF_ERROR(state_->CheckLocked(FaultOp::kSyncDir, dir, /*mutating=*/true));
  KV_RETURN_IF_ERROR(state_->base->SyncDir(dir));
  state_->pending.erase(NormalizePath(dir));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionFileSystem::LockFile(
    const std::string& path) {
  FaultFsState& s = *state_;
  kv::MutexLock l(&s.mu);
  KV_RETURN_IF_ERROR(s.CheckLocked(FaultOp::kLock, path, /*mutating=*/true));
  const std::string p = NormalizePath(path);
  KV_ASSIGN_OR_RETURN(std::shared_ptr<FaultInode> inode, s.AdoptLocked(p));
  KV_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> base, s.base->LockFile(path));
  if (inode == nullptr) {  // LockFile created it
    s.NoteEntryChangeLocked(p);
    inode = std::make_shared<FaultInode>();
    inode->path = p;
    s.linked[p] = std::move(inode);
  }
  const std::uint64_t id = s.next_lock_id++;
  s.locks[id] = std::move(base);
  return std::make_unique<detail::FaultFileLock>(state_, id);
}

absl::Status FaultInjectionFileSystem::SimulatePowerLoss() {
  FaultFsState& s = *state_;
  kv::MutexLock l(&s.mu);
  // The durable namespace: current bindings, with every entry changed since
  // its directory's last SyncDir put back.
  std::map<std::string, std::shared_ptr<FaultInode>> durable = s.linked;
  for (const auto& [dir, entries] : s.pending) {
    for (const auto& [name, inode] : entries) {
      const std::string p = NormalizePath(JoinPath(dir, name));
      if (inode == nullptr) {
        durable.erase(p);
      } else {
        durable[p] = inode;
      }
    }
  }
  // Each surviving inode's durable contents, read before the base changes,
  // plus (torn writes) part of its unsynced appends. Visited in path order,
  // so a seed gives one outcome.
  std::map<const FaultInode*, std::string> contents;
  for (const auto& [p, inode] : durable) {
    if (contents.count(inode.get()) != 0) continue;
    std::string data;
    std::string unsynced;  // bytes appended since the durable contents
    if (inode->path.has_value()) {
      KV_ASSIGN_OR_RETURN(data, s.ReadRange(*inode->path, 0, inode->durable_prefix));
      if (inode->durable_tail.empty()) {
        KV_ASSIGN_OR_RETURN(std::uint64_t size, s.base->GetFileSize(*inode->path));
        if (size > inode->durable_prefix) {
          KV_ASSIGN_OR_RETURN(unsynced, s.ReadRange(*inode->path, inode->durable_prefix,
                                                    size - inode->durable_prefix));
        }
      }
    } else if (inode->detached.size() > inode->durable_tail.size() &&
               inode->detached.starts_with(inode->durable_tail)) {
      unsynced = inode->detached.substr(inode->durable_tail.size());
    }
    data += inode->durable_tail;
    s.TearLocked(&data, unsynced);
    contents[inode.get()] = std::move(data);
  }
  // Reboot: locks are released, open files die, the base is rewritten.
  s.locks.clear();
  ++s.epoch;
  for (const auto& [p, inode] : s.linked) KV_RETURN_IF_ERROR(s.base->RemoveFile(p));
  std::map<std::string, std::shared_ptr<FaultInode>> relinked;
  for (const auto& [p, inode] : durable) {
    const std::string& data = contents[inode.get()];
    KV_RETURN_IF_ERROR(s.base->CreateDir(detail::ParentDir(p)));
    KV_RETURN_IF_ERROR(WriteStringToFile(*s.base, data, p, /*sync=*/true));
    auto fresh = std::make_shared<FaultInode>();
    fresh->path = p;
    fresh->durable_prefix = data.size();
    relinked[p] = std::move(fresh);
  }
  s.linked = std::move(relinked);
  s.pending.clear();
  ++s.faults.power_losses;
  return absl::OkStatus();
}

}  // namespace kv
