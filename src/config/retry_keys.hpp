// The `retry:` block of a hook or of `defaults:`, read into a RetryPolicy. Private to the library.
#pragma once

#include "eventhooks/config.hpp"

namespace eventhooks::detail {

// Reads `retry:` from `keys` (falling back key by key to `defaults: retry:`), validating every value.
RetryPolicy read_retry_policy(ConfigReader& keys);
// `timeout:` in seconds, > 0; nullopt when neither the hook nor `defaults:` sets it.
std::optional<std::chrono::milliseconds> read_timeout(ConfigReader& keys);

}  // namespace eventhooks::detail
