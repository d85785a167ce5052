// Dispatcher: a fetcher thread claims due jobs from the outbox into one lane per hook; worker threads take
// jobs from lanes whose hook has fewer deliveries in flight than its limit. A slow or dead hook therefore
// fills only its own lane (and then is skipped when claiming), while every other hook keeps its workers.
// A hook that delivers asynchronously is started with deliver_async(); its outcome comes back on the
// transport's thread, is queued, and a worker settles it in the outbox (an fsync must never stall the
// transport's I/O thread). A synchronous hook holds its worker for the whole delivery.
#include "eventhooks/dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/batch_scheduling.hpp"
#include "delivery/hook_counters.hpp"
#include "eventhooks/logger.hpp"

namespace eventhooks {

namespace {

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

struct Slot {
  HookPtr hook;
  RetryPolicy retry;
  std::shared_ptr<detail::HookCounters> counters;  // never null
};

struct Lane {
  std::deque<Job> jobs;
  std::size_t active = 0;  // deliveries in flight for this hook
  std::size_t limit = 1;   // at most this many in flight
  bool async = false;      // the hook delivers asynchronously (Hook::delivers_async)
};

// A finished asynchronous delivery waiting for a worker to settle it in the outbox.
struct Finished {
  Job job;
  Outcome outcome;
  Lane* lane;  // map nodes are stable and lanes are never erased
  Slot slot;   // the hook (kept alive until settled) and its retry policy
};

constexpr std::size_t kLatencySamples = 4096;
// Default cap of one asynchronous hook's deliveries in flight: tens of thousands per second on a fast
// endpoint, yet never hundreds of connections opened to one host.
constexpr std::size_t kDefaultAsyncPerHook = 32;

}  // namespace

struct Dispatcher::Impl {
  DispatcherOptions opt;
  std::shared_ptr<Outbox> outbox;
  bool memory_outbox = false;

  mutable std::shared_mutex hooks_mu;
  std::map<std::string, Slot, std::less<>> hooks;
  // Every hook's counters by (name, type), kept when the hook goes: a Prometheus counter never goes back.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<detail::HookCounters>> counters;

  mutable std::mutex mu;  // everything below up to the threads
  std::condition_variable work_cv, fetch_cv, settle_cv;
  std::map<std::string, Lane> lanes;
  std::unordered_set<std::string> held;  // ids of jobs claimed by us and not settled
  // Jobs claimed again while their id was still held: a retry due in 1 ms can be claimed before the worker
  // that wrote it has the lock back (or a lease ran out while the job waited in a lane). Dropping such a
  // claim, as this once did, left the job leased to nobody for the whole lease (5 min; CI saw flush() time
  // out). job_done() puts it in its lane instead, so it is delivered (again, after a lease ran out:
  // at-least-once).
  std::unordered_map<std::string, Job> reclaimed;
  std::string rr_cursor;            // the lane served last, for round-robin
  std::size_t async_in_flight = 0;  // started with deliver_async, not yet settled
  std::deque<Finished> finished;    // outcomes waiting to be settled
  // Bumped (without the lock) by everything that may give the fetcher work. fire() takes the lock and
  // notifies only when the fetcher is asleep, so a busy dispatcher costs the caller one atomic increment.
  std::atomic<std::uint64_t> wake_seq{0};
  std::atomic<bool> fetcher_asleep{false};
  bool fetching = false;
  bool started = false, stopping = false, stopped = false;
  std::thread fetcher;
  std::vector<std::thread> workers;

  std::atomic<bool> accepting{true};
  std::atomic<std::uint64_t> fired{0}, enqueued{0}, attempts{0}, delivered{0}, failed{0}, retried{0}, dead{0},
      orphaned{0}, rejected{0}, dropped{0}, polls{0};

