// kv::prometheus: the collector hands prometheus-cpp every family of
// kv.prometheus with the right types, values and constant labels, and
// prometheus-cpp's own serializer renders them.
#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/match.h"
#include "kv/prometheus_collector.hpp"
#include "prometheus/text_serializer.h"
#include "test_util.hpp"

namespace {

using ::prometheus::MetricFamily;
using ::prometheus::MetricType;

const MetricFamily& Find(const std::vector<MetricFamily>& families, const std::string& name) {
  for (const MetricFamily& f : families) {
    if (f.name == name) return f;
  }
  FAIL("no family " << name);
  return families.front();
}

TEST_CASE("DbCollector exposes every kv.prometheus family through prometheus-cpp") {
  kv::test::TempDir dir;
  auto db = kv::DB::Open({}, dir.path());
  REQUIRE_OK(db.status());
  for (int i = 0; i < 100; ++i) REQUIRE_OK((*db)->Put("k" + std::to_string(i), "v"));
  for (int i = 0; i < 30; ++i) CHECK((*db)->Get("k" + std::to_string(i)).ok());
  REQUIRE_OK((*db)->Flush());

  kv::prometheus::DbCollector collector(**db, {{"db", "test"}});
  const std::vector<MetricFamily> families = collector.Collect();
  const std::string text = (*db)->GetProperty("kv.prometheus").value();
  std::size_t type_lines = 0;
  for (std::size_t pos = 0; (pos = text.find("# TYPE ", pos)) != std::string::npos; ++pos) {
    ++type_lines;
  }
  CHECK(families.size() == type_lines);

  const MetricFamily& puts = Find(families, "kv_puts_total");
  CHECK(puts.type == MetricType::Counter);
  REQUIRE(puts.metric.size() == 1);
  CHECK(puts.metric[0].counter.value == 100);
  REQUIRE(puts.metric[0].label.size() == 1);
  CHECK(puts.metric[0].label[0].name == "db");
  CHECK(puts.metric[0].label[0].value == "test");
  CHECK(Find(families, "kv_gets_total").metric[0].counter.value == 30);
  CHECK(Find(families, "kv_flushes_total").metric[0].counter.value == 1);

  const MetricFamily& files = Find(families, "kv_level_files");
  CHECK(files.type == MetricType::Gauge);
  REQUIRE(files.metric.size() == 7);
  CHECK(files.metric[0].label.size() == 2);  // level, db
  CHECK(files.metric[0].gauge.value == 1);

  const MetricFamily& groups = Find(families, "kv_write_group_size");
  CHECK(groups.type == MetricType::Histogram);
  REQUIRE(groups.metric.size() == 1);
  CHECK(groups.metric[0].histogram.sample_count == 100);
  CHECK(groups.metric[0].histogram.sample_sum == 100);
  REQUIRE(groups.metric[0].histogram.bucket.size() == 7);
  CHECK(groups.metric[0].histogram.bucket[0].upper_bound == 1);
  CHECK(groups.metric[0].histogram.bucket[0].cumulative_count == 100);

  // prometheus-cpp renders it.
  const std::string rendered = ::prometheus::TextSerializer().Serialize(families);
  INFO(rendered.substr(0, 2000));
  CHECK(absl::StrContains(rendered, "kv_puts_total{db=\"test\"} 100"));
  CHECK(absl::StrContains(rendered, "kv_write_group_size_count{db=\"test\"} 100"));
}

TEST_CASE("ParseExposition rejects malformed text, naming the line") {
  auto bad = kv::prometheus::ParseExposition("# HELP kv_x h\n# TYPE kv_x gauge\nkv_x{a=b} 1\n");
  REQUIRE(absl::IsInvalidArgument(bad.status()));
  CHECK(absl::StrContains(bad.status().message(), "line 3"));
  CHECK(absl::IsInvalidArgument(kv::prometheus::ParseExposition("kv_x 1\n").status()));
  CHECK(absl::IsInvalidArgument(
      kv::prometheus::ParseExposition("# HELP kv_x h\n# TYPE kv_x summary\n").status()));
  CHECK(absl::IsInvalidArgument(
      kv::prometheus::ParseExposition("# HELP kv_x h\n# TYPE kv_x gauge\nkv_x one\n").status()));
  auto good = kv::prometheus::ParseExposition("# HELP kv_x h\n# TYPE kv_x gauge\nkv_x 2.5\n");
  REQUIRE_OK(good.status());
  CHECK(good->at(0).metric.at(0).gauge.value == 2.5);
}

}  // namespace
