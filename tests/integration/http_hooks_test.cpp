// The HTTP hooks and FileHook against real servers: an in-process cpp-httplib server (plain and HTTPS with a
// CA made at test time), a port that refuses connections, a name that cannot resolve, and npm's
// `standardwebhooks` as the independent judge of signatures.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "eventhooks/config.hpp"
#include "eventhooks/hooks/file_hook.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

using namespace eventhooks;
using namespace std::chrono_literals;
using test::CannedResponse;
using test::HttpTestServer;

namespace {

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// A loopback port that is bound but not listening: connecting to it is refused, and no one else can take it.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind a loopback port");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

WebHookOptions webhook_to(const std::string& url) {
  WebHookOptions o;
  o.common.name = "alarm";
  o.url = url;
  o.http.timeouts.total = 10s;
  o.http.timeouts.connect = 5s;
  return o;
}

Outcome fire(Hook& hook, Payload data = nlohmann::json{{"temperature", 42}}) {
  return hook.trigger(std::move(data));
}

Error failure_of(const Outcome& out) {
  EXPECT_TRUE(out.failed()) << out.detail();
  return out.error.value_or(Error{});
}

}  // namespace

// ---------------------------------------------------------------------------------------------- WebHook

TEST(WebHookHttp, Trigger_PostsJsonWithExactHeadersAndBody) {
  HttpTestServer server;
  auto options = webhook_to(server.url("/alarm?x=1"));
  options.headers = {{"X-Env", "test"}, {"Authorization", "Bearer abc"}};
  WebHook hook(options);

  const Outcome out = fire(hook);

  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.detail, "HTTP 200");
  EXPECT_EQ(out.receipt.status, 200);
  ASSERT_EQ(server.request_count(), 1u);
  const auto r = server.requests().front();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/alarm?x=1");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("x-env"), "test");
  EXPECT_EQ(r.header("authorization"), "Bearer abc");
  EXPECT_EQ(r.header("user-agent"), "eventhooks/0.1");
  EXPECT_FALSE(r.has_header("expect"));
  EXPECT_FALSE(r.has_header("webhook-signature"));
  EXPECT_EQ(r.body, R"({"temperature":42})");
}

TEST(WebHookHttp, Unsigned_CarriesEventIdAsWebhookIdOnEveryAttempt) {
  HttpTestServer server;
  WebHook hook(webhook_to(server.url("/unsigned")));
  const Event event = Event::make("alarm", "x");
  ASSERT_TRUE(hook.trigger(event).delivered());
  ASSERT_TRUE(hook.trigger(event).delivered());
  const auto rs = server.requests();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].header("webhook-id"), event.id);
  EXPECT_EQ(rs[1].header("webhook-id"), event.id);
  EXPECT_FALSE(rs[0].has_header("webhook-signature"));
}

TEST(WebHookHttp, TextData_IsSentAsJsonString) {
  HttpTestServer server;
  WebHook hook(webhook_to(server.url("/t")));
  ASSERT_TRUE(fire(hook, "it's \"hot\"").delivered());
  EXPECT_EQ(server.requests().at(0).body, R"("it's \"hot\"")");
}

TEST(WebHookHttp, Signed_AcceptedByStandardWebhooksReference) {
  HttpTestServer server;
  auto options = webhook_to(server.url("/signed"));
  options.secret = kSecret;
  WebHook hook(options);

  const Event event = Event::make("alarm", nlohmann::json{{"a", "ü"}, {"b", 1}});
  ASSERT_TRUE(hook.trigger(event).delivered());

  const auto r = server.requests().at(0);
  EXPECT_EQ(r.header("webhook-id"), event.id);
  std::string verifier_output;
  EXPECT_TRUE(test::verify_with_standardwebhooks(kSecret, r, &verifier_output)) << verifier_output;
}

TEST(WebHookHttp, SignedWithOtherSecret_RejectedByStandardWebhooksReference) {
  // Proves the verifier can say no: the same request checked with a different key must fail.
  HttpTestServer server;
  auto options = webhook_to(server.url("/signed"));
  options.secret = kSecret;
  WebHook hook(options);
  ASSERT_TRUE(fire(hook).delivered());
  std::string verifier_output;
  EXPECT_FALSE(test::verify_with_standardwebhooks(
      "whsec_dGhpcyBpcyBhbm90aGVyIGtleQ==", server.requests().at(0), &verifier_output));
}

TEST(WebHookHttp, SameEventTwice_KeepsWebhookId) {
  HttpTestServer server;
  auto options = webhook_to(server.url("/signed"));
  options.secret = kSecret;
  WebHook hook(options);
  const Event event = Event::make("alarm", "x");
  ASSERT_TRUE(hook.deliver(event).delivered());
  ASSERT_TRUE(hook.deliver(event).delivered());
  const auto rs = server.requests();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].header("webhook-id"), rs[1].header("webhook-id"));
}

TEST(WebHookHttp, SequentialTriggers_ReuseOneConnection) {
  HttpTestServer server;
  WebHook hook(webhook_to(server.url("/ka")));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(fire(hook).delivered());
  const auto rs = server.requests();
  ASSERT_EQ(rs.size(), 5u);
  std::set<int> ports;
  for (const auto& r : rs) {
    ASSERT_GT(r.remote_port, 0);
    ports.insert(r.remote_port);
  }
  EXPECT_EQ(ports.size(), 1u) << "each trigger opened a new connection";
}

