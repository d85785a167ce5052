// The keys every hook takes besides its type's own, read the same way for every type: `retry:` (a mapping)
// and `timeout:`. Both fall back to the file's `defaults:` block. Private to the library.
#pragma once

#include <chrono>
#include <optional>

#include "eventhooks/hook_registry.hpp"
#include "eventhooks/retry.hpp"

namespace eventhooks::detail {

// Reads `retry:` from `keys` (falling back key by key to `defaults: retry:`), validating every value.
RetryPolicy read_retry_policy(ConfigReader& keys);
// `timeout:` in seconds, > 0; nullopt when neither the hook nor `defaults:` sets it.
std::optional<std::chrono::milliseconds> read_timeout(ConfigReader& keys);

}  // namespace eventhooks::detail
