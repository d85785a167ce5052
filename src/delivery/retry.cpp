#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "eventhooks/retry.hpp"

namespace eventhooks {

std::chrono::milliseconds RetryPolicy::next_delay(int attempts_made, double unit_random,
                                                  std::optional<std::chrono::seconds> retry_after) const {
  using std::chrono::milliseconds;
  const double cap = static_cast<double>(std::max<std::int64_t>(0, max_delay.count()));
  const double base = static_cast<double>(std::max<std::int64_t>(0, initial_delay.count()));
  const int exponent = std::max(0, attempts_made - 1);
  // pow() overflows to inf for large exponents; min() with the cap keeps it finite.
  double backoff = std::min(cap, base * std::pow(std::max(1.0, multiplier), exponent));
  if (!std::isfinite(backoff)) backoff = cap;
  if (jitter) {
    // Full jitter (uniform in [0, backoff]) spreads retries of many jobs that failed together, so a
    // recovering endpoint is not hit by all of them at the same instant.
    const double r = std::clamp(unit_random, 0.0, 1.0);
    backoff *= r;
  }
  auto delay = milliseconds(static_cast<std::int64_t>(backoff));
  if (retry_after && *retry_after > std::chrono::seconds(0)) {
    // The server knows better than our formula: never come back earlier than it asked.
    delay = std::max(delay, std::chrono::duration_cast<milliseconds>(*retry_after));
  }
  return delay;
}

RetryPolicy::Decision RetryPolicy::decide(int attempts_made, const Error& error,
                                          std::chrono::milliseconds age, double unit_random) const {
  Decision d;
  if (!error.retryable) {
    d.reason = fmt::format("permanent error, not retried: {}", error.to_string());
    return d;
  }
  if (attempts_made >= max_attempts) {
    d.reason = fmt::format("gave up after {} attempt{}: {}", attempts_made, attempts_made == 1 ? "" : "s",
                           error.to_string());
    return d;
  }
  const auto delay = next_delay(attempts_made, unit_random, error.retry_after);
  if (age + delay > std::chrono::duration_cast<std::chrono::milliseconds>(max_age)) {
    d.reason = fmt::format("gave up: the next attempt would be past max_age ({} s) after {} attempt{}: {}",
                           max_age.count(), attempts_made, attempts_made == 1 ? "" : "s", error.to_string());
    return d;
  }
  d.retry = true;
  d.delay = delay;
  return d;
}

}  // namespace eventhooks