TEST(WebHookHttp, SharedClient_ReusesConnectionAcrossHooks) {
  HttpTestServer server;
  auto client = std::make_shared<HttpClient>();
  auto a = webhook_to(server.url("/a"));
  a.http.client = client;
  auto b = webhook_to(server.url("/b"));
  b.common.name = "other";
  b.http.client = client;
  WebHook first(a), second(b);
  ASSERT_TRUE(fire(first).delivered());
  ASSERT_TRUE(fire(second).delivered());
  const auto rs = server.requests();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].remote_port, rs[1].remote_port);
}

TEST(WebHookHttp, ServerNeverAnswers_FailsWithRetryableTimeout) {
  HttpTestServer server;
  server.respond({.delay = 1h});
  auto options = webhook_to(server.url("/slow"));
  options.http.timeouts.total = 300ms;
  WebHook hook(options);

  const Error e = failure_of(fire(hook));

  EXPECT_EQ(e.code, ErrorCode::timeout) << e.to_string();
  EXPECT_TRUE(e.retryable);
  EXPECT_NE(e.message.find("300 ms"), std::string::npos) << e.message;
}

TEST(WebHookHttp, ConnectionRefused_FailsWithRetryableConnectError) {
  RefusingPort port;
  WebHook hook(webhook_to("http://127.0.0.1:" + std::to_string(port.port()) + "/x"));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::connect) << e.to_string();
  EXPECT_TRUE(e.retryable);
}

TEST(WebHookHttp, UnresolvableHost_FailsWithDnsError) {
  WebHook hook(webhook_to("http://no-such-host.eventhooks.invalid/x"));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::dns) << e.to_string();
  EXPECT_NE(e.message.find("no-such-host.eventhooks.invalid"), std::string::npos) << e.message;
}

TEST(WebHookHttp, Redirect_FailsNotRetryableAndIsNotFollowed) {
  HttpTestServer server;
  server.respond("/old", {.status = 302, .headers = {{"Location", "/new"}}});
  WebHook hook(webhook_to(server.url("/old")));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::http_status);
  EXPECT_EQ(e.status, 302);
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpClient, FollowRedirectsOn_FollowsToTheNewLocation) {
  HttpTestServer server;
  server.respond("/old", {.status = 308, .headers = {{"Location", "/new"}}});
  HttpClient client({.follow_redirects = true});
  auto r = client.send({.method = "POST", .url = server.url("/old"), .body = "x"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(server.request_count(), 2u);
  EXPECT_EQ(server.requests()[1].path, "/new");
  EXPECT_EQ(server.requests()[1].body, "x");
}

TEST(WebHookHttp, ClientError404_FailsNotRetryableWithBodySnippet) {
  HttpTestServer server;
  server.respond({.status = 404, .body = "no such hook here"});
  WebHook hook(webhook_to(server.url("/missing")));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::http_status);
  EXPECT_EQ(e.status, 404);
  EXPECT_FALSE(e.retryable);
  EXPECT_NE(e.message.find("no such hook here"), std::string::npos) << e.message;
}

TEST(WebHookHttp, RequestTimeout408_IsRetryable) {
  HttpTestServer server;
  server.respond({.status = 408});
  WebHook hook(webhook_to(server.url("/x")));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.status, 408);
  EXPECT_TRUE(e.retryable);
}

TEST(WebHookHttp, ServerError500_IsRetryable) {
  HttpTestServer server;
  server.respond({.status = 500, .body = "boom"});
  WebHook hook(webhook_to(server.url("/x")));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::http_status);
  EXPECT_EQ(e.status, 500);
  EXPECT_TRUE(e.retryable);
}

TEST(WebHookHttp, Unavailable503_IsRetryableUnavailable) {
  HttpTestServer server;
  server.respond({.status = 503});
  WebHook hook(webhook_to(server.url("/x")));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::unavailable);
  EXPECT_TRUE(e.retryable);
}

TEST(WebHookHttp, TooManyRequestsWithRetryAfterSeconds_IsThrottledWithDelay) {
  HttpTestServer server;
  server.respond({.status = 429, .headers = {{"Retry-After", "120"}}});
  WebHook hook(webhook_to(server.url("/x")));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::throttled);
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.status, 429);
  ASSERT_TRUE(e.retry_after.has_value());
  EXPECT_EQ(*e.retry_after, 120s);
}

TEST(WebHookHttp, RetryAfterAsHttpDate_BecomesADelay) {
  HttpTestServer server;
  // A date far in the future, so the delay is large whatever the clock says.
  server.respond({.status = 503, .headers = {{"Retry-After", "Fri, 31 Dec 2100 23:59:59 GMT"}}});
  WebHook hook(webhook_to(server.url("/x")));
  const Error e = failure_of(fire(hook));
  ASSERT_TRUE(e.retry_after.has_value());
  EXPECT_GT(e.retry_after->count(), 3600);
}

TEST(WebHookHttp, RetryAfterInThePast_IsZero) {
  HttpTestServer server;
  server.respond({.status = 429, .headers = {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}});
  WebHook hook(webhook_to(server.url("/x")));
  const Error e = failure_of(fire(hook));
  ASSERT_TRUE(e.retry_after.has_value());
  EXPECT_EQ(e.retry_after->count(), 0);
}

