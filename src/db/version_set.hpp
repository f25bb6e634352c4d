// VersionSet: the DB's sequence of Versions and its persistent record, the
// MANIFEST (a log of VersionEdits in the kv/wal_format.hpp record format,
// named by the CURRENT file). It also owns the DB-wide counters: the next
// file number, the last sequence number and the WAL log number.
//
//   VersionSet versions(dir, fs, options);
//   KV_RETURN_IF_ERROR(new_db ? versions.CreateNew() : versions.Recover());
//   ...
//   VersionEdit edit;                     // e.g. after a flush
//   edit.AddFile(0, meta);
//   edit.SetLogNumber(new_wal_number);
//   KV_RETURN_IF_ERROR(versions.LogAndApply(&edit, &mu_));   // mu_ held
//   std::shared_ptr<const Version> v = versions.current();
//
// Manifest life cycle: CreateNew writes MANIFEST-000001; Recover replays the
// manifest CURRENT names and then starts a new manifest holding one snapshot
// edit of the recovered state; LogAndApply appends one record per edit (and
// also starts a fresh snapshot manifest when the old one grew past
// kMaxManifestBytes or a previous write to it failed). Every switch is
// atomic through CURRENT (temp file <N>.tmp + Sync + rename + SyncDir, N the
// new manifest's number). Older manifests are left for the DB's
// obsolete-file collection: a manifest numbered below manifest_file_number()
// is garbage (one numbered above it may be in the middle of being written by
// LogAndApply, as may the temp file of the same number).
//
// Thread-safety: externally synchronized. Every method must be called with
// the DB mutex held (the one passed to LogAndApply), except during Open
// before any other thread exists. LogAndApply releases that mutex around its
// manifest I/O; it must never run concurrently with itself (the DB has one
// background thread doing flushes and compactions, the only callers). While
// it is unlocked other threads may call the other methods (NewFileNumber,
// SetLastSequence, current, ...), which touch no manifest state.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "db/version.hpp"
#include "db/version_edit.hpp"
#include "kv/db.hpp"
#include "kv/env.hpp"
#include "kv/mutex.hpp"

namespace kv::wal {
class Writer;
}

namespace kv::detail {

class VersionSet {
 public:
  // A manifest larger than this is replaced by a snapshot manifest on the
  // next LogAndApply.
  static constexpr std::uint64_t kMaxManifestBytes = 64ull << 20;

  VersionSet(std::string db_dir, std::shared_ptr<FileSystem> fs, const Options& options);
  ~VersionSet();
  VersionSet(const VersionSet&) = delete;
  VersionSet& operator=(const VersionSet&) = delete;

  // New DB: writes MANIFEST-000001 holding an initial edit (format version,
  // log number 0, next file number 2, last sequence 0), syncs it and its
  // directory, then points CURRENT at it. The set is then ready for
  // LogAndApply (Recover is not needed, though allowed).
  [[nodiscard]] absl::Status CreateNew();

  // Existing DB: reads CURRENT, replays the manifest it names (a torn last
  // record is tolerated; other corruption is kDataLoss naming the file and
  // offset), checks that every listed table exists with its recorded size
  // (kDataLoss naming the table otherwise), then writes a new manifest with
  // a snapshot of the recovered state and switches CURRENT to it.
  // kNotFound (from the file system) if there is no CURRENT.
  [[nodiscard]] absl::Status Recover();

  // Applies `edit` to the current version, appends it to the manifest and
  // syncs it, then makes the result current. Fills in the edit's next file
  // number and last sequence from the set, and its log number if unset.
  // Releases *mu during the manifest I/O and re-acquires it. On failure the
  // current version is unchanged and the error is returned.
  // REQUIRES: *mu held; never called concurrently with itself; CreateNew or
  // Recover succeeded; edit log number (if set) in [log_number(),
  // next_file_number()).
  [[nodiscard]] absl::Status LogAndApply(VersionEdit* edit, kv::Mutex* mu)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // A reference, not a copy: a copy costs two atomic operations, and the
  // read and write paths ask on every operation. Copy it to keep it.
  const std::shared_ptr<const Version>& current() const { return current_; }

