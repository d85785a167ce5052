// Event: one thing that happened, as handed to hooks. Its id is the idempotency key of every delivery of it.
// Value type; safe to copy between threads.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "eventhooks/export.hpp"
#include "eventhooks/payload.hpp"

namespace eventhooks {

struct Event {
  std::string id;                    // UUIDv7 text, unique and time-ordered; stays the same across retries
  std::string name;                  // what happened (the hook's name for a direct trigger)
  std::optional<std::string> realm;  // the caller's origin, matched against each hook's realms
  Payload payload;
  std::chrono::system_clock::time_point created_at{};

  // A new event with a fresh id and the current time.
  EVENTHOOKS_EXPORT static Event make(std::string name, Payload payload,
                                      std::optional<std::string> realm = std::nullopt);
};

// "2026-12-01T11:03:40.123Z": UTC, milliseconds (event times in FileHook lines, outbox listings).
EVENTHOOKS_EXPORT std::string to_rfc3339(std::chrono::system_clock::time_point t);

// A new UUIDv7 ("0190b1c2-...") from the system clock and the kernel's random source (getrandom).
EVENTHOOKS_EXPORT std::string new_event_id();

}  // namespace eventhooks
