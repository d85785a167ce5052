// Payload: the data of an event — a text or a JSON value — and the rules of the Python
// eventhooks library for turning it into bytes.
// Value type; safe to copy between threads. A JSON value is immutable once in a Payload, so copies share it:
// copying an event (a trigger, a job, a callback) costs a reference count, not a copy of the JSON tree.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "eventhooks/export.hpp"

namespace eventhooks {

// The offset of the first byte of `text` that is not part of well-formed UTF-8 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF; NUL is allowed), or nothing when all of it is. Text for which this
// gives nothing is sent by every hook exactly as it is; otherwise each bad byte becomes U+FFFD.
EVENTHOOKS_EXPORT std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept;

class EVENTHOOKS_EXPORT Payload {
 public:
  Payload() = default;                                              // no data
  Payload(std::string text) : v_(std::move(text)) {}                // NOLINT(google-explicit-constructor)
  Payload(const char* text) : v_(std::string(text ? text : "")) {}  // NOLINT(google-explicit-constructor)
  Payload(std::string_view text) : v_(std::string(text)) {}         // NOLINT(google-explicit-constructor)
  Payload(nlohmann::ordered_json value);                            // NOLINT(google-explicit-constructor)
  Payload(const nlohmann::json& value);                             // NOLINT(google-explicit-constructor)

  // The --data rule (docs/cli.md): text that parses as a JSON object is an object, anything else is a string.
  static Payload from_cli_text(std::string_view text);

  bool is_text() const noexcept { return v_.index() == 1; }
  bool is_json() const noexcept { return v_.index() == 2; }
  bool is_null() const noexcept { return v_.index() == 0; }
  // The Python library's "not data": nothing, an empty string, or an empty object/array.
  bool empty() const noexcept;

  const std::string& text() const { return std::get<1>(v_); }
  const nlohmann::ordered_json& json() const { return *std::get<2>(v_); }

  // Body of a JSON webhook: an object as compact JSON, a string as a JSON string, nothing as null. Text that
  // is not UTF-8 gets U+FFFD for each bad byte (JSON cannot carry it).
  std::string to_json_body() const;
  // Body of an email, an AMQP message or a chat text: a string as is, an object as JSON indented by 2.
  std::string to_text() const;
  // For storing: {"text": "..."} or {"json": ...} or {} — round-trips through from_stored().
  nlohmann::ordered_json to_stored() const;
  // to_stored().dump(), written directly (without copying the JSON value into a wrapper first). Never throws
  // on content: a string that is not UTF-8 is written with U+FFFD for each bad byte, as to_json_body() does.
  std::string to_stored_text() const;
  static Payload from_stored(const nlohmann::ordered_json& stored);

  // Same kind and same text or JSON value.
  bool operator==(const Payload& other) const;

 private:
  std::variant<std::monostate, std::string, std::shared_ptr<const nlohmann::ordered_json>> v_;
};

}  // namespace eventhooks
