// WebHook, MattermostWebHook, DockerCloudWebHook: the HTTP hooks of the Python eventhooks library.
// Thread-safe like Hook.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "eventhooks/hooks/http_hook.hpp"

namespace eventhooks {

struct WebHookOptions {
  HookCommon common;
  std::string url;
  Headers headers;     // extra request headers
  std::string secret;  // "whsec_<base64>": sign with Standard Webhooks (webhook-id/-timestamp/-signature)
  // The body as a JSON object (or array) whose strings are Mustache templates over the event (docs/hooks.md,
  // "Templates"), rendered value by value, so the body is valid JSON whatever the data holds. null = the
  // event's data as the body (Payload::to_json_body).
  nlohmann::ordered_json body;
  HttpHookOptions http;
};

// POST url, Content-Type: application/json, body = Payload::to_json_body() (or `body` rendered);
// `webhook-id: <event id>` on every request (the idempotency key), signed when a secret is set.
class EVENTHOOKS_EXPORT WebHook final : public HttpHook {
 public:
  explicit WebHook(WebHookOptions options);
  ~WebHook() override;
  std::string_view type() const noexcept override { return "WebHook"; }
  std::string describe() const override;
  const WebHookOptions& options() const noexcept { return options_; }

  Result<HttpRequest> render(const Event& event) const override;

 private:
  WebHookOptions options_;
  std::string secret_key_;    // decoded whsec_ key
  std::string redacted_url_;  // the URL as logs and errors show it, masked once
};

struct MattermostOptions {
  HookCommon common;
  std::string host;   // https://chat.example.com
  std::string token;  // the incoming webhook's token (secret)
  std::string username, channel, icon_url, icon_emoji;
  std::string message;  // a Mustache template of the text (docs/hooks.md, "Templates"); empty = the data
  HttpHookOptions http;
};

// POST {host}/hooks/{token}, body {"text": <message or Payload::to_text()>, ...}, `webhook-id: <event id>`.
// Empty data is an error, nothing sent.
class EVENTHOOKS_EXPORT MattermostWebHook final : public HttpHook {
 public:
  explicit MattermostWebHook(MattermostOptions options);
  ~MattermostWebHook() override;
  std::string_view type() const noexcept override { return "MattermostWebHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 private:
  MattermostOptions options_;
};

struct DockerCloudOptions {
  HookCommon common;
  std::string source;   // secret-ish: masked in logs
  std::string trigger;  // secret-ish: masked in logs
  std::string source_branch = "master";
  std::string source_type = "Branch";
  std::string base_url = "https://hub.docker.com";
  HttpHookOptions http;
};

// POST {base_url}/api/build/v1/source/{source}/trigger/{trigger}/call/ with
// {"source_type": ..., "source_name": <source_branch>}; the event's data is ignored (as in the Python
// eventhooks library).
class EVENTHOOKS_EXPORT DockerCloudWebHook final : public HttpHook {
 public:
  explicit DockerCloudWebHook(DockerCloudOptions options);
  ~DockerCloudWebHook() override;
  std::string_view type() const noexcept override { return "DockerCloudWebHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 private:
  DockerCloudOptions options_;
};

}  // namespace eventhooks
