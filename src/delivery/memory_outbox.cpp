// In-memory outbox: the library's default for async mode. Every time is on the monotonic clock, so a
// wall-clock jump never makes a retry early or late.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "eventhooks/outbox.hpp"

namespace eventhooks {

namespace {

using Clock = std::chrono::steady_clock;
using Key = std::pair<Clock::time_point, std::uint64_t>;  // (due or lease end, id)

bool skipped(const std::vector<std::string>& skip, const std::string& hook) {
  return std::find(skip.begin(), skip.end(), hook) != skip.end();
}

class MemoryOutbox final : public Outbox {
 public:
  explicit MemoryOutbox(MemoryOutboxOptions o) : options_(std::move(o)) {
    if (options_.capacity == 0) options_.capacity = 1;
  }

  // The caller's path (Dispatcher::fire): only the arrival lock, held for one push_back, so a caller never
  // waits behind a claim, an ack or a lease scan. Everything else moves arrivals into the indexes first.
  Result<void> enqueue(const Event& event, const std::vector<std::string>& hooks) override {
    if (hooks.empty()) return {};
    if (hooks.size() > options_.capacity) {
      return Error::permanent(ErrorCode::unavailable,
                              fmt::format("outbox: an event for {} hooks does not fit a queue of capacity {}",
                                          hooks.size(), options_.capacity));
    }
    // One shared copy for all hooks, made before taking any lock.
    Arrival arrival{std::make_shared<const Event>(event), hooks, Clock::now(), 0};
    std::unique_lock in(in_mu_);
    auto full = [&] { return count_.load() + hooks.size() > options_.capacity; };
    if (full()) {
      switch (options_.overflow) {
        case OverflowPolicy::reject: return queue_full();
        case OverflowPolicy::block: {
          ++blocked_;
          const bool room = room_cv_.wait_for(in, options_.block_timeout, [&] { return !full(); });
          --blocked_;
          if (!room) return queue_full();
          break;
        }
        case OverflowPolicy::drop_oldest: {
          in.unlock();
          std::lock_guard lock(mu_);  // lock order: mu_, then in_mu_
          drain_locked();
          std::lock_guard again(in_mu_);
          while (full()) {
            if (!drop_oldest_locked()) return queue_full();  // everything left is in flight
          }
          arrival.first_id = next_id_;
          next_id_ += hooks.size();
          count_ += hooks.size();
          admit_locked(std::move(arrival));
          return {};
        }
      }
    }
    arrival.first_id = next_id_;
    next_id_ += hooks.size();
    count_ += hooks.size();
    inbox_.push_back(std::move(arrival));
    return {};
  }

  Result<std::vector<Job>> claim(const ClaimRequest& request) override {
    std::vector<std::pair<std::uint64_t, Rec>> taken;
    const auto now = Clock::now();
    {
      std::lock_guard lock(mu_);
      drain_locked();
      expire_leases_locked(now);
      std::size_t count = 0;
      // Round-robin over hooks, one job each per round, so one hook's backlog does not starve the others.
      bool took = true;
      while (count < request.max_jobs && took) {
        took = false;
        for (auto& [hook, set] : ready_) {
          if (count >= request.max_jobs) break;
          if (set.empty() || set.begin()->first > now || skipped(request.skip_hooks, hook)) continue;
          const auto id = set.begin()->second;
          set.erase(set.begin());
          auto& rec = jobs_.at(id);
          rec.claimed = true;
          rec.due = now + request.lease;
          leased_.insert({rec.due, id});
          taken.emplace_back(id, rec);  // cheap: the event is shared, not copied
          ++count;
          took = true;
        }
      }
    }
    // Copying events into Jobs happens outside the lock.
    std::vector<Job> out;
    out.reserve(taken.size());
    for (const auto& [id, rec] : taken) out.push_back(view(id, rec, now));
    return out;
  }

  Result<void> ack(const Job& job) override {
    std::lock_guard lock(mu_);
    auto it = find_claimed(job);
    if (it == jobs_.end()) return not_claimed(job);
    leased_.erase({it->second.due, it->first});
    jobs_.erase(it);
    made_room(1);
    return {};
  }

  Result<void> retry_at(const Job& job, std::chrono::milliseconds delay, const std::string& error) override {
    std::lock_guard lock(mu_);
    auto it = find_claimed(job);
    if (it == jobs_.end()) return not_claimed(job);
    auto& rec = it->second;
    leased_.erase({rec.due, it->first});
    rec.claimed = false;
    rec.attempts = job.attempts + 1;
    rec.last_error = error;
    rec.due = Clock::now() + delay;
    ready_[rec.hook].insert({rec.due, it->first});
    return {};
  }

