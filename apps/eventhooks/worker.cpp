// eventhooks worker: delivers the jobs of the config's outbox (SQLite, or a RabbitMQ queue shared with other
// workers) until SIGTERM/SIGINT (or, with --once, until nothing is due). A signal lets in-flight deliveries
// finish; claimed jobs not started go back to the outbox.
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "enqueue.hpp"
#include "eventhooks/dispatcher.hpp"
#include "eventhooks/logger.hpp"
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
};

// Shown on a terminal only, and only for a backlog worth watching.
constexpr std::size_t kProgressBacklog = 1000;
// The dispatcher's default per-hook limit for an asynchronous hook (DispatcherOptions::per_hook_concurrency).
constexpr std::size_t kDefaultAsyncPerHook = 32;

int run_worker(const WorkerOptions& options) {
  // Block the stop signals before any thread exists, so every thread inherits the mask and only the
  // sigtimedwait() below receives them: no async-signal-safety concerns, no lost signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto config = load_config_or_report(options.config);
  if (!config) return exit_config;
  if (!config->outbox) {
    print_error(options.config +
                ": no outbox configured; the worker needs `outbox: {path: FILE}` or `outbox: {url: amqp://…, "
                "queue: NAME}`");
    return exit_config;
  }
  // RabbitMQ hands a worker at most `prefetch` unacked jobs: by default twice what its hooks may have in
  // flight at once, so that the next job is already here when one finishes (and a kill -9 duplicates at most
  // that many).
  const std::size_t per_hook = options.concurrency != 0 ? options.concurrency : kDefaultAsyncPerHook;
  std::size_t prefetch = options.prefetch;
  if (prefetch == 0)
    prefetch =
        std::clamp<std::size_t>(2 * per_hook * std::max<std::size_t>(1, config->hooks.size()), 1, 65535);
  auto opened = open_outbox_creating_folder(*config->outbox, static_cast<std::uint16_t>(prefetch));
  if (!opened) {
    print_error(opened.error().message);
    return exit_internal;
  }
  auto outbox = opened.value();
  if (auto recovered = outbox->recover(); !recovered) {
    print_error(recovered.error().message);
    return exit_internal;
  } else if (recovered.value() > 0) {
    logger()->warn(
        "worker: {} job(s) claimed by a worker that is gone are due again (at-least-once: some may "
        "have been delivered already)",
        recovered.value());
  }
  std::size_t backlog = 0;
  if (auto s = outbox->stats()) backlog = s->due;

  Dispatcher dispatcher(config->hooks,
                        {.workers = options.workers,
                         .per_hook_concurrency = options.concurrency,
                         .outbox = outbox,
                         // A RabbitMQ claim already waits for deliveries; between claims look again soon.
                         .poll_interval = std::chrono::milliseconds(config->outbox->rabbitmq() ? 100 : 1000),
                         .on_error = [](const Error& e) { logger()->error("worker: {}", e.to_string()); },
                         .start = false});
  dispatcher.start();
  logger()->info("worker: delivering from {} with {} thread(s), {} job(s) due", outbox->describe(),
                 options.workers, backlog);

  const bool progress = isatty(STDERR_FILENO) && backlog >= kProgressBacklog;
  const auto started = std::chrono::steady_clock::now();
  auto last_summary = started;
  const auto summary_every = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options.summary_seconds));
  int stop_signal = 0;
  for (;;) {
    timespec tick{0, 200 * 1000 * 1000};
    const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      stop_signal = sig;
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (progress) {
      const auto m = dispatcher.metrics();
      const double secs = std::chrono::duration<double>(now - started).count();
      std::fprintf(stderr, "\r%llu/%zu delivered, %llu failed, %.0f/s   ",
                   static_cast<unsigned long long>(m.delivered), backlog,
                   static_cast<unsigned long long>(m.failed),
                   secs > 0 ? static_cast<double>(m.delivered) / secs : 0.0);
      std::fflush(stderr);
    }
    if (now - last_summary >= summary_every) {
      last_summary = now;
      logger()->info("worker: {}", dispatcher.metrics().to_string());
    }
    if (options.once && dispatcher.wait_idle(std::chrono::milliseconds(0))) break;
  }
  if (progress) std::fprintf(stderr, "\n");
  if (stop_signal) {
    logger()->info("worker: {} received, finishing in-flight deliveries",
                   stop_signal == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  dispatcher.shutdown();
  logger()->info("worker: stopped; {}", dispatcher.metrics().to_string());
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
  cmd->callback([options, &run] { run = [options] { return run_worker(*options); }; });
}

}  // namespace eventhooks::cli
