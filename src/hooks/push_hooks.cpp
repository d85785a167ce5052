// NtfyHook, GotifyHook, PagerDutyHook: each renders the service's documented request from an Event and reads
// its answer; HttpHook (http_hook.cpp) sends it.
#include <unistd.h>

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "eventhooks/hooks/notify.hpp"
#include "eventhooks/redact.hpp"
#include "hooks/http_checks.hpp"
#include "hooks/message_template.hpp"
#include "transport/signing.hpp"

namespace eventhooks {
namespace {

using detail::json_post;
using detail::read_json_answer;
using detail::require_http_url;
using detail::required_message_text;

// At most `limit` bytes of `text`, never cutting a UTF-8 sequence in two.
std::string utf8_prefix(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

bool ntfy_topic_ok(const std::string& topic) {
  return !topic.empty() && topic.size() <= 64 &&
         topic.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
             std::string::npos;
}

}  // namespace

// -------------------------------------------------------------------------------------------------- ntfy

NtfyHook::NtfyHook(NtfyOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "NtfyHook '" + name() + "'";
  options_.server = detail::strip_trailing_slashes(options_.server);
  require_http_url(who, "server", options_.server);
  if (!ntfy_topic_ok(options_.topic)) {
    throw ConfigError(who, "topic", "must be 1 to 64 letters, digits, '_' or '-'");
  }
  if (options_.priority < 0 || options_.priority > 5) {
    throw ConfigError(who, "priority", "must be 1 (min) to 5 (max)");
  }
  if (!options_.token.empty() && !options_.user.empty()) {
    throw ConfigError(who, "token", "give either a token or a user and password, not both");
  }
  if (options_.user.find(':') != std::string::npos) throw ConfigError(who, "user", "must not contain ':'");
  if (!options_.token.empty()) {
    authorization_ = "Bearer " + options_.token;
  } else if (!options_.user.empty()) {
    authorization_ = "Basic " + detail::base64_encode(options_.user + ":" + options_.password);
  }
  if (authorization_.find_first_of("\r\n") != std::string::npos) {
    throw ConfigError(who, "token", "must not contain a line break");
  }
  templates_ = detail::make_notify_templates(who, options_.message, options_.title);
}

NtfyHook::~NtfyHook() {
  detach_answers();
}

std::string NtfyHook::describe() const {
  std::string out = "NtfyHook '" + name() + "' -> " + redact_url(options_.server) + "/" + options_.topic;
  if (!options_.token.empty()) out += " (token " + mask(options_.token) + ")";
  if (!options_.user.empty()) out += " (user " + options_.user + ":" + mask(options_.password) + ")";
  return out;
}

Result<HttpRequest> NtfyHook::render(const Event& event) const {
  auto text = required_message_text(templates_->message, event, type(), name());
  if (!text) return text.error();
  // ntfy's JSON form (POST to the server's root) rather than headers: a title or tag in any language
  // needs no RFC 2047 encoding there.
  nlohmann::ordered_json body{{"topic", options_.topic}, {"message", std::move(text).value()}};
  if (!options_.title.empty()) body["title"] = templates_->title.render(event);
  if (options_.priority != 0) body["priority"] = options_.priority;
  if (!options_.tags.empty()) body["tags"] = options_.tags;
  if (!options_.click.empty()) body["click"] = options_.click;

  auto request = json_post(options_.server + "/", redact_url(options_.server) + "/", event, body);
  if (!authorization_.empty()) request.headers.emplace_back("Authorization", authorization_);
  request.secrets = {options_.token, options_.password};
  return request;
}

Result<Receipt> NtfyHook::interpret(const HttpRequest& request, Result<HttpResponse> performed) const {
  return read_json_answer(request, std::move(performed), nullptr, "/id");
}

// ------------------------------------------------------------------------------------------------ Gotify

GotifyHook::GotifyHook(GotifyOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "GotifyHook '" + name() + "'";
  options_.server = detail::strip_trailing_slashes(options_.server);
  require_http_url(who, "server", options_.server);
  detail::check_path_segment(who, "token", options_.token);
  if (options_.priority < -1 || options_.priority > 10) throw ConfigError(who, "priority", "must be 0 to 10");
  templates_ = detail::make_notify_templates(who, options_.message, options_.title);
}

GotifyHook::~GotifyHook() {
  detach_answers();
}

std::string GotifyHook::describe() const {
  return "GotifyHook '" + name() + "' -> " + redact_url(options_.server) + "/message (token " +
         mask(options_.token) + ")";
}

Result<HttpRequest> GotifyHook::render(const Event& event) const {
  auto text = required_message_text(templates_->message, event, type(), name());
  if (!text) return text.error();
  nlohmann::ordered_json body{{"message", std::move(text).value()}};
  if (!options_.title.empty()) body["title"] = templates_->title.render(event);
  if (options_.priority >= 0) body["priority"] = options_.priority;

  auto request =
      json_post(options_.server + "/message", redact_url(options_.server) + "/message", event, body);
  // A header rather than ?token=: the URL ends up in proxies' logs, the header does not.
  request.headers.emplace_back("X-Gotify-Key", options_.token);
  return request;
}

Result<Receipt> GotifyHook::interpret(const HttpRequest& request, Result<HttpResponse> performed) const {
  return read_json_answer(request, std::move(performed), nullptr, "/id");
}

// --------------------------------------------------------------------------------------------- PagerDuty

PagerDutyHook::PagerDutyHook(PagerDutyOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "PagerDutyHook '" + name() + "'";
  options_.base_url = detail::strip_trailing_slashes(options_.base_url);
  require_http_url(who, "base_url", options_.base_url);
  if (options_.routing_key.empty()) throw ConfigError(who, "routing_key", "missing");
  const auto& action = options_.event_action;
  if (action != "trigger" && action != "acknowledge" && action != "resolve") {
    throw ConfigError(who, "event_action", "must be trigger, acknowledge or resolve, not '" + action + "'");
  }
  // An acknowledge or resolve names the alert a trigger opened: a fresh event id would name none.
  if (action != "trigger" && options_.dedup_key.empty()) {
    throw ConfigError(who, "dedup_key",
                      "is required with event_action " + action + " (the alert to " + action +
                          ", as its trigger's dedup_key)");
  }
  templates_ = detail::make_notify_templates(who, options_.message, {}, options_.dedup_key);
  const auto& s = options_.severity;
  if (s != "critical" && s != "error" && s != "warning" && s != "info") {
    throw ConfigError(who, "severity", "must be critical, error, warning or info, not '" + s + "'");
  }
  if (options_.source.empty()) {
    std::array<char, 256> host{};
    options_.source =
        ::gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0' ? host.data() : "eventhooks";
  }
}

PagerDutyHook::~PagerDutyHook() {
  detach_answers();
}

std::string PagerDutyHook::describe() const {
  std::string out = "PagerDutyHook '" + name() + "' -> " + redact_url(options_.base_url) + "/v2/enqueue " +
                    options_.event_action + " (routing key " + mask(options_.routing_key) + ")";
  if (options_.event_action == "trigger") out += " severity " + options_.severity;
  return out;
}

Result<HttpRequest> PagerDutyHook::render(const Event& event) const {
  // The alert's key: the template (a fixed key, or one made of the data: "disk-{{data.host}}"), else the
  // event's id, which stays the same on every retry, so one event never opens two alerts.
  std::string dedup_key = templates_->dedup_key.render(event);
  if (dedup_key.empty()) {
    if (options_.event_action != "trigger") {
      return Error::permanent(ErrorCode::invalid_input,
                              "PagerDutyHook '" + name() + "': dedup_key rendered empty from the event");
    }
    dedup_key = event.id;
  }
  if (dedup_key.size() > 255) {
    return Error::permanent(ErrorCode::invalid_input,
                            "PagerDutyHook '" + name() + "': dedup_key longer than 255 characters");
  }
  nlohmann::ordered_json body{{"routing_key", options_.routing_key},
                              {"event_action", options_.event_action},
                              {"dedup_key", dedup_key}};
  if (options_.event_action == "trigger") {
    // summary is required and at most 1024 characters; an event without data is summarised by its name.
    std::string summary = detail::message_text(templates_->message, event);
    if (summary.empty()) summary = event.name;
    nlohmann::ordered_json payload{{"summary", utf8_prefix(summary, 1024)},
                                   {"source", options_.source},
                                   {"severity", options_.severity},
                                   {"timestamp", to_rfc3339(event.created_at)}};
    if (!options_.component.empty()) payload["component"] = options_.component;
    if (!options_.group.empty()) payload["group"] = options_.group;
    if (!options_.class_name.empty()) payload["class"] = options_.class_name;
    if (event.payload.is_json()) payload["custom_details"] = event.payload.json();
    body["payload"] = std::move(payload);
  }
  auto request = json_post(options_.base_url + "/v2/enqueue", {}, event, body);
  request.secrets.push_back(options_.routing_key);
  return request;
}

Result<Receipt> PagerDutyHook::interpret(const HttpRequest& request, Result<HttpResponse> performed) const {
  return read_json_answer(request, std::move(performed), nullptr, "/dedup_key");
}

}  // namespace eventhooks
