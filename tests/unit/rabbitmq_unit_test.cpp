// RabbitMqHook without a broker: amqp:// URL parsing, redaction, rendering, construction errors, config keys.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "eventhooks/config.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"

namespace eventhooks {
namespace {

RabbitMqOptions minimal() {
  return RabbitMqOptions{.common = {.name = "rmq"}, .broker = {.user = "bob", .password = "s3cret-pw"}};
}

TEST(AmqpUrl_Parse, FullUrl_AllPartsRead) {
  auto ep = parse_amqp_url("amqp://bob:pw@broker.example:5673/prod");
  ASSERT_TRUE(ep.ok()) << ep.error().message;
  EXPECT_EQ(ep->host, "broker.example");
  EXPECT_EQ(ep->port, 5673);
  EXPECT_EQ(ep->vhost, "prod");
  EXPECT_EQ(ep->user, "bob");
  EXPECT_EQ(ep->password, "pw");
  EXPECT_FALSE(ep->tls);
}

TEST(AmqpUrl_Parse, AmqpsWithoutPort_TlsOnDefaultPort5671) {
  auto ep = parse_amqp_url("amqps://u:p@host");
  ASSERT_TRUE(ep.ok());
  EXPECT_TRUE(ep->tls);
  EXPECT_EQ(ep->port, 0);
  EXPECT_EQ(ep->effective_port(), 5671);
}

TEST(AmqpUrl_Parse, NoPath_DefaultVhostSlash) {
  auto ep = parse_amqp_url("amqp://u:p@host:5672");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->vhost, "/");
  EXPECT_EQ(ep->effective_port(), 5672);
}

TEST(AmqpUrl_Parse, EncodedSlashVhost_IsSlash) {
  auto ep = parse_amqp_url("amqp://u:p@host/%2F");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->vhost, "/");
}

TEST(AmqpUrl_Parse, PercentEncodedCredentials_Decoded) {
  auto ep = parse_amqp_url("amqp://us%40er:p%3Aw%2Fd@host/v%20h");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->user, "us@er");
  EXPECT_EQ(ep->password, "p:w/d");
  EXPECT_EQ(ep->vhost, "v h");
}

TEST(AmqpUrl_Parse, Ipv6Host_BracketsRemoved) {
  auto ep = parse_amqp_url("amqp://u:p@[::1]:5999/");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 5999);
}

TEST(AmqpUrl_Parse, WrongScheme_ConfigErrorWithoutPassword) {
  auto ep = parse_amqp_url("http://u:topsecret@host/");
  ASSERT_FALSE(ep.ok());
  EXPECT_EQ(ep.error().code, ErrorCode::config);
  EXPECT_EQ(ep.error().message.find("topsecret"), std::string::npos);
}

// Found by fuzz/amqp_url_fuzzer: the text before "://" was quoted as the scheme even when it held the
// userinfo.
TEST(AmqpUrl_Parse, NoSchemeButLaterColonSlashSlash_ErrorWithoutPassword) {
  for (const char* url :
       {"u:topsecret@host/?next=amqp://x", "u:topsecret@amqp://host/", "(:topsecret@qp://h"}) {
    auto ep = parse_amqp_url(url);
    ASSERT_FALSE(ep.ok()) << url;
    EXPECT_NE(ep.error().message.find("scheme"), std::string::npos) << url;
    EXPECT_EQ(ep.error().message.find("topsecret"), std::string::npos) << ep.error().message;
  }
  auto http = parse_amqp_url("http://u:topsecret@host/");
  ASSERT_FALSE(http.ok());
  EXPECT_NE(http.error().message.find("(got 'http')"), std::string::npos) << http.error().message;
}

TEST(AmqpUrl_Parse, BadPort_ConfigErrorWithoutPassword) {
  auto ep = parse_amqp_url("amqp://u:topsecret@host:99999/");
  ASSERT_FALSE(ep.ok());
  EXPECT_NE(ep.error().message.find("port"), std::string::npos);
  EXPECT_EQ(ep.error().message.find("topsecret"), std::string::npos);
}

TEST(AmqpUrl_Parse, MalformedEscapeInPassword_ErrorNamesPartNotValue) {
  auto ep = parse_amqp_url("amqp://u:top%zzsecret@host/");
  ASSERT_FALSE(ep.ok());
  EXPECT_NE(ep.error().message.find("password"), std::string::npos);
  EXPECT_EQ(ep.error().message.find("top%zz"), std::string::npos);
}

