// The outbox as RabbitMQ quorum queues, for many `eventhooks worker` processes on many machines. One message
// per job (event × hook) in the queue NAME; a claim is a delivery held unacked by this process; a retry is a
// republish to a delay queue whose messages expire back into NAME; a dead letter a republish to NAME.dead.
// Design and guarantees: docs/scale-out.md. Transports (src/transport/amqp_*.cpp) only move the bytes.
#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "eventhooks/logger.hpp"
#include "eventhooks/outbox.hpp"
#include "transport/amqp_consumer.hpp"
#include "transport/amqp_publisher.hpp"

namespace eventhooks {
namespace {

using detail::AmqpDelivery;
using std::chrono::milliseconds;

// Headers every job message carries beside the event (its body): the hook, attempts made, and why it failed
// or was given up.
constexpr const char* kHookHeader = "eventhooks-hook";
constexpr const char* kAttemptsHeader = "eventhooks-attempts";
constexpr const char* kErrorHeader = "eventhooks-last-error";
constexpr const char* kDeadReasonHeader = "eventhooks-dead-reason";

// Delay queues form a ladder of powers of two from 100 ms: a wait of d goes to the smallest level L >= d,
// with a per-message expiration of d. Messages leave a queue only from its head, so one can be held up by an
// earlier one with a longer expiration, but never past its own publication + L < publication + 2d: a retry
// comes no earlier than the policy's delay and no later than twice it.
constexpr milliseconds kFirstLevel{100};
constexpr int kLevels = 22;  // 100 ms … 58 h

milliseconds delay_level(milliseconds delay) {
  milliseconds level = kFirstLevel;
  for (int i = 1; i < kLevels && level < delay; ++i) level *= 2;
  return level;
}

std::string encode_event(const Event& e) {
  nlohmann::ordered_json j;
  j["id"] = e.id;
  j["name"] = e.name;
  j["realm"] = e.realm ? nlohmann::ordered_json(*e.realm) : nlohmann::ordered_json(nullptr);
  j["payload"] = e.payload.to_stored();
  j["created_at"] = std::chrono::duration_cast<milliseconds>(e.created_at.time_since_epoch()).count();
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<Event> decode_event(const std::string& body) {
  try {
    const auto j = nlohmann::ordered_json::parse(body);
    Event e;
    e.id = j.at("id").get<std::string>();
    e.name = j.at("name").get<std::string>();
    if (!j.at("realm").is_null()) e.realm = j.at("realm").get<std::string>();
    e.payload = Payload::from_stored(j.at("payload"));
    e.created_at =
        std::chrono::system_clock::time_point(milliseconds(j.at("created_at").get<std::int64_t>()));
    return e;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string header(const AmqpDelivery& d, const char* key) {
  auto it = d.headers.find(key);
  return it == d.headers.end() ? std::string() : it->second;
}

// Why the broker (not a worker) moved a message to NAME.dead, from its x-death header.
std::string broker_dead_reason(const AmqpDelivery& d, int delivery_limit) {
  if (d.death_reason == "delivery_limit") {
    return fmt::format(
        "delivered more than {} times (x-delivery-limit) without being settled: a poison message, or workers "
        "that crash or stop while holding it",
        delivery_limit);
  }
  if (d.death_reason == "rejected") return "rejected by a worker: not a job this version can read";
  return "dead-lettered by the broker from queue '" + d.death_queue + "' (" + d.death_reason + ")";
}

class RabbitMqOutbox final : public Outbox {
 public:
  RabbitMqOutbox(RabbitMqOutboxOptions options, std::vector<AmqpEndpoint> endpoints)
      : opt_(std::move(options)),
        endpoints_(std::move(endpoints)),
        dead_queue_(opt_.queue + ".dead"),
        admin_(endpoints_.front(), alternates(), opt_.connect_timeout),
        publisher_(publisher_options()) {}

  ~RabbitMqOutbox() override {
    std::lock_guard lock(consumer_mu_);
    consumer_.reset();  // its connection closes: what this process held returns to the queue
  }

  std::optional<Error> declare_queues() {
    // Dead letters first: the main queue dead-letters into it (delivery limit, rejects).
    if (auto r = admin_.declare(dead_queue_, {{"x-queue-type", std::string("quorum")}}); !r) return r.error();
    auto r = admin_.declare(opt_.queue, {{"x-queue-type", std::string("quorum")},
                                         {"x-delivery-limit", std::int64_t{opt_.delivery_limit}},
                                         {"x-dead-letter-exchange", std::string()},
                                         {"x-dead-letter-routing-key", dead_queue_},
                                         {"x-dead-letter-strategy", std::string("at-least-once")},
                                         {"x-overflow", std::string("reject-publish")}});
    if (!r) return r.error();
    return std::nullopt;
  }

  Result<void> enqueue(const Event& event, const std::vector<std::string>& hooks) override {
    std::vector<AmqpMessage> messages;
    messages.reserve(hooks.size());
    const std::string body = encode_event(event);
    for (const auto& hook : hooks) messages.push_back(job_message(event, body, hook, 0, opt_.queue, {}));
    return publish_all(messages);
  }

  Result<std::vector<Job>> claim(const ClaimRequest& request) override {
    detail::AmqpConsumer& consumer = start_consuming();
    auto deliveries = consumer.take(request.max_jobs, opt_.claim_wait, accept(request.skip_hooks));
    std::vector<Job> jobs;
    jobs.reserve(deliveries.size());
    for (auto& d : deliveries) {
      auto job = job_of(d);
      if (!job) {
        // Not a job message (written by something else, or an incompatible version): kept, visibly, in the
        // dead letters with the broker's reason "rejected", instead of failing every worker forever.
        logger()->error("outbox {}: message {} is not an eventhooks job; rejected to {}", opt_.queue,
                        d.message_id, dead_queue_);
        (void)consumer.reject(d.connection, d.tag, false);
        continue;
      }
      jobs.push_back(std::move(*job));
    }
    return jobs;
  }

  Result<void> ack(const Job& job) override {
    auto [connection, tag] = delivery_of(job);
    return consumer().ack(connection, tag);
  }

  Result<void> retry_at(const Job& job, milliseconds delay, const std::string& error) override {
    const milliseconds level = delay_level(delay);
    const std::string queue = opt_.queue + ".delay." + std::to_string(level.count());
    if (auto e = declare_delay_queue(queue, level)) return settle_failed(job, *e);
    AmqpMessage m = job_message(job.event, encode_event(job.event), job.hook, job.attempts + 1, queue,
                                {{kErrorHeader, error}});
    m.expiration = std::to_string(std::max<std::int64_t>(0, delay.count()));
    if (auto r = publish_all({m}); !r) return settle_failed(job, r.error());
    return ack(job);
  }

  Result<void> dead_letter(const Job& job, const std::string& reason, bool attempted) override {
    Headers extra{{kDeadReasonHeader, reason}};
    if (job.last_error) extra.emplace_back(kErrorHeader, *job.last_error);
    AmqpMessage m = job_message(job.event, encode_event(job.event), job.hook,
                                job.attempts + (attempted ? 1 : 0), dead_queue_, extra);
    if (auto r = publish_all({m}); !r) return settle_failed(job, r.error());
    return ack(job);
  }

  Result<void> release(const Job& job) override {
    auto [connection, tag] = delivery_of(job);
    return consumer().reject(connection, tag, true);
  }

  // A crashed worker's deliveries return to the queue when the broker sees its connection close.
  Result<std::size_t> recover() override { return std::size_t{0}; }

  Result<std::optional<milliseconds>> next_due(const std::vector<std::string>& skip_hooks) override {
    {
      std::lock_guard lock(consumer_mu_);
      if (consumer_) {
        if (consumer_->has_ready(accept(skip_hooks))) return std::optional<milliseconds>(milliseconds(0));
        if (consumer_->unsettled() > 0) return std::optional<milliseconds>(milliseconds(50));
      }
    }
    auto ready = admin_.count(opt_.queue);
    if (!ready) return ready.error();
    if (ready.value() > 0) {
      watch_starved_consumer();
      return std::optional<milliseconds>(milliseconds(50));
    }
    {
      std::lock_guard lock(consumer_mu_);
      starved_since_.reset();
    }
    // Retries waiting in the delay queues this process wrote to.
    for (const auto& [queue, level] : delay_queues()) {
      auto n = admin_.count(queue);
      if (!n) return n.error();
      if (n.value() > 0) return std::optional<milliseconds>(std::min(level, milliseconds(1000)));
    }
    return std::optional<milliseconds>();
  }

  Result<OutboxStats> stats() override {
    OutboxStats s;
    auto ready = admin_.count(opt_.queue);
    if (!ready) return ready.error();
    auto dead = admin_.count(dead_queue_);
    if (!dead) return dead.error();
    s.due = ready.value();
    s.pending = ready.value();
    for (const auto& [queue, level] : delay_queues()) {
      if (auto n = admin_.count(queue)) s.pending += n.value();
    }
    {
      std::lock_guard lock(consumer_mu_);
      if (consumer_) s.in_flight = consumer_->unsettled();
    }
    s.dead = dead.value();
    return s;
  }

  // Only dead letters can be listed: reading NAME itself would count as a delivery of every message read
  // (towards x-delivery-limit) and hold them back from the workers.
  Result<std::vector<Job>> list(const JobFilter& filter) override {
    std::vector<Job> out;
    if (filter.which == JobFilter::Which::pending) return out;
    auto r = admin_.browse(dead_queue_, 0, [&](const AmqpDelivery& d) {
      if (filter.limit != 0 && out.size() >= filter.limit) return false;
      auto job = dead_job_of(d);
      if (job && (filter.hook.empty() || job->hook == filter.hook)) out.push_back(std::move(*job));
      return false;
    });
    if (!r) return r.error();
    return out;
  }

  Result<std::optional<Job>> get(const std::string& id) override {
    std::optional<Job> found;
    auto r = admin_.browse(dead_queue_, 0, [&](const AmqpDelivery& d) {
      if (found) return false;
      if (auto job = dead_job_of(d); job && job->id == id) found = std::move(job);
      return false;
    });
    if (!r) return r.error();
    return found;
  }

  Result<bool> requeue(const std::string& id) override {
    bool done = false;
    std::optional<Error> failed;
    auto r = admin_.browse(dead_queue_, 0, [&](const AmqpDelivery& d) {
      if (done || failed) return false;
      auto job = dead_job_of(d);
      if (!job || job->id != id) return false;
      // Back into NAME with attempts reset; the dead copy is removed only once the broker confirmed the new
      // one.
      auto published = publish_all({job_message(job->event, d.body, job->hook, 0, opt_.queue, {})});
      if (!published) {
        failed = published.error();
        return false;
      }
      done = true;
      return true;
    });
    if (!r) return r.error();
    if (failed) return *failed;
    return done;
  }

  Result<bool> remove(const std::string& id) override {
    bool done = false;
    auto r = admin_.browse(dead_queue_, 0, [&](const AmqpDelivery& d) {
      if (done) return false;
      auto job = dead_job_of(d);
      done = job && job->id == id;
      return done;
    });
    if (!r) return r.error();
    return done;
  }

  Result<std::size_t> purge_dead() override {
    auto r = admin_.purge(dead_queue_);
    if (!r) return r.error();
    return std::size_t{r.value()};
  }

  std::string describe() const override {
    return "rabbitmq:" + endpoints_.front().redacted_url() + " queue " + opt_.queue;
  }

 private:
  std::vector<AmqpEndpoint> alternates() const { return {endpoints_.begin() + 1, endpoints_.end()}; }
  // The options of the publisher the jobs go through (the queue itself is declared by admin_).
  detail::AmqpPublisherOptions publisher_options() const {
    detail::AmqpPublisherOptions o;
    o.endpoint = endpoints_.front();
    o.alternates = alternates();
    o.connect_timeout = opt_.connect_timeout;
    o.timeout = opt_.confirm_timeout;
    o.log_name = "outbox " + opt_.queue;
    return o;
  }

  static std::function<bool(const AmqpDelivery&)> accept(const std::vector<std::string>& skip_hooks) {
    return [skip_hooks](const AmqpDelivery& d) {
      if (skip_hooks.empty()) return true;
      const std::string hook = header(d, kHookHeader);
      return std::find(skip_hooks.begin(), skip_hooks.end(), hook) == skip_hooks.end();
    };
  }

  AmqpMessage job_message(const Event& event, const std::string& body, const std::string& hook, int attempts,
                          const std::string& queue, const Headers& extra) const {
    AmqpMessage m;
    m.routing_key = queue;  // the default exchange routes to the queue of that name
    m.body = body;
    m.content_type = "application/json";
    m.message_id = event.id;
    m.type = event.name;
    m.timestamp = event.created_at;
    m.app_id = "eventhooks";
    m.headers = {{kHookHeader, hook}, {kAttemptsHeader, std::to_string(attempts)}};
    m.headers.insert(m.headers.end(), extra.begin(), extra.end());
    m.mandatory = true;  // a missing queue is an error, not a message silently dropped
    m.persistent = true;
    return m;
  }

  // Publishes every message and waits for the broker's confirms. A publish that fails for a reason that may
  // pass (a node lost, its connection being replaced) is tried again until enqueue_timeout: a job confirmed
  // twice is a duplicate delivery (at-least-once), a job not confirmed would be lost.
  Result<void> publish_all(const std::vector<AmqpMessage>& messages) {
    const auto deadline = std::chrono::steady_clock::now() + opt_.enqueue_timeout;
    std::vector<const AmqpMessage*> todo;
    todo.reserve(messages.size());
    for (const auto& m : messages) todo.push_back(&m);
    bool retried = false;
    for (;;) {
      std::vector<std::future<Result<Receipt>>> results;
      for (const AmqpMessage* m : todo) {
        auto promise = std::make_shared<std::promise<Result<Receipt>>>();
        results.push_back(promise->get_future());
        publisher_.publish_async(*m, [promise](Result<Receipt> r) { promise->set_value(std::move(r)); });
      }
      std::vector<const AmqpMessage*> again;
      std::optional<Error> last;
      for (std::size_t i = 0; i < todo.size(); ++i) {
        auto r = results[i].get();
        if (r) continue;
        if (!r.error().retryable) return r.error();
        last = r.error();
        again.push_back(todo[i]);
      }
      if (again.empty()) return {};
      if (std::chrono::steady_clock::now() >= deadline) return *last;
      // Once per call: the caller hears the last reason if it never passes.
      if (!retried) {
        logger()->warn(
            "outbox {}: {} of {} publish(es) not confirmed, trying again until {} ms have passed: {}",
            opt_.queue, again.size(), todo.size(), opt_.enqueue_timeout.count(), last->to_string());
      }
      retried = true;
      std::this_thread::sleep_for(milliseconds(100));
      todo = std::move(again);
    }
  }

  // A retry or dead letter that could not be published: the delivery goes back to the queue now (attempts
  // unchanged) rather than sit unacked with this process until it exits.
  Result<void> settle_failed(const Job& job, Error e) {
    (void)release(job);
    e.message += " (the job is back in queue '" + opt_.queue + "')";
    return e;
  }

  std::optional<Error> declare_delay_queue(const std::string& queue, milliseconds level) {
    {
      std::lock_guard lock(delay_mu_);
      if (delay_queues_.count(queue)) return std::nullopt;
    }
    auto r = admin_.declare(queue, {{"x-queue-type", std::string("quorum")},
                                    {"x-message-ttl", std::int64_t{level.count()}},
                                    {"x-dead-letter-exchange", std::string()},
                                    {"x-dead-letter-routing-key", opt_.queue},
                                    {"x-dead-letter-strategy", std::string("at-least-once")},
                                    {"x-overflow", std::string("reject-publish")}});
    if (!r) return r.error();
    std::lock_guard lock(delay_mu_);
    delay_queues_.emplace(queue, level);
    return std::nullopt;
  }

  std::map<std::string, milliseconds> delay_queues() const {
    std::lock_guard lock(delay_mu_);
    return delay_queues_;
  }

  detail::AmqpConsumer& start_consuming() {
    std::lock_guard lock(consumer_mu_);
    if (!consumer_) {
      consumer_ = std::make_unique<detail::AmqpConsumer>(detail::AmqpConsumerOptions{
          .endpoint = endpoints_.front(),
          .alternates = alternates(),
          .queue = opt_.queue,
          .prefetch = opt_.prefetch,
          .connect_timeout = opt_.connect_timeout,
          .log_name = "outbox " + opt_.queue,
      });
    }
    return *consumer_;
  }

  detail::AmqpConsumer& consumer() { return start_consuming(); }

  // Jobs ready in the queue, none buffered or held here, for 5 s: a consumer registered while the queue's
  // leader was being elected (a node lost) can stay attached to nothing, without a basic.cancel. Consume
  // again.
  void watch_starved_consumer() {
    std::lock_guard lock(consumer_mu_);
    if (!consumer_ || consumer_->unsettled() > 0) {
      starved_since_.reset();
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!starved_since_) starved_since_ = now;
    if (now - *starved_since_ >= std::chrono::seconds(5)) {
      logger()->warn("outbox {}: jobs are ready but none arrive; consuming again", opt_.queue);
      consumer_->resubscribe();
      starved_since_.reset();
    }
  }

  // A claimed job's id is "<connection>.<delivery tag>": unique among what this process holds, and all that
  // ack/reject need.
  static std::pair<std::uint64_t, std::uint64_t> delivery_of(const Job& job) {
    const auto dot = job.id.find('.');
    if (dot == std::string::npos) return {0, 0};
    try {
      return {std::stoull(job.id.substr(0, dot)), std::stoull(job.id.substr(dot + 1))};
    } catch (const std::exception&) {
      return {0, 0};
    }
  }

  std::optional<Job> job_of(const AmqpDelivery& d) const {
    auto event = decode_event(d.body);
    const std::string hook = header(d, kHookHeader);
    if (!event || hook.empty()) return std::nullopt;
    Job j;
    j.id = std::to_string(d.connection) + "." + std::to_string(d.tag);
    j.event = std::move(*event);
    j.hook = hook;
    try {
      j.attempts = std::stoi(header(d, kAttemptsHeader));
    } catch (const std::exception&) {
      j.attempts = 0;
    }
    j.state = Job::State::in_flight;
    if (auto e = header(d, kErrorHeader); !e.empty()) j.last_error = e;
    return j;
  }

  // A dead letter's id is "<event id>/<hook>": stable across listings, and what `outbox retry` takes.
  std::optional<Job> dead_job_of(const AmqpDelivery& d) const {
    auto job = job_of(d);
    if (!job) {
      Job raw;
      raw.event.id = d.message_id;
      raw.event.payload = Payload(d.body);
      job = std::move(raw);
    }
    job->id = job->event.id + "/" + job->hook;
    job->state = Job::State::dead;
    job->dead_reason = header(d, kDeadReasonHeader);
    if (job->dead_reason.empty()) job->dead_reason = broker_dead_reason(d, opt_.delivery_limit);
    return job;
  }

  RabbitMqOutboxOptions opt_;
  std::vector<AmqpEndpoint> endpoints_;
  std::string dead_queue_;
  detail::AmqpQueueAdmin admin_;
  detail::AmqpPublisher publisher_;
  mutable std::mutex consumer_mu_;
  std::unique_ptr<detail::AmqpConsumer> consumer_;
  std::optional<std::chrono::steady_clock::time_point> starved_since_;  // under consumer_mu_
  mutable std::mutex delay_mu_;
  std::map<std::string, milliseconds> delay_queues_;
};

}  // namespace

Result<std::shared_ptr<Outbox>> open_rabbitmq_outbox(RabbitMqOutboxOptions options) {
  if (options.urls.empty()) return Error::permanent(ErrorCode::config, "RabbitMQ outbox: no url given");
  if (options.queue.empty()) return Error::permanent(ErrorCode::config, "RabbitMQ outbox: empty queue name");
  if (options.delivery_limit < 1)
    return Error::permanent(ErrorCode::config, "RabbitMQ outbox: delivery_limit must be at least 1");
  if (options.prefetch == 0) options.prefetch = 1;
  std::vector<AmqpEndpoint> endpoints;
  for (const auto& url : options.urls) {
    AmqpEndpoint base;
    base.tls_options = options.tls;
    auto ep = parse_amqp_url(url, base);
    if (!ep) return Error::permanent(ErrorCode::config, "RabbitMQ outbox: " + ep.error().message);
    if (ep->user.empty() || ep->password.empty()) {
      return Error::permanent(
          ErrorCode::config,
          "RabbitMQ outbox: the url needs a user and a password (amqp://user:password@host/)");
    }
    endpoints.push_back(std::move(ep.value()));
  }
  auto outbox = std::make_shared<RabbitMqOutbox>(std::move(options), std::move(endpoints));
  if (auto e = outbox->declare_queues()) {
    e->message = "RabbitMQ outbox: " + e->message;
    return *e;
  }
  return std::shared_ptr<Outbox>(std::move(outbox));
}

}  // namespace eventhooks