  // The last kLatencySamples attempt latencies (all hooks), for metrics()' p50/p99. Written without a lock:
  // a sample being overwritten while metrics() copies the ring only shifts a percentile by one sample.
  std::unique_ptr<std::atomic<std::int64_t>[]> latencies =
      std::make_unique<std::atomic<std::int64_t>[]>(kLatencySamples);
  std::atomic<std::uint64_t> lat_count{0};

  void report(const Error& e) const {
    if (opt.on_error) {
      try {
        opt.on_error(e);
        return;
      } catch (...) {
        // A throwing handler must not kill a worker thread; fall through to the log.
      }
    }
    logger()->error("dispatcher: {}", e.to_string());
  }

  void wake_fetcher() {
    wake_seq.fetch_add(1);
    // seq_cst on both sides: either the fetcher sees the new wake_seq before sleeping, or we see it asleep.
    if (fetcher_asleep.load()) {
      { std::lock_guard lock(mu); }  // the fetcher is inside wait() once we get the lock: no lost wake-up
      fetch_cv.notify_one();
    }
  }

  std::optional<Slot> find_slot(const std::string& name) const {
    std::shared_lock lock(hooks_mu);
    auto it = hooks.find(name);
    if (it == hooks.end()) return std::nullopt;
    return it->second;
  }

  void record_latency(std::chrono::microseconds us) {
    const auto i = lat_count.fetch_add(1, std::memory_order_relaxed);
    latencies[i % kLatencySamples].store(us.count(), std::memory_order_relaxed);
  }

  // Called with hooks_mu held exclusively, when a hook is registered.
  Slot make_slot(HookPtr hook, RetryPolicy retry) {
    auto& c = counters[{hook->name(), std::string(hook->type())}];
    if (!c) c = std::make_shared<detail::HookCounters>(hook->name(), std::string(hook->type()));
    return Slot{std::move(hook), retry, c};
  }

  void fetch_loop() {
    if (opt.batch_scheduling) detail::run_as_batch_work("dispatcher");
    for (;;) {
      std::vector<std::string> skip;
      std::uint64_t seq = 0;
      {
        std::lock_guard lock(mu);
        if (stopping) return;
        seq = wake_seq;
        for (auto& [name, lane] : lanes) {
          if (lane.jobs.size() >= opt.lane_capacity) skip.push_back(name);
        }
        fetching = true;
      }
      ++polls;
      auto claimed = outbox->claim({.max_jobs = opt.lane_capacity, .lease = opt.lease, .skip_hooks = skip});
      std::chrono::milliseconds wait = opt.poll_interval;
      if (!claimed) {
        {
          std::lock_guard lock(mu);
          fetching = false;
        }
        settle_cv.notify_all();
        report(claimed.error());
      } else {
        std::vector<Job> orphans;
        std::size_t taken = 0;
        {
          std::lock_guard lock(mu);
          for (auto& job : claimed.value()) {
            if (held.count(job.id)) {
              reclaimed.insert_or_assign(job.id, std::move(job));
              continue;
            }
            if (!find_slot(job.hook)) {
              orphans.push_back(std::move(job));
              continue;
            }
            held.insert(job.id);
            Lane& lane = lanes[job.hook];
            if (auto slot = find_slot(job.hook)) {
              lane.async = slot->hook->delivers_async();
              lane.limit = lane_limit(lane.async);
            }
            lane.jobs.push_back(std::move(job));
            ++taken;
          }
          fetching = false;
        }
        if (taken) work_cv.notify_all();
        for (const auto& job : orphans) orphan(job);
        settle_cv.notify_all();
        if (!claimed.value().empty()) continue;  // there may be more due right now
        auto due = outbox->next_due(skip);
        if (!due) {
          report(due.error());
        } else if (due.value()) {
          // Sleep until the next retry is due (never less than 1 ms: a due-now job claim missed is retried
          // then, not spun on).
          wait = std::clamp(*due.value(), std::chrono::milliseconds(1), opt.poll_interval);
        }
      }
      std::unique_lock lock(mu);
      fetcher_asleep.store(true);
      fetch_cv.wait_for(lock, wait, [&] { return stopping || wake_seq.load() != seq; });
      fetcher_asleep.store(false);
    }
  }

