// RabbitMqHook's errors against the test broker (scripts/servers/rabbitmq.sh): the password is masked where
// it stands, and nothing else of the message is touched.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "eventhooks/event.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"
#include "test_env.hpp"

namespace eventhooks {
namespace {

using namespace std::chrono_literals;

RabbitMqOptions broker_options() {
  return RabbitMqOptions{.common = {.name = "rmq"},
                         .broker = {.host = test::require_env("EVENTHOOKS_AMQP_HOST"),
                                    .port = test::require_port("EVENTHOOKS_AMQP_PORT"),
                                    .user = test::require_env("EVENTHOOKS_AMQP_USER"),
                                    .password = test::require_env("EVENTHOOKS_AMQP_PASSWORD")},
                         .routing_key = "eh-redaction",
                         .timeouts = {.connect = 5s, .total = 10s}};
}

// A refused login with a one-letter password: the message keeps the host and the scheme intact.
TEST(RabbitMq_Redaction, WrongShortPassword_HostAndSchemeIntact) {
  for (const std::string password : {"1", "p"}) {
    RabbitMqOptions o = broker_options();
    o.broker.password = password;
    RabbitMqHook hook(o);
    const Outcome out = hook.trigger("x");
    ASSERT_TRUE(out.failed());
    EXPECT_EQ(out.error->code, ErrorCode::auth) << out.detail();
    const std::string where =
        "amqp://" + o.broker.user + ":***@" + o.broker.host + ":" + std::to_string(o.broker.port) + "/";
    EXPECT_NE(out.error->message.find(where), std::string::npos)
        << "password '" << password << "': " << out.error->message;
  }
}

// The broker quotes the unknown exchange's name; when that name is the password, it is masked there, and the
// rest of the broker's text is kept.
TEST(RabbitMq_Redaction, BrokerQuotesThePassword_MaskedWhereItStands) {
  RabbitMqOptions o = broker_options();
  o.exchange = o.broker.password;
  RabbitMqHook hook(o);
  const Outcome out = hook.trigger("x");
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->status, 404) << out.detail();
  EXPECT_NE(out.error->message.find("NOT_FOUND - no exchange '***' in vhost"), std::string::npos)
      << out.error->message;
}

}  // namespace
}  // namespace eventhooks
