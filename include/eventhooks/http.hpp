// HttpClient: the HTTP transport every HTTP hook (and SES) sends through. libcurl underneath, behind a pimpl.
// Thread-safe: any number of threads may call send() at once; each borrows a pooled connection handle,
// so connections are kept alive and reused across calls. send_async() hands the request to one I/O thread
// (libcurl's multi interface, started on first use) and returns at once, so one caller can keep many
// requests in flight without a thread each.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "eventhooks/error.hpp"
#include "eventhooks/export.hpp"
#include "eventhooks/network.hpp"
#include "eventhooks/timeouts.hpp"
#include "eventhooks/tls.hpp"

namespace eventhooks {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpOptions {
  Timeouts timeouts;  // connect: TCP + TLS handshake (10 s); total: the whole request (30 s)
  TlsOptions tls;
  // A 3xx is a failure unless this is on; followed redirects (at most 5, http and https only) connect
  // through the same network policy as the first request.
  bool follow_redirects = false;
  // The response body is read up to this, the rest dropped.
  std::size_t max_response_bytes = std::size_t{64} * 1024;
  std::string user_agent = "eventhooks/0.1";
  // Proxies come from http_proxy / HTTPS_PROXY / ALL_PROXY / NO_PROXY unless set here (libcurl's rules:
  // `http_proxy` is read in lower case only).
  std::string proxy;
  // Which addresses connections may go to, judged at connect time after DNS (docs/network.md): through a
  // proxy, the proxy's address is what is judged. Default: cloud metadata addresses refused.
  NetworkPolicy network;
  // Threads that drive send_async()/perform_async() requests (each a libcurl multi handle with its own
  // connections), started on the first asynchronous request. One carries some 30,000 small requests/s on
  // loopback; more only help with more cores free.
  std::size_t io_threads = 1;
  // Run those threads as batch work (Linux SCHED_BATCH, no privilege needed), like the Dispatcher's: they get
  // their fair share of the CPU, but a finished request waking one never preempts the application's running
  // thread (the application's latency, not the client's throughput: measured, the rate is the same either
  // way). false: normal threads.
  bool batch_scheduling = true;
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  Headers headers;
  std::string body;
  // Masked form of `url` for logs and errors (a hook whose URL carries a token sets it); empty = derive.
  std::string redacted_url;
  // Values no error message may show although the URL's masked form does not reveal them (a bot token
  // inside a path segment, a routing key in the body): scrubbed from every error about this request.
  std::vector<std::string> secrets;
};

struct HttpResponse {
  int status = 0;
  Headers headers;   // names lower-cased
  std::string body;  // at most HttpOptions::max_response_bytes
  bool body_truncated = false;

  // First header with that (lower-case) name, or nullptr.
  EVENTHOOKS_EXPORT const std::string* header(std::string_view lower_name) const;
};

class EVENTHOOKS_EXPORT HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Transport-level success: any HTTP status is a response. Failure: DNS, connect, TLS, timeout, ...
  Result<HttpResponse> perform(const HttpRequest& request);

  // perform() plus the status rules of docs/architecture.md: 2xx ok; 3xx, 4xx fail (408/429 retryable); 5xx
  // retryable; Retry-After (seconds or HTTP date) goes into the Error.
  Result<HttpResponse> send(const HttpRequest& request);

  // Called exactly once per asynchronous request, on the client's I/O thread (or on the caller's thread
  // when the request is refused before any I/O). Keep it short: every other request waits while it runs.
  // It may start more requests; it must not throw (what it throws is dropped).
  using Callback = std::function<void(const HttpRequest& request, Result<HttpResponse> response)>;
  // perform() and send() without blocking: the same options, timeouts, errors and status rules. Requests
  // still in flight when the client is destroyed end with a retryable `internal` error ("cancelled").
  void perform_async(HttpRequest request, Callback done);
  void send_async(HttpRequest request, Callback done);

  const HttpOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// send()'s status rules applied to a perform() result: 2xx passes; 3xx and 4xx fail (408/429 retryable);
// 5xx retryable; Retry-After kept; secrets of the request scrubbed from the message.
EVENTHOOKS_EXPORT Result<HttpResponse> check_http_status(const HttpRequest& request,
                                                         Result<HttpResponse> performed);

}  // namespace eventhooks
