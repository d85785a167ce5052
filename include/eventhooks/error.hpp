// Error, Result<T>: how every delivery failure is reported — as a value, never as a swallowed log line.
// Value types; safe to copy between threads.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "eventhooks/export.hpp"

namespace eventhooks {

// What went wrong, coarse enough to branch on. `retryable` on Error says whether trying again can help.
enum class ErrorCode {
  invalid_input,  // the event itself cannot be sent (empty data where data is required, header injection,
                  // ...)
  config,         // the hook's configuration is wrong (bad URL, missing credentials)
  dns,            // host name did not resolve
  connect,        // TCP connection refused or unreachable
  timeout,        // connect or total timeout elapsed
  tls,            // handshake or certificate verification failed
  protocol,       // the peer said something unexpected (malformed reply, STARTTLS not offered, ...)
  http_status,    // the server answered with a non-2xx HTTP status
  auth,           // credentials rejected
  forbidden,      // the network policy refused the address connected to (docs/network.md); nothing was sent
  rejected,       // the server refused this message (SMTP 5xx, SES MessageRejected, AMQP nack/return)
  throttled,      // the server asked us to slow down (HTTP 429, SES Throttling)
  unavailable,    // the server is temporarily unable to take the message (HTTP 503, SMTP 4xx, broker down)
  io,             // local I/O (file sink, outbox)
  internal,       // a bug or an unexpected library failure
};

EVENTHOOKS_EXPORT const char* to_string(ErrorCode code) noexcept;

// Made with Error::permanent(...) or Error::transient(...), which say at the call site whether trying again
// can help; `status` is then set where a peer's reply code is known.
struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;  // readable, never contains secrets
  bool retryable = false;
  std::optional<int> status;                        // HTTP status or SMTP reply code, when there was one
  std::optional<std::chrono::seconds> retry_after;  // what the server asked for (HTTP Retry-After)

  // Trying again cannot help: bad input, bad configuration, a refusal.
  static Error permanent(ErrorCode code, std::string message, std::optional<int> status = std::nullopt) {
    return Error{code, std::move(message), false, status, std::nullopt};
  }
  // Trying again later may succeed; `retry_after` is the server's own wish, when it said one.
  static Error transient(ErrorCode code, std::string message,
                         std::optional<std::chrono::seconds> retry_after = std::nullopt,
                         std::optional<int> status = std::nullopt) {
    return Error{code, std::move(message), true, status, retry_after};
  }
  // Either, when the classification is computed.
  static Error of(ErrorCode code, std::string message, bool retryable,
                  std::optional<int> status = std::nullopt) {
    return Error{code, std::move(message), retryable, status, std::nullopt};
  }

  // "timeout: connect to 127.0.0.1:8080 timed out after 2000 ms (retryable)"
  EVENTHOOKS_EXPORT std::string to_string() const;
};

// Holds a T or an Error. Small on purpose: g++ 12 / clang 14 cannot share std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error)
      : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  // By value, not T&&: `for (auto& x : f().value())` then iterates a value that lives as long as the loop,
  // where a reference into the temporary Result would dangle (the same trap as std::optional's and
  // std::expected's rvalue value()).
  T value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const& { return std::get<1>(v_); }
  Error error() && { return std::get<1>(std::move(v_)); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& { return *error_; }

 private:
  std::optional<Error> error_;
};

// Thrown only at construction time: a hook or config that cannot work (user error, with location),
// never for a failed delivery.
class EVENTHOOKS_EXPORT ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // About one option of a hook: what() is "<context>: <key>: <problem>" ("WebHook 'x': url: must be an
  // http:// or https:// URL"); the config loader reports the problem at the file and line of that key.
  ConfigError(const std::string& context, std::string key, std::string problem);

  const std::string& key() const noexcept { return key_; }          // empty when not about one option
  const std::string& problem() const noexcept { return problem_; }  // what() without context and key

 private:
  std::string key_;
  std::string problem_;
};

}  // namespace eventhooks
