// Dispatcher with hooks built in code (scripted sends): realm selection, retries, dead letters, overflow
// policies, isolation of a slow hook, config changes, shutdown, background errors. Also run under TSan.
#include <sched.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "eventhooks/dispatcher.hpp"
#include "eventhooks/logger.hpp"

using namespace std::chrono_literals;
using namespace eventhooks;

namespace {

Result<Receipt> ok_receipt() {
  return Receipt{200, "", "HTTP 200"};
}
Error unavailable() {
  return Error::transient(ErrorCode::unavailable, "HTTP 503", std::nullopt, 503);
}
Error not_found() {
  return Error{ErrorCode::http_status, "HTTP 404", false, 404, {}};
}

// A hook whose send() runs a script, recording every event id it was asked to send.
class ScriptedHook : public Hook {
 public:
  using Script = std::function<Result<Receipt>(const Event&, int call)>;
  ScriptedHook(std::string name, Realms realms, Script script)
      : Hook(HookCommon{.name = std::move(name), .realms = std::move(realms)}), script_(std::move(script)) {}
  std::string_view type() const noexcept override { return "Scripted"; }
  std::string describe() const override { return "Scripted '" + name() + "'"; }

  std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    return ids_;
  }
  int calls() const { return calls_.load(); }

 protected:
  Result<Receipt> send(const Event& event) override {
    const int n = ++calls_;
    {
      std::lock_guard lock(mu_);
      ids_.push_back(event.id);
    }
    return script_(event, n);
  }

 private:
  Script script_;
  mutable std::mutex mu_;
  std::vector<std::string> ids_;
  std::atomic<int> calls_{0};
};

std::shared_ptr<ScriptedHook> always_ok(std::string name, Realms realms = {}) {
  return std::make_shared<ScriptedHook>(std::move(name), std::move(realms),
                                        [](const Event&, int) { return ok_receipt(); });
}

RetryPolicy fast_retry(int max_attempts = 5) {
  return RetryPolicy{.max_attempts = max_attempts,
                     .max_age = 3600s,
                     .initial_delay = 1ms,
                     .multiplier = 2.0,
                     .max_delay = 20ms,
                     .jitter = true};
}

// A gate the test opens: sends wait on it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST(Dispatcher_Fire, ReturnsTheEventIdAndDeliversToEveryHookWithoutRealms) {
  auto a = always_ok("a"), b = always_ok("b");
  Dispatcher d;
  d.add_hook(a);
  d.add_hook(b);
  auto id = d.fire(Payload("hello"));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(a->ids(), std::vector<std::string>{id.value()});
  EXPECT_EQ(b->ids(), std::vector<std::string>{id.value()});
  EXPECT_EQ(d.metrics().delivered, 2u);
}

TEST(Dispatcher_Fire, SelectsHooksByRealm) {
  auto outside = always_ok("outside", {"outside"}), inside = always_ok("inside", {"inside"}),
       any = always_ok("any");
  Dispatcher d;
  d.add_hook(outside);
  d.add_hook(inside);
  d.add_hook(any);
  auto id = d.fire(Payload("x"), "outside");
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(outside->calls(), 1);
  EXPECT_EQ(inside->calls(), 0);
  EXPECT_EQ(any->calls(), 1);
}

TEST(Dispatcher_Fire, HookWithRealmsAndNoRealmPassed_DoesNotFire) {
  auto outside = always_ok("outside", {"outside"});
  Dispatcher d;
  d.add_hook(outside);
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(outside->calls(), 0);
  EXPECT_EQ(d.metrics().enqueued, 0u);
}

TEST(Dispatcher_Retry, RetryableFailures_AreRetriedWithTheSameEventId) {
  auto flaky =
      std::make_shared<ScriptedHook>("flaky", Realms{}, [](const Event&, int call) -> Result<Receipt> {
        if (call <= 2) return unavailable();
        return ok_receipt();
      });
  Dispatcher d;
  d.add_hook(flaky, fast_retry());
  auto id = d.fire(Payload("x"));
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(flaky->ids(), std::vector<std::string>(3, id.value()));  // the idempotency key never changes
  const auto m = d.metrics();
  EXPECT_EQ(m.delivered, 1u);
  EXPECT_EQ(m.failed, 2u);
  EXPECT_EQ(m.retried, 2u);
  EXPECT_EQ(m.dead, 0u);
}

