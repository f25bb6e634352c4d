// PrometheusWriter: builds a document in the Prometheus text exposition format
// (version 0.0.4), one metric family at a time, each with its # HELP and
// # TYPE lines. Every name gets the "kv_" prefix.
//
//   PrometheusWriter out;
//   out.Counter("gets_total", "Get calls.", 42);
//   out.Gauge("memtable_bytes", "Bytes in the active memtable.", 1024);
//   out.LabeledGauge("level_files", "SSTables per level.", "level", {3, 1, 0});
//   std::string text = std::move(out).Finish();
//
// Counter names end in "_total" by convention; the caller chooses them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "kv/status_macros.hpp"

namespace kv::detail {

class PrometheusWriter {
 public:
  void Counter(std::string_view name, std::string_view help, std::uint64_t value) {
    Family(name, "counter", help);
    absl::StrAppend(&out_, "kv_", Sv(name), " ", value, "\n");
  }
  void Gauge(std::string_view name, std::string_view help, std::uint64_t value) {
    Family(name, "gauge", help);
    absl::StrAppend(&out_, "kv_", Sv(name), " ", value, "\n");
  }
  // One sample per index i, labelled {label="i"}.
  void LabeledGauge(std::string_view name, std::string_view help, std::string_view label,
                    std::span<const std::uint64_t> values) {
    Family(name, "gauge", help);
    for (std::size_t i = 0; i < values.size(); ++i) {
      absl::StrAppend(&out_, "kv_", Sv(name), "{", Sv(label), "=\"", i, "\"} ", values[i], "\n");
    }
  }
  // A histogram from per-bucket (not cumulative) counts: counts[i] counts
  // observations <= bounds[i] and above the previous bound; counts has one
  // more slot than bounds, for observations above the last bound. `sum` is
  // the sum of all observations.
  void Histogram(std::string_view name, std::string_view help,
                 std::span<const std::uint64_t> bounds, std::span<const std::uint64_t> counts,
                 std::uint64_t sum) {
    Family(name, "histogram", help);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      const std::string le = i < bounds.size() ? absl::StrCat(bounds[i]) : "+Inf";
      absl::StrAppend(&out_, "kv_", Sv(name), "_bucket{le=\"", le, "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out_, "kv_", Sv(name), "_sum ", sum, "\n");
    absl::StrAppend(&out_, "kv_", Sv(name), "_count ", cumulative, "\n");
  }

  std::string Finish() && { return std::move(out_); }

 private:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    absl::StrAppend(&out_, "# HELP kv_", Sv(name), " ", Sv(help), "\n# TYPE kv_", Sv(name), " ",
                    Sv(type), "\n");
  }

  std::string out_;
};

}  // namespace kv::detail