TEST(AmqpUrl_Parse, EmptyHost_Error) {
  EXPECT_FALSE(parse_amqp_url("amqp://u:p@:5672/").ok());
}

TEST(AmqpUrl_Parse, QueryString_Error) {
  EXPECT_FALSE(parse_amqp_url("amqp://u:p@h/v?heartbeat=5").ok());
}

TEST(AmqpUrl_Redact, PasswordMasked_RestKept) {
  AmqpEndpoint ep{.host = "h", .port = 5672, .vhost = "/", .user = "bob", .password = "pw123"};
  EXPECT_EQ(ep.redacted_url(), "amqp://bob:***@h:5672/%2F");
}

TEST(RabbitMqHook_Construct, MissingPassword_ConfigError) {
  auto o = minimal();
  o.broker.password.clear();
  EXPECT_THROW(RabbitMqHook{o}, ConfigError);
}

TEST(RabbitMqHook_Construct, MissingUser_ConfigError) {
  auto o = minimal();
  o.broker.user.clear();
  EXPECT_THROW(RabbitMqHook{o}, ConfigError);
}

TEST(RabbitMqHook_Construct, CredentialsFromUrl_Accepted) {
  RabbitMqHook hook({.common = {.name = "rmq"}, .url = "amqps://bob:pw@mq.example/prod"});
  EXPECT_EQ(hook.endpoint().user, "bob");
  EXPECT_EQ(hook.endpoint().vhost, "prod");
  EXPECT_TRUE(hook.endpoint().tls);
}

TEST(RabbitMqHook_Construct, MalformedUrl_ConfigErrorWithoutPassword) {
  try {
    RabbitMqHook hook({.common = {.name = "rmq"}, .url = "amqp://bob:hunter2@host:notaport/"});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("rmq"), std::string::npos);
  }
}

TEST(RabbitMqHook_Construct, TlsOnWithPlainAmqpUrl_ConfigError) {
  RabbitMqOptions o{.common = {.name = "rmq"}, .url = "amqp://bob:pw@mq.example/prod"};
  o.broker.tls = true;
  EXPECT_THROW(RabbitMqHook{o}, ConfigError);
}

TEST(RabbitMqHook_Describe, PasswordMasked) {
  RabbitMqHook hook(minimal());
  const std::string d = hook.describe();
  EXPECT_EQ(d.find("s3cret-pw"), std::string::npos);
  EXPECT_NE(d.find("amqp://bob:***@localhost:5672/%2F"), std::string::npos);
  EXPECT_NE(d.find("example_queue"), std::string::npos);
}

TEST(RabbitMqHook_Describe, UrlPasswordMasked) {
  RabbitMqHook hook({.common = {.name = "rmq"}, .url = "amqp://bob:from-url-pw@h:1234/v"});
  EXPECT_EQ(hook.describe().find("from-url-pw"), std::string::npos);
}

TEST(RabbitMqHook_Render, Object_JsonIndentedByTwoWithJsonContentType) {
  RabbitMqHook hook(minimal());
  auto m = hook.render(Event::make("rmq", nlohmann::json{{"a", 1}}));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body, "{\n  \"a\": 1\n}");
  EXPECT_EQ(m->content_type, "application/json");
}

TEST(RabbitMqHook_Render, String_AsIsWithTextContentType) {
  RabbitMqHook hook(minimal());
  auto m = hook.render(Event::make("rmq", "disk full"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->body, "disk full");
  EXPECT_EQ(m->content_type, "text/plain");
}

TEST(RabbitMqHook_Render, Properties_PersistentWithEventIdAndThePythonLibrarysDefaults) {
  RabbitMqHook hook(minimal());
  const Event e = Event::make("rmq", "x");
  auto m = hook.render(e);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->persistent);
  EXPECT_EQ(m->message_id, e.id);
  EXPECT_EQ(m->timestamp, e.created_at);
  EXPECT_EQ(m->app_id, "eventhooks");
  EXPECT_EQ(m->exchange, "");
  EXPECT_EQ(m->routing_key, "example_queue");
}

TEST(RabbitMqHook_Render, EmptyData_InvalidInput) {
  RabbitMqHook hook(minimal());
  auto m = hook.render(Event::make("rmq", ""));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::invalid_input);
}

