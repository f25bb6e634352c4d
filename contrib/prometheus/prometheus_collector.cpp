// kv::prometheus: parses kv's "kv.prometheus" text into prometheus-cpp
// metric families. See kv/prometheus_collector.hpp.
#include "kv/prometheus_collector.hpp"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kv/status_macros.hpp"

namespace kv::prometheus {
namespace {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;
using ::prometheus::MetricType;

struct ParsedSample {
  std::string name;
  std::vector<ClientMetric::Label> labels;
  double value = 0;
};

// `name{a="x",b="y"} value` or `name value`.
bool ParseSample(std::string_view line, ParsedSample* out) {
  const std::size_t space = line.rfind(' ');
  if (space == std::string_view::npos) return false;
  const std::string_view value = line.substr(space + 1);
  std::string_view head = line.substr(0, space);
  if (value == "+Inf") {
    out->value = std::numeric_limits<double>::infinity();
  } else if (!absl::SimpleAtod(Sv(value), &out->value)) {
    return false;
  }
  const std::size_t brace = head.find('{');
  if (brace == std::string_view::npos) {
    out->name = std::string(head);
    return !out->name.empty();
  }
  if (head.back() != '}') return false;
  out->name = std::string(head.substr(0, brace));
  const std::string_view body = head.substr(brace + 1, head.size() - brace - 2);
  for (const absl::string_view pair : absl::StrSplit(Sv(body), ',', absl::SkipEmpty())) {
    const std::size_t eq = pair.find('=');
    if (eq == absl::string_view::npos || pair.size() < eq + 3 || pair[eq + 1] != '"' ||
        pair.back() != '"') {
      return false;
    }
    out->labels.push_back(
        {std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 2, pair.size() - eq - 3))});
  }
  return !out->name.empty();
}

void AddLabels(const Labels& labels, std::vector<ClientMetric::Label>* out) {
  for (const auto& [name, value] : labels) out->push_back({name, value});
}

}  // namespace

absl::StatusOr<std::vector<MetricFamily>> ParseExposition(std::string_view text,
                                                          const Labels& labels) {
  std::vector<MetricFamily> families;
  int line_number = 0;
  for (const absl::string_view line : absl::StrSplit(Sv(text), '\n', absl::SkipEmpty())) {
    ++line_number;
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("kv.prometheus line ", line_number, ": ", Sv(why), ": ", line));
    };
    if (absl::StartsWith(line, "# HELP ")) {
      const absl::string_view rest = line.substr(7);
      const std::size_t space = rest.find(' ');
      MetricFamily family;
      family.name = std::string(rest.substr(0, space));
      family.help = space == absl::string_view::npos ? "" : std::string(rest.substr(space + 1));
      families.push_back(std::move(family));
      continue;
    }
    if (absl::StartsWith(line, "# TYPE ")) {
      if (families.empty()) return bad("TYPE before HELP");
      const absl::string_view type = line.substr(line.rfind(' ') + 1);
      MetricType& t = families.back().type;
      if (type == "counter") {
        t = MetricType::Counter;
      } else if (type == "gauge") {
        t = MetricType::Gauge;
      } else if (type == "histogram") {
        t = MetricType::Histogram;
      } else {
        return bad("unsupported metric type");
      }
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;  // other comments
    if (families.empty()) return bad("sample before HELP");
    MetricFamily& family = families.back();
    ParsedSample sample;
    if (!ParseSample(std::string_view(line.data(), line.size()), &sample)) {
      return bad("malformed sample");
    }
    if (family.type == MetricType::Histogram) {
      // One histogram per family (kv's histograms carry no other labels).
      if (family.metric.empty()) {
        family.metric.emplace_back();
        AddLabels(labels, &family.metric.back().label);
      }
      ClientMetric::Histogram& h = family.metric.back().histogram;
      if (sample.name == family.name + "_bucket") {
        if (sample.labels.size() != 1 || sample.labels[0].name != "le") {
          return bad("histogram bucket without a single le label");
        }
        double bound = 0;
        if (sample.labels[0].value == "+Inf") continue;  // implied by sample_count
        if (!absl::SimpleAtod(sample.labels[0].value, &bound)) return bad("bad le label");
        h.bucket.push_back({static_cast<std::uint64_t>(sample.value), bound});
      } else if (sample.name == family.name + "_sum") {
        h.sample_sum = sample.value;
      } else if (sample.name == family.name + "_count") {
        h.sample_count = static_cast<std::uint64_t>(sample.value);
      } else {
        return bad("sample outside its histogram family");
      }
      continue;
    }
    if (sample.name != family.name) return bad("sample outside its family");
    ClientMetric metric;
    metric.label = std::move(sample.labels);
    AddLabels(labels, &metric.label);
    if (family.type == MetricType::Counter) {
      metric.counter.value = sample.value;
    } else if (family.type == MetricType::Gauge) {
      metric.gauge.value = sample.value;
    } else {
      metric.untyped.value = sample.value;
    }
    family.metric.push_back(std::move(metric));
  }
  return families;
}

DbCollector::DbCollector(DB& db, Labels labels) : db_(db), labels_(std::move(labels)) {}

std::vector<MetricFamily> DbCollector::Collect() const {
  const std::optional<std::string> text = db_.GetProperty("kv.prometheus");
  if (!text) return {};
  absl::StatusOr<std::vector<MetricFamily>> families = ParseExposition(*text, labels_);
  if (!families.ok()) return {};
  return *std::move(families);
}

}  // namespace kv::prometheus
