/// @file
/// kv::prometheus: an optional adapter for hosts that already export metrics
/// with prometheus-cpp (Debian's prometheus-cpp-dev). Link the CMake target
/// kv::prometheus (built and installed only where prometheus-cpp is found).
///
/// @code
///   prometheus::Exposer exposer{"127.0.0.1:9464"};
///   auto collector = std::make_shared<kv::prometheus::DbCollector>(
///       *db, kv::prometheus::Labels{{"db", "orders"}});
///   exposer.RegisterCollectable(collector);
///   ...
///   exposer.RemoveCollectable(collector);  // before the DB is destroyed
/// @endcode
///
/// Each scrape reads the DB's "kv.prometheus" property (the same counters and
/// gauges, same names) and hands them to prometheus-cpp as metric families,
/// with the collector's constant labels added to every sample, so that
/// several DBs can share one registry.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kv/db.hpp"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace kv::prometheus {

/// Constant labels added to every sample, e.g. {{"db", "orders"}}.
using Labels = std::map<std::string, std::string>;

/// A prometheus-cpp Collectable over one DB. The DB must outlive every
/// Collect() call: remove the collector from its registry or exposer (or
/// destroy it) before destroying the DB. Thread-safe, like the DB.
class DbCollector final : public ::prometheus::Collectable {
 public:
  /// A collector over `db` whose samples all carry `labels`. `db` must
  /// outlive every Collect() call.
  explicit DbCollector(DB& db, Labels labels = {});

  /// The DB's metrics now. Empty if the text cannot be parsed (never the
  /// case for kv's own output; see ParseExposition).
  std::vector<::prometheus::MetricFamily> Collect() const override;

 private:
  DB& db_;
  const Labels labels_;
};

/// Parses Prometheus text exposition format as kv writes it (HELP and TYPE
/// lines, counters, gauges and histograms, integer or decimal values,
/// simple labels without escapes) into prometheus-cpp families, adding
/// `labels` to every sample. kInvalidArgument naming the line otherwise.
[[nodiscard]] absl::StatusOr<std::vector<::prometheus::MetricFamily>> ParseExposition(
    std::string_view text, const Labels& labels = {});

}  // namespace kv::prometheus
