#include "convert.hpp"

#include <cmath>
#include <string>

namespace eventhooks::python {
namespace {

constexpr int kMaxDepth = 512;

std::string type_name(py::handle value) {
  return py::str(py::type::handle_of(value).attr("__name__"));
}

std::string key_text(py::handle key) {
  if (py::isinstance<py::str>(key)) return key.cast<std::string>();
  // json.dumps' own rule for non-string keys.
  if (key.is_none()) return "null";
  if (py::isinstance<py::bool_>(key)) return key.cast<bool>() ? "true" : "false";
  if (py::isinstance<py::int_>(key) || py::isinstance<py::float_>(key)) return py::str(key);
  throw py::type_error("keys must be str, int, float, bool or None, not " + type_name(key));
}

template <typename Json>
Json convert(py::handle value, int depth) {
  if (depth > kMaxDepth) throw py::value_error("data is nested more than 512 levels deep");
  if (value.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>();
  if (py::isinstance<py::int_>(value)) {
    try {
      return value.cast<long long>();
    } catch (const py::cast_error&) {
      try {
        return value.cast<unsigned long long>();
      } catch (const py::cast_error&) {
        throw py::value_error("integer " + std::string(py::str(value)) + " does not fit in 64 bits");
      }
    }
  }
  if (py::isinstance<py::float_>(value)) {
    const double d = value.cast<double>();
    if (!std::isfinite(d)) throw py::value_error("out of range float values are not JSON compliant");
    return d;
  }
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::isinstance<py::dict>(value)) {
    Json object = Json::object();
    for (auto item : py::reinterpret_borrow<py::dict>(value)) {
      object[key_text(item.first)] = convert<Json>(item.second, depth + 1);
    }
    return object;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    Json array = Json::array();
    for (auto item : value) array.push_back(convert<Json>(item, depth + 1));
    return array;
  }
  throw py::type_error("Object of type " + type_name(value) + " is not JSON serializable");
}

}  // namespace

nlohmann::ordered_json to_ordered_json(py::handle value) {
  return convert<nlohmann::ordered_json>(value, 0);
}
nlohmann::json to_json(py::handle value) {
  return convert<nlohmann::json>(value, 0);
}

Payload to_payload(py::handle data) {
  if (data.is_none()) return Payload();
  if (py::isinstance<py::str>(data)) return Payload(data.cast<std::string>());
  return Payload(to_ordered_json(data));
}

py::dict metrics_to_dict(const DispatcherMetrics& m) {
  py::dict d;
  d["fired"] = m.fired;
  d["enqueued"] = m.enqueued;
  d["attempts"] = m.attempts;
  d["delivered"] = m.delivered;
  d["failed"] = m.failed;
  d["retried"] = m.retried;
  d["dead"] = m.dead;
  d["orphaned"] = m.orphaned;
  d["rejected"] = m.rejected;
  d["dropped"] = m.dropped;
  d["outbox_ok"] = m.outbox_ok;
  d["queue_depth"] = m.queue_depth;
  d["retries_waiting"] = m.retries_waiting;
  d["outbox_in_flight"] = m.outbox_in_flight;
  d["in_flight"] = m.in_flight;
  d["dead_letters"] = m.dead_letters;
  d["latency_p50"] = static_cast<double>(m.latency_p50.count()) / 1e6;
  d["latency_p99"] = static_cast<double>(m.latency_p99.count()) / 1e6;
  d["latency_max"] = static_cast<double>(m.latency_max.count()) / 1e6;
  // Per hook, as MetricsSnapshot::hooks: failures by error code, and the attempt latency histogram with
  // Prometheus' cumulative buckets ({upper bound in seconds: attempts at most that slow}, the last +inf).
  py::list hooks;
  for (const HookMetrics& h : m.hooks) {
    py::dict hd;
    hd["hook"] = h.hook;
    hd["type"] = h.type;
    hd["delivered"] = h.delivered;
    hd["retried"] = h.retried();
    hd["dead"] = h.dead();
    py::dict failures;
    for (const FailureCount& f : h.failures) {
      py::dict fd;
      fd["retried"] = f.retried;
      fd["dead"] = f.dead;
      failures[py::str(to_string(f.code))] = fd;
    }
    hd["failures"] = failures;
    py::dict buckets;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.latency.counts.size(); ++i) {
      cumulative += h.latency.counts[i];
      const double le = i < LatencyHistogram::bounds.size() ? LatencyHistogram::bounds[i] : INFINITY;
      buckets[py::float_(le)] = cumulative;
    }
    py::dict latency;
    latency["buckets"] = buckets;
    latency["count"] = h.latency.count();
    latency["sum"] = h.latency.sum_seconds;
    hd["latency"] = latency;
    hooks.append(hd);
  }
  d["hooks"] = hooks;
  return d;
}

}  // namespace eventhooks::python