  // Allocates a file number (tables, WALs, manifests, temp files).
  std::uint64_t NewFileNumber() { return next_file_number_++; }
  // Recovery saw file n (e.g. a WAL): later numbers are larger.
  void MarkFileNumberUsed(std::uint64_t n) {
    if (next_file_number_ <= n) next_file_number_ = n + 1;
  }
  std::uint64_t next_file_number() const { return next_file_number_; }

  SequenceNumber last_sequence() const { return last_sequence_; }
  // REQUIRES: s >= last_sequence()
  void SetLastSequence(SequenceNumber s);

  // WALs numbered below this are fully in tables (from the last applied edit).
  std::uint64_t log_number() const { return log_number_; }
  std::uint64_t manifest_file_number() const { return manifest_file_number_; }

  // Compact pointers recorded by applied edits (per level; "" = none), so a
  // reopened DB continues the round robin where it stopped.
  const std::vector<std::string>& compact_pointers() const { return compact_pointers_; }

  // Numbers of every table referenced by any Version still alive (anyone
  // holding a shared_ptr to it) plus the current one: never delete these.
  std::set<std::uint64_t> LiveTableNumbers() const;

  // Bytes of a torn last record Recover dropped from the manifest: a crash
  // mid-append, or damage that cut off synced edits (indistinguishable).
  std::uint64_t manifest_tail_dropped() const { return manifest_tail_dropped_; }

 private:
  // Makes `v` current and remembers it for LiveTableNumbers.
  void Install(std::shared_ptr<const Version> v);
  // An edit describing the whole current state (first record of a manifest).
  VersionEdit SnapshotEdit() const;
  // Writes a new manifest numbered `number` holding SnapshotEdit() plus
  // `extra` (already applied to the state, may be null), syncs it, and
  // points CURRENT at it. On success *writer is the open manifest.
  [[nodiscard]] absl::Status WriteSnapshotManifest(std::uint64_t number, const VersionEdit* extra,
                                                   std::unique_ptr<wal::Writer>* writer);
  // Points CURRENT at MANIFEST-<number> atomically and durably.
  [[nodiscard]] absl::Status SetCurrentFile(std::uint64_t manifest_number);
  // Replays the manifest at `path` into the set's state.
  [[nodiscard]] absl::Status ReplayManifest(const std::string& path, std::uint64_t number);
  // kDataLoss unless every table of current_ exists with its recorded size.
  [[nodiscard]] absl::Status CheckTablesExist() const;
  void ApplyCompactPointers(const VersionEdit& edit);

  const std::string db_dir_;
  const std::shared_ptr<FileSystem> fs_;
  const Options options_;
  // Bytes of a torn last manifest record dropped by Recover (0 if none).
  std::uint64_t manifest_tail_dropped_ = 0;

  std::uint64_t next_file_number_ = 2;
  SequenceNumber last_sequence_ = 0;
  std::uint64_t log_number_ = 0;
  std::uint64_t manifest_file_number_ = 0;
  std::vector<std::string> compact_pointers_;

  std::shared_ptr<const Version> current_;
  // Every version made current so far that may still be alive.
  mutable std::vector<std::weak_ptr<const Version>> versions_;

  // The open manifest; null before CreateNew/Recover and after a failed
  // write (the next LogAndApply then starts a new manifest). Touched only by
  // CreateNew, Recover and LogAndApply, which never run concurrently.
  std::unique_ptr<wal::Writer> manifest_;
};

// Renders every edit of the manifest at `path` (its number taken from the
// file name) with its record offset, for `kvctl dump-manifest`. A torn last
// record is noted in the text; corruption is returned as the error.
[[nodiscard]] absl::StatusOr<std::string> DumpManifest(FileSystem& fs, const std::string& path);

}  // namespace kv::detail
