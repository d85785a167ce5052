// Dispatcher: fires an event at every hook whose realm matches, asynchronously, with retries and an outbox.
// Thread-safe: fire(), metrics(), flush() and the hook setters may be called from any thread at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eventhooks/error.hpp"
#include "eventhooks/event.hpp"
#include "eventhooks/export.hpp"
#include "eventhooks/hook.hpp"
#include "eventhooks/hook_entry.hpp"
#include "eventhooks/metrics.hpp"
#include "eventhooks/outbox.hpp"
#include "eventhooks/payload.hpp"
#include "eventhooks/retry.hpp"

namespace eventhooks {

struct DispatcherOptions {
  // Delivery threads. A hook that delivers asynchronously (HTTP hooks, SES, RabbitMQ: Hook::delivers_async)
  // holds a thread only while its request is started and while its outcome is settled in the outbox; a
  // synchronous one (SMTP, FileHook) holds it for the whole delivery.
  std::size_t workers = 4;
  // Asynchronous deliveries in flight at once, over all hooks.
  std::size_t max_in_flight = 256;
  // Deliveries to one hook in flight at once: a slow or dead endpoint can never take every worker or every
  // in-flight slot, so other hooks keep flowing. 0 = max(1, workers / 2) for a synchronous hook and
  // max_in_flight / 2, at most 32 (connections to one host), for an asynchronous one.
  std::size_t per_hook_concurrency = 0;
  // Claimed jobs waiting per hook in memory; beyond this the hook's jobs stay in the outbox.
  std::size_t lane_capacity = 64;
  // Null: an in-memory outbox with the two settings below. Pass open_sqlite_outbox(...) for durability.
  std::shared_ptr<Outbox> outbox;
  std::size_t queue_capacity = 100'000;             // in-memory outbox only
  OverflowPolicy overflow = OverflowPolicy::block;  // in-memory outbox only; see outbox.hpp
  std::chrono::milliseconds lease{5 * 60 * 1000};   // a claim not settled by then is handed out again
  // How often the outbox is asked for work when nothing woke the dispatcher (jobs written by other processes,
  // e.g. `eventhooks trigger --enqueue`). Retries due earlier wake it on time.
  std::chrono::milliseconds poll_interval{1'000};
  // Errors that happen on background threads (outbox unusable, a job dropped, ...). Default: logged.
  std::function<void(const Error&)> on_error;
  // Called after every attempt, on a worker thread (progress displays, tests). Keep it quick.
  std::function<void(const Job&, const Outcome&)> on_attempt;
  bool start = true;  // false: call start() yourself (the CLI recovers the outbox first)
  // Run the dispatcher's threads as batch work (Linux SCHED_BATCH, no privilege needed): they get their fair
  // share of the CPU but a wake-up never preempts the application's own threads, so fire() stays fast while
  // deliveries run on the same cores (p99 about 3-4 us instead of 18 us on 2 cores, docs/benchmarks.md).
  bool batch_scheduling = true;
};

// The name of MetricsSnapshot before it carried per-hook figures (0.2).
using DispatcherMetrics = MetricsSnapshot;

class EVENTHOOKS_EXPORT Dispatcher {
 public:
  explicit Dispatcher(DispatcherOptions options = {});
  // Hooks with their retry policies, e.g. a config file's: Dispatcher(load_config(path).hooks, {}). Disabled
  // hooks are kept; they never fire.
  Dispatcher(const std::vector<HookEntry>& hooks, DispatcherOptions options);
  // Stops: in-flight deliveries finish, claimed jobs go back to the outbox (see shutdown()).
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Adds or replaces a hook by name.
  void add_hook(HookPtr hook, RetryPolicy retry = {});
  // Replaces every hook. Jobs still pending for a hook that is gone become dead letters with a reason.
  void set_hooks(const std::vector<HookEntry>& hooks);
  std::vector<std::string> hook_names() const;

  // Makes an event, selects the hooks by realm, stores one job per hook, returns the event id at once.
  // Fails (value, not exception) when the outbox cannot store it, the queue is full under `reject`, or the
  // dispatcher is stopped. An event no hook matches is accepted and yields no job.
  Result<std::string> fire(Payload data, std::optional<std::string> realm = std::nullopt,
                           std::string name = "event");
  Result<std::string> fire(const Event& event);

  void start();
  // Jobs were stored in this dispatcher's outbox without fire() (Outbox::enqueue_once, an HTTP ingest):
  // claim them now rather than at the next poll.
  void wake();
  // Waits until the outbox holds nothing pending and nothing is in flight (retries scheduled later included).
  // False on timeout.
  bool flush(std::chrono::milliseconds timeout);
  // Waits until nothing is due now and nothing is in flight (jobs scheduled for later may remain). False on
  // timeout. `eventhooks worker --once` uses it.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Stops accepting events, lets in-flight deliveries finish, puts claimed-but-unstarted jobs back in the
  // outbox and joins the threads. With the in-memory outbox, jobs still pending are lost (logged): call
  // flush() first to deliver them. Idempotent.
  void shutdown();

  // Counters, per-hook outcomes and latency histograms, and the outbox's depth (one outbox stats() call).
  // Each counter only grows; the figures are read one after another, not all at one instant.
  MetricsSnapshot metrics() const;
  const std::shared_ptr<Outbox>& outbox() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventhooks
