// The HTTP hooks: each renders an HttpRequest from an Event and hands it to a (possibly shared) HttpClient.
#include "eventhooks/hooks/webhook.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "eventhooks/redact.hpp"
#include "transport/signing.hpp"

namespace eventhooks {
namespace {

std::shared_ptr<HttpClient> client_for(const HttpHookOptions& http) {
  if (http.client) return http.client;
  HttpOptions options;
  options.connect_timeout = http.connect_timeout;
  options.timeout = http.timeout;
  options.tls = http.tls;
  return std::make_shared<HttpClient>(std::move(options));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

// RFC 9110 token characters: anything else in a header name would let a config smuggle a second header.
bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

void check_headers(const std::string& hook, const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (!valid_header_name(name)) {
      throw ConfigError("WebHook '" + hook +
                        "': headers: invalid header name (only RFC 9110 token characters, "
                        "no spaces, colons or line breaks)");
    }
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
      std::string message = "WebHook '" + hook;
      message.append("': headers: the value of '")
          .append(name)
          .append("' contains a line break (header injection refused)");
      throw ConfigError(message);
    }
  }
}

std::string strip_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

Receipt receipt_of(const HttpResponse& response) {
  Receipt r;
  r.status = response.status;
  r.detail = "HTTP " + std::to_string(response.status);
  if (const auto* id = response.header("x-request-id")) r.id = *id;
  return r;
}

void require_http_url(const std::string& type, const std::string& hook, const char* key,
                      const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    throw ConfigError(type + " '" + hook + "': " + key + ": must be an http:// or https:// URL, got '" +
                      redact_url(url) + "'");
  }
  if (url.find_first_of("\r\n \t") != std::string::npos) {
    throw ConfigError(type + " '" + hook + "': " + key + ": must not contain spaces or line breaks");
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------- HttpHook

HttpHook::HttpHook(HookCommon common, const HttpHookOptions& http)
    : Hook(std::move(common)), client_(client_for(http)) {}

HttpHook::~HttpHook() = default;

Result<Receipt> HttpHook::interpret(const HttpRequest& request, Result<HttpResponse> performed) const {
  auto checked = check_http_status(request, std::move(performed));
  if (!checked) return checked.error();
  return receipt_of(checked.value());
}

Result<Receipt> HttpHook::send(const Event& event) {
  auto request = render(event);
  if (!request) return request.error();
  return interpret(request.value(), client_->perform(request.value()));
}

void HttpHook::send_async(const Event& event, std::function<void(Result<Receipt>)> done) {
  auto request = render(event);
  if (!request) {
    done(request.error());
    return;
  }
  client_->perform_async(
      std::move(request).value(),
      [this, done = std::move(done)](const HttpRequest& sent, Result<HttpResponse> performed) {
        done(interpret(sent, std::move(performed)));
      });
}

// ---------------------------------------------------------------------------------------------- WebHook

WebHook::WebHook(WebHookOptions options)
    : HttpHook(HookCommon{options.name, options.realms, options.enabled}, options.http),
      options_(std::move(options)) {
  require_http_url("WebHook", options_.name, "url", options_.url);
  redacted_url_ = redact_url(options_.url);
  check_headers(options_.name, options_.headers);
  if (!options_.secret.empty()) {
    auto key = detail::decode_webhook_secret(options_.secret);
    if (!key) {
      throw ConfigError("WebHook '" + options_.name +
                        "': secret: not a Standard Webhooks key (expected whsec_ followed by base64)");
    }
    secret_key_ = std::move(*key);
  }
}

WebHook::~WebHook() = default;

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
  request.body = event.payload.to_json_body();
  const bool own_content_type = std::any_of(options_.headers.begin(), options_.headers.end(),
                                            [](const auto& h) { return iequals(h.first, "content-type"); });
  if (!own_content_type) request.headers.emplace_back("Content-Type", "application/json");
  request.headers.insert(request.headers.end(), options_.headers.begin(), options_.headers.end());
  // The idempotency key of DESIGN.md, sent signed or not: the event id, the same on every attempt, so a
  // receiver can drop the duplicates that at-least-once delivery allows.
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
    : HttpHook(HookCommon{options.name, options.realms, options.enabled}, options.http),
      options_(std::move(options)) {
  options_.host = strip_trailing_slashes(options_.host);
  require_http_url("MattermostWebHook", options_.name, "host", options_.host);
  if (options_.token.empty()) throw ConfigError("MattermostWebHook '" + options_.name + "': token: missing");
  if (options_.token.find_first_of("/?#\r\n \t") != std::string::npos) {
    throw ConfigError("MattermostWebHook '" + options_.name +
                      "': token: must not contain '/', '?', '#', spaces or line breaks");
  }
}

MattermostWebHook::~MattermostWebHook() = default;

std::string MattermostWebHook::describe() const {
  std::string out =
      "MattermostWebHook '" + name() + "' -> " + redact_url(options_.host) + "/hooks/" + mask(options_.token);
  if (!options_.channel.empty()) out += " channel " + options_.channel;
  return out;
}

Result<HttpRequest> MattermostWebHook::render(const Event& event) const {
  if (event.payload.empty()) {
    return Error{ErrorCode::invalid_input,
                 "MattermostWebHook '" + name() + "': no data to post (empty message)",
                 false,
                 {},
                 {}};
  }
  nlohmann::ordered_json body;
  body["text"] = event.payload.to_text();
  if (!options_.username.empty()) body["username"] = options_.username;
  if (!options_.channel.empty()) body["channel"] = options_.channel;
  if (!options_.icon_url.empty()) body["icon_url"] = options_.icon_url;
  if (!options_.icon_emoji.empty()) body["icon_emoji"] = options_.icon_emoji;

  HttpRequest request;
  request.method = "POST";
  request.url = options_.host + "/hooks/" + options_.token;
  request.redacted_url = redact_url(options_.host) + "/hooks/" + mask(options_.token);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return request;
}

// ---------------------------------------------------------------------------------------------- DockerCloud

DockerCloudWebHook::DockerCloudWebHook(DockerCloudOptions options)
    : HttpHook(HookCommon{options.name, options.realms, options.enabled}, options.http),
      options_(std::move(options)) {
  options_.base_url = strip_trailing_slashes(options_.base_url);
  require_http_url("DockerCloudWebHook", options_.name, "base_url", options_.base_url);
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"source", &options_.source},
                                   {"trigger", &options_.trigger}}) {
    if (value->empty()) throw ConfigError("DockerCloudWebHook '" + options_.name + "': " + key + ": missing");
    if (value->find_first_of("/?#\r\n \t") != std::string::npos) {
      throw ConfigError("DockerCloudWebHook '" + options_.name + "': " + key +
                        ": must not contain '/', '?', '#', spaces or line breaks");
    }
  }
}

DockerCloudWebHook::~DockerCloudWebHook() = default;

std::string DockerCloudWebHook::describe() const {
  return "DockerCloudWebHook '" + name() + "' -> " + redact_url(options_.base_url) + "/api/build/v1/source/" +
         mask(options_.source) + "/trigger/" + mask(options_.trigger) + "/call/ (" + options_.source_type +
         " " + options_.source_branch + ")";
}

Result<HttpRequest> DockerCloudWebHook::render(const Event& /*event: ignored, as the seed*/) const {
  nlohmann::ordered_json body;
  body["source_type"] = options_.source_type;
  body["source_name"] = options_.source_branch;

  HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + "/api/build/v1/source/" + options_.source + "/trigger/" +
                options_.trigger + "/call/";
  request.redacted_url = redact_url(options_.base_url) + "/api/build/v1/source/" + mask(options_.source) +
                         "/trigger/" + mask(options_.trigger) + "/call/";
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return request;
}

}  // namespace eventhooks