TEST(WebHookHttp, ErrorMessage_HidesQueryToken) {
  HttpTestServer server;
  server.respond({.status = 401, .body = "bad token s3cr3t-t0ken"});
  // (the server echoing the token is what a careless receiver does; the message must still hide it)
  WebHook hook(webhook_to(server.url("/x?token=s3cr3t-t0ken")));
  const Error e = failure_of(fire(hook));
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(e.message.find("s3cr3t-t0ken"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("bad token"), std::string::npos) << e.message;
}

TEST(HttpClient, LargeResponse_IsCappedAndMarkedTruncated) {
  HttpTestServer server;
  server.respond({.body = std::string(10000, 'x')});
  HttpClient client({.max_response_bytes = 100});
  auto r = client.send({.url = server.url("/big"), .body = "{}"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->body.size(), 100u);
  EXPECT_TRUE(r->body_truncated);
}

TEST(HttpClient, ResponseHeaders_AreLowerCased) {
  HttpTestServer server;
  server.respond({.headers = {{"X-Request-ID", "req-7"}}});
  HttpClient client;
  auto r = client.send({.url = server.url("/h"), .body = "{}"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_NE(r->header("x-request-id"), nullptr);
  EXPECT_EQ(*r->header("x-request-id"), "req-7");
}

TEST(HttpClient, HeaderWithLineBreak_IsRefusedAndNothingSent) {
  HttpTestServer server;
  HttpClient client;
  auto r = client.send({.url = server.url("/x"), .headers = {{"X-A", "1\r\nX-Injected: yes"}}, .body = "{}"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_input);
  EXPECT_FALSE(r.error().retryable);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(WebHookHttp, ManyThreadsOnOneHook_AllDelivered) {
  HttpTestServer server;
  WebHook hook(webhook_to(server.url("/many")));
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> delivered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (hook.trigger(nlohmann::json{{"t", t}, {"i", i}}).delivered()) ++delivered;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(delivered.load(), kThreads * kEach);
  const auto rs = server.requests();
  ASSERT_EQ(rs.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::string> bodies;
  for (const auto& r : rs) bodies.insert(r.body);
  EXPECT_EQ(bodies.size(), rs.size()) << "a body was lost or duplicated";
}

// ---------------------------------------------------------------------------------------------- async

namespace {

// Collects what asynchronous callbacks deliver, from whichever thread they run on.
template <typename T>
class Inbox {
 public:
  void put(T value) {
    std::lock_guard lock(mutex_);
    items_.push_back(std::move(value));
    changed_.notify_all();
  }
  // Waits (bounded) for n items; returns what arrived by then.
  std::vector<T> wait(std::size_t n, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return items_.size() >= n; });
    return items_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<T> items_;
};

}  // namespace

TEST(WebHookAsync, ManyInFlightFromOneThread_AllDeliveredOnFewerConnections) {
  HttpTestServer server;
  WebHook hook(webhook_to(server.url("/async")));
  constexpr int kEvents = 200, kWindow = 16;
  Inbox<Outcome> done;
  std::set<std::string> ids;
  std::atomic<int> in_flight{0}, most_in_flight{0};
  for (int i = 0; i < kEvents; ++i) {
    // Keep at most kWindow in flight, as the dispatcher does.
    while (in_flight.load() >= kWindow) std::this_thread::sleep_for(100us);
    const Event event = Event::make("alarm", nlohmann::json{{"i", i}});
    ids.insert(event.id);
    const int now = ++in_flight;
    most_in_flight = std::max(most_in_flight.load(), now);
    hook.deliver_async(event, [&](Outcome out) {
      --in_flight;
      done.put(std::move(out));
    });
  }
  const auto outcomes = done.wait(kEvents);
  ASSERT_EQ(outcomes.size(), static_cast<std::size_t>(kEvents));
  std::set<std::string> delivered;
  for (const auto& out : outcomes) {
    EXPECT_TRUE(out.delivered()) << out.detail();
    EXPECT_EQ(out.receipt.status, 200);
    delivered.insert(out.event_id);
  }
  EXPECT_EQ(delivered, ids) << "an outcome was lost, duplicated or carries the wrong event id";
  const auto rs = server.requests();
  ASSERT_EQ(rs.size(), static_cast<std::size_t>(kEvents));
  std::set<std::string> bodies, webhook_ids;
  std::set<int> connections;
  for (const auto& r : rs) {
    bodies.insert(r.body);
    webhook_ids.insert(r.header("webhook-id"));
    connections.insert(r.remote_port);
    EXPECT_EQ(r.header("content-type"), "application/json");
  }
  EXPECT_EQ(bodies.size(), rs.size()) << "a body was lost or duplicated";
  EXPECT_EQ(webhook_ids, ids);
  EXPECT_GT(most_in_flight.load(), 1) << "the caller never had two deliveries in flight";
  EXPECT_LE(connections.size(), static_cast<std::size_t>(kWindow)) << "connections were not reused";
}

TEST(WebHookAsync, Signed_AcceptedByStandardWebhooksReference) {
  HttpTestServer server;
  auto options = webhook_to(server.url("/signed"));
  options.secret = kSecret;
  WebHook hook(options);
  Inbox<Outcome> done;
  hook.deliver_async(Event::make("alarm", nlohmann::json{{"a", 1}}), [&](Outcome out) { done.put(out); });
  const auto outs = done.wait(1);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_TRUE(outs[0].delivered()) << outs[0].detail();
  ASSERT_EQ(server.request_count(), 1u);
  std::string verdict;
  EXPECT_TRUE(test::verify_with_standardwebhooks(kSecret, server.requests()[0], &verdict)) << verdict;
}

TEST(WebHookAsync, StatusRules_SameAsSynchronous) {
  HttpTestServer server;
  server.respond("/gone", {.status = 404, .body = "no such hook"});
  server.respond("/busy", {.status = 503, .headers = {{"Retry-After", "7"}}, .body = "later"});
  WebHook gone(webhook_to(server.url("/gone")));
  WebHook busy(webhook_to(server.url("/busy")));
  Inbox<Outcome> done;
  gone.deliver_async(Event::make("alarm", "x"), [&](Outcome out) { done.put(out); });
  busy.deliver_async(Event::make("alarm", "y"), [&](Outcome out) { done.put(out); });
  const auto outs = done.wait(2);
  ASSERT_EQ(outs.size(), 2u);
  for (const auto& out : outs) {
    const Error e = failure_of(out);
    ASSERT_TRUE(e.status.has_value()) << e.to_string();
    if (*e.status == 404) {
      EXPECT_EQ(e.code, ErrorCode::http_status);
      EXPECT_FALSE(e.retryable);
      EXPECT_NE(e.message.find("no such hook"), std::string::npos) << e.message;
    } else {
      EXPECT_EQ(*e.status, 503);
      EXPECT_EQ(e.code, ErrorCode::unavailable);
      EXPECT_TRUE(e.retryable);
      EXPECT_EQ(e.retry_after, std::chrono::seconds(7));
    }
  }
}

TEST(WebHookAsync, ServerNeverAnswers_TimesOutWithoutHoldingUpOthers) {
  HttpTestServer server;
  server.respond("/slow", {.delay = 1h});
  auto client = std::make_shared<HttpClient>(HttpOptions{.timeouts = {.total = 500ms}});
  auto slow_options = webhook_to(server.url("/slow"));
  slow_options.http.client = client;
  auto fast_options = webhook_to(server.url("/fast"));
  fast_options.http.client = client;
  WebHook slow(slow_options), fast(fast_options);

  Inbox<Outcome> done;
  const auto start = std::chrono::steady_clock::now();
  slow.deliver_async(Event::make("alarm", "slow"), [&](Outcome out) { done.put(out); });
  fast.deliver_async(Event::make("alarm", "fast"), [&](Outcome out) { done.put(out); });
  auto outs = done.wait(1);
  ASSERT_GE(outs.size(), 1u);
  EXPECT_TRUE(outs[0].delivered()) << "the fast request waited behind the slow one: " << outs[0].detail();
  outs = done.wait(2);
  ASSERT_EQ(outs.size(), 2u);
  const Error e = failure_of(outs[1]);
  EXPECT_EQ(e.code, ErrorCode::timeout) << e.to_string();
  EXPECT_TRUE(e.retryable);
  EXPECT_NE(e.message.find("500 ms"), std::string::npos) << e.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "the timeout did not bound the request";
}

TEST(WebHookAsync, ConnectionRefused_FailsWithRetryableConnectError) {
  RefusingPort port;
  WebHook hook(webhook_to("http://127.0.0.1:" + std::to_string(port.port()) + "/x"));
  Inbox<Outcome> done;
  hook.deliver_async(Event::make("alarm", "x"), [&](Outcome out) { done.put(out); });
  const auto outs = done.wait(1);
  ASSERT_EQ(outs.size(), 1u);
  const Error e = failure_of(outs[0]);
  EXPECT_EQ(e.code, ErrorCode::connect) << e.to_string();
  EXPECT_TRUE(e.retryable);
}

TEST(HttpClientAsync, HeaderWithLineBreak_IsRefusedAndNothingSent) {
  HttpTestServer server;
  HttpClient client;
  Inbox<Result<HttpResponse>> done;
  client.send_async({.url = server.url("/x"), .headers = {{"X-A", "1\r\nX-Injected: yes"}}, .body = "{}"},
                    [&](const HttpRequest&, Result<HttpResponse> r) { done.put(std::move(r)); });
  const auto rs = done.wait(1);
  ASSERT_EQ(rs.size(), 1u);
  ASSERT_FALSE(rs[0].ok());
  EXPECT_EQ(rs[0].error().code, ErrorCode::invalid_input);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(HttpClientAsync, DestroyedWithRequestsInFlight_EachCallbackRunsOnceAsCancelled) {
  HttpTestServer server;
  server.respond({.delay = 1h});
  Inbox<Result<HttpResponse>> done;
  {
    HttpClient client;
    for (int i = 0; i < 3; ++i) {
      client.send_async({.url = server.url("/hang"), .body = std::to_string(i)},
                        [&](const HttpRequest&, Result<HttpResponse> r) { done.put(std::move(r)); });
    }
    ASSERT_TRUE(server.wait_for_requests(3));
  }  // destroyed here, requests still waiting for an answer
  const auto rs = done.wait(3, 1s);
  ASSERT_EQ(rs.size(), 3u) << "a callback did not run when the client went away";
  for (const auto& r : rs) {
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().retryable);
    EXPECT_NE(r.error().message.find("cancelled"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(done.wait(4, 200ms).size(), 3u) << "a callback ran twice";
}

TEST(HttpClientAsync, DestroyedFromItsOwnCallback_TheOtherRequestEndsCancelled) {
  HttpTestServer server;
  server.respond("/hang", {.delay = 1h});
  auto client = std::make_shared<HttpClient>();
  Inbox<std::string> done;
  client->send_async(
      {.url = server.url("/hang"), .body = "1"},
      [&](const HttpRequest&, Result<HttpResponse> r) { done.put(r ? "answered" : r.error().message); });
  ASSERT_TRUE(server.wait_for_requests(1));
  // The last reference to the client goes away inside a callback, on the client's own I/O thread.
  client->send_async({.url = server.url("/fast"), .body = "2"},
                     [&](const HttpRequest&, Result<HttpResponse> r) {
                       done.put(r ? "fast " + std::to_string(r.value().status) : r.error().message);
                       client.reset();
                     });
  const auto got = done.wait(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "fast 200");
  EXPECT_NE(got[1].find("cancelled"), std::string::npos) << got[1];
  EXPECT_EQ(done.wait(3, 200ms).size(), 2u) << "a callback ran twice";
}

TEST(HttpClientAsync, TwoIoThreads_ShareTheRequestsAndAllArrive) {
  HttpTestServer server;
  HttpClient client(HttpOptions{.io_threads = 2});
  Inbox<std::pair<std::thread::id, int>> done;
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    client.send_async({.url = server.url("/io"), .body = std::to_string(i)},
                      [&](const HttpRequest&, Result<HttpResponse> r) {
                        done.put({std::this_thread::get_id(), r ? r.value().status : -1});
                      });
  }
  const auto got = done.wait(kRequests);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kRequests));
  std::set<std::thread::id> threads;
  for (const auto& [thread, status] : got) {
    EXPECT_EQ(status, 200);
    threads.insert(thread);
  }
  EXPECT_EQ(threads.size(), 2u) << "the requests did not spread over both I/O threads";
  EXPECT_FALSE(threads.contains(std::this_thread::get_id())) << "a callback ran on the caller's thread";
  EXPECT_EQ(server.request_count(), static_cast<std::size_t>(kRequests));
}

TEST(HttpClientAsync, CallbackStartsTheNextRequest_Chains) {
  HttpTestServer server;
  HttpClient client;
  Inbox<int> statuses;
  std::function<void(int)> next = [&](int i) {
    client.send_async({.url = server.url("/chain"), .body = std::to_string(i)},
                      [&, i](const HttpRequest&, Result<HttpResponse> r) {
                        statuses.put(r ? r.value().status : -1);
                        if (i < 4) next(i + 1);
                      });
  };
  next(0);
  const auto got = statuses.wait(5);
  EXPECT_EQ(got, (std::vector<int>{200, 200, 200, 200, 200}));
  EXPECT_EQ(server.request_count(), 5u);
}

// The event-loop way (docs/hooks.md): chains of requests, each started from the previous one's callback, on a
// client with two I/O threads. Every chain stays on the I/O thread it started on (no hand-over), the chains
// spread over both threads, and every request arrives exactly once.
TEST(HttpClientAsync, ChainsOnTwoIoThreads_EachStaysOnItsThread) {
  HttpTestServer server;
  HttpClient client(HttpOptions{.io_threads = 2});
  constexpr int kChains = 4;
  constexpr int kPerChain = 10;
  struct Step {
    int chain;
    int status;
    std::thread::id thread;
  };
  Inbox<Step> steps;
  std::function<void(int, int)> next = [&](int chain, int i) {
    client.send_async({.url = server.url("/loop"), .body = std::to_string(chain) + ":" + std::to_string(i)},
                      [&, chain, i](const HttpRequest&, Result<HttpResponse> r) {
                        steps.put({chain, r ? r.value().status : -1, std::this_thread::get_id()});
                        if (i + 1 < kPerChain) next(chain, i + 1);
                      });
  };
  for (int c = 0; c < kChains; ++c) next(c, 0);
  const auto got = steps.wait(kChains * kPerChain);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kChains * kPerChain));
  std::map<int, std::set<std::thread::id>> threads_of_chain;
  std::set<std::thread::id> all_threads;
  for (const auto& s : got) {
    EXPECT_EQ(s.status, 200);
    threads_of_chain[s.chain].insert(s.thread);
    all_threads.insert(s.thread);
  }
  for (const auto& [chain, threads] : threads_of_chain) {
    EXPECT_EQ(threads.size(), 1u) << "chain " << chain << " moved between I/O threads";
  }
  EXPECT_EQ(all_threads.size(), 2u) << "the chains did not spread over both I/O threads";
  std::set<std::string> bodies;
  for (const auto& r : server.requests()) bodies.insert(r.body);
  EXPECT_EQ(bodies.size(), static_cast<std::size_t>(kChains * kPerChain)) << "a request was lost or repeated";
  EXPECT_EQ(server.request_count(), static_cast<std::size_t>(kChains * kPerChain));
}

// ---------------------------------------------------------------------------------------------- TLS

class HttpsHooks : public ::testing::Test {
 protected:
  test::TempDir dir;
  test::TestCertificates certs = test::make_test_certificates(dir.path());
};

TEST_F(HttpsHooks, SelfSignedCaNotTrusted_FailsWithNonRetryableTlsError) {
  HttpTestServer server(certs.cert_file, certs.key_file);
  WebHook hook(webhook_to(server.url("/tls")));
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::tls) << e.to_string();
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(HttpsHooks, CaFileGiven_Delivers) {
  HttpTestServer server(certs.cert_file, certs.key_file);
  auto options = webhook_to(server.url("/tls"));
  options.http.tls.ca_file = certs.ca_file.string();
  WebHook hook(options);
  const Outcome out = fire(hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(server.requests().at(0).body, R"({"temperature":42})");
}

TEST_F(HttpsHooks, DeliverAsync_VerifiesTheCertificateLikeTrigger) {
  HttpTestServer server(certs.cert_file, certs.key_file);
  auto trusted = webhook_to(server.url("/tls"));
  trusted.http.tls.ca_file = certs.ca_file.string();
  WebHook with_ca(trusted);
  WebHook without_ca(webhook_to(server.url("/tls")));  // the system store does not know the test CA
  Inbox<Outcome> done;
  with_ca.deliver_async(Event::make("alarm", nlohmann::json{{"n", 1}}), [&](Outcome out) { done.put(out); });
  without_ca.deliver_async(Event::make("alarm", nlohmann::json{{"n", 2}}),
                           [&](Outcome out) { done.put(out); });
  const auto outs = done.wait(2);
  ASSERT_EQ(outs.size(), 2u);
  int delivered = 0;
  for (const auto& out : outs) {
    if (out.delivered()) {
      ++delivered;
      continue;
    }
    const Error e = failure_of(out);
    EXPECT_EQ(e.code, ErrorCode::tls) << e.to_string();
    EXPECT_FALSE(e.retryable);
  }
  EXPECT_EQ(delivered, 1);
  ASSERT_EQ(server.request_count(), 1u) << "the unverified connection sent the request";
  EXPECT_EQ(server.requests().at(0).body, R"({"n":1})");
}

TEST_F(HttpsHooks, HostNameNotInCertificate_FailsWithNonRetryableTlsError) {
  // A certificate from the trusted CA, but for another name: verification must still refuse it.
  HttpTestServer server(certs.wrong_name_cert_file, certs.wrong_name_key_file);
  auto options = webhook_to(server.url("/tls"));
  options.http.tls.ca_file = certs.ca_file.string();
  WebHook hook(options);
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::tls) << e.to_string();
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(HttpsHooks, VerifyOff_DeliversWithoutCa) {
  HttpTestServer server(certs.cert_file, certs.key_file);
  auto options = webhook_to(server.url("/tls"));
  options.http.tls.verify = false;
  WebHook hook(options);
  EXPECT_TRUE(fire(hook).delivered());
}

TEST_F(HttpsHooks, MissingCaFile_FailsWithTlsError) {
  HttpTestServer server(certs.cert_file, certs.key_file);
  auto options = webhook_to(server.url("/tls"));
  options.http.tls.ca_file = (dir.path() / "nope.pem").string();
  WebHook hook(options);
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.code, ErrorCode::tls) << e.to_string();
  EXPECT_FALSE(e.retryable);
}

TEST_F(HttpsHooks, ServerWantsClientCertificateAndGetsIt_Delivers) {
  HttpTestServer server(certs.cert_file, certs.key_file, certs.ca_file);
  auto options = webhook_to(server.url("/mtls"));
  options.http.tls.ca_file = certs.ca_file.string();
  options.http.tls.cert_file = certs.client_cert_file.string();
  options.http.tls.key_file = certs.client_key_file.string();
  WebHook hook(options);
  const Outcome out = fire(hook);
  EXPECT_TRUE(out.delivered()) << out.detail();
}

TEST_F(HttpsHooks, ServerWantsClientCertificateAndGetsNone_Fails) {
  HttpTestServer server(certs.cert_file, certs.key_file, certs.ca_file);
  auto options = webhook_to(server.url("/mtls"));
  options.http.tls.ca_file = certs.ca_file.string();
  WebHook hook(options);
  // How the refusal surfaces depends on timing (a TLS alert read by the client, or a connection already
  // closed by the server), so only the outcome is checked: not delivered, and the server saw no request.
  (void)failure_of(fire(hook));
  EXPECT_EQ(server.request_count(), 0u);
}

// ---------------------------------------------------------------------------------------------- proxies

TEST(HttpClient, HttpProxyFromEnvironment_IsUsed) {
  HttpTestServer proxy;
  test::ScopedEnv set_proxy("http_proxy", proxy.url("").c_str());
  test::ScopedEnv no_exceptions("no_proxy", nullptr);
  test::ScopedEnv no_exceptions_upper("NO_PROXY", nullptr);
  HttpClient client;
  auto r = client.send({.url = "http://target.invalid/via-proxy", .body = "{}"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(proxy.request_count(), 1u);
  EXPECT_EQ(proxy.requests()[0].target, "http://target.invalid/via-proxy");
  EXPECT_EQ(proxy.requests()[0].header("host"), "target.invalid");
}

TEST(HttpClient, HostInNoProxy_BypassesTheProxy) {
  HttpTestServer server;
  RefusingPort dead_proxy;  // if the proxy were used, the request would fail
  const std::string proxy = "http://127.0.0.1:" + std::to_string(dead_proxy.port());
  test::ScopedEnv set_proxy("http_proxy", proxy.c_str());
  test::ScopedEnv bypass("no_proxy", "127.0.0.1,localhost");
  test::ScopedEnv bypass_upper("NO_PROXY", nullptr);
  HttpClient client;
  auto r = client.send({.url = server.url("/direct"), .body = "{}"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpClient, ProxyOption_IsUsed) {
  HttpTestServer proxy;
  HttpClient client({.proxy = proxy.url("")});
  auto r = client.send({.url = "http://target.invalid/via-option", .body = "{}"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(proxy.request_count(), 1u);
  EXPECT_EQ(proxy.requests()[0].target, "http://target.invalid/via-option");
}

// ---------------------------------------------------------------------------------------------- Mattermost

TEST(MattermostHttp, Trigger_PostsTextToHooksTokenPath) {
  HttpTestServer server;
  MattermostWebHook hook({.common = {.name = "mm"},
                          .host = server.url(""),
                          .token = "tok3n-xyz",
                          .username = "bot",
                          .channel = "alerts",
                          .icon_emoji = ":fire:"});
  const Outcome out = fire(hook, "disk full");
  ASSERT_TRUE(out.delivered()) << out.detail();
  const auto r = server.requests().at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/hooks/tok3n-xyz");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"text":"disk full","username":"bot","channel":"alerts","icon_emoji":":fire:"})");
}

TEST(MattermostHttp, EmptyData_FailsAndSendsNothing) {
  HttpTestServer server;
  MattermostWebHook hook({.common = {.name = "mm"}, .host = server.url(""), .token = "tok3n-xyz"});
  const Error e = failure_of(hook.trigger(Payload()));
  EXPECT_EQ(e.code, ErrorCode::invalid_input);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(MattermostHttp, ServerError_MessageHidesToken) {
  HttpTestServer server;
  server.respond({.status = 400, .body = "unknown hook tok3n-xyz"});
  MattermostWebHook hook({.common = {.name = "mm"}, .host = server.url(""), .token = "tok3n-xyz"});
  const Error e = failure_of(fire(hook, "hi"));
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(e.message.find("tok3n-xyz"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("/hooks/***"), std::string::npos) << e.message;
}

TEST(MattermostHttp, ConnectionRefused_MessageHidesToken) {
  RefusingPort port;
  MattermostWebHook hook({.common = {.name = "mm"},
                          .host = "http://127.0.0.1:" + std::to_string(port.port()),
                          .token = "tok3n-xyz"});
  const Error e = failure_of(fire(hook, "hi"));
  EXPECT_EQ(e.code, ErrorCode::connect);
  EXPECT_EQ(e.message.find("tok3n-xyz"), std::string::npos) << e.message;
}

// ---------------------------------------------------------------------------------------------- Docker Hub

TEST(DockerCloudHttp, Trigger_PostsThePythonLibrarysBodyToTriggerPath) {
  HttpTestServer server;
  DockerCloudWebHook hook({.common = {.name = "d"},
                           .source = "src-1",
                           .trigger = "trg-2",
                           .source_branch = "main",
                           .base_url = server.url("")});
  const Outcome out = fire(hook, "ignored");
  ASSERT_TRUE(out.delivered()) << out.detail();
  const auto r = server.requests().at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/build/v1/source/src-1/trigger/trg-2/call/");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"source_type":"Branch","source_name":"main"})");
}

TEST(DockerCloudHttp, ServerError_MessageHidesSourceAndTrigger) {
  HttpTestServer server;
  server.respond({.status = 404, .body = "no trigger trg-2222 for src-1111"});
  DockerCloudWebHook hook(
      {.common = {.name = "d"}, .source = "src-1111", .trigger = "trg-2222", .base_url = server.url("")});
  const Error e = failure_of(fire(hook));
  EXPECT_EQ(e.message.find("src-1111"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("trg-2222"), std::string::npos) << e.message;
}

// ---------------------------------------------------------------------------------------------- FileHook

TEST(FileHookIo, Triggers_AppendOneJsonLineEachInNewFolder) {
  test::TempDir dir;
  const auto path = dir / "sub/dir/events.jsonl";
  FileHook hook({.common = {.name = "sink"}, .path = path.string(), .fsync = true});
  const Event a = Event::make("sink", nlohmann::json{{"n", 1}}, "outside");
  ASSERT_TRUE(hook.deliver(a).delivered());
  ASSERT_TRUE(hook.trigger("two").delivered());

  std::ifstream in(path);
  std::string first, second, third;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  EXPECT_FALSE(std::getline(in, third));
  auto j1 = nlohmann::json::parse(first);
  EXPECT_EQ(j1["id"], a.id);
  EXPECT_EQ(j1["realm"], "outside");
  EXPECT_EQ(j1["data"]["n"], 1);
  auto j2 = nlohmann::json::parse(second);
  EXPECT_EQ(j2["data"], "two");
  EXPECT_TRUE(j2["realm"].is_null());
}

TEST(FileHookIo, ExistingFile_IsAppendedNotTruncated) {
  test::TempDir dir;
  const auto path = dir / "events.jsonl";
  { std::ofstream(path) << "earlier line\n"; }
  FileHook hook({.common = {.name = "sink"}, .path = path.string()});
  ASSERT_TRUE(hook.trigger("x").delivered());
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "earlier line");
}

TEST(FileHookIo, PathIsADirectory_FailsWithIoError) {
  test::TempDir dir;
  FileHook hook({.common = {.name = "sink"}, .path = dir.path().string()});
  const Error e = failure_of(hook.trigger("x"));
  EXPECT_EQ(e.code, ErrorCode::io) << e.to_string();
}

TEST(FileHookIo, ManyThreads_LinesNeverInterleave) {
  test::TempDir dir;
  const auto path = dir / "events.jsonl";
  FileHook hook({.common = {.name = "sink"}, .path = path.string()});
  constexpr int kThreads = 8, kEach = 100;
  std::vector<std::thread> threads;
  const std::string filler(500, 'z');  // long lines make interleaving likely if writes were split
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) (void)hook.trigger(nlohmann::json{{"t", t}, {"i", i}, {"f", filler}});
    });
  }
  for (auto& th : threads) th.join();
  std::ifstream in(path);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << "line " << count << " is not JSON";
    ++count;
  }
  EXPECT_EQ(count, kThreads * kEach);
}

// ---------------------------------------------------------------------------------------------- factory

TEST(HttpHookConfig, OldWebhookKey_BuildsWebHook) {
  HttpTestServer server;
  auto hook = eventhook_factory("alarm", {{"type", "WebHook"}, {"webhook", server.url("/old-key")}});
  ASSERT_NE(hook, nullptr);
  EXPECT_EQ(hook->type(), "WebHook");
  EXPECT_TRUE(hook->trigger("x").delivered());
  EXPECT_EQ(server.requests().at(0).path, "/old-key");
}

TEST(HttpHookConfig, UrlAndWebhookBoth_IsConfigError) {
  EXPECT_THROW(
      eventhook_factory("alarm", {{"type", "WebHook"}, {"url", "http://a/"}, {"webhook", "http://b/"}}),
      ConfigError);
}

TEST(HttpHookConfig, NoUrl_IsConfigErrorNamingUrl) {
  try {
    (void)eventhook_factory("alarm", {{"type", "WebHook"}});
    FAIL() << "built a WebHook without a URL";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("url"), std::string::npos) << e.what();
  }
}

TEST(HttpHookConfig, HeaderWithLineBreak_IsConfigError) {
  EXPECT_THROW(eventhook_factory("alarm", {{"type", "WebHook"},
                                           {"url", "http://127.0.0.1/"},
                                           {"headers", {{"X-A", "1\r\nX-B: 2"}}}}),
               ConfigError);
}

TEST(HttpHookConfig, BadSecret_IsConfigErrorWithoutTheSecret) {
  try {
    (void)eventhook_factory(
        "alarm", {{"type", "WebHook"}, {"url", "http://127.0.0.1/"}, {"secret", "whsec_n0t-base64!"}});
    FAIL() << "accepted a bad secret";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("n0t-base64"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
}

TEST(HttpHookConfig, MattermostKeys_BuildHookThatPostsThere) {
  HttpTestServer server;
  auto hook = eventhook_factory("mm", {{"type", "MattermostWebHook"},
                                       {"host", server.url("")},
                                       {"token", "t0k"},
                                       {"channel", "ops"},
                                       {"timeout", 2}});
  ASSERT_TRUE(hook->trigger("hi").delivered());
  const auto r = server.requests().at(0);
  EXPECT_EQ(r.path, "/hooks/t0k");
  EXPECT_EQ(nlohmann::json::parse(r.body)["channel"], "ops");
}

TEST(HttpHookConfig, DockerCloudKeys_BuildHookWithDefaults) {
  HttpTestServer server;
  auto hook = eventhook_factory(
      "d", {{"type", "DockerCloudWebHook"}, {"source", "s"}, {"trigger", "t"}, {"base_url", server.url("")}});
  ASSERT_TRUE(hook->trigger().delivered());
  EXPECT_EQ(server.requests().at(0).body, R"({"source_type":"Branch","source_name":"master"})");
}

TEST(HttpHookConfig, FileHookKeys_BuildFileHook) {
  test::TempDir dir;
  auto hook =
      eventhook_factory("f", {{"type", "FileHook"}, {"path", (dir / "x.jsonl").string()}, {"fsync", true}});
  ASSERT_TRUE(hook->trigger("x").delivered());
  EXPECT_TRUE(std::filesystem::exists(dir / "x.jsonl"));
}

TEST(HttpHookConfig, SecretFile_SignsWithTheKeyInTheFile) {
  HttpTestServer server;
  test::TempDir dir;
  { std::ofstream(dir / "secret") << kSecret << "\n"; }
  auto hook = eventhook_factory(
      "alarm", {{"type", "WebHook"}, {"url", server.url("/s")}, {"secret_file", (dir / "secret").string()}});
  ASSERT_TRUE(hook->trigger("x").delivered());
  std::string verifier_output;
  EXPECT_TRUE(test::verify_with_standardwebhooks(kSecret, server.requests().at(0), &verifier_output))
      << verifier_output;
}

TEST(HttpHookConfig, TlsKeys_ReachTheClient) {
  test::TempDir dir;
  const auto certs = test::make_test_certificates(dir.path());
  HttpTestServer server(certs.cert_file, certs.key_file);
  auto hook = eventhook_factory(
      "alarm", {{"type", "WebHook"}, {"url", server.url("/tls")}, {"ca_file", certs.ca_file.string()}});
  const Outcome out = hook->trigger("x");
  EXPECT_TRUE(out.delivered()) << out.detail();
}

TEST(HttpHookConfig, MattermostTokenWithSlash_IsConfigErrorNamingToken) {
  try {
    (void)eventhook_factory(
        "mm",
        {{"type", "MattermostWebHook"}, {"host", "https://chat.example.com"}, {"token", "abc/../admin"}});
    FAIL() << "accepted a token that changes the URL path";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'token'"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("abc/../admin"), std::string::npos) << e.what();
  }
}

TEST(HttpHookConfig, UnknownKey_IsConfigError) {
  EXPECT_THROW(eventhook_factory("d", {{"type", "FileHook"}, {"path", "/tmp/x"}, {"fsnyc", true}}),
               ConfigError);
}