  Lane* pick_lane() {
    if (lanes.empty()) return nullptr;
    auto start = lanes.upper_bound(rr_cursor);
    for (std::size_t i = 0; i < lanes.size(); ++i) {
      if (start == lanes.end()) start = lanes.begin();
      auto& lane = start->second;
      if (!lane.jobs.empty() && lane.active < lane.limit &&
          (!lane.async || async_in_flight < opt.max_in_flight)) {
        rr_cursor = start->first;
        return &lane;
      }
      ++start;
    }
    return nullptr;
  }

  std::size_t lane_limit(bool async) const {
    if (opt.per_hook_concurrency) return opt.per_hook_concurrency;
    if (!async) return std::max<std::size_t>(1, opt.workers / 2);
    return std::clamp<std::size_t>(opt.max_in_flight / 2, 1, kDefaultAsyncPerHook);
  }

  void work_loop() {
    if (opt.batch_scheduling) detail::run_as_batch_work("dispatcher");
    std::unique_lock lock(mu);
    for (;;) {
      if (!finished.empty()) {
        Finished f = std::move(finished.front());
        finished.pop_front();
        lock.unlock();
        const bool reschedule = settle(f.job, f.slot, f.outcome);
        f.slot.hook.reset();  // the last reference may be this one: destroy the hook outside the lock
        lock.lock();
        --f.lane->active;
        --async_in_flight;
        job_done(*f.lane, f.job.id, reschedule);
        // Stopping, the other workers wait for the last asynchronous delivery to settle; each outcome wakes
        // only one of them, so the last one must wake them all or shutdown() joins them forever.
        if (stopping && async_in_flight == 0) work_cv.notify_all();
        continue;
      }
      if (stopping) {
        // This thread's own delivery is done; asynchronous ones still running end (bounded by their
        // transport's timeouts) and are settled before the threads go. Lanes are released by shutdown().
        // The last one out wakes the others: they may be waiting for an outcome this thread settled.
        if (async_in_flight == 0) {
          work_cv.notify_all();
          return;
        }
        work_cv.wait(lock);
        continue;
      }
      Lane* lane = pick_lane();
      if (!lane) {
        work_cv.wait(lock);
        continue;
      }
      Job job = std::move(lane->jobs.front());
      lane->jobs.pop_front();
      ++lane->active;
      const bool async = lane->async;
      if (async) ++async_in_flight;
      lock.unlock();
      if (async) {
        start(std::move(job), lane);
        lock.lock();
        continue;
      }
      const bool reschedule = deliver(job);
      lock.lock();
      --lane->active;
      job_done(*lane, job.id, reschedule);
    }
  }

  // Called with `mu` held when a job's delivery is over (delivered, rescheduled or dead).
  void job_done(Lane& lane, const std::string& id, bool reschedule) {
    if (auto again = reclaimed.empty() ? reclaimed.end() : reclaimed.find(id); again != reclaimed.end()) {
      lane.jobs.push_back(std::move(again->second));  // still held: claimed again meanwhile
      reclaimed.erase(again);
    } else {
      held.erase(id);
    }
    if (reschedule || lane.jobs.size() <= opt.lane_capacity / 2) {
      wake_seq.fetch_add(1);
      fetch_cv.notify_one();
    }
    if (!lane.jobs.empty()) work_cv.notify_one();
    // flush() and wait_idle() can only return once the dispatcher holds nothing: waking them for every
    // settled job cost a context switch per delivery (the waiter is usually the application's thread).
    if (held.empty()) settle_cv.notify_all();
  }

