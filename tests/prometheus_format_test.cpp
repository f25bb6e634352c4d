// kv.prometheus: the document parses as Prometheus text exposition format
// 0.0.4 (checked by a small strict parser below), and its values mean what
// their HELP says after a known workload.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "kv/db.hpp"
#include "test_util.hpp"

namespace {

struct Sample {
  std::string name;
  std::string labels;  // the text between the braces, "" if none
  double value = 0;
};

struct Family {
  std::string help, type;
  std::vector<Sample> samples;
};

// Parses `text`, throwing std::runtime_error (naming the line) on any line
// that is not valid exposition format or breaks its rules: HELP and TYPE
// once per family, before its samples; samples of a family contiguous; a
// sample's name is the family's (histograms: plus _bucket/_sum/_count);
// counters end in _total; the document ends with "\n".
std::map<std::string, Family> ParsePrometheus(const std::string& text) {
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+))");
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)\})? (\S+))");
  auto fail = [](const std::string& line, const std::string& why) {
    throw std::runtime_error(why + " in line: " + line);
  };
  if (text.empty() || text.back() != '\n') fail("", "empty or no final newline");
  std::map<std::string, Family> families;
  std::string current;  // the family whose samples may follow
  const std::vector<std::string> lines = absl::StrSplit(text.substr(0, text.size() - 1), '\n');
  for (const std::string& line : lines) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      if (families.count(m[1]) != 0) fail(line, "second HELP for a family");
      current = m[1];
      families[current].help = m[2];
    } else if (std::regex_match(line, m, kType)) {
      if (m[1] != current) fail(line, "TYPE not right after its HELP");
      Family& f = families[current];
      if (!f.type.empty() || !f.samples.empty()) fail(line, "TYPE repeated or after samples");
      f.type = m[2];
      if (f.type == "counter" && !absl::EndsWith(current, "_total")) {
        fail(line, "counter name without _total");
      }
    } else if (std::regex_match(line, m, kSample)) {
      if (current.empty() || families[current].type.empty()) fail(line, "sample before TYPE");
      Family& f = families[current];
      const std::string name = m[1];
      const bool name_ok = f.type == "histogram"
                               ? (name == current + "_bucket" || name == current + "_sum" ||
                                  name == current + "_count")
                               : name == current;
      if (!name_ok) fail(line, "sample outside its family");
      double value = 0;
      if (!absl::SimpleAtod(m[5].str(), &value) && m[5] != "+Inf" && m[5] != "NaN") {
        fail(line, "value is not a number");
      }
      f.samples.push_back({name, m[3], value});
    } else {
      fail(line, "not a HELP, TYPE or sample line");
    }
  }
  for (const auto& [name, f] : families) {
    if (f.samples.empty()) fail(name, "family without samples");
    if (f.type != "histogram") continue;
    // Buckets cumulative, +Inf last and equal to _count.
    double prev = 0, inf = -1, count = -2;
    for (const Sample& s : f.samples) {
      if (s.name == name + "_bucket") {
        if (s.value < prev) fail(name, "histogram buckets not cumulative");
        prev = s.value;
        if (s.labels == "le=\"+Inf\"") inf = s.value;
      } else if (s.name == name + "_count") {
        count = s.value;
      }
    }
    if (inf != count) fail(name, "histogram +Inf bucket differs from _count");
  }
  return families;
}

