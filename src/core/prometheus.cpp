// Prometheus text exposition format 0.0.4: one # HELP and one # TYPE line per family, then its samples,
// `name{label="value",...} value`, every line ending in \n. A histogram family `x` has the series x_bucket
// (cumulative, one per upper bound `le`, the last le="+Inf"), x_sum and x_count.
#include "eventhooks/prometheus.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace eventhooks {
namespace {

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name) {
  if (name.empty() || is_digit(name.front())) return false;
  for (char c : name) {
    if (!is_letter(c) && !is_digit(c) && c != ':') return false;
  }
  return true;
}

// [a-zA-Z_][a-zA-Z0-9_]*, names starting with "__" are reserved for Prometheus itself.
bool valid_label_name(std::string_view name) {
  if (name.empty() || is_digit(name.front()) || name.starts_with("__")) return false;
  for (char c : name) {
    if (!is_letter(c) && !is_digit(c)) return false;
  }
  return true;
}

std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

const char* type_name(PrometheusWriter::Type type) {
  switch (type) {
    case PrometheusWriter::Type::counter: return "counter";
    case PrometheusWriter::Type::gauge: return "gauge";
    case PrometheusWriter::Type::histogram: return "histogram";
  }
  return "untyped";
}

// Backslash and line feed are escaped in HELP text and label values; the double quote in label values only.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string PrometheusWriter::escape_label_value(std::string_view value) {
  return escape(value, true);
}

std::string PrometheusWriter::escape_help(std::string_view help) {
  return escape(help, false);
}

PrometheusWriter& PrometheusWriter::family(std::string_view name, Type type, std::string_view help) {
  if (!valid_metric_name(name)) {
    throw std::invalid_argument(
        fmt::format("Prometheus metric name '{}' is not [a-zA-Z_:][a-zA-Z0-9_:]*", name));
  }
  if (type == Type::counter && !name.ends_with("_total")) {
    throw std::invalid_argument(fmt::format("Prometheus counter '{}' must end in _total", name));
  }
  if (!families_.emplace(name).second) {
    throw std::invalid_argument(fmt::format("Prometheus metric family '{}' written twice", name));
  }
  current_ = name;
  current_type_ = type;
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type_name(type));
  return *this;
}

void PrometheusWriter::write_series(std::string_view suffix, const PrometheusLabels& labels,
                                    std::string_view le, std::string_view value) {
  out_ += current_;
  out_ += suffix;
  if (!labels.empty() || !le.empty()) {
    out_ += '{';
    const char* sep = "";
    for (const auto& l : labels) {
      out_ += fmt::format("{}{}=\"{}\"", sep, l.name, escape_label_value(l.value));
      sep = ",";
    }
    if (!le.empty()) out_ += fmt::format("{}le=\"{}\"", sep, le);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

namespace {

void check_labels(const PrometheusLabels& labels) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!valid_label_name(labels[i].name) || labels[i].name == "le") {
      throw std::invalid_argument(fmt::format("Prometheus label name '{}' is not allowed", labels[i].name));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (labels[j].name == labels[i].name) {
        throw std::invalid_argument(fmt::format("Prometheus label '{}' given twice", labels[i].name));
      }
    }
  }
}

}  // namespace

PrometheusWriter& PrometheusWriter::write_sample(const PrometheusLabels& labels, std::string_view value) {
  if (current_.empty() || current_type_ == Type::histogram) {
    throw std::invalid_argument("PrometheusWriter::sample: start a counter or gauge family first");
  }
  check_labels(labels);
  write_series("", labels, "", value);
  return *this;
}

PrometheusWriter& PrometheusWriter::sample(const PrometheusLabels& labels, double value) {
  return write_sample(labels, format_double(value));
}

PrometheusWriter& PrometheusWriter::observations(const PrometheusLabels& labels,
                                                 std::span<const double> bounds,
                                                 std::span<const std::uint64_t> counts, double sum) {
  if (current_.empty() || current_type_ != Type::histogram) {
    throw std::invalid_argument("PrometheusWriter::observations: start a histogram family first");
  }
  if (counts.size() != bounds.size() + 1) {
    throw std::invalid_argument("PrometheusWriter::observations: counts must be bounds.size() + 1");
  }
  check_labels(labels);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    write_series("_bucket", labels, format_double(bounds[i]), std::to_string(cumulative));
  }
  cumulative += counts.back();
  write_series("_bucket", labels, "+Inf", std::to_string(cumulative));
  write_series("_sum", labels, "", format_double(sum));
  write_series("_count", labels, "", std::to_string(cumulative));
  return *this;
}

}  // namespace eventhooks