  // Jobs whose hook left the configuration: kept, visibly, instead of lost or failing forever.
  void orphan(const Job& job) {
    auto r =
        outbox->dead_letter(job, fmt::format("hook '{}' is no longer in the configuration", job.hook), false);
    ++dead;
    ++orphaned;
    if (!r) report(r.error());
  }

  // Starts an asynchronous delivery; its outcome is queued for a worker to settle.
  void start(Job job, Lane* lane) {
    auto slot = find_slot(job.hook);
    if (!slot) {
      orphan(job);
      std::lock_guard lock(mu);
      --lane->active;
      --async_in_flight;
      job_done(*lane, job.id, false);
      return;
    }
    ++attempts;
    auto pending = std::make_shared<Finished>(Finished{std::move(job), {}, lane, *slot});
    const Event& event = pending->job.event;
    slot->hook->deliver_async(event, [this, pending](Outcome out) {
      pending->outcome = std::move(out);
      std::lock_guard lock(mu);
      finished.push_back(std::move(*pending));
      // Notified under the lock: once a worker has settled this, the dispatcher may be destroyed, and this
      // (transport) thread must be done with it by then.
      work_cv.notify_one();
    });
  }

  // Synchronous delivery on this worker thread. Returns true when the job was rescheduled.
  bool deliver(Job& job) {
    auto slot = find_slot(job.hook);
    if (!slot) {
      orphan(job);
      return false;
    }
    ++attempts;
    const Outcome out = slot->hook->deliver(job.event);
    return settle(job, *slot, out);
  }

  // Records an attempt's outcome in the outbox: ack, retry later or dead letter. Returns true when the job
  // was rescheduled (the fetcher must look at due times again).
  bool settle(Job& job, const Slot& slot, const Outcome& out) {
    record_latency(out.elapsed);
    slot.counters->attempt_settled(out.elapsed);
    if (opt.on_attempt) {
      try {
        opt.on_attempt(job, out);
      } catch (...) {
      }
    }
    if (out.delivered()) {
      ++delivered;
      slot.counters->delivered();
      if (auto r = outbox->ack(job); !r) report(r.error());  // the lease runs out: delivered again (dup)
      return false;
    }
    ++failed;
    const Error err = out.error.value_or(Error::permanent(ErrorCode::internal, "failed without an error"));
    const auto age =
        std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::system_clock::now() - job.event.created_at));
    auto decision = slot.retry.decide(job.attempts + 1, err, age, unit_random());
    slot.counters->failed(err.code, decision.retry);
    if (decision.retry) {
      ++retried;
      if (auto r = outbox->retry_at(job, decision.delay, err.to_string()); !r) report(r.error());
      return true;
    }
    ++dead;
    job.last_error = err.to_string();
    logger()->error("hook '{}': event {} moved to dead letters: {} (last error: {})", job.hook, job.event.id,
                    decision.reason, *job.last_error);
    if (auto r = outbox->dead_letter(job, decision.reason, true); !r) report(r.error());
    return false;
  }
};

Dispatcher::Dispatcher(DispatcherOptions options) : impl_(std::make_unique<Impl>()) {
  auto& d = *impl_;
  d.opt = std::move(options);
  if (d.opt.workers == 0) d.opt.workers = 1;
  if (d.opt.lane_capacity == 0) d.opt.lane_capacity = 1;
  if (d.opt.poll_interval <= std::chrono::milliseconds(0))
    d.opt.poll_interval = std::chrono::milliseconds(1000);
  if (d.opt.max_in_flight == 0) d.opt.max_in_flight = 1;
  if (d.opt.outbox) {
    d.outbox = d.opt.outbox;
  } else {
    d.memory_outbox = true;
    Impl* self = impl_.get();
    d.outbox = make_memory_outbox(
        {.capacity = d.opt.queue_capacity, .overflow = d.opt.overflow, .on_drop = [self](const Job& job) {
           ++self->dropped;
           self->report(Error::permanent(ErrorCode::unavailable,
                                         fmt::format("queue full: dropped the oldest job (event {} "
                                                     "for hook '{}')",
                                                     job.event.id, job.hook)));
         }});
  }
  if (d.opt.start) start();
}

