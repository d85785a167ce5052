// The Outbox interface's own pieces; the backends are memory_outbox.cpp and sqlite_outbox.cpp.
#include "eventhooks/outbox.hpp"

#include <fmt/format.h>

namespace eventhooks {

Outbox::~Outbox() = default;

Error Outbox::unsupported(const char* what) const {
  return Error::permanent(
      ErrorCode::config,
      fmt::format("outbox {} does not support {} (the SQLite outbox does)", describe(), what));
}

Result<EnqueueOnceResult> Outbox::enqueue_once(const Event& /*event*/,
                                               const std::vector<std::string>& /*hooks*/,
                                               const IdempotencyKey& /*key*/) {
  return unsupported("idempotency keys");
}

void Outbox::enqueue_async(const Event& event, const std::vector<std::string>& hooks,
                           const std::optional<IdempotencyKey>& key, EnqueueCallback done) {
  const EnqueueCallback callback = std::move(done);
  if (key) {
    callback(enqueue_once(event, hooks, *key));
    return;
  }
  if (auto stored = enqueue(event, hooks); !stored) {
    callback(stored.error());
    return;
  }
  callback(EnqueueOnceResult{});
}

Result<std::vector<Job>> Outbox::event_jobs(const std::string& /*event_id*/) {
  return unsupported("looking up the jobs of an event");
}

Result<std::size_t> Outbox::requeue_event(const std::string& /*event_id*/) {
  return unsupported("requeueing the jobs of an event");
}

const char* to_string(Job::State state) noexcept {
  switch (state) {
    case Job::State::pending: return "pending";
    case Job::State::in_flight: return "in_flight";
    case Job::State::dead: return "dead";
    case Job::State::delivered: return "delivered";
  }
  return "pending";
}

}  // namespace eventhooks
