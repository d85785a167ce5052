// Hook: the base of every hook type. A hook checks realms, renders an Event into a message and hands it to
// its transport. trigger() and deliver() are safe to call from many threads at once on the same hook.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eventhooks/event.hpp"
#include "eventhooks/export.hpp"
#include "eventhooks/outcome.hpp"
#include "eventhooks/realms.hpp"

namespace eventhooks {

// What every hook has, whatever its type: the first member of every hook's options struct, so that
// designated initializers read the same for each: WebHook({.common = {.name = "x", .realms = {"ops"}}, ...}).
struct HookCommon {
  std::string name;  // required: names the hook in outcomes, logs and the config
  Realms realms;     // empty = fires for every trigger
  bool enabled = true;
};

class EVENTHOOKS_EXPORT Hook {
 public:
  explicit Hook(HookCommon common);
  virtual ~Hook();
  Hook(const Hook&) = delete;
  Hook& operator=(const Hook&) = delete;

  const std::string& name() const noexcept { return common_.name; }
  const Realms& realms() const noexcept { return common_.realms; }
  bool enabled() const noexcept { return common_.enabled; }

  // The realm rule of the Python eventhooks library (and `enabled`): would a trigger with this realm fire
  // this hook?
  bool allows(std::optional<std::string_view> realm) const noexcept;

  // Synchronous: make an Event named after the hook, check realms, send, return what happened.
  Outcome trigger(Payload data = {}, std::optional<std::string> realm = std::nullopt);
  // Checks realms for an existing event, then delivers it (the event's id is the idempotency key).
  Outcome trigger(const Event& event);
  // Sends without the realm check: the dispatcher already selected this hook for the event.
  Outcome deliver(const Event& event);

  using OutcomeCallback = std::function<void(Outcome)>;
  // deliver() without blocking the caller where the transport allows it (the HTTP hooks and SES: the client's
  // I/O thread; RabbitMqHook: the broker's confirm arrives on the hook's I/O thread), so one thread can keep
  // many deliveries in flight. `done` runs exactly once, possibly on a transport thread: keep it short.
  // Other hook types deliver synchronously inside the call. The hook may be destroyed while deliveries are
  // in flight: each still calls `done` once, and none touches the destroyed hook (docs/architecture.md,
  // "Ownership").
  void deliver_async(const Event& event, OutcomeCallback done);
  // True when the dispatcher should start this hook's deliveries with deliver_async() and keep many in
  // flight without a thread each; false when each delivery should hold a worker thread (deliver_async()
  // may still be asynchronous for a caller that wants it, as SimpleEmailHook's is).
  virtual bool delivers_async() const noexcept { return false; }

  // "WebHook", "MattermostWebHook", ... — the factory's type name.
  virtual std::string_view type() const noexcept = 0;
  // One line describing the hook with every secret masked ("WebHook 'x' -> https://host/***").
  virtual std::string describe() const = 0;

 protected:
  // Formats the event and sends it; the only thing a hook type must write.
  virtual Result<Receipt> send(const Event& event) = 0;
  // Asynchronous send; the default calls send() and then `done`. A transport that can pipeline overrides it.
  // `done` may run after this hook is destroyed: it must not reach the hook (capture what it needs).
  virtual void send_async(const Event& event, std::function<void(Result<Receipt>)> done);

 private:
  HookCommon common_;
};

using HookPtr = std::shared_ptr<Hook>;

}  // namespace eventhooks
