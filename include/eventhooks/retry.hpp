// RetryPolicy: how often and how late a failed delivery is tried again. Value type.
// The delivery engine applies it; hooks and config only carry it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "eventhooks/error.hpp"
#include "eventhooks/export.hpp"

namespace eventhooks {

struct RetryPolicy {
  int max_attempts = 8;                          // first try included; 1 = never retry
  std::chrono::seconds max_age{24 * 3600};       // give up on an event older than this
  std::chrono::milliseconds initial_delay{500};  // base of the exponential backoff
  double multiplier = 2.0;
  std::chrono::milliseconds max_delay{5 * 60 * 1000};  // cap of one wait
  bool jitter = true;                                  // full jitter: wait uniform in [0, backoff]

  // What to do after a failed attempt (implemented in src/delivery/retry.cpp).
  struct Decision {
    bool retry = false;
    std::chrono::milliseconds delay{0};  // when retrying: wait this long (monotonic) before the next attempt
    std::string reason;                  // when giving up: why ("permanent error", "8 attempts made", ...)
  };

  // The wait before the next attempt once `attempts_made` attempts failed: min(max_delay,
  // initial_delay * multiplier^(attempts_made-1)), then full jitter (uniform in [0, that], `unit_random` in
  // [0,1) picks the point), then at least the server's Retry-After. No limits applied.
  EVENTHOOKS_EXPORT std::chrono::milliseconds next_delay(
      int attempts_made, double unit_random, std::optional<std::chrono::seconds> retry_after = {}) const;
  // The full rule: only retryable errors are retried, at most max_attempts attempts in all, and never past
  // max_age after the event was created (`age` = its age now).
  EVENTHOOKS_EXPORT Decision decide(int attempts_made, const Error& error, std::chrono::milliseconds age,
                                    double unit_random) const;
};

}  // namespace eventhooks