TEST(Dispatcher_Retry, PermanentFailure_GoesToDeadLettersAtOnce) {
  auto gone = std::make_shared<ScriptedHook>(
      "gone", Realms{}, [](const Event&, int) -> Result<Receipt> { return not_found(); });
  Dispatcher d;
  d.add_hook(gone, fast_retry());
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(gone->calls(), 1);
  auto dead = d.outbox()->list({.which = JobFilter::Which::dead}).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0].dead_reason.find("permanent"), std::string::npos) << dead[0].dead_reason;
  EXPECT_NE(dead[0].last_error.value_or("").find("404"), std::string::npos);
  EXPECT_EQ(d.metrics().dead, 1u);
}

TEST(Dispatcher_Retry, MaxAttemptsExhausted_GoesToDeadLetters) {
  auto down = std::make_shared<ScriptedHook>(
      "down", Realms{}, [](const Event&, int) -> Result<Receipt> { return unavailable(); });
  Dispatcher d;
  d.add_hook(down, fast_retry(3));
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(down->calls(), 3);
  auto dead = d.outbox()->list({.which = JobFilter::Which::dead}).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].attempts, 3);
  EXPECT_NE(dead[0].dead_reason.find("3 attempts"), std::string::npos) << dead[0].dead_reason;
}

TEST(Dispatcher_Retry, WaitingForARetry_DoesNotPoll) {
  // A hook failing with a 200 ms backoff: the fetcher must sleep until each retry is due, not spin.
  auto down = std::make_shared<ScriptedHook>(
      "down", Realms{}, [](const Event&, int) -> Result<Receipt> { return unavailable(); });
  Dispatcher d({.poll_interval = std::chrono::hours(1)});
  d.add_hook(down, RetryPolicy{.max_attempts = 4, .initial_delay = 200ms, .jitter = false});
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(20s));
  const auto m = d.metrics();
  EXPECT_EQ(m.attempts, 4u);
  // One claim per wake-up: the fire, each settled attempt, each retry coming due, plus a few for races.
  EXPECT_LE(m.polls, 3 * m.attempts + 4) << m.polls;
}

TEST(Dispatcher_Isolation, SlowHook_DoesNotHoldUpAFastOne) {
  Gate gate;
  auto slow = std::make_shared<ScriptedHook>("slow", Realms{}, [&](const Event&, int) {
    gate.wait();
    return ok_receipt();
  });
  auto fast = always_ok("fast");
  Dispatcher d({.workers = 2, .per_hook_concurrency = 1});
  d.add_hook(slow);
  d.add_hook(fast);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(d.fire(Payload("x")).ok());
  // Every fast delivery completes while the slow hook is stuck in its first send.
  EXPECT_TRUE(eventually([&] { return fast->calls() == 20; }));
  EXPECT_EQ(slow->calls(), 1);
  gate.open();
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(slow->calls(), 20);
}

