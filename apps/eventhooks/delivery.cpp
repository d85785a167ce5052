#include "delivery.hpp"

#include <algorithm>
#include <ctime>
#include <thread>

#include <spdlog/spdlog.h>
#include "enqueue.hpp"

#include "eventhooks/logger.hpp"
#include "output.hpp"

namespace eventhooks::cli {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

int StopSignals::wait(std::chrono::milliseconds timeout) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  timespec tick{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  const int sig = sigtimedwait(&set_, nullptr, &tick);
  return sig == SIGINT || sig == SIGTERM ? sig : 0;
}

const char* StopSignals::name(int signal) {
  return signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "signal";
}

std::shared_ptr<Outbox> open_delivery_outbox(const Config& config, const std::string& config_path,
                                             const char* who, int& exit_code, std::uint16_t prefetch) {
  if (!config.outbox) {
    print_error(config_path + ": no outbox configured; " + who +
                " needs `outbox: {path: FILE}` or `outbox: {url: amqp://…, queue: NAME}`");
    exit_code = exit_config;
    return nullptr;
  }
  auto opened = prefetch != 0 ? open_outbox_creating_folder(*config.outbox, prefetch)
                              : open_outbox_creating_folder(*config.outbox);
  if (!opened) {
    print_error(opened.error().message);
    exit_code = exit_internal;
    return nullptr;
  }
  auto outbox = opened.value();
  if (auto recovered = outbox->recover(); !recovered) {
    print_error(recovered.error().message);
    exit_code = exit_internal;
    return nullptr;
  } else if (recovered.value() > 0) {
    logger()->warn(
        "{}: {} job(s) claimed by a worker that is gone are due again (at-least-once: some may "
        "have been delivered already)",
        who, recovered.value());
  }
  return outbox;
}

std::unique_ptr<Dispatcher> start_delivery(const Config& config, std::shared_ptr<Outbox> outbox,
                                           std::size_t threads, const std::string& who,
                                           std::size_t per_hook_concurrency) {
  // A RabbitMQ claim already waits for deliveries; between claims look again soon.
  const auto poll = std::chrono::milliseconds(config.outbox && config.outbox->rabbitmq() ? 100 : 1000);
  auto dispatcher = std::make_unique<Dispatcher>(
      config.hooks,
      DispatcherOptions{.workers = threads,
                        .per_hook_concurrency = per_hook_concurrency,
                        .outbox = std::move(outbox),
                        .poll_interval = poll,
                        .on_error = [who](const Error& e) { logger()->error("{}: {}", who, e.to_string()); },
                        .start = false});
  dispatcher->start();
  return dispatcher;
}

void write_delivery_metrics(PrometheusWriter& out, const Dispatcher* dispatcher, Outbox& outbox) {
  if (dispatcher) {
    write_prometheus(out, dispatcher->metrics());
    return;
  }
  MetricsSnapshot snapshot;
  if (auto s = outbox.stats()) {
    snapshot.queue_depth = s->pending;
    snapshot.retries_waiting = s->pending - std::min(s->pending, s->due);
    snapshot.outbox_in_flight = s->in_flight;
    snapshot.dead_letters = s->dead;
  } else {
    snapshot.outbox_ok = false;
  }
  write_prometheus(out, snapshot);
}

SummaryLog::SummaryLog(std::string who, double every_seconds)
    : who_(std::move(who)),
      every_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(every_seconds))),
      last_(std::chrono::steady_clock::now()) {}

void SummaryLog::tick(const Dispatcher& dispatcher) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < every_) return;
  last_ = now;
  logger()->info("{}: {}", who_, dispatcher.metrics().to_string());
}

}  // namespace eventhooks::cli
