// The SSRF guard (docs/network.md) on real connections: HTTP hooks against the in-process server (names,
// redirects, a proxy), SimpleEmailHook against the SMTP test server, AwsSesEmailHook against
// aws-ses-v2-local, RabbitMqHook (plain and TLS) against rabbitmq-server, all started by
// scripts/test-servers.sh. A refusal is a permanent `forbidden` error naming the address, and nothing
// reaches the server.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <string>

#include "eventhooks/hooks/email.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "eventhooks/http.hpp"
#include "eventhooks/network.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

namespace eventhooks {
namespace {

using namespace std::chrono_literals;
using test::require_env;
using test::require_port;

NetworkPolicy deny_private() {
  return NetworkPolicy(NetworkRules{.deny = {}, .allow = {}, .deny_private = true});
}

NetworkPolicy deny_private_but_allow(const std::string& cidr) {
  return NetworkPolicy(NetworkRules{.deny = {}, .allow = {cidr}, .deny_private = true});
}

void expect_forbidden(const Outcome& out, const std::string& address) {
  ASSERT_TRUE(out.failed()) << out.detail();
  ASSERT_TRUE(out.error.has_value());
  EXPECT_EQ(out.error->code, ErrorCode::forbidden) << out.detail();
  EXPECT_FALSE(out.error->retryable) << out.detail();
  EXPECT_NE(out.error->message.find("connection to " + address + " ("), std::string::npos) << out.detail();
}

// `localhost` may resolve to ::1 first; either loopback address is the right one to name.
void expect_forbidden_loopback(const Outcome& out) {
  const bool v6 = out.error && out.error->message.find("connection to ::1 (") != std::string::npos;
  expect_forbidden(out, v6 ? "::1" : "127.0.0.1");
}

NetworkPolicy deny_private_but_allow_loopback() {
  return NetworkPolicy(NetworkRules{.deny = {}, .allow = {"127.0.0.1/32", "::1"}, .deny_private = true});
}

WebHook webhook(const std::string& url, NetworkPolicy network, bool follow_redirects = false) {
  return WebHook(WebHookOptions{.common = {.name = "guarded"},
                                .url = url,
                                .http = {.timeouts = {.connect = 2s, .total = 10s},
                                         .follow_redirects = follow_redirects,
                                         .network = std::move(network)}});
}

// A listening socket that never accepts: after a refused attempt, accept() finding nothing proves that no
// TCP connection was made (the kernel completes handshakes into the backlog without accept()).
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }
  bool connection_waiting() const {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c >= 0) ::close(c);
    return c >= 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// --- HTTP --------------------------------------------------------------------------------------------------

TEST(NetworkGuard_Http, NameResolvingToLoopback_RefusedUnderDenyPrivate_NothingSent) {
  test::HttpTestServer server;
  auto hook = webhook("http://localhost:" + std::to_string(server.port()) + "/hook", deny_private());
  expect_forbidden_loopback(hook.trigger("secret payload"));
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(NetworkGuard_Http, NameResolvingToLoopback_AllowedByAllow) {
  test::HttpTestServer server;
  auto hook = webhook("http://localhost:" + std::to_string(server.port()) + "/hook",
                      deny_private_but_allow("127.0.0.1/32"));
  const Outcome out = hook.trigger("hello");
  ASSERT_TRUE(out.delivered()) << out.detail();
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests()[0].body, R"("hello")");  // a string event, sent as JSON
}

TEST(NetworkGuard_Http, RefusedAddress_NoTcpConnectionIsMade) {
  SilentListener listener;
  auto hook = webhook("http://127.0.0.1:" + std::to_string(listener.port()) + "/", deny_private());
  expect_forbidden(hook.trigger("x"), "127.0.0.1");
  EXPECT_FALSE(listener.connection_waiting());
}

TEST(NetworkGuard_Http, MetadataAddress_RefusedByDefaultBeforeConnecting) {
  // Nothing listens there: the answer is `forbidden`, not a connect error or timeout, because the address
  // is refused before a socket is opened.
  auto hook = webhook("http://169.254.169.254/latest/meta-data/", NetworkPolicy());
  expect_forbidden(hook.trigger("x"), "169.254.169.254");
}

TEST(NetworkGuard_Http, RedirectToADeniedAddress_RefusedWhenFollowing) {
  test::HttpTestServer server;
  server.respond("/start", test::CannedResponse{
                               .status = 302,
                               .headers = {{"Location", "http://169.254.169.254/latest/meta-data/"}},
                               .body = "",
                           });
  auto hook = webhook(server.url("/start"), NetworkPolicy(), /*follow_redirects=*/true);
  expect_forbidden(hook.trigger("x"), "169.254.169.254");
  EXPECT_EQ(server.request_count(), 1u);  // the first hop was allowed
}

TEST(NetworkGuard_Http, RedirectToAnAllowedAddress_Followed) {
  test::HttpTestServer target;
  test::HttpTestServer server;
  server.respond("/start", test::CannedResponse{
                               .status = 307, .headers = {{"Location", target.url("/end")}}, .body = ""});
  auto hook = webhook(server.url("/start"), NetworkPolicy(), /*follow_redirects=*/true);
  const Outcome out = hook.trigger("followed");
  ASSERT_TRUE(out.delivered()) << out.detail();
  ASSERT_EQ(target.request_count(), 1u);
  EXPECT_EQ(target.requests()[0].body, R"("followed")");
}

TEST(NetworkGuard_Http, RedirectNotFollowedByDefault) {
  test::HttpTestServer server;
  server.respond("/start", test::CannedResponse{
                               .status = 302,
                               .headers = {{"Location", "http://169.254.169.254/latest/meta-data/"}},
                               .body = "",
                           });
  auto hook = webhook(server.url("/start"), NetworkPolicy());
  const Outcome out = hook.trigger("x");
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::http_status) << out.detail();
  EXPECT_NE(out.error->message.find("not followed"), std::string::npos) << out.detail();
}

