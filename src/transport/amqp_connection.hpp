// Opening a rabbitmq-c connection (TCP or TLS, login, one channel) and classifying rabbitmq-c's errors:
// shared by AmqpPublisher and AmqpConsumer. A connection is not thread-safe: its owner uses it from one
// thread.
#pragma once

#include <amqp.h>

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "eventhooks/hooks/rabbitmq.hpp"
#include "eventhooks/network.hpp"
#include "eventhooks/outcome.hpp"

namespace eventhooks::detail {

amqp_bytes_t amqp_bytes_of(const std::string& s);
std::string string_of(amqp_bytes_t b);
timeval to_timeval(std::chrono::milliseconds ms);
// How long to wait before the next connection attempt after `failures` (>= 1) failed ones in a row: 0.1 s
// doubling to 5 s, with +-20 % jitter so that many hooks or workers do not reconnect in step.
std::chrono::milliseconds reconnect_backoff(int failures, std::mt19937& rng);

// rabbitmq-c status codes of socket_open / frame I/O, classified as docs/architecture.md asks.
Error error_from_status(int status, const std::string& what);
// A broker's connection.close / channel.close reply code and text (already masked) as an Error.
Error error_from_close(int code, const std::string& text, const std::string& what, bool connection);
// The outcome of an RPC (login, channel.open, declare, ...); nullopt when it succeeded.
std::optional<Error> error_from_reply(const amqp_rpc_reply_t& reply, const std::string& what,
                                      std::string_view password);

struct AmqpConnectOptions {
  std::chrono::seconds heartbeat{30};
  std::chrono::milliseconds connect_timeout{5'000};  // TCP + TLS + login, and every RPC during setup
  // Where the connection may go (docs/network.md), judged before a byte is sent; null: the default policy
  // (cloud metadata refused). Not owned; must outlive the call.
  const NetworkPolicy* network = nullptr;
};

// Connects, logs in and opens `channel`. On failure nothing is left open and the error says what to check;
// the password never appears in it.
Result<amqp_connection_state_t> open_amqp_connection(const AmqpEndpoint& endpoint,
                                                     const AmqpConnectOptions& options,
                                                     amqp_channel_t channel);

}  // namespace eventhooks::detail