// The value of sample `name{labels}` (a histogram's _bucket/_sum/_count
// samples are found under their family).
double Value(const std::map<std::string, Family>& families, const std::string& name,
             const std::string& labels = "") {
  for (const auto& [family_name, f] : families) {
    if (!absl::StartsWith(name, family_name)) continue;
    for (const Sample& s : f.samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
  }
  FAIL("no sample " << name << "{" << labels << "}");
  return 0;
}

TEST_CASE("the parser rejects what Prometheus would reject") {
  CHECK_THROWS(ParsePrometheus("kv_x 1\n"));  // sample without HELP/TYPE
  CHECK_THROWS(ParsePrometheus("# HELP kv_x h\n# TYPE kv_x gauge\nkv_y 1\n"));
  CHECK_THROWS(ParsePrometheus("# HELP kv_x h\n# TYPE kv_x gauge\nkv_x one\n"));
  CHECK_THROWS(ParsePrometheus("# HELP kv_x h\n# TYPE kv_x gauge\nkv_x 1"));  // no final \n
  CHECK_THROWS(ParsePrometheus("# HELP kv_x h\n# TYPE kv_x summary\nkv_x 1\n"));
  CHECK_THROWS(ParsePrometheus("# HELP kv_x h\n# TYPE kv_x gauge\nkv_x{a=b} 1\n"));  // unquoted
  CHECK_THROWS(
      ParsePrometheus("# HELP kv_h h\n# TYPE kv_h histogram\nkv_h_bucket{le=\"1\"} 2\n"
                      "kv_h_bucket{le=\"+Inf\"} 1\nkv_h_sum 2\nkv_h_count 1\n"));
  CHECK_THROWS(ParsePrometheus("# HELP kv_x h\n# TYPE kv_x counter\nkv_x 1\n"));  // no _total
  CHECK_NOTHROW(ParsePrometheus("# HELP kv_x_total h\n# TYPE kv_x_total counter\nkv_x_total 1\n"));
}

TEST_CASE("kv.prometheus is valid exposition format and its values follow the workload") {
  kv::Options options;
  options.level0_compaction_trigger = 8;  // keep the L0 tables: lookups consult each
  // In memory: tables are then read through the block cache (memory-mapped
  // POSIX tables bypass it), whose counters are checked below.
  options.file_system = kv::NewMemFileSystem();
  auto opened = kv::DB::Open(options, "/db");
  REQUIRE_OK(opened.status());
  std::unique_ptr<kv::DB> db = std::move(*opened);

  // Three tables of disjoint-but-interleaved keys, then reads.
  constexpr int kKeys = 3000;
  for (int t = 0; t < 3; ++t) {
    for (int i = t; i < kKeys; i += 3) {
      REQUIRE_OK(db->Put("key" + std::to_string(i), std::string(50, 'v')));
    }
    REQUIRE_OK(db->Flush());
  }
  REQUIRE_OK(db->Delete("key0"));
  int gets = 0, hits = 0;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kKeys; ++i) {
      const auto v = db->Get("key" + std::to_string(i));
      ++gets;
      if (v.ok()) ++hits;
    }
  }
  for (int i = 0; i < 1000; ++i) {  // absent keys: the bloom filters' job
    CHECK(absl::IsNotFound(db->Get("absent" + std::to_string(i)).status()));
    ++gets;
  }

  const auto families = ParsePrometheus(db->GetProperty("kv.prometheus").value());
  CHECK(Value(families, "kv_gets_total") == gets);
  CHECK(Value(families, "kv_get_hits_total") == hits);
  CHECK(hits == 2 * (kKeys - 1));
  CHECK(Value(families, "kv_puts_total") == kKeys);
  CHECK(Value(families, "kv_deletes_total") == 1);
  CHECK(Value(families, "kv_flushes_total") == 3);
  // Every key found in a table was let through by that table's filter.
  CHECK(Value(families, "kv_bloom_true_positive_total") >= 2 * (kKeys - 1));
  // Each absent key is checked against 3 filters, a found key against up
  // to 2 tables that do not hold it: most of those are ruled out.
  const double useful = Value(families, "kv_bloom_useful_total");
  const double false_positive = Value(families, "kv_bloom_false_positive_total");
  CHECK(useful > 0.9 * (useful + false_positive));
  CHECK(useful >= 0.95 * 3 * 1000);
  // The second round reads blocks the first put in the cache.
  CHECK(Value(families, "kv_block_cache_hits_total") > kKeys);
  CHECK(Value(families, "kv_block_cache_misses_total") > 0);
  CHECK(Value(families, "kv_block_cache_bytes") > 0);
  CHECK(Value(families, "kv_level_files", "level=\"0\"") == 3);
  // One write group per Put/Delete here (one thread): the histogram's count
  // is the number of WAL records, and all groups have size 1.
  const double records = Value(families, "kv_wal_records_total");
  CHECK(records == kKeys + 1);
  CHECK(Value(families, "kv_write_group_size_count") == records);
  CHECK(Value(families, "kv_write_group_size_bucket", "le=\"1\"") == records);
  CHECK(Value(families, "kv_write_group_size_bucket", "le=\"+Inf\"") == records);
  CHECK(Value(families, "kv_write_group_size_sum") == records);
  CHECK(Value(families, "kv_memtable_bytes") > 0);
}

}  // namespace