TEST(NetworkGuard_Http, ThroughAProxy_TheProxysAddressIsJudged) {
  test::HttpTestServer proxy;  // answers whatever it is asked, like a proxy would relay it
  HttpOptions through_proxy{.timeouts = {.connect = 2s, .total = 10s}};
  through_proxy.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());

  // The target is a metadata address, but the connection goes to the proxy, which is allowed.
  HttpClient allowed(through_proxy);
  auto sent = allowed.perform(HttpRequest{.url = "http://169.254.169.254/latest/meta-data/"});
  ASSERT_TRUE(sent.ok()) << sent.error().to_string();
  EXPECT_EQ(proxy.request_count(), 1u);

  through_proxy.network = deny_private();  // now the proxy's own address is refused
  HttpClient refused(through_proxy);
  auto r = refused.perform(HttpRequest{.url = "http://example.com/"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::forbidden) << r.error().to_string();
  EXPECT_NE(r.error().message.find("connection to 127.0.0.1 ("), std::string::npos) << r.error().message;
  EXPECT_EQ(proxy.request_count(), 1u);
}

TEST(NetworkGuard_Http, AsyncDelivery_RefusedTheSameWay) {
  test::HttpTestServer server;
  auto hook = webhook(server.url("/hook"), deny_private());
  std::promise<Outcome> done;
  hook.deliver_async(Event::make("e", "x"), [&](Outcome o) { done.set_value(std::move(o)); });
  expect_forbidden(done.get_future().get(), "127.0.0.1");
  EXPECT_EQ(server.request_count(), 0u);
}

// --- SMTP and SES ------------------------------------------------------------------------------------------

