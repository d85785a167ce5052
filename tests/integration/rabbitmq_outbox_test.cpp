// The RabbitMQ outbox against the test broker (scripts/servers/rabbitmq.sh): enqueue with confirms, claim and
// ack, retries through the delay queues, dead letters and their administration, the delivery limit, and the
// CLI's worker retrying a 503 endpoint into a dead letter that `outbox retry` brings back. Each test uses
// queues of its own.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "eventhooks/outbox.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

namespace eventhooks {
namespace {

using namespace std::chrono_literals;
using test::require_env;

std::string broker_url() {
  return "amqp://" + require_env("EVENTHOOKS_AMQP_USER") + ":" + require_env("EVENTHOOKS_AMQP_PASSWORD") +
         "@" + require_env("EVENTHOOKS_AMQP_HOST") + ":" + require_env("EVENTHOOKS_AMQP_PORT") + "/";
}

std::string fresh_queue(const std::string& what) {
  return "eventhooks-test-" + what + "-" + new_event_id();
}

std::shared_ptr<Outbox> open_outbox(const std::string& queue, int delivery_limit = 20) {
  auto r = open_rabbitmq_outbox({.urls = {broker_url()}, .queue = queue, .delivery_limit = delivery_limit});
  if (!r) throw std::runtime_error(r.error().message);
  return r.value();
}

// Claims until `n` jobs came or `timeout` passed (deliveries arrive asynchronously).
std::vector<Job> claim_n(Outbox& outbox, std::size_t n, std::chrono::milliseconds timeout = 10s) {
  std::vector<Job> jobs;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (jobs.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto r = outbox.claim({.max_jobs = n - jobs.size()});
    if (!r) throw std::runtime_error(r.error().message);
    for (auto& j : r.value()) jobs.push_back(std::move(j));
  }
  return jobs;
}

TEST(RabbitMqOutbox, EnqueuedEventIsClaimedOncePerHookAndGoneAfterAck) {
  auto outbox = open_outbox(fresh_queue("basic"));
  const Event event = Event::make("order.created", Payload(nlohmann::ordered_json{{"order", 7}}), "shop");
  ASSERT_TRUE(outbox->enqueue(event, {"a", "b"}).ok());

  auto jobs = claim_n(*outbox, 2);
  ASSERT_EQ(jobs.size(), 2u);
  std::set<std::string> hooks;
  for (const auto& j : jobs) {
    hooks.insert(j.hook);
    EXPECT_EQ(j.event.id, event.id);
    EXPECT_EQ(j.event.name, "order.created");
    EXPECT_EQ(j.event.realm, std::optional<std::string>("shop"));
    EXPECT_EQ(j.event.payload.json()["order"], 7);
    EXPECT_EQ(j.attempts, 0);
    ASSERT_TRUE(outbox->ack(j).ok());
  }
  EXPECT_EQ(hooks, (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(claim_n(*outbox, 1, 1s).empty());
  auto due = outbox->next_due({});
  ASSERT_TRUE(due.ok());
  EXPECT_FALSE(due.value().has_value());
}

TEST(RabbitMqOutbox, ReleasedJobIsHandedOutAgain) {
  auto outbox = open_outbox(fresh_queue("release"));
  ASSERT_TRUE(outbox->enqueue(Event::make("e", Payload("x")), {"a"}).ok());
  auto first = claim_n(*outbox, 1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(outbox->release(first[0]).ok());
  auto again = claim_n(*outbox, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event.id, first[0].event.id);
  EXPECT_EQ(again[0].attempts, 0);
  ASSERT_TRUE(outbox->ack(again[0]).ok());
}

TEST(RabbitMqOutbox, RetryComesBackThroughTheDelayQueueNoEarlierThanItsDelay) {
  auto outbox = open_outbox(fresh_queue("retry"));
  ASSERT_TRUE(outbox->enqueue(Event::make("e", Payload("x")), {"a"}).ok());
  auto first = claim_n(*outbox, 1);
  ASSERT_EQ(first.size(), 1u);
  const auto retried_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(outbox->retry_at(first[0], 700ms, "503 Service Unavailable").ok());
  auto stats = outbox->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->pending, 1u);  // waiting in the delay queue

  auto again = claim_n(*outbox, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - retried_at, 700ms);  // a lower bound: never early
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_EQ(again[0].last_error, std::optional<std::string>("503 Service Unavailable"));
  EXPECT_EQ(again[0].event.id, first[0].event.id);
  ASSERT_TRUE(outbox->ack(again[0]).ok());
}

TEST(RabbitMqOutbox, DeadLetterIsListedRetriedAndPurged) {
  auto outbox = open_outbox(fresh_queue("dead"));
  const Event event = Event::make("e", Payload("x"));
  ASSERT_TRUE(outbox->enqueue(event, {"a", "b"}).ok());
  auto jobs = claim_n(*outbox, 2);
  ASSERT_EQ(jobs.size(), 2u);
  for (auto& j : jobs) {
    j.last_error = "HTTP 410 Gone";
    ASSERT_TRUE(outbox->dead_letter(j, "permanent error", true).ok());
  }
  auto dead = outbox->list({.which = JobFilter::Which::dead});
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 2u);
  for (const auto& d : dead.value()) {
    EXPECT_EQ(d.state, Job::State::dead);
    EXPECT_EQ(d.dead_reason, "permanent error");
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.last_error, std::optional<std::string>("HTTP 410 Gone"));
    EXPECT_EQ(d.id, event.id + "/" + d.hook);
  }
  auto got = outbox->get(event.id + "/a");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(got.value()->hook, "a");

  auto requeued = outbox->requeue(event.id + "/a");
  ASSERT_TRUE(requeued.ok());
  EXPECT_TRUE(requeued.value());
  auto back = claim_n(*outbox, 1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].hook, "a");
  EXPECT_EQ(back[0].attempts, 0);
  ASSERT_TRUE(outbox->ack(back[0]).ok());

