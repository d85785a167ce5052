// HttpHook: the base of every hook that sends one HTTP request per event (WebHook, MattermostWebHook,
// DockerCloudWebHook, AwsSesEmailHook). Thread-safe like Hook.
#pragma once

#include <functional>
#include <memory>

#include "eventhooks/hook.hpp"
#include "eventhooks/http.hpp"
#include "eventhooks/network.hpp"
#include "eventhooks/timeouts.hpp"
#include "eventhooks/tls.hpp"

namespace eventhooks {

// The transport part every HTTP hook shares.
struct HttpHookOptions {
  Timeouts timeouts;  // connect 10 s, total 30 s
  TlsOptions tls;
  // Follow 3xx redirects (at most 5); each one connects through `network` like the first request. Off: a 3xx
  // is a permanent http_status failure naming where it pointed.
  bool follow_redirects = false;
  // Which addresses the hook may connect to, judged at connect time (docs/network.md). Default: cloud
  // metadata addresses refused.
  NetworkPolicy network;
  // Share one client (and its connection pool) among hooks; null = the hook makes its own from the
  // settings above. A shared client's own timeouts, TLS options, redirects and network policy apply.
  std::shared_ptr<HttpClient> client;
};

// A type renders the request and may read the answer its own way; this class sends it, synchronously
// (trigger/deliver) or through the client's I/O thread (deliver_async), so the dispatcher can keep many
// deliveries in flight without a thread each.
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

  // From now on, answers still in flight are read by HTTP's status rules alone, never by this hook's
  // interpret(); waits for one being read right now. A type that overrides interpret() calls it first in its
  // destructor, while its own members still exist (every built-in type does; ~HttpHook does it too late for
  // a derived type's members). Idempotent.
  void detach_answers() noexcept;

 private:
  struct Guard;
  std::shared_ptr<HttpClient> client_;
  std::shared_ptr<Guard> guard_;
};

}  // namespace eventhooks
