// A hook destroyed while its deliver_async() deliveries are in flight: every callback still runs exactly once
// and nothing reaches the destroyed hook (ASan sees a use-after-free, TSan a race on the hook otherwise).
// Runs in the TSan job too (scripts/run-tests.sh).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "eventhooks/event.hpp"
#include "eventhooks/hooks/email.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "http_test_server.hpp"

namespace eventhooks {
namespace {

using namespace std::chrono_literals;

// Counts callbacks; wait() returns once `expected` arrived (or the time is up).
class Callbacks {
 public:
  explicit Callbacks(int expected) : expected_(expected) {}
  Hook::OutcomeCallback make() {
    return [this](Outcome out) {
      const std::lock_guard lock(mutex_);
      outcomes_.push_back(std::move(out));
      cv_.notify_all();
    };
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return static_cast<int>(outcomes_.size()) >= expected_; });
  }
  std::vector<Outcome> outcomes() {
    const std::lock_guard lock(mutex_);
    return outcomes_;
  }

 private:
  int expected_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Outcome> outcomes_;
};

constexpr int kInFlight = 8;

WebHookOptions slow_webhook(const test::HttpTestServer& server, std::shared_ptr<HttpClient> client) {
  return WebHookOptions{.common = {.name = "doomed"},
                        .url = server.url("/slow"),
                        .http = {.timeouts = {.connect = 2s, .total = 10s}, .client = std::move(client)}};
}

TEST(HookLifetime, HookWithSharedClientDestroyedInFlight_EveryCallbackRunsOnceWithoutTheHook) {
  test::HttpTestServer server;
  server.respond("/slow", {.status = 200, .delay = 300ms});
  server.respond("/fast", {.status = 200});
  auto client = std::make_shared<HttpClient>();
  Callbacks seen(kInFlight);
  {
    auto hook = std::make_unique<WebHook>(slow_webhook(server, client));
    for (int i = 0; i < kInFlight; ++i) hook->deliver_async(Event::make("e", Payload("x")), seen.make());
  }  // destroyed while every request waits for its answer
  ASSERT_TRUE(seen.wait(10s));
  const auto outcomes = seen.outcomes();
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kInFlight));
  for (const auto& out : outcomes) {
    // The shared client kept the requests going: the answers are read by HTTP's rules and reported.
    EXPECT_TRUE(out.delivered()) << out.detail();
    EXPECT_EQ(out.hook, "doomed");
  }
  // The shared client still works for the hooks that remain.
  WebHook other({.common = {.name = "other"}, .url = server.url("/fast"), .http = {.client = client}});
  EXPECT_TRUE(other.trigger("y").delivered());
}

TEST(HookLifetime, HookWithOwnClientDestroyedInFlight_EveryCallbackRunsOnce) {
  test::HttpTestServer server;
  server.respond("/slow", {.status = 200, .delay = 2s});
  Callbacks seen(kInFlight);
  {
    auto hook = std::make_unique<WebHook>(slow_webhook(server, nullptr));
    for (int i = 0; i < kInFlight; ++i) hook->deliver_async(Event::make("e", Payload("x")), seen.make());
  }  // its own client goes with it and cancels what is in flight
  ASSERT_TRUE(seen.wait(10s));
  const auto outcomes = seen.outcomes();
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kInFlight));
  for (const auto& out : outcomes) {
    ASSERT_TRUE(out.failed());
    EXPECT_TRUE(out.error->retryable) << out.detail();  // cancelled, not delivered: worth another attempt
  }
}

TEST(HookLifetime, SesHookDestroyedInFlight_AnswersAreStillReported) {
  // AwsSesEmailHook reads answers with its own interpret(): the one that must stop before its members go.
  test::HttpTestServer server;
  server.respond(
      {.status = 200, .body = R"({"MessageId":"m-1"})", .content_type = "application/json", .delay = 300ms});
  auto client = std::make_shared<HttpClient>();
  Callbacks seen(kInFlight);
  {
    auto hook = std::make_unique<AwsSesEmailHook>(
        AwsSesOptions{.common = {.name = "ses"},
                      .email = {.sender = "a@example.com", .recipients = {"b@example.com"}},
                      .region = "eu-west-1",
                      .endpoint_url = server.url(""),
                      .access_key_id = "AKIDEXAMPLE",
                      .secret_access_key = "not-a-real-secret",
                      .http = {.client = client}});
    for (int i = 0; i < kInFlight; ++i) hook->deliver_async(Event::make("e", Payload("x")), seen.make());
  }
  ASSERT_TRUE(seen.wait(10s));
  for (const auto& out : seen.outcomes()) EXPECT_TRUE(out.delivered()) << out.detail();
}

TEST(HookLifetime, HookDestroyedFromItsOwnCallback_DoesNotDeadlock) {
  test::HttpTestServer server;
  server.respond("/slow", {.status = 200, .delay = 50ms});
  auto client = std::make_shared<HttpClient>();
  std::mutex mutex;
  std::shared_ptr<WebHook> hook = std::make_shared<WebHook>(slow_webhook(server, client));
  Callbacks seen(kInFlight);
  auto done = seen.make();
  for (int i = 0; i < kInFlight; ++i) {
    hook->deliver_async(Event::make("e", Payload("x")), [&, done](Outcome out) {
      {
        const std::lock_guard lock(mutex);
        hook.reset();  // the first answer destroys the hook; the others arrive after
      }
      done(std::move(out));
    });
  }
  ASSERT_TRUE(seen.wait(10s));
  EXPECT_EQ(seen.outcomes().size(), static_cast<std::size_t>(kInFlight));
}

}  // namespace
}  // namespace eventhooks
