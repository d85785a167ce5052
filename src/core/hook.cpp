#include "eventhooks/hook.hpp"

#include <spdlog/spdlog.h>

#include "eventhooks/logger.hpp"

namespace eventhooks {
namespace {

// The Outcome of one attempt, logged. Takes the hook's name and type by value, not the hook: an asynchronous
// delivery may finish after its hook is gone (docs/architecture.md, "Ownership"). A failure is a warning (a
// collector filtering on warnings must see it); what happens next (retry, dead letter) is the dispatcher's.
Outcome finish(std::string_view type, const std::string& hook, const std::string& event_id,
               Result<Receipt> sent, std::chrono::steady_clock::time_point start) {
  Outcome out;
  out.hook = hook;
  out.event_id = event_id;
  out.elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  if (sent) {
    out.kind = Outcome::Kind::delivered;
    out.receipt = std::move(sent).value();
    logger()->info("{} '{}' delivered event {} ({}, {} ms)", type, hook, event_id, out.receipt.detail,
                   out.elapsed.count() / 1000);
  } else {
    out.kind = Outcome::Kind::failed;
    out.error = std::move(sent).error();
    logger()->warn("{} '{}' failed event {}: {}", type, hook, event_id, out.error->to_string());
  }
  return out;
}

Error unexpected(const std::exception& e) {
  // A hook type that throws is a bug; still, the caller gets a value, not an exception from a send.
  return Error::permanent(ErrorCode::internal, std::string("unexpected exception: ") + e.what());
}

}  // namespace

Hook::Hook(HookCommon common) : common_(std::move(common)) {
  if (common_.name.empty()) throw ConfigError("a hook needs a name");
}

Hook::~Hook() = default;

bool Hook::allows(std::optional<std::string_view> realm) const noexcept {
  return common_.enabled && common_.realms.allows(realm);
}

Outcome Hook::trigger(Payload data, std::optional<std::string> realm) {
  return trigger(Event::make(common_.name, std::move(data), std::move(realm)));
}

Outcome Hook::trigger(const Event& event) {
  std::optional<std::string_view> realm;
  if (event.realm) realm = *event.realm;
  if (!allows(realm)) {
    Outcome out;
    out.kind = Outcome::Kind::skipped;
    out.hook = common_.name;
    out.event_id = event.id;
    if (!common_.enabled) {
      out.reason = "hook is disabled";
    } else if (!event.realm) {
      out.reason = "hook has realms [" + common_.realms.to_string() + "] and no realm was given";
    } else {
      out.reason = "realm '" + *event.realm + "' not in [" + common_.realms.to_string() + "]";
    }
    logger()->debug("{} '{}' skipped event {}: {}", type(), common_.name, event.id, out.reason);
    return out;
  }
  return deliver(event);
}

Outcome Hook::deliver(const Event& event) {
  const auto start = std::chrono::steady_clock::now();
  Result<Receipt> sent = [&]() -> Result<Receipt> {
    try {
      return send(event);
    } catch (const std::exception& e) {
      return unexpected(e);
    }
  }();
  return finish(type(), common_.name, event.id, std::move(sent), start);
}

// `done` is by value in the interface: pipelining transports keep it until the answer arrives.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void Hook::send_async(const Event& event, std::function<void(Result<Receipt>)> done) {
  done(send(event));
}

void Hook::deliver_async(const Event& event, OutcomeCallback done) {
  const auto start = std::chrono::steady_clock::now();
  // The callback keeps the event's id, not the event: the caller's event may be gone when the transport
  // answers, and copying its payload for every delivery would cost more than the rest of the callback. It
  // keeps the hook's name and type, not the hook, which may be gone too. type() of a built-in is a literal.
  auto shared_done = std::make_shared<OutcomeCallback>(std::move(done));
  auto finish_with = [type = std::string(type()), hook = common_.name, id = event.id, start,
                      shared_done](Result<Receipt> sent) {
    (*shared_done)(finish(type, hook, id, std::move(sent), start));
  };
  try {
    send_async(event, finish_with);
  } catch (const std::exception& e) {
    finish_with(unexpected(e));
  }
}

}  // namespace eventhooks