TEST(RabbitMqHook_Trigger, EmptyData_FailedWithoutConnecting) {
  // Port 1 on loopback: were it to connect, the error would be `connect`, not `invalid_input`.
  auto o = minimal();
  o.broker.host = "127.0.0.1";
  o.broker.port = 1;
  RabbitMqHook hook(o);
  const Outcome out = hook.trigger(Payload{});
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::invalid_input);
}

// A loopback port that nothing listens on: bound, then closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The password is masked where it stands (the URL's userinfo), not wherever its characters occur: a password
// "1" must leave 127.0.0.1 alone, and "p" the scheme amqp.
TEST(RabbitMqHook_Errors, ShortPassword_MaskedInUserinfoOnly) {
  for (const std::string password : {"1", "p"}) {
    RabbitMqOptions o{
        .common = {.name = "rmq"},
        .broker = {.host = "127.0.0.1", .port = closed_port(), .user = "bob", .password = password},
        .timeouts = {.connect = std::chrono::seconds(2)}};
    RabbitMqHook hook(o);
    const Outcome out = hook.trigger("x");
    ASSERT_TRUE(out.failed()) << out.detail();
    const std::string expected = "amqp://bob:***@127.0.0.1:" + std::to_string(o.broker.port) + "/";
    EXPECT_NE(out.error->message.find(expected), std::string::npos)
        << "password '" << password << "': " << out.error->message;
  }
}

TEST(RabbitMqConfig_Build, PythonLibrarysKeys_DefaultsApplied) {
  auto hook =
      eventhook_factory("rmq", {{"type", "RabbitMqHook"}, {"host", "mq"}, {"user", "u"}, {"password", "p"}});
  auto* rmq = dynamic_cast<RabbitMqHook*>(hook.get());
  ASSERT_NE(rmq, nullptr);
  EXPECT_EQ(rmq->options().broker.vhost, "/");
  EXPECT_EQ(rmq->options().exchange, "");
  EXPECT_EQ(rmq->options().routing_key, "example_queue");
}

TEST(RabbitMqConfig_Build, MissingPassword_ConfigErrorNamesKey) {
  try {
    (void)eventhook_factory("rmq", {{"type", "RabbitMqHook"}, {"host", "mq"}, {"user", "u"}});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("password"), std::string::npos) << e.what();
  }
}

TEST(RabbitMqConfig_Build, MissingUser_ConfigError) {
  EXPECT_THROW((void)eventhook_factory("rmq", {{"type", "RabbitMqHook"}, {"password", "p"}}), ConfigError);
}

TEST(RabbitMqConfig_Build, DeclareBlock_Read) {
  auto hook = eventhook_factory(
      "rmq", {{"type", "RabbitMqHook"},
              {"user", "u"},
              {"password", "p"},
              {"declare", {{"queue", "q1"}, {"exchange", "ex"}, {"exchange_type", "topic"}}}});
  auto* rmq = dynamic_cast<RabbitMqHook*>(hook.get());
  ASSERT_NE(rmq, nullptr);
  ASSERT_TRUE(rmq->options().declare.has_value());
  EXPECT_EQ(rmq->options().declare->queue, "q1");
  EXPECT_EQ(rmq->options().declare->exchange_type, "topic");
}

TEST(RabbitMqConfig_Build, DeclareUnknownKey_ConfigError) {
  EXPECT_THROW(
      (void)eventhook_factory(
          "rmq",
          {{"type", "RabbitMqHook"}, {"user", "u"}, {"password", "p"}, {"declare", {{"queuee", "q1"}}}}),
      ConfigError);
}

TEST(RabbitMqConfig_Build, UnknownKey_ConfigError) {
  EXPECT_THROW((void)eventhook_factory(
                   "rmq", {{"type", "RabbitMqHook"}, {"user", "u"}, {"password", "p"}, {"exchnage", "x"}}),
               ConfigError);
}

TEST(RabbitMqConfig_Build, BadUrl_ConfigErrorWithoutPassword) {
  try {
    (void)eventhook_factory("rmq", {{"type", "RabbitMqHook"}, {"url", "amqp://u:zz-secret-zz@h:0x/"}});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("zz-secret-zz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("url"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace eventhooks
