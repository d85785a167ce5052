// AmqpPublisher: publishes AmqpMessages over one rabbitmq-c connection and channel in confirm mode.
// Thread-safe: publish() may be called from any number of threads at once. rabbitmq-c connections are not
// thread-safe, so one I/O thread owns the connection; callers hand it their message and wait for the
// broker's basic.ack/nack, which lets many unconfirmed messages be in flight at once (pipelining).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "eventhooks/hooks/rabbitmq.hpp"
#include "eventhooks/outcome.hpp"

namespace eventhooks::detail {

struct AmqpPublisherOptions {
  AmqpEndpoint endpoint;
  // Other nodes of the same cluster: after a failed connect or a lost connection the publisher moves to the
  // next one in turn (endpoint, alternates[0], ...).
  std::vector<AmqpEndpoint> alternates;
  std::chrono::seconds heartbeat{30};
  std::chrono::milliseconds connect_timeout{5'000};  // TCP + TLS + login + channel setup
  std::chrono::milliseconds timeout{10'000};         // from handing the message to the socket to its confirm
  std::optional<RabbitMqDeclare> declare;
  std::string declare_routing_key;  // binding key for declare.bind
  std::string log_name;             // "RabbitMqHook 'x'" for log lines
  NetworkPolicy network;            // judges the broker's address once connected, before a byte is sent
  bool batch_scheduling = true;     // the I/O thread runs as batch work (core/batch_scheduling.hpp)
};

class AmqpPublisher {
 public:
  explicit AmqpPublisher(AmqpPublisherOptions options);
  ~AmqpPublisher();
  AmqpPublisher(const AmqpPublisher&) = delete;
  AmqpPublisher& operator=(const AmqpPublisher&) = delete;

  // Connects first if needed (with backoff after failures), publishes, waits for the confirm.
  // Delivered only on basic.ack; nack → rejected (retryable); returned mandatory message → rejected;
  // connection lost before the confirm → unavailable (retryable); no confirm in time → timeout (retryable).
  Result<Receipt> publish(const AmqpMessage& message);
  // The same without waiting: `done` runs exactly once with the same result, on the I/O thread (keep it
  // short), so one caller can keep many messages in flight.
  void publish_async(const AmqpMessage& message, std::function<void(Result<Receipt>)> done);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace eventhooks::detail
