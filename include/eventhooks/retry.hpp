// RetryPolicy: how often and how late a failed delivery is tried again. Value type.
// The delivery engine applies it; hooks and config only carry it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "eventhooks/export.hpp"

namespace eventhooks {

struct RetryPolicy {
  int max_attempts = 8;                                  // first try included; 1 = never retry
  std::chrono::seconds max_age{24 * 3600};               // give up on an event older than this
  std::chrono::milliseconds initial_delay{500};          // base of the exponential backoff
  double multiplier = 2.0;
  std::chrono::milliseconds max_delay{5 * 60 * 1000};    // cap of one wait
  bool jitter = true;                                    // full jitter: wait uniform in [0, backoff]
};

}  // namespace eventhooks
