// The HTTP hooks: each renders an HttpRequest from an Event; HttpHook (http_hook.cpp) sends it.
#include "eventhooks/hooks/webhook.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/text.hpp"
#include "eventhooks/redact.hpp"
#include "hooks/http_checks.hpp"
#include "hooks/message_template.hpp"
#include "transport/signing.hpp"

namespace eventhooks {
using detail::add_json_body_headers;
using detail::check_headers;
using detail::check_path_segment;
using detail::require_http_url;
using detail::strip_trailing_slashes;

namespace {

// Calls `f(path, text)` for every string in a body template ("body.alert.text"), depth first.
template <typename F>
void for_each_string(const nlohmann::ordered_json& value, const std::string& path, const F& f) {
  if (value.is_string()) {
    f(path, value.get<std::string>());
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items())
      for_each_string(item, std::string(path).append(".").append(key), f);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i)
      for_each_string(value[i], path + "." + std::to_string(i), f);
  }
}

// Every string rendered, everything else kept: the result is JSON whatever the data holds.
nlohmann::ordered_json render_body(const std::string& who, const nlohmann::ordered_json& value,
                                   const Event& event) {
  if (value.is_string()) return detail::MessageTemplate(who, "body", value.get<std::string>()).render(event);
  if (value.is_object()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [key, item] : value.items()) out[key] = render_body(who, item, event);
    return out;
  }
  if (value.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& item : value) out.push_back(render_body(who, item, event));
    return out;
  }
  return value;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- WebHook

WebHook::WebHook(WebHookOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "WebHook '" + name() + "'";
  require_http_url(who, "url", options_.url);
  redacted_url_ = redact_url(options_.url);
  check_headers(who, options_.headers);
  if (!options_.body.is_null() && !options_.body.is_object() && !options_.body.is_array()) {
    throw ConfigError(who, "body", "must be a mapping (or a list) of templates");
  }
  for_each_string(options_.body, "body", [&](const std::string& path, const std::string& text) {
    (void)detail::MessageTemplate(who, path, text);
  });
  if (!options_.secret.empty()) {
    auto key = detail::decode_webhook_secret(options_.secret);
    if (!key) {
      throw ConfigError(who, "secret", "is not a Standard Webhooks key (expected whsec_ followed by base64)");
    }
    secret_key_ = std::move(*key);
  }
}

WebHook::~WebHook() {
  detach_answers();
}

std::string WebHook::describe() const {
  std::string out = "WebHook '" + name() + "' -> " + redact_url(options_.url);
  if (!secret_key_.empty()) out += " (signed)";
  if (!options_.headers.empty()) {
    out += " headers:";
    for (const auto& h : options_.headers) out += " " + h.first;  // names only: values may be credentials
  }
  return out;
}

Result<HttpRequest> WebHook::render(const Event& event) const {
  HttpRequest request;
  request.method = "POST";
  request.url = options_.url;
  request.redacted_url = redacted_url_;
  request.body = options_.body.is_null()
                     ? event.payload.to_json_body()
                     : detail::dump_json(render_body("WebHook '" + name() + "'", options_.body, event));
  const bool own_content_type =
      std::any_of(options_.headers.begin(), options_.headers.end(),
                  [](const auto& h) { return detail::iequals(h.first, "content-type"); });
  if (!own_content_type) request.headers.emplace_back("Content-Type", "application/json");
  request.headers.insert(request.headers.end(), options_.headers.begin(), options_.headers.end());
  // The idempotency key (docs/architecture.md), sent signed or not: the event id, the same on every attempt,
  // so a receiver can drop the duplicates that at-least-once delivery allows.
  request.headers.emplace_back("webhook-id", event.id);
  if (!secret_key_.empty()) {
    // Signed at render time, once per attempt: receivers reject stale timestamps, so a retry gets a fresh
    // one.
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    request.headers.emplace_back("webhook-timestamp", std::to_string(now));
    request.headers.emplace_back("webhook-signature",
                                 detail::sign_webhook(secret_key_, event.id, now, request.body));
  }
  return request;
}

// ---------------------------------------------------------------------------------------------- Mattermost

MattermostWebHook::MattermostWebHook(MattermostOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "MattermostWebHook '" + name() + "'";
  options_.host = strip_trailing_slashes(options_.host);
  require_http_url(who, "host", options_.host);
  check_path_segment(who, "token", options_.token);
  (void)detail::MessageTemplate(who, "message", options_.message);
}

MattermostWebHook::~MattermostWebHook() {
  detach_answers();
}

std::string MattermostWebHook::describe() const {
  std::string out =
      "MattermostWebHook '" + name() + "' -> " + redact_url(options_.host) + "/hooks/" + mask(options_.token);
  if (!options_.channel.empty()) out += " channel " + options_.channel;
  return out;
}

Result<HttpRequest> MattermostWebHook::render(const Event& event) const {
  const std::string who = "MattermostWebHook '" + name() + "'";
  std::string text = detail::message_text(detail::MessageTemplate(who, "message", options_.message), event);
  if (text.empty())
    return Error::permanent(ErrorCode::invalid_input, who + ": no data to post (empty message)");
  nlohmann::ordered_json body;
  body["text"] = std::move(text);
  if (!options_.username.empty()) body["username"] = options_.username;
  if (!options_.channel.empty()) body["channel"] = options_.channel;
  if (!options_.icon_url.empty()) body["icon_url"] = options_.icon_url;
  if (!options_.icon_emoji.empty()) body["icon_emoji"] = options_.icon_emoji;

  HttpRequest request;
  request.method = "POST";
  request.url = options_.host + "/hooks/" + options_.token;
  request.redacted_url = redact_url(options_.host) + "/hooks/" + mask(options_.token);
  add_json_body_headers(request, event);
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return request;
}

// ---------------------------------------------------------------------------------------------- DockerCloud

DockerCloudWebHook::DockerCloudWebHook(DockerCloudOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "DockerCloudWebHook '" + name() + "'";
  options_.base_url = strip_trailing_slashes(options_.base_url);
  require_http_url(who, "base_url", options_.base_url);
  check_path_segment(who, "source", options_.source);
  check_path_segment(who, "trigger", options_.trigger);
}

DockerCloudWebHook::~DockerCloudWebHook() {
  detach_answers();
}

std::string DockerCloudWebHook::describe() const {
  return "DockerCloudWebHook '" + name() + "' -> " + redact_url(options_.base_url) + "/api/build/v1/source/" +
         mask(options_.source) + "/trigger/" + mask(options_.trigger) + "/call/ (" + options_.source_type +
         " " + options_.source_branch + ")";
}

// The event's data is ignored, as in the Python eventhooks library; its id still goes out as webhook-id.
Result<HttpRequest> DockerCloudWebHook::render(const Event& event) const {
  nlohmann::ordered_json body;
  body["source_type"] = options_.source_type;
  body["source_name"] = options_.source_branch;

  HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + "/api/build/v1/source/" + options_.source + "/trigger/" +
                options_.trigger + "/call/";
  request.redacted_url = redact_url(options_.base_url) + "/api/build/v1/source/" + mask(options_.source) +
                         "/trigger/" + mask(options_.trigger) + "/call/";
  add_json_body_headers(request, event);
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return request;
}

}  // namespace eventhooks
