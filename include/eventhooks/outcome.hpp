// Outcome: what one trigger of one hook did — Delivered, Skipped or Failed — returned, never only logged.
// Value type; safe to copy between threads.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "eventhooks/error.hpp"
#include "eventhooks/export.hpp"

namespace eventhooks {

// What the transport got back when it delivered: HTTP status, SMTP reply, SES MessageId, AMQP ack.
struct Receipt {
  std::optional<int> status;  // HTTP status / SMTP reply code
  std::string id;             // server-assigned id (SES MessageId, ...) when there is one
  std::string detail;         // short human text: "HTTP 200", "250 OK queued", "basic.ack"
};

struct Outcome {
  enum class Kind { delivered, skipped, failed };

  Kind kind = Kind::failed;
  std::string hook;  // the hook's name
  std::string event_id;
  Receipt receipt;             // when delivered
  std::string reason;          // when skipped: why
  std::optional<Error> error;  // when failed
  std::chrono::microseconds elapsed{0};

  bool delivered() const noexcept { return kind == Kind::delivered; }
  bool skipped() const noexcept { return kind == Kind::skipped; }
  bool failed() const noexcept { return kind == Kind::failed; }

  // "delivered" | "skipped" | "failed"
  EVENTHOOKS_EXPORT const char* kind_name() const noexcept;
  // One readable line: receipt detail, skip reason or error message.
  EVENTHOOKS_EXPORT std::string detail() const;
};

}  // namespace eventhooks
