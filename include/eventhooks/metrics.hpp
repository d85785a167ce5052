// MetricsSnapshot: a Dispatcher's counters, per-hook outcomes and latency histograms, and its outbox's
// depth, copied at one moment (Dispatcher::metrics()), for an application to export its own way, or as
// Prometheus text with render_prometheus(). Value types; safe to copy between threads.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "eventhooks/error.hpp"
#include "eventhooks/export.hpp"
#include "eventhooks/prometheus.hpp"

namespace eventhooks {

// Attempt latency of one hook (the hook's send time, Outcome::elapsed), in fixed buckets so that histograms
// of several processes and several scrapes add up.
struct LatencyHistogram {
  // Upper bounds in seconds (Prometheus `le`), from a fast local sink (< 0.5 ms) to the 30 s default total
  // timeout of the HTTP hooks; the bucket after the last bound holds the slower ones.
  static constexpr std::array<double, 15> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                 0.25,   0.5,   1.0,    2.5,   5.0,  10.0,  30.0};
  // Attempts per bucket, NOT cumulative: counts[i] took more than bounds[i - 1] and at most bounds[i];
  // counts.back() more than bounds.back().
  std::array<std::uint64_t, bounds.size() + 1> counts{};
  double sum_seconds = 0;  // all attempts' latencies added up

  std::uint64_t count() const noexcept {
    std::uint64_t n = 0;
    for (auto c : counts) n += c;
    return n;
  }
};

// Failed attempts of one hook with one error code, by what followed.
struct FailureCount {
  ErrorCode code = ErrorCode::internal;
  std::uint64_t retried = 0;  // scheduled for another attempt
  std::uint64_t dead = 0;     // given up: moved to the dead letters
};

// What one hook's attempts (settled by this dispatcher) came to. A hook replaced by one of the same name and
// type keeps counting in the same entry; a removed hook's entry stays (its counters never go back).
struct HookMetrics {
  std::string hook;  // the hook's name
  std::string type;  // Hook::type(): "WebHook", "SimpleEmailHook", ...
  std::uint64_t delivered = 0;
  std::vector<FailureCount> failures;  // only codes that occurred, in ErrorCode order
  LatencyHistogram latency;            // every settled attempt, delivered or failed

  std::uint64_t retried() const noexcept {
    std::uint64_t n = 0;
    for (const auto& f : failures) n += f.retried;
    return n;
  }
  std::uint64_t dead() const noexcept {
    std::uint64_t n = 0;
    for (const auto& f : failures) n += f.dead;
    return n;
  }
};

struct MetricsSnapshot {
  // Counters since the dispatcher was made (this process only).
  std::uint64_t fired = 0;      // events accepted by fire()
  std::uint64_t enqueued = 0;   // jobs created (one per matching hook)
  std::uint64_t attempts = 0;   // deliveries started
  std::uint64_t delivered = 0;  // confirmed by the transport
  std::uint64_t failed = 0;     // attempts that failed (each is then retried or dead)
  std::uint64_t retried = 0;    // failures scheduled for another attempt
  std::uint64_t dead = 0;       // jobs given up (dead letters), orphaned included
  std::uint64_t orphaned = 0;   // jobs dead-lettered without an attempt: their hook left the configuration
  std::uint64_t rejected = 0;   // fire() calls refused (queue full, outbox error, stopped)
  std::uint64_t dropped = 0;    // jobs dropped by the drop_oldest overflow policy
  std::uint64_t polls = 0;      // times the outbox was asked for work (an idle dispatcher barely polls)

  // The outbox now: with a SQLite outbox shared by several processes, every process's jobs.
  bool outbox_ok = true;             // false when the outbox could not say (the outbox figures are then 0)
  std::size_t queue_depth = 0;       // jobs pending (due now or later), in flight excluded
  std::size_t retries_waiting = 0;   // pending jobs not due yet: failed attempts waiting for their retry
  std::size_t outbox_in_flight = 0;  // claimed by any worker, not settled
  std::size_t dead_letters = 0;      // dead letters stored
  std::size_t in_flight = 0;         // claimed by this dispatcher, not settled

  // Attempt latency (hook send time) over the last 4096 attempts, every hook together.
  std::chrono::microseconds latency_p50{0}, latency_p99{0}, latency_max{0};

  // Per hook, ordered by name then type.
  std::vector<HookMetrics> hooks;

  // "fired=.. delivered=.. failed=.. retried=.. dead=.. depth=.. in_flight=.. latency p50=..ms ..."
  EVENTHOOKS_EXPORT std::string to_string() const;
};

// The snapshot's families, prefixed `eventhooks_`, appended to `out` (docs/metrics.md lists them). An
// application or `eventhooks serve` adds its own families to the same writer before or after.
EVENTHOOKS_EXPORT void write_prometheus(PrometheusWriter& out, const MetricsSnapshot& snapshot);
// The snapshot alone as Prometheus text exposition format 0.0.4.
EVENTHOOKS_EXPORT std::string render_prometheus(const MetricsSnapshot& snapshot);

}  // namespace eventhooks
