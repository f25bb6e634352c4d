// The kvctl command table: names, synopses, help texts, flags and arity.
#include <array>

#include "command.hpp"

namespace kv::kvctl {
namespace {

constexpr FlagSpec kGetFlags[] = {{"hex", false}, {"raw", false}, {"hex-in", false}};
constexpr FlagSpec kPutFlags[] = {{"hex-in", false}, {"sync", false}};
constexpr FlagSpec kDeleteFlags[] = {{"hex-in", false}, {"sync", false}};
constexpr FlagSpec kScanFlags[] = {{"from", true},      {"to", true},   {"prefix", true},
                                   {"limit", true},     {"hex", false}, {"hex-in", false},
                                   {"keys-only", false}};
constexpr FlagSpec kDumpFlags[] = {{"hex", false}, {"limit", true}};
constexpr FlagSpec kNoFlags[] = {{"", false}};

constexpr std::array kCommands = {
    Command{
        .name = "get",
        .synopsis = "get DB_DIR KEY [--hex] [--raw] [--hex-in]",
        .summary = "print the value of KEY (exit 1 if absent)",
        .details = "Prints the value followed by a newline: as text if it is plain text\n"
                   "(bytes 0x20..0x7e, not starting with \"0x\"), else as 0x-prefixed hex.\n"
                   "  --hex     always print hex\n"
                   "  --raw     print the value's bytes exactly, without a newline\n"
                   "  --hex-in  KEY is given in hex (e.g. 0x00ff)\n"
                   "Exit code 1 if the key is absent. Never creates a DB.\n",
        .flags = kGetFlags,
        .min_args = 2,
        .max_args = 2,
        .run = RunGet,
    },
    Command{
        .name = "put",
        .synopsis = "put DB_DIR KEY VALUE [--hex-in] [--sync]",
        .summary = "set KEY to VALUE (creates the DB if missing)",
        .details = "  --hex-in  KEY and VALUE are given in hex\n"
                   "  --sync    fdatasync the WAL before returning\n"
                   "The only command that creates a missing DB.\n",
        .flags = kPutFlags,
        .min_args = 3,
        .max_args = 3,
        .run = RunPut,
    },
    Command{
        .name = "delete",
        .synopsis = "delete DB_DIR KEY [--hex-in] [--sync]",
        .summary = "remove KEY (deleting an absent key is OK)",
        .details = "  --hex-in  KEY is given in hex\n"
                   "  --sync    fdatasync the WAL before returning\n",
        .flags = kDeleteFlags,
        .min_args = 2,
        .max_args = 2,
        .run = RunDelete,
    },
    Command{
        .name = "scan",
        .synopsis = "scan DB_DIR [--from K] [--to K] [--prefix P] [--limit N] [--hex] "
                    "[--keys-only] [--hex-in]",
        .summary = "print entries in key order, one KEY<TAB>VALUE line each",
        .details = "Keys and values print as text when plain text (bytes 0x20..0x7e, not\n"
                   "starting with \"0x\"), else as 0x-prefixed lowercase hex.\n"
                   "  --from K     start at the first key >= K\n"
                   "  --to K       stop before the first key >= K (exclusive)\n"
                   "  --prefix P   only keys starting with P (combines with --from/--to)\n"
                   "  --limit N    print at most N entries\n"
                   "  --hex        print every key and value in hex\n"
                   "  --keys-only  print keys only\n"
                   "  --hex-in     K and P are given in hex\n",
        .flags = kScanFlags,
        .min_args = 1,
        .max_args = 1,
        .run = RunScan,
    },
    Command{
        .name = "stats",
        .synopsis = "stats DB_DIR",
        .summary = "print the kv.stats property (levels, files, bytes, activity)",
        .details = "",
        .flags = std::span<const FlagSpec>(kNoFlags, 0),
        .min_args = 1,
        .max_args = 1,
        .run = RunStats,
    },
    Command{
        .name = "compact",
        .synopsis = "compact DB_DIR",
        .summary = "flush and compact the whole key range into the last level",
        .details = "On a terminal, a progress line (files per level) is shown on stderr.\n",
        .flags = std::span<const FlagSpec>(kNoFlags, 0),
        .min_args = 1,
        .max_args = 1,
        .run = RunCompact,
    },
    Command{
        .name = "verify",
        .synopsis = "verify DB_DIR",
        .summary = "read every block of every live table and check its checksum",
        .details = "Exit code 0 if all is well; 3 with the file and offset of the first bad\n"
                   "block otherwise. On a terminal, a progress line is shown on stderr.\n",
        .flags = std::span<const FlagSpec>(kNoFlags, 0),
        .min_args = 1,
        .max_args = 1,
        .run = RunVerify,
    },
    Command{
        .name = "dump-sst",
        .synopsis = "dump-sst FILE [--hex] [--limit N]",
        .summary = "print an SSTable's properties, index and entries",
        .details = "Entries of a DB table print as `KEY @SEQ TYPE => VALUE` (TYPE is PUT,\n"
                   "DEL or PUT-EXPIRING with the expiry in microseconds since the epoch).\n"
                   "Works on any .sst file; needs no lock and does not open a DB.\n"
                   "  --hex        print every key and value in hex\n"
                   "  --limit N    print at most N entries\n",
        .flags = kDumpFlags,
        .min_args = 1,
        .max_args = 1,
        .run = RunDumpSst,
    },
    Command{
        .name = "dump-wal",
        .synopsis = "dump-wal FILE [--hex] [--limit N]",
        .summary = "print a write-ahead log's records: batches and their entries",
        .details = "FILE must keep its NNNNNN.wal name (the log number is checked against\n"
                   "the file's header). A torn last record is reported and is not an error;\n"
                   "corruption elsewhere exits 3 with the file and offset.\n"
                   "  --hex        print every key and value in hex\n"
                   "  --limit N    print at most N records\n",
        .flags = kDumpFlags,
        .min_args = 1,
        .max_args = 1,
        .run = RunDumpWal,
    },
    Command{
        .name = "dump-manifest",
        .synopsis = "dump-manifest DB_DIR|MANIFEST_FILE",
        .summary = "print the version edits of the DB's current MANIFEST",
        .details = "With a directory, dumps the manifest CURRENT names; with a\n"
                   "MANIFEST-NNNNNN file, dumps that file. Reads only: takes no lock.\n",
        .flags = std::span<const FlagSpec>(kNoFlags, 0),
        .min_args = 1,
        .max_args = 1,
        .run = RunDumpManifest,
    },
    Command{
        .name = "shell",
        .synopsis = "shell DB_DIR",
        .summary = "a line-protocol session on one open DB (interactive or piped)",
        .details =
            "Reads one request per line from stdin, answers one or more lines on stdout:\n"
            "  SET key value     -> OK\n"
            "  GET key           -> VALUE value | NOT_FOUND\n"
            "  DEL key           -> OK\n"
            "  SCAN [prefix [limit]] -> KEY key VALUE value ... then END\n"
            "  HELP              -> this list, then END\n"
            "  QUIT | EXIT       -> ends the session (so does end of input)\n"
            "Errors answer `ERR message`. Command names are case-insensitive; blank\n"
            "lines and lines starting with # are ignored.\n"
            "Tokens: separated by spaces/tabs; bare tokens are literal; a token in double\n"
            "quotes decodes \\\" \\\\ \\n \\t \\r \\0 \\xHH. Output tokens are bare when they\n"
            "are non-empty printable ASCII without spaces and not starting with \", else\n"
            "quoted the same way. A prompt is printed only when stdin is a terminal.\n"
            "The DB must already exist (create one with put).\n",
        .flags = std::span<const FlagSpec>(kNoFlags, 0),
        .min_args = 1,
        .max_args = 1,
        .run = RunShell,
    },
};

}  // namespace

std::span<const Command> Commands() { return kCommands; }

const Command* FindCommand(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace kv::kvctl
