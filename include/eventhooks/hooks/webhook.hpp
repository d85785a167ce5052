// WebHook, MattermostWebHook, DockerCloudWebHook: the seed's HTTP hooks. Thread-safe like Hook.
#pragma once

#include <chrono>
#include <functional>
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

// The base of every hook that sends one HTTP request per event (WebHook, MattermostWebHook,
// DockerCloudWebHook, AwsSesEmailHook): a type renders the request and may read the answer its own way; this
// class sends it, synchronously (trigger/deliver) or through the client's I/O thread (deliver_async), so the
// dispatcher can keep many deliveries in flight without a thread each.
class EVENTHOOKS_EXPORT HttpHook : public Hook {
 public:
  ~HttpHook() override;
  // The request this hook would send for `event` now (signature included); no I/O. --dry-run shows it.
  virtual Result<HttpRequest> render(const Event& event) const = 0;
  const std::shared_ptr<HttpClient>& client() const noexcept { return client_; }
  bool delivers_async() const noexcept override { return true; }

 protected:
  // Uses http.client, or makes a client of its own from the timeouts and TLS options.
  HttpHook(HookCommon common, const HttpHookOptions& http);
  // The answer to `request` (a transport failure or any HTTP status) as a Receipt or an Error. The default
  // applies check_http_status and reports "HTTP <status>" (and X-Request-Id as the receipt's id).
  virtual Result<Receipt> interpret(const HttpRequest& request, Result<HttpResponse> performed) const;

  Result<Receipt> send(const Event& event) final;
  void send_async(const Event& event, std::function<void(Result<Receipt>)> done) final;

 private:
  std::shared_ptr<HttpClient> client_;
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
class EVENTHOOKS_EXPORT WebHook : public HttpHook {
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
  std::string name;
  std::string host;   // https://chat.example.com
  std::string token;  // the incoming webhook's token (secret)
  Realms realms;
  bool enabled = true;
  std::string username, channel, icon_url, icon_emoji;
  HttpHookOptions http;
};

// POST {host}/hooks/{token}, body {"text": <Payload::to_text()>, ...}. Empty data is an error, nothing sent.
class EVENTHOOKS_EXPORT MattermostWebHook : public HttpHook {
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
class EVENTHOOKS_EXPORT DockerCloudWebHook : public HttpHook {
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
