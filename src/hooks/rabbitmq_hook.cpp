// RabbitMqHook: formats an event as an AMQP message; the publishing (confirms, reconnects) is
// AmqpPublisher's.
#include "eventhooks/hooks/rabbitmq.hpp"

#include "eventhooks/redact.hpp"
#include "transport/amqp_publisher.hpp"

namespace eventhooks {
namespace {

AmqpEndpoint endpoint_of(const RabbitMqOptions& o, const std::string& who) {
  if (o.url.empty()) return o.broker;
  auto parsed = parse_amqp_url(o.url, o.broker);
  if (!parsed) throw ConfigError(who, "url", parsed.error().message);
  AmqpEndpoint from_url = std::move(parsed).value();
  // Silently dropping TLS because the URL says amqp:// would send the password in clear text.
  if (o.broker.tls && !from_url.tls)
    throw ConfigError(who, "url", "tls is on but the url is amqp://; write amqps://");
  // What the URL leaves out comes from the separate keys.
  if (from_url.user.empty()) from_url.user = o.broker.user;
  if (from_url.password.empty()) from_url.password = o.broker.password;
  if (from_url.port == 0) from_url.port = o.broker.port;
  return from_url;
}

}  // namespace

RabbitMqHook::RabbitMqHook(RabbitMqOptions options)
    : Hook(options.common),
      options_(std::move(options)),
      endpoint_(endpoint_of(options_, "RabbitMqHook '" + name() + "'")) {
  const std::string who = "RabbitMqHook '" + name() + "'";
  // Where the broker came from a URL, that is the key to fix.
  const bool from_url = !options_.url.empty();
  // The Python eventhooks library refuses to build a RabbitMQ hook without credentials; so do we.
  if (endpoint_.user.empty()) throw ConfigError(who, from_url ? "url" : "user", "a user is required");
  if (endpoint_.password.empty())
    throw ConfigError(who, from_url ? "url" : "password", "a password is required");
  if (endpoint_.host.empty()) throw ConfigError(who, from_url ? "url" : "host", "a host is required");
  if (endpoint_.port < 0 || endpoint_.port > 65535) throw ConfigError(who, "port", "must be 1..65535");
  if (options_.timeouts.total.count() <= 0) throw ConfigError(who, "timeout", "must be more than 0");
  if (options_.timeouts.connect.count() <= 0)
    throw ConfigError(who, "connect_timeout", "must be more than 0");
  if (options_.heartbeat.count() < 0) throw ConfigError(who, "heartbeat", "must not be negative");
  if (options_.declare && options_.declare->exchange.empty() && options_.declare->queue.empty()) {
    throw ConfigError(who, "declare", "needs an exchange or a queue");
  }
  publisher_ = std::make_shared<detail::AmqpPublisher>(detail::AmqpPublisherOptions{
      .endpoint = endpoint_,
      .alternates = {},
      .heartbeat = options_.heartbeat,
      .connect_timeout = options_.timeouts.connect,
      .timeout = options_.timeouts.total,
      .declare = options_.declare,
      .declare_routing_key = options_.routing_key,
      .log_name = who,
      .network = options_.network,
  });
}

RabbitMqHook::~RabbitMqHook() = default;

std::string RabbitMqHook::describe() const {
  return "RabbitMqHook '" + name() + "' -> " + endpoint_.redacted_url() + " exchange '" + options_.exchange +
         "' routing key '" + options_.routing_key + "'";
}

Result<AmqpMessage> RabbitMqHook::render(const Event& event) const {
  if (event.payload.empty()) {
    return Error::permanent(ErrorCode::invalid_input, "RabbitMqHook '" + name() + "': no data to publish");
  }
  AmqpMessage m;
  m.exchange = options_.exchange;
  m.routing_key = options_.routing_key;
  m.body = event.payload.to_text();
  m.content_type = event.payload.is_json() ? "application/json" : "text/plain";
  m.message_id = event.id;
  m.timestamp = event.created_at;
  m.app_id = options_.app_id;
  m.type = event.name;
  m.headers = options_.headers;
  m.mandatory = options_.mandatory;
  m.persistent = true;
  return m;
}

Result<Receipt> RabbitMqHook::send(const Event& event) {
  auto message = render(event);
  if (!message) return message.error();
  return publisher_->publish(message.value());
}

void RabbitMqHook::send_async(const Event& event, std::function<void(Result<Receipt>)> done) {
  auto message = render(event);
  if (!message) {
    done(message.error());
    return;
  }
  publisher_->publish_async(message.value(), std::move(done));
}

}  // namespace eventhooks
