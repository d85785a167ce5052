// WebHook, MattermostWebHook, DockerCloudWebHook: the seed's HTTP hooks. Thread-safe like Hook.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "eventhooks/hook.hpp"
#include "eventhooks/http.hpp"

namespace eventhooks {

// Options every HTTP hook shares.
struct HttpHookOptions {
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  TlsOptions tls;
  // Share one client (and its connection pool) among hooks; null = the hook makes its own.
  std::shared_ptr<HttpClient> client;
};

struct WebHookOptions {
  std::string name;
  std::string url;
  Realms realms;
  bool enabled = true;
  Headers headers;     // extra request headers
  std::string secret;  // "whsec_<base64>": sign with Standard Webhooks (webhook-id/-timestamp/-signature)
  HttpHookOptions http;
};

// POST url, Content-Type: application/json, body = Payload::to_json_body().
class EVENTHOOKS_EXPORT WebHook : public Hook {
 public:
  explicit WebHook(WebHookOptions options);
  ~WebHook() override;
  std::string_view type() const noexcept override { return "WebHook"; }
  std::string describe() const override;
  const WebHookOptions& options() const noexcept { return options_; }

  // The request this hook would send for `event` (signature included); no I/O. Used by --dry-run and tests.
  Result<HttpRequest> render(const Event& event) const;

 protected:
  Result<Receipt> send(const Event& event) override;

 private:
  WebHookOptions options_;
  std::string secret_key_;  // decoded whsec_ key
  std::shared_ptr<HttpClient> client_;
};

struct MattermostOptions {
  std::string name;
  std::string host;   // https://chat.example.com
  std::string token;  // the incoming webhook's token (secret)
  Realms realms;
  bool enabled = true;
  std::string username, channel, icon_url, icon_emoji;
  HttpHookOptions http;
};

// POST {host}/hooks/{token}, body {"text": <Payload::to_text()>, ...}. Empty data is an error, nothing sent.
class EVENTHOOKS_EXPORT MattermostWebHook : public Hook {
 public:
  explicit MattermostWebHook(MattermostOptions options);
  ~MattermostWebHook() override;
  std::string_view type() const noexcept override { return "MattermostWebHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const;

 protected:
  Result<Receipt> send(const Event& event) override;

 private:
  MattermostOptions options_;
  std::shared_ptr<HttpClient> client_;
};

struct DockerCloudOptions {
  std::string name;
  std::string source;   // secret-ish: masked in logs
  std::string trigger;  // secret-ish: masked in logs
  std::string source_branch = "master";
  std::string source_type = "Branch";
  std::string base_url = "https://hub.docker.com";
  Realms realms;
  bool enabled = true;
  HttpHookOptions http;
};

// POST {base_url}/api/build/v1/source/{source}/trigger/{trigger}/call/ with
// {"source_type": ..., "source_name": <source_branch>}; the event's data is ignored (as the seed).
class EVENTHOOKS_EXPORT DockerCloudWebHook : public Hook {
 public:
  explicit DockerCloudWebHook(DockerCloudOptions options);
  ~DockerCloudWebHook() override;
  std::string_view type() const noexcept override { return "DockerCloudWebHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const;

 protected:
  Result<Receipt> send(const Event& event) override;

 private:
  DockerCloudOptions options_;
  std::shared_ptr<HttpClient> client_;
};

}  // namespace eventhooks
