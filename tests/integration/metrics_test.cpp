// Metrics end to end: a Dispatcher on a SQLite outbox delivers real HTTP requests to the in-process test
// server (successes, a 500 that is retried, a permanent 404, a 503 whose retry waits), then its snapshot,
// rendered as Prometheus text, is read by Prometheus' own tools: `promtool check metrics` (Debian's
// prometheus package) and the parser of the Python prometheus_client (python3-prometheus-client). The
// counters they read must be what was sent.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "eventhooks/dispatcher.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "eventhooks/metrics.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

using namespace std::chrono_literals;
using namespace eventhooks;
using namespace eventhooks::test;

namespace {

std::shared_ptr<WebHook> webhook(const std::string& name, const std::string& url) {
  return std::make_shared<WebHook>(WebHookOptions{.common = {.name = name}, .url = url});
}

RetryPolicy retry_after(std::chrono::milliseconds delay) {
  return RetryPolicy{.max_attempts = 5, .initial_delay = delay, .jitter = false};
}

// The samples the Python prometheus_client parser read from `text`.
nlohmann::json parse_with_prometheus_client(const TempDir& dir, const std::string& text) {
  const auto file = dir / "metrics.txt";
  std::ofstream(file) << text;
  std::string out;
  const int rc = run_command(
      "/usr/bin/python3 " EVENTHOOKS_SOURCE_DIR "/tests/support/parse_prometheus.py " + file.string(), &out);
  EXPECT_EQ(rc, 0) << out;
  return nlohmann::json::parse(out);
}

// The value of the one sample named `name` whose labels include `labels`; nullopt when there is none.
std::optional<double> value_of(const nlohmann::json& samples, const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) {
  std::optional<double> found;
  for (const auto& s : samples) {
    if (s["name"] != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) match = match && s["labels"].value(k, std::string("\x01")) == v;
    if (!match) continue;
    EXPECT_FALSE(found) << "two samples " << name << " match";
    found = s["value"].get<double>();
  }
  return found;
}

}  // namespace

TEST(Metrics_Prometheus, DeliveriesRenderedAsTextAreReadBackByPrometheusParsers) {
  HttpTestServer server;
  std::atomic<int> flaky_calls{0};
  server.answer_with([&](const RecordedRequest& r) -> CannedResponse {
    if (r.path == "/gone") return {.status = 404, .body = "no such hook"};
    if (r.path == "/down") return {.status = 503, .body = "later"};
    if (r.path == "/flaky" && flaky_calls++ == 0) return {.status = 500, .body = "oops"};
    return {.status = 200};
  });
  TempDir dir;
  auto outbox = open_sqlite_outbox({.path = (dir / "outbox.db").string()});
  ASSERT_TRUE(outbox) << outbox.error().message;
  Dispatcher d({.outbox = outbox.value(), .start = false});
  d.add_hook(webhook("ok", server.url("/ok")));
  d.add_hook(webhook("flaky", server.url("/flaky")), retry_after(1ms));
  d.add_hook(webhook("gone", server.url("/gone")), retry_after(1ms));
  d.add_hook(webhook("down", server.url("/down")), retry_after(1h));  // its retry waits in the outbox
  constexpr int kEvents = 3;
  for (int i = 0; i < kEvents; ++i) ASSERT_TRUE(d.fire(Payload(nlohmann::json{{"n", i}})).ok());
  d.start();
  // Every attempt settled: 3 delivered to ok, 1 failed + 3 delivered to flaky, 3 dead for gone, 3 waiting
  // for their retry for down.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    const auto m = d.metrics();
    if (m.delivered == 2 * kEvents && m.dead == kEvents && m.retried == kEvents + 1 &&
        m.retries_waiting == kEvents)
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << m.to_string();
    std::this_thread::sleep_for(5ms);
  }
  const auto text = render_prometheus(d.metrics());
  d.shutdown();

  const auto file = dir / "promtool.txt";
  std::ofstream(file) << text;
  std::string lint;
  EXPECT_EQ(run_command("promtool check metrics < " + file.string(), &lint), 0) << lint << "\n" << text;

  const auto samples = parse_with_prometheus_client(dir, text);
  const std::string deliveries = "eventhooks_deliveries_total";
  auto delivered = [&](const std::string& hook) {
    return value_of(samples, deliveries,
                    {{"hook", hook}, {"type", "WebHook"}, {"outcome", "delivered"}, {"error_code", ""}});
  };
  EXPECT_EQ(delivered("ok"), kEvents);
  EXPECT_EQ(delivered("flaky"), kEvents);
  EXPECT_EQ(delivered("gone"), 0);
  EXPECT_EQ(value_of(samples, deliveries,
                     {{"hook", "flaky"}, {"outcome", "retried"}, {"error_code", "http_status"}}),
            1);
  EXPECT_EQ(
      value_of(samples, deliveries, {{"hook", "gone"}, {"outcome", "dead"}, {"error_code", "http_status"}}),
      kEvents);
  EXPECT_EQ(value_of(samples, deliveries,
                     {{"hook", "down"}, {"outcome", "retried"}, {"error_code", "unavailable"}}),
            kEvents);
  EXPECT_EQ(value_of(samples, "eventhooks_events_fired_total"), kEvents);
  EXPECT_EQ(value_of(samples, "eventhooks_jobs_enqueued_total"), 4 * kEvents);

  // One latency observation per attempt the server saw, each in a bucket no higher than +Inf's.
  const std::string latency = "eventhooks_delivery_attempt_duration_seconds";
  for (const auto& [hook, attempts] : std::map<std::string, int>{
           {"ok", kEvents}, {"flaky", kEvents + 1}, {"gone", kEvents}, {"down", kEvents}}) {
    EXPECT_EQ(value_of(samples, latency + "_count", {{"hook", hook}}), attempts) << hook;
    EXPECT_EQ(value_of(samples, latency + "_bucket", {{"hook", hook}, {"le", "+Inf"}}), attempts) << hook;
    EXPECT_GT(value_of(samples, latency + "_sum", {{"hook", hook}}).value_or(0), 0) << hook;
  }
  EXPECT_EQ(server.request_count(), static_cast<std::size_t>(4 * kEvents + 1));

  EXPECT_EQ(value_of(samples, "eventhooks_outbox_up"), 1);
  EXPECT_EQ(value_of(samples, "eventhooks_outbox_jobs", {{"state", "dead"}}), kEvents);
  EXPECT_EQ(value_of(samples, "eventhooks_outbox_jobs", {{"state", "pending"}}), kEvents);
  EXPECT_EQ(value_of(samples, "eventhooks_outbox_jobs", {{"state", "in_flight"}}), 0);
  EXPECT_EQ(value_of(samples, "eventhooks_retry_queue_jobs"), kEvents);
}
