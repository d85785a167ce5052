// Builder for RabbitMqHook: the keys of the Python eventhooks library (host, vhost, exchange, routing_key,
// user, password) plus url, port, tls, heartbeat, timeouts, headers, mandatory and an opt-in declare block,
// read through ConfigReader.
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "config/builtin_types.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"

namespace eventhooks::detail {
namespace {

using std::chrono::milliseconds;

HookPtr build_rabbitmq(HookCommon common, ConfigReader& keys) {
  const RabbitMqOptions defaults;
  RabbitMqOptions o;
  o.common = std::move(common);

  // A url may carry the password, so it is read like a secret (and may come from url_file).
  o.url = keys.secret("url", false);
  o.broker.host = keys.optional_string("host", defaults.broker.host);
  o.broker.port = static_cast<int>(keys.optional_int("port", 0, 0, 65535));
  o.broker.vhost = keys.optional_string("vhost", defaults.broker.vhost);
  o.broker.user = keys.optional_string("user");
  o.broker.password = keys.secret("password", false);
  o.broker.tls = keys.optional_bool("tls", false);
  o.broker.tls_options = keys.tls();

  o.exchange = keys.optional_string("exchange", defaults.exchange);
  o.routing_key = keys.optional_string("routing_key", defaults.routing_key);
  o.headers = keys.string_map("headers");
  o.mandatory = keys.optional_bool("mandatory", false);
  o.app_id = keys.optional_string("app_id", defaults.app_id);

  o.heartbeat = std::chrono::seconds(keys.optional_int("heartbeat", defaults.heartbeat.count(), 0, 3600));
  o.timeouts = keys.timeouts(defaults.timeouts);
  o.network = keys.network();

  if (keys.has("declare")) {
    ConfigReader d = keys.nested("declare");
    RabbitMqDeclare declare;
    declare.exchange = d.optional_string("exchange");
    declare.exchange_type = d.optional_string("exchange_type", declare.exchange_type);
    declare.queue = d.optional_string("queue");
    declare.bind = d.optional_bool("bind", true);
    declare.durable = d.optional_bool("durable", true);
    d.finish();
    if (declare.exchange.empty() && declare.queue.empty())
      keys.fail("declare", "needs an `exchange` or a `queue`");
    const auto& t = declare.exchange_type;
    if (t != "direct" && t != "fanout" && t != "topic" && t != "headers") {
      keys.fail("declare", "exchange_type must be direct, fanout, topic or headers");
    }
    o.declare = std::move(declare);
  }

  try {
    return std::make_shared<RabbitMqHook>(std::move(o));
  } catch (const ConfigError& e) {
    // The url may come from url_file, the password from password_file: point at the key that was written.
    for (const char* key : {"url", "password"}) {
      if (e.key() == key && keys.has(std::string(key) + "_file"))
        keys.fail(std::string(key) + "_file", e.problem());
    }
    throw;
  }
}

}  // namespace

void register_rabbitmq_hook_type(HookRegistry& registry) {
  registry.add("RabbitMqHook", build_rabbitmq);
}

}  // namespace eventhooks::detail