Dispatcher::Dispatcher(const std::vector<HookEntry>& hooks, DispatcherOptions options)
    : Dispatcher([&] {
        auto o = std::move(options);
        o.start = false;
        return o;
      }()) {
  set_hooks(hooks);
  // Started only now, once every hook is known: a job claimed before that would be dead-lettered as orphaned.
  if (options.start) start();
}

Dispatcher::~Dispatcher() {
  shutdown();
}

void Dispatcher::add_hook(HookPtr hook, RetryPolicy retry) {
  if (!hook) throw ConfigError("Dispatcher::add_hook: null hook");
  {
    std::unique_lock lock(impl_->hooks_mu);
    const auto name = hook->name();
    impl_->hooks[name] = impl_->make_slot(std::move(hook), retry);
  }
  impl_->wake_fetcher();
}

void Dispatcher::set_hooks(const std::vector<HookEntry>& entries) {
  for (const auto& e : entries) {
    if (!e.hook) throw ConfigError("Dispatcher::set_hooks: null hook");
  }
  {
    std::unique_lock lock(impl_->hooks_mu);
    std::map<std::string, Slot, std::less<>> next;
    for (const auto& e : entries) next[e.hook->name()] = impl_->make_slot(e.hook, e.retry);
    impl_->hooks = std::move(next);
  }
  impl_->wake_fetcher();
}

std::vector<std::string> Dispatcher::hook_names() const {
  std::shared_lock lock(impl_->hooks_mu);
  std::vector<std::string> out;
  for (const auto& [name, slot] : impl_->hooks) out.push_back(name);
  return out;
}

Result<std::string> Dispatcher::fire(Payload data, std::optional<std::string> realm, std::string name) {
  return fire(Event::make(std::move(name), std::move(data), std::move(realm)));
}

Result<std::string> Dispatcher::fire(const Event& event) {
  auto& d = *impl_;
  if (!d.accepting.load(std::memory_order_relaxed)) {
    ++d.rejected;
    return Error::permanent(ErrorCode::unavailable, "dispatcher is shut down");
  }
  std::vector<std::string> names;
  {
    std::optional<std::string_view> realm;
    if (event.realm) realm = *event.realm;
    std::shared_lock lock(d.hooks_mu);
    for (const auto& [name, slot] : d.hooks) {
      if (slot.hook->allows(realm)) names.push_back(name);
    }
  }
  if (auto r = d.outbox->enqueue(event, names); !r) {
    ++d.rejected;
    return r.error();
  }
  ++d.fired;
  d.enqueued += names.size();
  if (!names.empty()) d.wake_fetcher();
  return event.id;
}

void Dispatcher::start() {
  auto& d = *impl_;
  std::lock_guard lock(d.mu);
  if (d.started || d.stopping) return;
  d.started = true;
  d.fetcher = std::thread([&d] { d.fetch_loop(); });
  for (std::size_t i = 0; i < d.opt.workers; ++i) d.workers.emplace_back([&d] { d.work_loop(); });
}

void Dispatcher::wake() {
  impl_->wake_fetcher();
}

bool Dispatcher::flush(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool busy = false;
    {
      std::lock_guard lock(d.mu);
      busy = !d.held.empty() || d.fetching;
    }
    // Empty = no job pending or leased anywhere: next_due() returns nothing. It is a cheap question (an index
    // for SQLite, one look per hook in memory) where stats() counts every job; and it is asked only while
    // this dispatcher holds nothing, not after each settled job.
    bool empty = false;
    if (!busy) {
      auto due = d.outbox->next_due({});
      empty = due && !due.value();
    }
    {
      std::unique_lock lock(d.mu);
      if (empty && d.held.empty() && !d.fetching) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      // Woken by every settled job; the timeout covers jobs settled by someone else (another process).
      d.settle_cv.wait_until(
          lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
    }
  }
}

