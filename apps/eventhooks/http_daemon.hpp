// The HTTP server of eventhooks-http (`serve`, `worker --metrics`): libmicrohttpd on epoll event loops of our
// own (docs/serve.md says why this library). It only moves bytes: it reads a request (the few headers the
// ingest API reads, the body up to a limit), hands it to a handler, and writes the answer the handler gives,
// now or later from any thread. A request whose answer comes later is suspended (MHD_suspend_connection): it
// holds no thread while it waits. After each pass over the connections that were ready, a loop calls
// `after_pass`: there a handler can do at once what the requests of that pass need (serve stores them in one
// group commit) and answer them, without handing each over to another thread and back.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventhooks/config.hpp"

namespace eventhooks::cli {

// The views point into libmicrohttpd's memory for the request: valid during the handler's call only (copy
// what an answer given later needs).
struct HttpRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view path;    // without the query string
  // The headers the ingest API reads; empty when absent.
  std::string_view authorization, content_type, idempotency_key;
  std::string body;
  // The body was larger than HttpDaemonOptions::max_body: it was read and dropped (or, when the announced
  // Content-Length was far larger, not read at all and the connection closes after the answer).
  bool too_large = false;
  std::size_t loop = 0;  // the event loop reading it (0 .. threads-1), for after_pass
};

struct HttpAnswer {
  int status = 200;
  std::string body;
  const char* content_type = "application/json";  // a string literal
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called exactly once per request, on any thread, at any time before the server is destroyed.
using HttpReply = std::function<void(HttpAnswer)>;
// Called on an event-loop thread: must not block (hand slow work to another thread and reply from there).
using HttpHandler = std::function<void(HttpRequest&&, HttpReply)>;
// Called on event loop `loop` after each pass (even an idle one: return quickly when nothing is due). May
// wait for a short local operation (a commit); every connection of that loop waits with it.
using HttpAfterPass = std::function<void(std::size_t loop)>;

struct HttpDaemonOptions {
  ServeConfig::Address listen;  // port 0: a free port (url() says which)
  std::size_t threads = 1;      // event loops
  std::size_t max_body = std::size_t{1} << 20;
  std::string cert_file, key_file;        // both set: HTTPS
  std::chrono::seconds idle_timeout{60};  // a kept-alive connection with no request in this long is closed
  HttpAfterPass after_pass;               // optional
};

class HttpDaemon {
 public:
  // Listens and starts the event loops. On failure returns null and sets `error` (a sentence: the address,
  // and why).
  static std::unique_ptr<HttpDaemon> start(const HttpDaemonOptions& options, HttpHandler handler,
                                           std::string& error);
  // Closes the listening socket (new connections are refused) and answers every later request with
  // `Connection: close`; requests in progress go on.
  void stop_accepting();
  // Waits until no request is in progress (read, being answered, or waiting for its answer); false if
  // `timeout` passed first.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Makes event loop `loop` run a pass (and so after_pass) soon: for a thread with results for that loop's
  // requests. Any thread.
  void wake(std::size_t loop);
  // "http://127.0.0.1:8642", "https://[::1]:8642": the bound port, never 0.
  const std::string& url() const { return url_; }

  // stop_accepting(), waits for every answer a handler still owes (a suspended request cannot be dropped),
  // closes the remaining connections.
  ~HttpDaemon();
  HttpDaemon(const HttpDaemon&) = delete;
  HttpDaemon& operator=(const HttpDaemon&) = delete;

  struct Impl;

 private:
  HttpDaemon() = default;
  std::unique_ptr<Impl> impl_;
  std::string url_;
};

}  // namespace eventhooks::cli
