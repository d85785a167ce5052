// Timeouts: the two limits every network call has, the same for HTTP, SMTP and AMQP. Value type.
#pragma once

#include <chrono>

namespace eventhooks {

struct Timeouts {
  std::chrono::milliseconds connect{10'000};  // TCP connect + TLS handshake (+ AMQP login)
  std::chrono::milliseconds total{30'000};    // one whole attempt, connect included
};

}  // namespace eventhooks
