// RabbitMqHook: the RabbitMQ hook of the Python eventhooks library — publishes each event as a persistent
// AMQP 0-9-1 message and reports Delivered only after the broker's publisher confirm. Thread-safe like Hook:
// all triggers of one hook share one connection and channel, and concurrent triggers are pipelined (many
// unconfirmed messages in flight).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eventhooks/hook.hpp"
#include "eventhooks/http.hpp"
#include "eventhooks/network.hpp"
#include "eventhooks/timeouts.hpp"
#include "eventhooks/tls.hpp"

namespace eventhooks {

namespace detail {
class AmqpPublisher;
}

// Where a RabbitMQ broker is and how to log in. Value type.
struct AmqpEndpoint {
  std::string host = "localhost";
  int port = 0;  // 0 = 5672, or 5671 with TLS
  std::string vhost = "/";
  std::string user;
  std::string password;  // secret: never logged, never in an error or describe()
  bool tls = false;
  TlsOptions tls_options;

  int effective_port() const noexcept { return port != 0 ? port : (tls ? 5671 : 5672); }
  // "amqps://user:***@host:5671/vhost" — the password masked, the vhost percent-encoded as in a URL.
  EVENTHOOKS_EXPORT std::string redacted_url() const;
};

// Parses amqp://user:password@host:port/vhost and amqps://... (RFC 3986, percent-decoding user, password and
// vhost; "[::1]" hosts; no path or "/" = vhost "/"; "/%2F" = vhost "/"). The password never appears in
// errors. Keys it does not set (TLS files) are left as in `base`.
EVENTHOOKS_EXPORT Result<AmqpEndpoint> parse_amqp_url(std::string_view url, AmqpEndpoint base = {});

// What to declare on every (re)connection, when asked: nothing is declared by default (as in the
// Python eventhooks library).
struct RabbitMqDeclare {
  std::string exchange;                  // declare this exchange (empty: none)
  std::string exchange_type = "direct";  // direct | fanout | topic | headers
  std::string queue;                     // declare this queue (empty: none) ...
  bool bind = true;                      // ... and bind it to `exchange` with the hook's routing key
  bool durable = true;                   // both survive a broker restart
};

struct RabbitMqOptions {
  HookCommon common;

  // The broker: `broker`, or `url` (amqp://user:password@host:port/vhost or amqps://...; secret) over it:
  // what the URL sets wins, what it leaves out (user, password, port, TLS files) comes from `broker`.
  // user and password are required, as in the Python eventhooks library.
  AmqpEndpoint broker;
  std::string url;

  std::string exchange;  // "" = the default exchange
  std::string routing_key = "example_queue";
  Headers headers;         // AMQP message headers (string values)
  bool mandatory = false;  // unroutable messages come back: Failed instead of dropped
  std::string app_id = "eventhooks";
  std::optional<RabbitMqDeclare> declare;

  std::chrono::seconds heartbeat{30};  // 0 = none
  // connect: TCP + TLS + AMQP login; total: one publish, until the broker's confirm.
  Timeouts timeouts{.connect = std::chrono::seconds(5), .total = std::chrono::seconds(10)};
  // Which addresses the hook may connect to: the broker's address is judged once connected, before the
  // first byte (docs/network.md, "RabbitMQ").
  NetworkPolicy network;
};

// One AMQP message as this hook would publish it (no I/O). Value type.
struct AmqpMessage {
  std::string exchange;
  std::string routing_key;
  std::string body;
  std::string content_type;  // application/json for objects, text/plain for strings
  std::string message_id;    // the event's id: the idempotency key, the same across retries
  std::chrono::system_clock::time_point timestamp{};
  std::string app_id;
  std::string type;  // the event's name
  Headers headers;
  bool mandatory = false;
  bool persistent = true;  // delivery_mode 2
  std::string expiration;  // per-message TTL in milliseconds, as text ("1500"); empty = none
};

// Body: object → JSON indented by 2, string as is; empty data → invalid_input, nothing sent (as in
// the Python eventhooks library).
class EVENTHOOKS_EXPORT RabbitMqHook final : public Hook {
 public:
  // Throws ConfigError when user or password is missing or `url` is malformed. Does not connect: the first
  // trigger does, so that a hook can be built while the broker is down.
  explicit RabbitMqHook(RabbitMqOptions options);
  ~RabbitMqHook() override;
  std::string_view type() const noexcept override { return "RabbitMqHook"; }
  std::string describe() const override;
  const RabbitMqOptions& options() const noexcept { return options_; }
  // The broker this hook publishes to (`url` over `broker`).
  const AmqpEndpoint& endpoint() const noexcept { return endpoint_; }
  bool delivers_async() const noexcept override { return true; }

  // The message this hook would publish for `event`; no I/O. Used by --dry-run and tests.
  Result<AmqpMessage> render(const Event& event) const;

 protected:
  Result<Receipt> send(const Event& event) override;
  // Pipelined: returns once the message is queued for the I/O thread; `done` runs on its confirm.
  void send_async(const Event& event, std::function<void(Result<Receipt>)> done) override;

 private:
  RabbitMqOptions options_;
  AmqpEndpoint endpoint_;
  std::shared_ptr<detail::AmqpPublisher> publisher_;
};

}  // namespace eventhooks