TEST(Dispatcher_Overflow, Reject_FailsFireWhenTheQueueIsFull) {
  Dispatcher d({.queue_capacity = 2, .overflow = OverflowPolicy::reject, .start = false});
  d.add_hook(always_ok("a"));
  ASSERT_TRUE(d.fire(Payload("1")).ok());
  ASSERT_TRUE(d.fire(Payload("2")).ok());
  auto r = d.fire(Payload("3"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_EQ(d.metrics().rejected, 1u);
}

TEST(Dispatcher_Overflow, DropOldest_DropsTheOldestAndReportsIt) {
  std::mutex mu;
  std::vector<std::string> errors;
  auto a = always_ok("a");
  Dispatcher d({.workers = 1,
                .queue_capacity = 2,
                .overflow = OverflowPolicy::drop_oldest,
                .on_error =
                    [&](const Error& e) {
                      std::lock_guard lock(mu);
                      errors.push_back(e.message);
                    },
                .start = false});
  d.add_hook(a);
  auto first = d.fire(Payload("1")).value();
  auto second = d.fire(Payload("2")).value();
  auto third = d.fire(Payload("3")).value();
  d.start();
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(a->ids(), (std::vector<std::string>{second, third}));
  EXPECT_EQ(d.metrics().dropped, 1u);
  std::lock_guard lock(mu);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(first), std::string::npos);
}

TEST(Dispatcher_Overflow, Block_WaitsForRoomThenAccepts) {
  auto a = always_ok("a");
  Dispatcher d({.queue_capacity = 1, .overflow = OverflowPolicy::block, .start = false});
  d.add_hook(a);
  ASSERT_TRUE(d.fire(Payload("1")).ok());
  std::atomic<bool> returned{false};
  std::thread blocked([&] {
    EXPECT_TRUE(d.fire(Payload("2")).ok());
    returned = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load());  // nothing delivers yet, so there is no room
  d.start();
  blocked.join();
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(a->calls(), 2);
}

TEST(Dispatcher_Config, HookRemovedWithJobsPending_JobsBecomeDeadLettersWithAReason) {
  Dispatcher d({.start = false});
  d.add_hook(always_ok("old"));
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  d.set_hooks({HookEntry{.hook = always_ok("new"), .retry = {}, .location = {}}});
  d.start();
  ASSERT_TRUE(d.flush(10s));
  auto dead = d.outbox()->list({.which = JobFilter::Which::dead}).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].hook, "old");
  EXPECT_NE(dead[0].dead_reason.find("no longer in the configuration"), std::string::npos);
  EXPECT_EQ(dead[0].attempts, 0);
  const auto m = d.metrics();
  EXPECT_EQ(m.orphaned, 1u);  // counted apart: not an attempt of the hook
  EXPECT_EQ(m.dead, 1u);
}

TEST(Dispatcher_Config, HooksFromAConfig_UseTheirRetryPolicy) {
  auto flaky = std::make_shared<ScriptedHook>(
      "flaky", Realms{}, [](const Event&, int) -> Result<Receipt> { return unavailable(); });
  const std::vector<HookEntry> hooks{HookEntry{.hook = flaky, .retry = fast_retry(2), .location = {}}};
  Dispatcher d(hooks, {});
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(flaky->calls(), 2);
  EXPECT_EQ(d.hook_names(), std::vector<std::string>{"flaky"});
}

