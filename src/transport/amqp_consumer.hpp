// AmqpConsumer: receives the messages of one queue over its own rabbitmq-c connection (basic.consume with
// manual acks and a prefetch window) and settles them (ack, reject). AmqpQueueAdmin: declares queues, counts,
// purges and browses them over another connection. Both are thread-safe: AmqpConsumer's connection is owned
// by one I/O thread that callers hand their acks to; AmqpQueueAdmin serialises its callers with a lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "eventhooks/hooks/rabbitmq.hpp"
#include "eventhooks/outcome.hpp"

namespace eventhooks::detail {

// One message as received: properties the outbox reads, its text-valued headers, and where the broker
// dead-lettered it from (the first x-death entry), if it did.
struct AmqpDelivery {
  std::uint64_t connection = 0;  // which connection delivered it: a tag is only valid on its own connection
  std::uint64_t tag = 0;
  std::string body;
  std::string message_id;
  std::string type;
  std::map<std::string, std::string> headers;  // string and integer headers, integers as text
  bool redelivered = false;
  std::string death_reason;  // x-death[0].reason: "expired", "rejected", "delivery_limit", "maxlen"
  std::string death_queue;   // x-death[0].queue
  std::int64_t death_count = 0;
};

struct AmqpConsumerOptions {
  AmqpEndpoint endpoint;
  std::vector<AmqpEndpoint> alternates;  // other nodes of the cluster, tried in turn after a failure
  std::string queue;
  std::uint16_t prefetch = 64;  // unacked deliveries the broker sends this consumer at most
  std::chrono::seconds heartbeat{30};
  std::chrono::milliseconds connect_timeout{5'000};
  std::string log_name;
  bool batch_scheduling = true;
};

class AmqpConsumer {
 public:
  // Starts the I/O thread, which connects (and reconnects, with backoff, moving through the alternates).
  explicit AmqpConsumer(AmqpConsumerOptions options);
  ~AmqpConsumer();  // closes the connection: whatever was not acked goes back to the queue
  AmqpConsumer(const AmqpConsumer&) = delete;
  AmqpConsumer& operator=(const AmqpConsumer&) = delete;

  // Waits up to `wait` for a delivery `accept` takes, then hands out up to `max` of them; the others stay
  // buffered for a later call.
  std::vector<AmqpDelivery> take(std::size_t max, std::chrono::milliseconds wait,
                                 const std::function<bool(const AmqpDelivery&)>& accept);
  // True when a buffered delivery is one `accept` takes.
  bool has_ready(const std::function<bool(const AmqpDelivery&)>& accept);
  // Settles a delivery (asynchronously, on the I/O thread). Fails when its connection is gone: the broker has
  // put the message back in the queue already.
  Result<void> ack(std::uint64_t connection, std::uint64_t tag);
  Result<void> reject(std::uint64_t connection, std::uint64_t tag, bool requeue);
  // Delivered to this consumer and not settled yet (buffered included).
  std::size_t unsettled() const;
  // Whether the consumer is connected and consuming now.
  bool consuming() const;
  // Drops the connection and consumes again (on the next node): for a consumer the broker stopped feeding.
  void resubscribe();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct AmqpQueueArgument {
  std::string key;
  std::variant<std::int64_t, std::string> value;
};

class AmqpQueueAdmin {
 public:
  AmqpQueueAdmin(AmqpEndpoint endpoint, std::vector<AmqpEndpoint> alternates,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(5'000));
  ~AmqpQueueAdmin();
  AmqpQueueAdmin(const AmqpQueueAdmin&) = delete;
  AmqpQueueAdmin& operator=(const AmqpQueueAdmin&) = delete;

  // Declares a durable queue with these arguments (a queue that exists with other arguments is an error
  // naming them: PRECONDITION_FAILED). Returns its ready message count.
  Result<std::uint32_t> declare(const std::string& queue, const std::vector<AmqpQueueArgument>& arguments);
  // Ready messages in an existing queue (not counting those delivered and not acked yet).
  Result<std::uint32_t> count(const std::string& queue);
  Result<std::uint32_t> purge(const std::string& queue);
  // Reads up to `max` messages of `queue` (0 = all) without removing them, except those `visit` returns true
  // for, which are acked (removed). The others return to the queue when the browse ends.
  Result<void> browse(const std::string& queue, std::size_t max,
                      const std::function<bool(const AmqpDelivery&)>& visit);
  std::string where() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace eventhooks::detail
