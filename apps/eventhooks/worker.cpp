// eventhooks worker: delivers the jobs of the config's outbox (SQLite, or a RabbitMQ queue shared with other
// workers) until SIGTERM/SIGINT (or, with --once, until nothing is due). A signal lets in-flight deliveries
// finish; claimed jobs not started go back to the outbox.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "delivery.hpp"
#include "eventhooks/dispatcher.hpp"
#include "eventhooks/logger.hpp"
#include "http_server.hpp"
#include "output.hpp"

namespace eventhooks::cli {
namespace {

struct WorkerOptions {
  std::string config;
  bool once = false;
  std::size_t workers = 4;
  std::size_t concurrency = 0;  // per hook; 0 = the dispatcher's default
  std::size_t prefetch = 0;     // RabbitMQ; 0 = from the per-hook concurrency
  double summary_seconds = 60;
  std::string metrics;  // ADDR:PORT of a /metrics endpoint; empty: none
};

// Shown on a terminal only, and only for a backlog worth watching.
constexpr std::size_t kProgressBacklog = 1000;
// The dispatcher's default per-hook limit for an asynchronous hook (DispatcherOptions::per_hook_concurrency).
constexpr std::size_t kDefaultAsyncPerHook = 32;

int run_worker(const WorkerOptions& options) {
  // --metrics needs an HTTP server: eventhooks-http runs it (http_server.hpp), started before anything else.
  if (!options.metrics.empty() && !has_http_server()) return run_in_http_executable("worker --metrics");
  StopSignals stop;  // before any thread exists
  auto config = load_config_or_report(options.config);
  if (!config) return exit_config;
  // RabbitMQ hands a worker at most `prefetch` unacked jobs: by default twice what its hooks may have in
  // flight at once, so that the next job is already here when one finishes (and a kill -9 duplicates at most
  // that many).
  const std::size_t per_hook = options.concurrency != 0 ? options.concurrency : kDefaultAsyncPerHook;
  std::size_t prefetch = options.prefetch;
  if (prefetch == 0)
    prefetch =
        std::clamp<std::size_t>(2 * per_hook * std::max<std::size_t>(1, config->hooks.size()), 1, 65535);
  int code = exit_ok;
  auto outbox =
      open_delivery_outbox(*config, options.config, "the worker", code, static_cast<std::uint16_t>(prefetch));
  if (!outbox) return code;
  std::size_t backlog = 0;
  if (auto s = outbox->stats()) backlog = s->due;

  std::optional<ServeConfig::Address> metrics_address;
  if (!options.metrics.empty()) {
    metrics_address = ServeConfig::parse_address(options.metrics);
    if (!metrics_address) {
      print_error("--metrics '" + options.metrics + "' is not HOST:PORT (e.g. 127.0.0.1:9464)");
      return exit_usage;
    }
  }
  auto dispatcher = start_delivery(*config, outbox, options.workers, "worker", options.concurrency);
  std::unique_ptr<MetricsEndpoint> metrics;
  if (metrics_address) {
    std::string error;
    metrics = MetricsEndpoint::start(
        *metrics_address,
        [&dispatcher, &outbox] {
          PrometheusWriter out;
          write_delivery_metrics(out, dispatcher.get(), *outbox);
          return std::move(out).text();
        },
        error);
    if (!metrics) {
      print_error("worker --metrics: " + error);
      dispatcher->shutdown();
      return exit_internal;
    }
    logger()->info("worker: metrics on {}/metrics", metrics->url());
  }
  logger()->info("worker: delivering from {} with {} thread(s), {} job(s) due", outbox->describe(),
                 options.workers, backlog);

  const bool progress = isatty(STDERR_FILENO) && backlog >= kProgressBacklog;
  const auto started = std::chrono::steady_clock::now();
  SummaryLog summary("worker", options.summary_seconds);
  int stop_signal = 0;
  for (;;) {
    stop_signal = stop.wait(std::chrono::milliseconds(200));
    if (stop_signal) break;
    if (progress) {
      const auto m = dispatcher->metrics();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::fprintf(stderr, "\r%llu/%zu delivered, %llu failed, %.0f/s   ",
                   static_cast<unsigned long long>(m.delivered), backlog,
                   static_cast<unsigned long long>(m.failed),
                   secs > 0 ? static_cast<double>(m.delivered) / secs : 0.0);
      std::fflush(stderr);
    }
    summary.tick(*dispatcher);
    if (options.once && dispatcher->wait_idle(std::chrono::milliseconds(0))) break;
  }
  if (progress) std::fprintf(stderr, "\n");
  if (stop_signal) {
    logger()->info("worker: {} received, finishing in-flight deliveries", StopSignals::name(stop_signal));
  }
  metrics.reset();
  dispatcher->shutdown();
  logger()->info("worker: stopped; {}", dispatcher->metrics().to_string());
  return exit_ok;
}

}  // namespace

void add_worker_command(CLI::App& app, GlobalOptions& /*global*/, CommandRunner& run) {
  auto options = std::make_shared<WorkerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "worker",
      "Deliver the jobs waiting in the config's outbox until stopped (SIGTERM/SIGINT finish in-flight work)");
  cmd->add_option("-c,--config", options->config, "Config file (YAML or JSON) with `outbox: {path: ...}`")
      ->required();
  cmd->add_flag("--once", options->once, "Deliver what is due now, then exit (jobs scheduled later stay)");
  cmd->add_option("--threads", options->workers, "Delivery threads")->check(CLI::Range(1, 256));
  cmd->add_option(
         "--concurrency", options->concurrency,
         "Deliveries to one hook in flight at once (default: 32 for HTTP and AMQP hooks, threads/2 for "
         "email and files)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--prefetch", options->prefetch,
                  "RabbitMQ outbox: unacked jobs held at once (default: 2 x concurrency x hooks)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--summary-interval", options->summary_seconds, "Seconds between metric summary log lines")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--metrics", options->metrics,
                  "Serve Prometheus metrics on HOST:PORT (GET /metrics; port 0: any free port)");
  cmd->callback([options, &run] { run = [options] { return run_worker(*options); }; });
}

}  // namespace eventhooks::cli