  Result<void> dead_letter(const Job& job, const std::string& reason, bool attempted) override {
    std::lock_guard lock(mu_);
    auto it = find_claimed(job);
    if (it == jobs_.end()) return not_claimed(job);
    auto& rec = it->second;
    leased_.erase({rec.due, it->first});
    Job dead = view(it->first, rec, Clock::now());
    dead.state = Job::State::dead;
    dead.attempts = job.attempts + (attempted ? 1 : 0);
    dead.dead_reason = reason;
    if (job.last_error) dead.last_error = job.last_error;
    dead.next_attempt_at = {};
    dead_.emplace(it->first, std::move(dead));
    jobs_.erase(it);
    while (dead_.size() > options_.dead_capacity) dead_.erase(dead_.begin());
    made_room(1);
    return {};
  }

  Result<void> release(const Job& job) override {
    std::lock_guard lock(mu_);
    auto it = find_claimed(job);
    if (it == jobs_.end()) return not_claimed(job);
    auto& rec = it->second;
    leased_.erase({rec.due, it->first});
    rec.claimed = false;
    rec.due = Clock::now();
    ready_[rec.hook].insert({rec.due, it->first});
    return {};
  }

  Result<std::size_t> recover() override { return std::size_t{0}; }  // claims die with the process

  Result<std::optional<std::chrono::milliseconds>> next_due(const std::vector<std::string>& skip) override {
    std::lock_guard lock(mu_);
    drain_locked();
    std::optional<Clock::time_point> best;
    for (auto& [hook, set] : ready_) {
      if (set.empty() || skipped(skip, hook)) continue;
      if (!best || set.begin()->first < *best) best = set.begin()->first;
    }
    for (const auto& [lease_end, id] : leased_) {  // an expiring lease makes its job due again
      if (skipped(skip, jobs_.at(id).hook)) continue;
      if (!best || lease_end < *best) best = lease_end;
      break;
    }
    if (!best) return std::optional<std::chrono::milliseconds>{};
    const auto now = Clock::now();
    if (*best <= now) return std::optional<std::chrono::milliseconds>{std::chrono::milliseconds(0)};
    // Round up: waking a millisecond early would find nothing due and poll again.
    return std::optional<std::chrono::milliseconds>{
        std::chrono::ceil<std::chrono::milliseconds>(*best - now)};
  }

  Result<OutboxStats> stats() override {
    std::lock_guard lock(mu_);
    drain_locked();
    OutboxStats s;
    const auto now = Clock::now();
    for (auto& [id, rec] : jobs_) {
      if (rec.claimed) {
        ++s.in_flight;
      } else {
        ++s.pending;
        if (rec.due <= now) ++s.due;
      }
    }
    s.dead = dead_.size();
    return s;
  }

  Result<std::vector<Job>> list(const JobFilter& filter) override {
    std::lock_guard lock(mu_);
    drain_locked();
    std::vector<Job> out;
    const auto now = Clock::now();
    auto full = [&] { return filter.limit != 0 && out.size() >= filter.limit; };
    if (filter.which != JobFilter::Which::dead) {
      for (auto& [id, rec] : jobs_) {
        if (full()) break;
        if (!filter.hook.empty() && rec.hook != filter.hook) continue;
        out.push_back(view(id, rec, now));
      }
    }
    if (filter.which != JobFilter::Which::pending) {
      for (auto& [id, job] : dead_) {
        if (full()) break;
        if (!filter.hook.empty() && job.hook != filter.hook) continue;
        out.push_back(job);
      }
    }
    return out;
  }

  Result<std::optional<Job>> get(const std::string& id) override {
    std::lock_guard lock(mu_);
    drain_locked();
    const auto n = parse_id(id);
    if (auto it = jobs_.find(n); it != jobs_.end()) {
      return std::optional<Job>(view(it->first, it->second, Clock::now()));
    }
    if (auto it = dead_.find(n); it != dead_.end()) return std::optional<Job>(it->second);
    return std::optional<Job>{};
  }

  Result<bool> requeue(const std::string& id) override {
    std::lock_guard lock(mu_);
    drain_locked();
    const auto n = parse_id(id);
    const auto now = Clock::now();
    if (auto it = dead_.find(n); it != dead_.end()) {
      Rec rec;
      rec.event = std::make_shared<const Event>(std::move(it->second.event));
      rec.hook = it->second.hook;
      rec.last_error = it->second.last_error;
      rec.due = now;
      dead_.erase(it);
      ready_[rec.hook].insert({now, n});
      jobs_.emplace(n, std::move(rec));
      ++count_;
      return true;
    }
    if (auto it = jobs_.find(n); it != jobs_.end() && !it->second.claimed) {
      auto& rec = it->second;
      ready_[rec.hook].erase({rec.due, n});
      rec.attempts = 0;
      rec.due = now;
      ready_[rec.hook].insert({now, n});
      return true;
    }
    return false;
  }

  Result<bool> remove(const std::string& id) override {
    std::lock_guard lock(mu_);
    drain_locked();
    const auto n = parse_id(id);
    if (dead_.erase(n) > 0) return true;
    if (auto it = jobs_.find(n); it != jobs_.end()) {
      if (it->second.claimed) {
        return Error::permanent(ErrorCode::invalid_input,
                                fmt::format("job {} is being delivered right now", id));
      }
      ready_[it->second.hook].erase({it->second.due, n});
      jobs_.erase(it);
      made_room(1);
      return true;
    }
    return false;
  }