  auto missing = outbox->requeue(event.id + "/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value());
  auto purged = outbox->purge_dead();
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged.value(), 1u);  // b
  EXPECT_TRUE(outbox->list({.which = JobFilter::Which::dead})->empty());
}

TEST(RabbitMqOutbox, MessageDeliveredPastTheDeliveryLimitLandsInDeadLettersWithTheReason) {
  // Each release counts as a delivery without a settlement, as a worker crashing on it would.
  auto outbox = open_outbox(fresh_queue("poison"), 2);
  const Event event = Event::make("e", Payload("x"));
  ASSERT_TRUE(outbox->enqueue(event, {"a"}).ok());
  for (int i = 0; i < 3; ++i) {
    auto jobs = claim_n(*outbox, 1);
    ASSERT_EQ(jobs.size(), 1u) << "delivery " << i + 1;
    ASSERT_TRUE(outbox->release(jobs[0]).ok());
  }
  std::vector<Job> dead;
  for (int i = 0; i < 100 && dead.empty(); ++i) {
    auto listed = outbox->list({.which = JobFilter::Which::dead});
    ASSERT_TRUE(listed.ok());
    dead = listed.value();
    if (dead.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].event.id, event.id);
  EXPECT_EQ(dead[0].hook, "a");
  EXPECT_NE(dead[0].dead_reason.find("x-delivery-limit"), std::string::npos) << dead[0].dead_reason;
  EXPECT_TRUE(claim_n(*outbox, 1, 1s).empty());
}

TEST(RabbitMqOutbox, WrongPasswordFailsToOpenWithoutPrintingIt) {
  const std::string url = "amqp://" + require_env("EVENTHOOKS_AMQP_USER") + ":wrongPwSecret42@" +
                          require_env("EVENTHOOKS_AMQP_HOST") + ":" + require_env("EVENTHOOKS_AMQP_PORT") +
                          "/";
  auto r = open_rabbitmq_outbox({.urls = {url}, .queue = fresh_queue("auth")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::auth) << r.error().message;
  EXPECT_EQ(r.error().message.find("wrongPwSecret42"), std::string::npos);
}

// The CLI end to end: a worker process delivers to an endpoint that answers 503, retries through the delay
// queues at the policy's backoff (no jitter: each wait is at least the backoff), gives up into a dead letter;
// `outbox list --dead` shows it, `outbox retry` brings it back and the (now healthy) endpoint gets it.
TEST(RabbitMqOutboxCli, WorkerRetriesA503AtTheBackoffThenDeadLettersAndOutboxRetryBringsItBack) {
  test::HttpTestServer sink;
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::atomic<bool> healthy{false};
  sink.answer_with([&](const test::RecordedRequest&) {
    {
      std::lock_guard lock(mu);
      arrivals.push_back(std::chrono::steady_clock::now());
    }
    return healthy ? test::CannedResponse{.status = 200}
                   : test::CannedResponse{.status = 503, .body = "busy"};
  });
  test::TempDir dir;
  const std::string queue = fresh_queue("cli");
  const std::string config = (dir / "eventhooks.yaml").string();
  std::ofstream(config)
      << "outbox:\n  url: " << broker_url() << "\n  queue: " << queue
      << "\nhooks:\n  sink:\n    type: WebHook\n    url: " << sink.url("/hook")
      << "\n    retry: {max_attempts: 3, initial_delay: 0.4, multiplier: 2, jitter: false}\n";
  test::ChildProcess worker({EVENTHOOKS_CLI, "worker", "-c", config, "--concurrency", "1"},
                            (dir / "worker.log").string());
  std::string out;
  ASSERT_EQ(test::run_command(std::string("'") + EVENTHOOKS_CLI + "' trigger -c '" + config +
                                  "' --enqueue --data '{\"n\":1}'",
                              &out),
            0)
      << out;
  ASSERT_TRUE(sink.wait_for_requests(3, 30s));
  {
    // Waits of at least the backoff: 0.4 s, then 0.8 s (lower bounds only; the delay queues may add up to as
    // much again, docs/scale-out.md).
    std::lock_guard lock(mu);
    ASSERT_EQ(arrivals.size(), 3u);
    EXPECT_GE(arrivals[1] - arrivals[0], 400ms);
    EXPECT_GE(arrivals[2] - arrivals[1], 800ms);
  }
  auto requests = sink.requests();
  ASSERT_EQ(requests.size(), 3u);
  const std::string id = requests[0].header("webhook-id");
  for (const auto& r : requests) EXPECT_EQ(r.header("webhook-id"), id);

  // Dead now (3 attempts made); the worker logged it.
  std::string listed;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(
        test::run_command(
            std::string("'") + EVENTHOOKS_CLI + "' outbox -c '" + config + "' list --dead --json", &listed),
        0)
        << listed;
    if (listed.find(id) != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(listed.find(id), std::string::npos) << listed;
  const auto dead = nlohmann::json::parse(listed.substr(listed.find('{')));
  EXPECT_EQ(dead["attempts"], 3);
  EXPECT_EQ(dead["hook"], "sink");
  EXPECT_NE(dead["dead_reason"].get<std::string>().find("3"), std::string::npos) << dead.dump();
  EXPECT_EQ(listed.find(require_env("EVENTHOOKS_AMQP_PASSWORD")), std::string::npos);

  healthy = true;
  ASSERT_EQ(test::run_command(std::string("'") + EVENTHOOKS_CLI + "' outbox -c '" + config + "' retry '" +
                                  dead["id"].get<std::string>() + "'",
                              &out),
            0)
      << out;
  ASSERT_TRUE(sink.wait_for_requests(4, 20s));
  EXPECT_EQ(sink.requests()[3].header("webhook-id"), id);
  const int status = worker.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the worker did not stop cleanly on SIGTERM";
}

}  // namespace
}  // namespace eventhooks
