// The transports' own I/O threads run as batch work by default, as the dispatcher's threads do: a finished
// request waking one must not preempt the application's running thread. Each case sends to a loopback port
// nothing listens on, so the answer (connection refused) comes back on the I/O thread without a server.
#include <sched.h>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "eventhooks/event.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"
#include "eventhooks/http.hpp"
#include "test_env.hpp"
#include "transport/smtp_client.hpp"

namespace eventhooks {
namespace {

using namespace std::chrono_literals;

struct SeenOn {
  int policy = -1;
  std::thread::id thread;
  bool failed = false;
};

SeenOn http_callback(bool batch_scheduling) {
  HttpOptions options;
  options.batch_scheduling = batch_scheduling;
  options.timeouts.connect = 2s;
  HttpClient client(options);
  HttpRequest request;
  request.method = "POST";
  request.url = "http://127.0.0.1:" + std::to_string(test::closed_port()) + "/hook";
  request.body = "{}";
  std::promise<SeenOn> seen;
  client.perform_async(std::move(request), [&](const HttpRequest&, Result<HttpResponse> response) {
    seen.set_value({sched_getscheduler(0), std::this_thread::get_id(), !response.ok()});
  });
  auto f = seen.get_future();
  if (f.wait_for(10s) != std::future_status::ready) return {};
  return f.get();
}

TEST(IoThreads, HttpClientIoThreadRunsAsBatchWorkByDefault) {
  const SeenOn s = http_callback(HttpOptions{}.batch_scheduling);
  EXPECT_TRUE(s.failed) << "nothing listens there: the request must fail";
  EXPECT_NE(s.thread, std::this_thread::get_id()) << "the callback must run on the I/O thread";
  EXPECT_EQ(s.policy, SCHED_BATCH);
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER) << "the caller's own thread must not change";
}

TEST(IoThreads, HttpClientBatchSchedulingOff_IoThreadStaysNormal) {
  const SeenOn s = http_callback(false);
  EXPECT_TRUE(s.failed);
  EXPECT_NE(s.thread, std::this_thread::get_id());
  EXPECT_EQ(s.policy, SCHED_OTHER);
}

SeenOn smtp_callback(bool batch_scheduling) {
  detail::SmtpClientOptions options;
  options.host = "127.0.0.1";
  options.port = test::closed_port();
  options.mode = detail::SmtpMode::plain;
  options.timeouts.connect = 2s;
  options.batch_scheduling = batch_scheduling;
  detail::SmtpClient client(options);
  std::promise<SeenOn> seen;
  client.send_async("a@example.com", {"b@example.com"}, "Subject: x\r\n\r\nx\r\n", [&](Result<Receipt> r) {
    seen.set_value({sched_getscheduler(0), std::this_thread::get_id(), !r.ok()});
  });
  auto f = seen.get_future();
  if (f.wait_for(10s) != std::future_status::ready) return {};
  return f.get();
}

TEST(IoThreads, SmtpClientIoThreadRunsAsBatchWorkByDefault) {
  const SeenOn s = smtp_callback(detail::SmtpClientOptions{}.batch_scheduling);
  EXPECT_TRUE(s.failed);
  EXPECT_NE(s.thread, std::this_thread::get_id());
  EXPECT_EQ(s.policy, SCHED_BATCH);
}

TEST(IoThreads, SmtpClientBatchSchedulingOff_IoThreadStaysNormal) {
  const SeenOn s = smtp_callback(false);
  EXPECT_TRUE(s.failed);
  EXPECT_EQ(s.policy, SCHED_OTHER);
}

TEST(IoThreads, RabbitMqIoThreadRunsAsBatchWork) {
  RabbitMqHook hook(
      {.common = {.name = "q"},
       .broker = {.host = "127.0.0.1", .port = test::closed_port(), .user = "u", .password = "secret-pw"},
       .routing_key = "k",
       .timeouts = {.connect = 2s}});
  std::promise<SeenOn> seen;
  hook.deliver_async(Event::make("q", Payload("x")), [&](Outcome out) {
    seen.set_value({sched_getscheduler(0), std::this_thread::get_id(), out.failed()});
  });
  auto f = seen.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  const SeenOn s = f.get();
  EXPECT_TRUE(s.failed);
  EXPECT_NE(s.thread, std::this_thread::get_id());
  EXPECT_EQ(s.policy, SCHED_BATCH);
}

}  // namespace
}  // namespace eventhooks