bool Dispatcher::wait_idle(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto due = d.outbox->next_due();
    {
      std::unique_lock lock(d.mu);
      const bool nothing_due = due && (!due.value() || due.value()->count() > 0);
      if (nothing_due && d.held.empty() && !d.fetching) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      d.settle_cv.wait_until(
          lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
    }
  }
}

void Dispatcher::shutdown() {
  auto& d = *impl_;
  d.accepting = false;
  {
    std::lock_guard lock(d.mu);
    if (d.stopped) return;
    d.stopping = true;
    d.stopped = true;
  }
  d.work_cv.notify_all();
  d.fetch_cv.notify_all();
  if (d.fetcher.joinable()) d.fetcher.join();
  for (auto& t : d.workers) {
    if (t.joinable()) t.join();
  }
  // Claimed but never started: hand them back now rather than when their lease runs out.
  std::size_t released = 0;
  for (auto& [name, lane] : d.lanes) {
    for (const auto& job : lane.jobs) {
      if (auto r = d.outbox->release(job); !r) d.report(r.error());
      ++released;
    }
    lane.jobs.clear();
  }
  for (const auto& [id, job] : d.reclaimed) {
    if (auto r = d.outbox->release(job); !r) d.report(r.error());
    ++released;
  }
  d.reclaimed.clear();
  d.held.clear();
  d.settle_cv.notify_all();
  if (d.memory_outbox) {
    if (auto s = d.outbox->stats(); s && s->pending > 0) {
      logger()->warn(
          "dispatcher shut down with {} undelivered job(s) in the in-memory outbox; they are lost "
          "(call flush() before shutdown, or use a SQLite outbox)",
          s->pending);
    }
  } else if (released) {
    logger()->info("dispatcher shut down; {} claimed job(s) returned to {}", released, d.outbox->describe());
  }
}

MetricsSnapshot Dispatcher::metrics() const {
  auto& d = *impl_;
  MetricsSnapshot m;
  m.fired = d.fired;
  m.enqueued = d.enqueued;
  m.attempts = d.attempts;
  m.delivered = d.delivered;
  m.failed = d.failed;
  m.retried = d.retried;
  m.dead = d.dead;
  m.orphaned = d.orphaned;
  m.rejected = d.rejected;
  m.dropped = d.dropped;
  m.polls = d.polls;
  {
    std::lock_guard lock(d.mu);
    m.in_flight = d.held.size();
  }
  if (auto s = d.outbox->stats()) {
    m.queue_depth = s->pending;
    m.retries_waiting = s->pending - std::min(s->pending, s->due);
    m.outbox_in_flight = s->in_flight;
    m.dead_letters = s->dead;
  } else {
    m.outbox_ok = false;
  }
  {
    std::shared_lock lock(d.hooks_mu);
    m.hooks.reserve(d.counters.size());
    for (const auto& [key, counters] : d.counters) m.hooks.push_back(counters->snapshot());
  }
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(d.lat_count, kLatencySamples));
  std::vector<std::int64_t> lat(n);
  for (std::size_t i = 0; i < n; ++i) lat[i] = d.latencies[i].load(std::memory_order_relaxed);
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    auto at = [&](double q) {
      return std::chrono::microseconds(
          lat[std::min(lat.size() - 1, static_cast<std::size_t>(q * static_cast<double>(lat.size())))]);
    };
    m.latency_p50 = at(0.50);
    m.latency_p99 = at(0.99);
    m.latency_max = std::chrono::microseconds(lat.back());
  }
  return m;
}

const std::shared_ptr<Outbox>& Dispatcher::outbox() const noexcept {
  return impl_->outbox;
}

}  // namespace eventhooks
