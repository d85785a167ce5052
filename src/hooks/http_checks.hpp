// Checks and pieces every HTTP hook type shares: URLs, path segments, headers, the idempotency header, and
// reading a service's JSON answer. Pure functions (private to the library); thread-safe.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "eventhooks/event.hpp"
#include "eventhooks/http.hpp"
#include "eventhooks/outcome.hpp"

namespace eventhooks::detail {

// RFC 9110 token names, no line breaks in values: a config must not smuggle a second header.
void check_headers(const std::string& who, const Headers& headers);
// Tokens and ids that become one segment of a URL path: a '/' or '?' in them would send the request
// elsewhere. Missing = error.
void check_path_segment(const std::string& who, const char* key, const std::string& value);
// http:// or https://, no whitespace (the URL is shown masked in the error).
void require_http_url(const std::string& who, const char* key, const std::string& url);
std::string strip_trailing_slashes(std::string s);
// A URL whose last path segment is a credential (Slack's and Discord's webhook URLs), as logs show it:
// "https://hooks.slack.com/services/T0/B0/***" (and the query masked, as redact_url does).
std::string redact_url_path(const std::string& url);

// Content-Type: application/json and `webhook-id: <event id>`, the idempotency key of docs/architecture.md:
// the same on every attempt, so a receiver can drop the duplicates that at-least-once delivery allows.
void add_json_body_headers(HttpRequest& request, const Event& event);
// POST `url` with a JSON body and the headers of add_json_body_headers().
HttpRequest json_post(std::string url, std::string redacted_url, const Event& event,
                      const nlohmann::ordered_json& body);
// Compact JSON, invalid UTF-8 replaced rather than thrown on.
std::string dump_json(const nlohmann::ordered_json& body);
// The answer's body as a JSON object, or nullopt when it is not one.
std::optional<nlohmann::json> json_object_of(const HttpResponse& response);
// A delay in seconds from a JSON number (Discord's 64.57, Telegram's 3), rounded up; nullopt otherwise.
std::optional<std::chrono::seconds> seconds_of(const nlohmann::json* value);

// HTTP's status rules (check_http_status: the error body goes into the message, secrets scrubbed), then
// what a service's JSON answer adds: on a 429 that sent no Retry-After header, the delay at the JSON pointer
// `retry_after_at` (Discord "/retry_after", Telegram "/parameters/retry_after"); on success, the value at
// `id_at` as the receipt's id. Either pointer may be null.
Result<Receipt> read_json_answer(const HttpRequest& request, Result<HttpResponse> performed,
                                 const char* retry_after_at, const char* id_at);

}  // namespace eventhooks::detail
