// PrometheusWriter: writes metric families in the Prometheus text exposition format 0.0.4 (what a /metrics
// endpoint answers with Content-Type `text/plain; version=0.0.4`). Not thread-safe: one writer per scrape.
//
// The library writes the format itself: Debian 12 packages no prometheus-cpp, and the format is a few lines
// of text rules (docs/metrics.md). The names, escaping and family grouping rules are checked here, so text
// made with this writer parses with Prometheus' own parser (tests/integration/metrics_test.cpp runs
// `promtool check metrics` and the Python prometheus_client parser on it).
#pragma once

#include <concepts>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eventhooks/export.hpp"

namespace eventhooks {

struct PrometheusLabel {
  std::string_view name;   // [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", never "le" (histograms add it)
  std::string_view value;  // any UTF-8 text; escaped as the format requires (\\, \", \n)
};
using PrometheusLabels = std::vector<PrometheusLabel>;

class EVENTHOOKS_EXPORT PrometheusWriter {
 public:
  enum class Type { counter, gauge, histogram };

  // Starts a family: its # HELP and # TYPE lines. The samples written next belong to it. A counter's name
  // ends in `_total`; a histogram's is the base its _bucket/_sum/_count series get. Each name at most once
  // per writer. Throws std::invalid_argument on a malformed or repeated name (a programmer error).
  PrometheusWriter& family(std::string_view name, Type type, std::string_view help);
  PrometheusWriter& counter(std::string_view name, std::string_view help) {
    return family(name, Type::counter, help);
  }
  PrometheusWriter& gauge(std::string_view name, std::string_view help) {
    return family(name, Type::gauge, help);
  }
  PrometheusWriter& histogram(std::string_view name, std::string_view help) {
    return family(name, Type::histogram, help);
  }

  // One sample of the current counter or gauge family. Integers are written exactly; doubles in their
  // shortest form (NaN, +Inf and -Inf as the format spells them).
  PrometheusWriter& sample(const PrometheusLabels& labels, double value);
  template <std::integral T>
  PrometheusWriter& sample(const PrometheusLabels& labels, T value) {
    return write_sample(labels, std::to_string(value));
  }

  // One histogram (one label set) of the current histogram family. `bounds`: the finite upper bounds,
  // ascending; `counts`: observations per bucket, NOT cumulative, bounds.size() + 1 of them (the last one
  // above the last bound). Written as cumulative _bucket{le=...} lines ending with le="+Inf", then _sum and
  // _count. Throws std::invalid_argument when the sizes disagree.
  PrometheusWriter& observations(const PrometheusLabels& labels, std::span<const double> bounds,
                                 std::span<const std::uint64_t> counts, double sum);

  const std::string& text() const& noexcept { return out_; }
  std::string text() && noexcept { return std::move(out_); }

  // The format's escaping of a label value (\\, \", \n) and of HELP text (\\, \n).
  static std::string escape_label_value(std::string_view value);
  static std::string escape_help(std::string_view help);

 private:
  PrometheusWriter& write_sample(const PrometheusLabels& labels, std::string_view value);
  void write_series(std::string_view suffix, const PrometheusLabels& labels, std::string_view le,
                    std::string_view value);

  std::string out_;
  std::string current_;  // the family being written
  Type current_type_ = Type::gauge;
  std::set<std::string, std::less<>> families_;
};

}  // namespace eventhooks
