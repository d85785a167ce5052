// MetricsSnapshot as text: the one-line summary the worker logs and the Prometheus families of
// docs/metrics.md (the names, labels and meanings there must follow this file).
#include "eventhooks/metrics.hpp"

#include <fmt/format.h>

namespace eventhooks {

std::string MetricsSnapshot::to_string() const {
  return fmt::format(
      "fired={} delivered={} failed={} retried={} dead={} rejected={} dropped={} depth={} in_flight={} "
      "dead_letters={} latency p50={:.1f}ms p99={:.1f}ms max={:.1f}ms",
      fired, delivered, failed, retried, dead, rejected, dropped, queue_depth, in_flight, dead_letters,
      static_cast<double>(latency_p50.count()) / 1000.0, static_cast<double>(latency_p99.count()) / 1000.0,
      static_cast<double>(latency_max.count()) / 1000.0);
}

void write_prometheus(PrometheusWriter& out, const MetricsSnapshot& s) {
  const struct {
    const char* name;
    const char* help;
    std::uint64_t value;
  } totals[] = {
      {"eventhooks_events_fired_total", "Events accepted by Dispatcher::fire() in this process.", s.fired},
      {"eventhooks_events_rejected_total",
       "Dispatcher::fire() calls refused: queue full, outbox unusable or dispatcher stopped.", s.rejected},
      {"eventhooks_jobs_enqueued_total",
       "Delivery jobs stored by fire(): one per hook the event's realm selected.", s.enqueued},
      {"eventhooks_jobs_dropped_total",
       "Jobs dropped from a full in-memory queue by the drop_oldest overflow policy.", s.dropped},
      {"eventhooks_jobs_orphaned_total",
       "Jobs moved to the dead letters unattempted because their hook left the configuration.", s.orphaned},
  };
  for (const auto& t : totals) out.counter(t.name, t.help).sample({}, t.value);

  out.counter("eventhooks_deliveries_total",
              "Delivery attempts settled by this process, by hook, hook type, outcome (delivered; retried: "
              "failed, tried again later; dead: failed, given up) and error code (empty when delivered).");
  for (const auto& h : s.hooks) {
    out.sample({{"hook", h.hook}, {"type", h.type}, {"outcome", "delivered"}, {"error_code", ""}},
               h.delivered);
    for (const auto& f : h.failures) {
      const std::string_view code = to_string(f.code);
      if (f.retried) {
        out.sample({{"hook", h.hook}, {"type", h.type}, {"outcome", "retried"}, {"error_code", code}},
                   f.retried);
      }
      if (f.dead) {
        out.sample({{"hook", h.hook}, {"type", h.type}, {"outcome", "dead"}, {"error_code", code}}, f.dead);
      }
    }
  }

  out.histogram("eventhooks_delivery_attempt_duration_seconds",
                "Time one delivery attempt took (the hook's send, Outcome::elapsed), by hook and hook type.");
  for (const auto& h : s.hooks) {
    out.observations({{"hook", h.hook}, {"type", h.type}}, LatencyHistogram::bounds, h.latency.counts,
                     h.latency.sum_seconds);
  }

  out.gauge("eventhooks_dispatcher_in_flight_jobs",
            "Jobs this process has claimed from the outbox and not settled yet.")
      .sample({}, s.in_flight);
  out.gauge("eventhooks_outbox_up", "1 when the outbox answered the last scrape's query, 0 when it failed.")
      .sample({}, s.outbox_ok ? 1 : 0);
  out.gauge("eventhooks_outbox_jobs",
            "Jobs in the outbox by state (every process sharing it): pending (due now or later), in_flight "
            "(claimed, not settled), dead (dead letters).");
  if (s.outbox_ok) {
    out.sample({{"state", "pending"}}, s.queue_depth)
        .sample({{"state", "in_flight"}}, s.outbox_in_flight)
        .sample({{"state", "dead"}}, s.dead_letters);
  }
  out.gauge("eventhooks_retry_queue_jobs",
            "Pending jobs not due yet: failed attempts waiting for their scheduled retry.");
  if (s.outbox_ok) out.sample({}, s.retries_waiting);
}

std::string render_prometheus(const MetricsSnapshot& snapshot) {
  PrometheusWriter out;
  write_prometheus(out, snapshot);
  return std::move(out).text();
}

}  // namespace eventhooks
