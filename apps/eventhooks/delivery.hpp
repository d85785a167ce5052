// What `eventhooks worker` and `eventhooks serve` share: the stop signals, the config's outbox, and the
// Dispatcher that delivers its jobs. One code path, so a serve process delivers exactly as a worker does.
// Used from the CLI's main thread.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "eventhooks/config.hpp"
#include "eventhooks/dispatcher.hpp"
#include "eventhooks/outbox.hpp"
#include "eventhooks/prometheus.hpp"

namespace eventhooks::cli {

// SIGINT and SIGTERM, blocked in every thread (construct this before any thread exists, so each inherits
// the mask) and received only by wait(): no async-signal-safety concerns, no lost signal.
class StopSignals {
 public:
  StopSignals();
  // The signal received within `timeout`, or 0.
  int wait(std::chrono::milliseconds timeout);
  static const char* name(int signal);

 private:
  sigset_t set_;
};

// The config's outbox, opened for delivery: its claims left by dead workers on this host released. Prints
// the problem and sets `exit_code` when there is none or it cannot be opened. `prefetch`: the RabbitMQ
// backend's unacked jobs at most (0: its default).
std::shared_ptr<Outbox> open_delivery_outbox(const Config& config, const std::string& config_path,
                                             const char* who, int& exit_code, std::uint16_t prefetch = 0);

// A started Dispatcher over the config's hooks and `outbox`, with `threads` delivery threads and
// `per_hook_concurrency` (0: the dispatcher's default); background errors are logged under `who`.
std::unique_ptr<Dispatcher> start_delivery(const Config& config, std::shared_ptr<Outbox> outbox,
                                           std::size_t threads, const std::string& who,
                                           std::size_t per_hook_concurrency = 0);

// The delivery engine's Prometheus families for this process (docs/metrics.md): `dispatcher`'s snapshot, or,
// without one (`serve --no-deliver`), the same families with this process's counters at 0 and the outbox's
// depth, so a scrape config fits every process.
void write_delivery_metrics(PrometheusWriter& out, const Dispatcher* dispatcher, Outbox& outbox);

// `eventhooks worker --metrics ADDR:PORT`: GET /metrics (and /healthz) on an HTTP server of its own, answered
// on its own threads with what `render` returns. Stops when destroyed.
class MetricsEndpoint {
 public:
  // nullptr when the address cannot be bound; `error` says why.
  static std::unique_ptr<MetricsEndpoint> start(const ServeConfig::Address& address,
                                                std::function<std::string()> render, std::string& error);
  ~MetricsEndpoint();
  const std::string& url() const { return url_; }

 private:
  MetricsEndpoint() = default;
  struct Server;
  std::unique_ptr<Server> server_;
  std::string url_;
};

// Logs "WHO: <metrics>" every `every` while running (the caller calls tick() in its loop).
class SummaryLog {
 public:
  SummaryLog(std::string who, double every_seconds);
  void tick(const Dispatcher& dispatcher);

 private:
  std::string who_;
  std::chrono::steady_clock::duration every_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace eventhooks::cli