TEST(Dispatcher_Shutdown, AfterShutdown_FireIsRefused) {
  Dispatcher d;
  d.add_hook(always_ok("a"));
  d.shutdown();
  auto r = d.fire(Payload("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
}

TEST(Dispatcher_Shutdown, InFlightDeliveryFinishesAndUnstartedJobsGoBackToTheOutbox) {
  Gate gate;
  std::atomic<bool> entered{false};
  auto slow = std::make_shared<ScriptedHook>("slow", Realms{}, [&](const Event&, int) {
    entered = true;
    gate.wait();
    return ok_receipt();
  });
  auto outbox = make_memory_outbox();
  {
    Dispatcher d({.workers = 1, .outbox = outbox});
    d.add_hook(slow);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(d.fire(Payload("x")).ok());
    ASSERT_TRUE(eventually([&] { return entered.load(); }));
    std::thread opener([&] {
      std::this_thread::sleep_for(20ms);
      gate.open();
    });
    d.shutdown();
    opener.join();
    EXPECT_EQ(d.metrics().delivered, 1u);  // the one in flight completed
  }
  auto s = outbox->stats().value();
  EXPECT_EQ(s.pending, 4u);  // the rest are back, due now, not lost to a lease
  EXPECT_EQ(s.in_flight, 0u);
}

namespace {
// An outbox whose claim() always fails, to see where background errors go.
class BrokenOutbox : public Outbox {
 public:
  Result<void> enqueue(const Event&, const std::vector<std::string>&) override { return {}; }
  Result<std::vector<Job>> claim(const ClaimRequest&) override {
    return Error{ErrorCode::io, "disk on fire", false, {}, {}};
  }
  Result<void> ack(const Job&) override { return {}; }
  Result<void> retry_at(const Job&, std::chrono::milliseconds, const std::string&) override { return {}; }
  Result<void> dead_letter(const Job&, const std::string&, bool) override { return {}; }
  Result<void> release(const Job&) override { return {}; }
  Result<std::size_t> recover() override { return std::size_t{0}; }
  Result<std::optional<std::chrono::milliseconds>> next_due(const std::vector<std::string>&) override {
    return std::optional<std::chrono::milliseconds>{};
  }
  Result<OutboxStats> stats() override { return OutboxStats{}; }
  Result<std::vector<Job>> list(const JobFilter&) override { return std::vector<Job>{}; }
  Result<std::optional<Job>> get(const std::string&) override { return std::optional<Job>{}; }
  Result<bool> requeue(const std::string&) override { return false; }
  Result<bool> remove(const std::string&) override { return false; }
  Result<std::size_t> purge_dead() override { return std::size_t{0}; }
  std::string describe() const override { return "broken"; }
};
}  // namespace

TEST(Dispatcher_Errors, BackgroundOutboxFailure_GoesToTheErrorHandler) {
  std::atomic<int> seen{0};
  std::mutex mu;
  std::string message;
  Dispatcher d({.outbox = std::make_shared<BrokenOutbox>(), .on_error = [&](const Error& e) {
                  std::lock_guard lock(mu);
                  message = e.message;
                  ++seen;
                }});
  EXPECT_TRUE(eventually([&] { return seen.load() > 0; }));
  std::lock_guard lock(mu);
  EXPECT_EQ(message, "disk on fire");
}

TEST(Dispatcher_Concurrency, ManyThreadsFiring_EveryEventDeliveredOnce) {
  auto a = always_ok("a");
  Dispatcher d({.workers = 4});
  d.add_hook(a);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) EXPECT_TRUE(d.fire(Payload("x")).ok());
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(d.flush(30s));
  auto ids = a->ids();
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1000u);
  EXPECT_EQ(d.metrics().delivered, 1000u);
}

TEST(Dispatcher_Metrics, ReportDepthAndLatency) {
  auto a = always_ok("a");
  Dispatcher d({.start = false});
  d.add_hook(a);
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.fire(Payload("y")).ok());
  EXPECT_EQ(d.metrics().queue_depth, 2u);
  d.start();
  ASSERT_TRUE(d.flush(10s));
  const auto m = d.metrics();
  EXPECT_EQ(m.queue_depth, 0u);
  EXPECT_EQ(m.fired, 2u);
  EXPECT_GE(m.latency_max, m.latency_p50);
  EXPECT_NE(m.to_string().find("delivered=2"), std::string::npos) << m.to_string();
}

namespace {
const HookMetrics* find_hook(const MetricsSnapshot& m, const std::string& name) {
  for (const auto& h : m.hooks) {
    if (h.hook == name) return &h;
  }
  return nullptr;
}
}  // namespace

TEST(Dispatcher_Metrics, CountEachHooksOutcomesByErrorCode) {
  auto flaky =
      std::make_shared<ScriptedHook>("flaky", Realms{}, [](const Event&, int call) -> Result<Receipt> {
        if (call <= 2) return unavailable();
        return ok_receipt();
      });
  auto gone = std::make_shared<ScriptedHook>(
      "gone", Realms{}, [](const Event&, int) -> Result<Receipt> { return not_found(); });
  Dispatcher d;
  d.add_hook(flaky, fast_retry());
  d.add_hook(gone, fast_retry());
  d.add_hook(always_ok("ok"));
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  const auto m = d.metrics();
  ASSERT_EQ(m.hooks.size(), 3u);
  const auto* f = find_hook(m, "flaky");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, "Scripted");
  EXPECT_EQ(f->delivered, 1u);
  ASSERT_EQ(f->failures.size(), 1u);
  EXPECT_EQ(f->failures[0].code, ErrorCode::unavailable);
  EXPECT_EQ(f->failures[0].retried, 2u);
  EXPECT_EQ(f->failures[0].dead, 0u);
  EXPECT_EQ(f->latency.count(), 3u);  // every settled attempt, failed ones included
  const auto* g = find_hook(m, "gone");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->delivered, 0u);
  ASSERT_EQ(g->failures.size(), 1u);
  EXPECT_EQ(g->failures[0].code, ErrorCode::http_status);
  EXPECT_EQ(g->failures[0].dead, 1u);
  EXPECT_EQ(g->retried(), 0u);
  EXPECT_EQ(find_hook(m, "ok")->delivered, 1u);
  EXPECT_EQ(find_hook(m, "ok")->latency.count(), 1u);
}