SimpleEmailOptions smtp_options(NetworkPolicy network) {
  SimpleEmailOptions o{.common = {.name = "mail"}};
  o.host = require_env("EVENTHOOKS_SMTP_HOST");
  o.port = require_port("EVENTHOOKS_SMTP_PLAIN_PORT");
  o.security = SmtpSecurity::plain;
  o.email = {.sender = "alerts@example.com", .sender_name = "Alert Bot", .recipients = {"ops@example.com"}};
  o.timeouts = {.connect = 5s, .total = 20s};
  o.network = std::move(network);
  return o;
}

TEST(NetworkGuard_Smtp, RefusedUnderDenyPrivate_WorksWithAllow) {
  SimpleEmailHook refused(smtp_options(deny_private()));
  expect_forbidden_loopback(refused.trigger("guarded mail"));

  SimpleEmailHook allowed(smtp_options(deny_private_but_allow_loopback()));
  const Outcome ok = allowed.trigger("allowed mail");
  EXPECT_TRUE(ok.delivered()) << ok.detail();
}

AwsSesOptions ses_options(NetworkPolicy network) {
  AwsSesOptions o;
  o.common.name = "ses";
  o.email = {.sender = "alerts@example.com", .sender_name = "Alert Bot", .recipients = {"ops@example.com"}};
  o.region = "eu-west-1";
  o.endpoint_url = require_env("EVENTHOOKS_SES_URL");
  o.access_key_id = "AKIDEXAMPLE";
  o.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  o.http.timeouts = {.connect = 5s, .total = 10s};
  o.http.network = std::move(network);
  return o;
}

TEST(NetworkGuard_Ses, RefusedUnderDenyPrivate_WorksWithAllow) {
  AwsSesEmailHook refused(ses_options(deny_private()));
  expect_forbidden_loopback(refused.trigger("guarded"));

  AwsSesEmailHook allowed(ses_options(deny_private_but_allow_loopback()));
  const Outcome ok = allowed.trigger("allowed");
  EXPECT_TRUE(ok.delivered()) << ok.detail();
}

// --- AMQP --------------------------------------------------------------------------------------------------

RabbitMqOptions amqp_options(bool tls, NetworkPolicy network) {
  RabbitMqOptions o{.common = {.name = "rmq"},
                    .broker = {.host = tls ? "localhost" : require_env("EVENTHOOKS_AMQP_HOST"),
                               .port = require_port(tls ? "EVENTHOOKS_AMQPS_PORT" : "EVENTHOOKS_AMQP_PORT"),
                               .user = require_env("EVENTHOOKS_AMQP_USER"),
                               .password = require_env("EVENTHOOKS_AMQP_PASSWORD"),
                               .tls = tls},
                    .routing_key = "eventhooks-network-guard-test",  // no queue: the broker acks and drops it
                    .timeouts = {.connect = 5s, .total = 10s}};
  if (tls) o.broker.tls_options.ca_file = require_env("EVENTHOOKS_AMQP_CA_FILE");
  o.network = std::move(network);
  return o;
}

TEST(NetworkGuard_Amqp, RefusedUnderDenyPrivate_WorksWithAllow) {
  RabbitMqHook refused(amqp_options(false, deny_private()));
  expect_forbidden_loopback(refused.trigger("guarded"));

  RabbitMqHook allowed(amqp_options(false, deny_private_but_allow_loopback()));
  const Outcome ok = allowed.trigger("allowed");
  EXPECT_TRUE(ok.delivered()) << ok.detail();
}

TEST(NetworkGuard_Amqp, Tls_RefusedBeforeTheHandshake_WorksWithAllow) {
  RabbitMqHook refused(amqp_options(true, deny_private()));
  expect_forbidden_loopback(refused.trigger("guarded"));

  RabbitMqHook allowed(amqp_options(true, deny_private_but_allow_loopback()));
  const Outcome ok = allowed.trigger("allowed");
  EXPECT_TRUE(ok.delivered()) << ok.detail();
}

}  // namespace
}  // namespace eventhooks