  Result<std::size_t> purge_dead() override {
    std::lock_guard lock(mu_);
    const auto n = dead_.size();
    dead_.clear();
    return n;
  }

  std::string describe() const override { return "memory"; }

 private:
  struct Arrival {
    std::shared_ptr<const Event> event;
    std::vector<std::string> hooks;
    Clock::time_point at;
    std::uint64_t first_id;  // the jobs get first_id, first_id + 1, ... in hook order
  };

  // Moves what enqueue() left in the inbox into the indexes. Called with mu_ held.
  void drain_locked() {
    {
      std::lock_guard in(in_mu_);
      if (inbox_.empty()) return;
      inbox_.swap(draining_);
    }
    for (auto& a : draining_) admit_locked(std::move(a));
    draining_.clear();
  }

  void admit_locked(Arrival a) {
    std::uint64_t id = a.first_id;
    for (auto& h : a.hooks) {
      Rec rec;
      rec.event = a.event;
      rec.due = a.at;
      ready_[h].insert({a.at, id});
      rec.hook = std::move(h);
      jobs_.emplace(id, std::move(rec));
      ++id;
    }
  }

  // A job left (acked, dead, removed): wake enqueuers blocked on a full queue, if any.
  void made_room(std::size_t n) {
    count_ -= n;
    if (blocked_.load() > 0) {
      { std::lock_guard in(in_mu_); }  // a blocked enqueuer is inside wait() once we get it: no lost wake-up
      room_cv_.notify_all();
    }
  }

  struct Rec {
    std::shared_ptr<const Event> event;  // shared by the jobs of one event (one per hook)
    std::string hook;
    int attempts = 0;
    std::optional<std::string> last_error;
    Clock::time_point due;  // pending: due time; claimed: lease end
    bool claimed = false;
  };

  static std::uint64_t parse_id(const std::string& id) {
    try {
      return std::stoull(id);
    } catch (...) {
      return 0;
    }
  }

  static Error queue_full() {
    return Error::transient(ErrorCode::unavailable, "outbox: in-memory queue is full");
  }
  static Error not_claimed(const Job& job) {
    return Error::permanent(ErrorCode::internal,
                            fmt::format("outbox: job {} is not claimed (lease expired?)", job.id));
  }

  std::map<std::uint64_t, Rec>::iterator find_claimed(const Job& job) {
    auto it = jobs_.find(parse_id(job.id));
    if (it == jobs_.end() || !it->second.claimed) return jobs_.end();
    return it;
  }

  static Job view(std::uint64_t id, const Rec& rec, Clock::time_point now) {
    Job j;
    j.id = std::to_string(id);
    j.event = *rec.event;
    j.hook = rec.hook;
    j.attempts = rec.attempts;
    j.last_error = rec.last_error;
    j.state = rec.claimed ? Job::State::in_flight : Job::State::pending;
    j.next_attempt_at = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::system_clock::now() + (rec.due - now));
    return j;
  }

  void expire_leases_locked(Clock::time_point now) {
    while (!leased_.empty() && leased_.begin()->first <= now) {
      const auto id = leased_.begin()->second;
      leased_.erase(leased_.begin());
      auto& rec = jobs_.at(id);
      rec.claimed = false;
      rec.due = now;
      ready_[rec.hook].insert({now, id});
    }
  }

  bool drop_oldest_locked() {
    for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
      if (it->second.claimed) continue;
      ready_[it->second.hook].erase({it->second.due, it->first});
      if (options_.on_drop) options_.on_drop(view(it->first, it->second, Clock::now()));
      jobs_.erase(it);
      --count_;  // the caller holds in_mu_ and wants this room itself: no one to wake
      ++dropped_;
      return true;
    }
    return false;
  }

  MemoryOutboxOptions options_;
  std::mutex mu_;  // the indexes below; taken before in_mu_ when both are needed

  std::mutex in_mu_;  // the arrivals: enqueue() takes only this
  std::condition_variable room_cv_;
  std::vector<Arrival> inbox_;
  std::atomic<std::size_t> count_{0};  // jobs pending or in flight, the inbox included
  std::atomic<int> blocked_{0};        // enqueuers waiting for room
  std::uint64_t next_id_ = 1;          // guarded by in_mu_

  std::vector<Arrival> draining_;  // mu_: reused buffer of drain_locked()
  std::uint64_t dropped_ = 0;
  std::map<std::uint64_t, Rec> jobs_;           // pending and in flight, oldest first
  std::map<std::string, std::set<Key>> ready_;  // per hook: pending jobs by due time
  std::set<Key> leased_;                        // claimed jobs by lease end
  std::map<std::uint64_t, Job> dead_;
};

}  // namespace

std::shared_ptr<Outbox> make_memory_outbox(MemoryOutboxOptions options) {
  return std::make_shared<MemoryOutbox>(std::move(options));
}

}  // namespace eventhooks
