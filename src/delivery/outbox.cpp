// The Outbox interface's own pieces; the backends are memory_outbox.cpp and sqlite_outbox.cpp.
#include "eventhooks/outbox.hpp"

namespace eventhooks {

Outbox::~Outbox() = default;

const char* to_string(Job::State state) noexcept {
  switch (state) {
    case Job::State::pending: return "pending";
    case Job::State::in_flight: return "in_flight";
    case Job::State::dead: return "dead";
  }
  return "pending";
}

}  // namespace eventhooks
