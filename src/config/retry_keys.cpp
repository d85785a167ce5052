#include "config/retry_keys.hpp"

namespace eventhooks::detail {

RetryPolicy read_retry_policy(ConfigReader& keys) {
  ConfigReader retry = keys.nested("retry");
  RetryPolicy policy;
  using std::chrono::milliseconds;
  policy.max_attempts = static_cast<int>(retry.optional_int("max_attempts", policy.max_attempts, 1, 1000));
  const milliseconds max_age = retry.optional_seconds("max_age", policy.max_age);
  if (max_age < std::chrono::seconds(1)) retry.fail("max_age", "must be at least 1 second");
  policy.max_age = std::chrono::duration_cast<std::chrono::seconds>(max_age);
  policy.initial_delay = retry.optional_seconds("initial_delay", policy.initial_delay);
  policy.multiplier = retry.optional_number("multiplier", policy.multiplier, 1.0, 100.0);
  policy.max_delay = retry.optional_seconds("max_delay", policy.max_delay);
  if (policy.max_delay < policy.initial_delay)
    retry.fail("max_delay", "must not be smaller than initial_delay");
  policy.jitter = retry.optional_bool("jitter", policy.jitter);
  retry.finish();
  return policy;
}

std::optional<std::chrono::milliseconds> read_timeout(ConfigReader& keys) {
  constexpr std::chrono::milliseconds unset{-1};
  const auto timeout = keys.optional_seconds("timeout", unset);
  if (timeout == unset) return std::nullopt;
  if (timeout <= std::chrono::milliseconds(0)) keys.fail("timeout", "must be more than 0 seconds");
  return timeout;
}

}  // namespace eventhooks::detail