TEST(Dispatcher_Metrics, ReplacedHookKeepsCountingAndRemovedHookKeepsItsCounters) {
  Dispatcher d;
  d.add_hook(always_ok("a"));
  d.add_hook(always_ok("b"));
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  d.set_hooks({HookEntry{.hook = always_ok("a"), .retry = {}, .location = {}}});  // b is gone
  ASSERT_TRUE(d.fire(Payload("y")).ok());
  ASSERT_TRUE(d.flush(10s));
  const auto m = d.metrics();
  ASSERT_EQ(m.hooks.size(), 2u);
  EXPECT_EQ(find_hook(m, "a")->delivered, 2u);  // counters never go back: Prometheus reads a reset as one
  EXPECT_EQ(find_hook(m, "b")->delivered, 1u);
}

TEST(Dispatcher_Metrics, RetryQueueHoldsFailuresWaitingForTheirRetry) {
  auto down = std::make_shared<ScriptedHook>(
      "down", Realms{}, [](const Event&, int) -> Result<Receipt> { return unavailable(); });
  Dispatcher d;
  d.add_hook(down, RetryPolicy{.max_attempts = 5, .initial_delay = 1h, .jitter = false});
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.fire(Payload("y")).ok());
  ASSERT_TRUE(eventually([&] { return d.metrics().retries_waiting == 2; })) << d.metrics().to_string();
  const auto m = d.metrics();
  EXPECT_TRUE(m.outbox_ok);
  EXPECT_EQ(m.queue_depth, 2u);
  EXPECT_EQ(m.outbox_in_flight, 0u);
  EXPECT_EQ(find_hook(m, "down")->retried(), 2u);
}

TEST(Dispatcher_Scheduling, DeliveryThreadsRunAsBatchWorkByDefault) {
  auto a = always_ok("a");
  std::atomic<int> policy{-1};
  Dispatcher d({.on_attempt = [&](const Job&, const Outcome&) { policy = sched_getscheduler(0); }});
  d.add_hook(a);
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(policy.load(), SCHED_BATCH) << "a woken delivery thread could preempt the application's threads";
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER) << "the caller's own thread must not change";
}

TEST(Dispatcher_Scheduling, BatchSchedulingOff_ThreadsStayNormal) {
  auto a = always_ok("a");
  std::atomic<int> policy{-1};
  Dispatcher d({.on_attempt = [&](const Job&, const Outcome&) { policy = sched_getscheduler(0); },
                .batch_scheduling = false});
  d.add_hook(a);
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(policy.load(), SCHED_OTHER);
}

namespace {

// A hook that delivers asynchronously: send_async() queues the event and returns; the hook's own thread
// answers later (as an HTTP client's I/O thread does). The first attempt of every event fails retryably.
class ThreadedHook : public Hook {
 public:
  explicit ThreadedHook(std::string name) : Hook(HookCommon{.name = std::move(name)}) {
    thread_ = std::thread([this] { run(); });
  }
  ~ThreadedHook() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::string_view type() const noexcept override { return "Threaded"; }
  std::string describe() const override { return "Threaded '" + name() + "'"; }
  bool delivers_async() const noexcept override { return true; }

  std::size_t most_queued() const {
    std::lock_guard lock(mu_);
    return most_queued_;
  }
  std::map<std::string, int> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }

 protected:
  Result<Receipt> send(const Event&) override {
    return Error{ErrorCode::internal, "not used", false, {}, {}};
  }
  void send_async(const Event& event, std::function<void(Result<Receipt>)> done) override {
    std::lock_guard lock(mu_);
    queue_.emplace_back(event.id, std::move(done));
    most_queued_ = std::max(most_queued_, queue_.size());
    cv_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      // Answers in batches, so that several deliveries are in flight at once.
      cv_.wait_for(lock, 2ms, [&] { return stop_; });
      if (stop_ && queue_.empty()) return;
      auto batch = std::move(queue_);
      queue_.clear();
      for (auto& [id, done] : batch) {
        const int n = ++attempts_[id];
        lock.unlock();
        if (n == 1) {
          done(Error{ErrorCode::unavailable, "try again", true, 503, {}});
        } else {
          done(Receipt{200, id, "ok"});
        }
        lock.lock();
      }
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::function<void(Result<Receipt>)>>> queue_;
  std::size_t most_queued_ = 0;
  std::map<std::string, int> attempts_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

TEST(Dispatcher_Async, OneWorkerKeepsManyInFlightAndRetriesEachOnce) {
  auto hook = std::make_shared<ThreadedHook>("threaded");
  std::set<std::string> ids;
  {
    Dispatcher d({.workers = 1, .max_in_flight = 32});
    d.add_hook(hook, RetryPolicy{.initial_delay = 1ms, .max_delay = 2ms, .jitter = false});
    for (int i = 0; i < 300; ++i) {
      auto id = d.fire(Payload(nlohmann::json{{"n", i}}));
      ASSERT_TRUE(id.ok());
      ids.insert(id.value());
    }
    ASSERT_TRUE(d.flush(30s));
    const auto m = d.metrics();
    EXPECT_EQ(m.delivered, 300u);
    EXPECT_EQ(m.retried, 300u);
    EXPECT_EQ(m.attempts, 600u);
    EXPECT_EQ(m.dead, 0u);
    EXPECT_EQ(m.in_flight, 0u);
  }
  const auto attempts = hook->attempts();
  ASSERT_EQ(attempts.size(), ids.size());
  for (const auto& [id, n] : attempts) {
    EXPECT_TRUE(ids.contains(id));
    EXPECT_EQ(n, 2) << id;
  }
  EXPECT_GT(hook->most_queued(), 1u) << "one worker never had two deliveries in flight";
  EXPECT_LE(hook->most_queued(), 16u) << "more in flight than the per-hook limit (max_in_flight / 2)";
}

namespace {
// A memory outbox that counts stats() calls (stats() may scan every job, so callers must not poll it per
// job).
class CountingOutbox : public Outbox {
 public:
  Result<void> enqueue(const Event& e, const std::vector<std::string>& h) override {
    return in_->enqueue(e, h);
  }
  Result<std::vector<Job>> claim(const ClaimRequest& r) override { return in_->claim(r); }
  Result<void> ack(const Job& j) override { return in_->ack(j); }
  Result<void> retry_at(const Job& j, std::chrono::milliseconds d, const std::string& e) override {
    auto r = in_->retry_at(j, d, e);
    if (after_retry_at) after_retry_at();
    return r;
  }
  Result<void> dead_letter(const Job& j, const std::string& r, bool a) override {
    return in_->dead_letter(j, r, a);
  }
  Result<void> release(const Job& j) override { return in_->release(j); }
  Result<std::size_t> recover() override { return in_->recover(); }
  Result<std::optional<std::chrono::milliseconds>> next_due(const std::vector<std::string>& s) override {
    return in_->next_due(s);
  }
  Result<OutboxStats> stats() override {
    ++stats_calls;
    return in_->stats();
  }
  Result<std::vector<Job>> list(const JobFilter& f) override { return in_->list(f); }
  Result<std::optional<Job>> get(const std::string& id) override { return in_->get(id); }
  Result<bool> requeue(const std::string& id) override { return in_->requeue(id); }
  Result<bool> remove(const std::string& id) override { return in_->remove(id); }
  Result<std::size_t> purge_dead() override { return in_->purge_dead(); }
  std::string describe() const override { return "counting"; }

  std::atomic<int> stats_calls{0};
  // Runs on the worker that wrote a retry, after the write, before the dispatcher hears it is done.
  std::function<void()> after_retry_at;

 private:
  std::shared_ptr<Outbox> in_ = make_memory_outbox({.capacity = 100'000});
};
}  // namespace

TEST(Dispatcher_Flush, DrainingABacklog_NeverScansTheWholeOutbox) {
  auto outbox = std::make_shared<CountingOutbox>();
  const auto level = logger()->level();
  logger()->set_level(spdlog::level::warn);  // 20,000 "delivered" lines would drown the test log
  struct Restore {
    spdlog::level::level_enum level;
    ~Restore() { logger()->set_level(level); }
  } restore{level};
  Dispatcher d({.workers = 2, .outbox = outbox, .start = false});
  d.add_hook(always_ok("a"));
  constexpr int kEvents = 20'000;
  for (int i = 0; i < kEvents; ++i) ASSERT_TRUE(d.fire(Payload("x")).ok());
  d.start();
  ASSERT_TRUE(d.flush(120s));
  // stats() counts every job: called per settled job, it made draining a 400,000-job backlog quadratic.
  EXPECT_EQ(outbox->stats_calls.load(), 0) << "flush() scans the whole outbox";
  EXPECT_EQ(d.metrics().delivered, static_cast<std::uint64_t>(kEvents));
}

// A retry due in 1 ms can be claimed again while the worker that wrote it has not yet come back to the
// dispatcher (preempted on a loaded machine). That claim was taken for a duplicate of a job still held and
// dropped, leaving the job leased to nobody for the whole lease (5 minutes): CI saw flush() time out.
TEST(Dispatcher_Retry, RetryClaimedAgainBeforeItsWriterReturns_IsDeliveredNotLeftLeased) {
  auto outbox = std::make_shared<CountingOutbox>();
  auto hook =
      std::make_shared<ScriptedHook>("flaky", Realms{}, [](const Event&, int call) -> Result<Receipt> {
        if (call == 1) return unavailable();
        return ok_receipt();
      });
  Dispatcher d({.workers = 1, .outbox = outbox});
  outbox->after_retry_at = [&d] {
    std::this_thread::sleep_for(5ms);  // the retry is due
    d.wake();                          // the fetcher claims it now
    std::this_thread::sleep_for(100ms);
  };
  d.add_hook(hook, RetryPolicy{.max_attempts = 3, .initial_delay = 1ms, .max_delay = 1ms, .jitter = false});
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s)) << "the retried job was not delivered";
  EXPECT_EQ(hook->calls(), 2);
  const auto m = d.metrics();
  EXPECT_EQ(m.delivered, 1u);
  EXPECT_EQ(m.retried, 1u);
  EXPECT_EQ(m.in_flight, 0u);
}

// A collector filtering on warnings must see every failed attempt, and dead letters stand out as errors.
TEST(Dispatcher_Logging, FailedAttemptIsAWarning_DeadLetterIsAnError) {
  std::ostringstream lines;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
  sink->set_pattern("%l %v");
  auto capture = std::make_shared<spdlog::logger>("eventhooks", sink);
  capture->set_level(spdlog::level::info);
  set_logger(capture);
  struct Restore {
    ~Restore() { set_logger(nullptr); }
  } restore;

  auto down = std::make_shared<ScriptedHook>(
      "down", Realms{}, [](const Event&, int) -> Result<Receipt> { return unavailable(); });
  Dispatcher d({.workers = 1});
  d.add_hook(down, fast_retry(2));
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(10s));
  d.shutdown();
  capture->flush();
  const std::string text = lines.str();
  EXPECT_NE(text.find("warning Scripted 'down' failed event"), std::string::npos) << text;
  EXPECT_NE(text.find("error hook 'down': event"), std::string::npos) << text;
  EXPECT_NE(text.find("moved to dead letters"), std::string::npos) << text;
  EXPECT_EQ(text.find("info Scripted 'down' failed"), std::string::npos) << text;
}
