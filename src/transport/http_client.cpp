// HttpClient on libcurl. Each easy handle keeps its own connection cache, so handles are pooled and reused:
// a request borrows one, and the next request on the same thread of work finds the connection still open.
#include "eventhooks/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/text.hpp"
#include "eventhooks/redact.hpp"
#include "transport/connect_guard.hpp"
#include "transport/curl_global.hpp"
#include "transport/curl_multi.hpp"

namespace eventhooks {
namespace {

using detail::to_lower;
using detail::trim;

// Idle handles kept beyond this are closed: a burst of threads should not leave a pile of sockets behind. As
// many as the dispatcher keeps in flight by default, so a steady asynchronous stream reuses its handles.
constexpr std::size_t kMaxIdleHandles = 256;
constexpr std::size_t kSnippetChars = 200;

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

struct Transfer {
  HttpResponse response;
  std::size_t max_body = 0;
};

size_t on_body(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  auto& body = t->response.body;
  if (body.size() < t->max_body) {
    const size_t take = std::min(n, t->max_body - body.size());
    body.append(data, take);
    if (take < n) t->response.body_truncated = true;
  } else if (n > 0) {
    t->response.body_truncated = true;
  }
  // Accept (and drop) the rest, so the connection stays usable for the next request.
  return n;
}

size_t on_header(char* data, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nitems;
  std::string_view line(data, n);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line (after 100 Continue or a followed redirect): only the final response's headers count.
    t->response.headers.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    auto& headers = t->response.headers;
    if (headers.capacity() == 0) headers.reserve(8);  // one allocation for a typical answer, not four
    headers.emplace_back(to_lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return n;
}

// Pieces of the real URL that its masked form leaves out (tokens in the path, query values): they must not
// reach an error message, even when a server echoes them back in its reply.
std::vector<std::string> url_secrets(const std::string& url, const std::string& redacted) {
  std::vector<std::string> out;
  if (url == redacted) return out;
  auto consider = [&](std::string_view piece) {
    if (piece.size() >= 3 && redacted.find(piece) == std::string::npos) out.emplace_back(piece);
  };
  const auto scheme = url.find("://");
  const std::size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
  const auto path_start = std::min(url.find_first_of("/?#", authority), url.size());
  // userinfo: "user:password@" — the password
  const auto at = url.rfind('@', path_start);
  if (at != std::string::npos && at >= authority) {
    const auto colon = url.find(':', authority);
    if (colon != std::string::npos && colon < at)
      consider(std::string_view(url).substr(colon + 1, at - colon - 1));
  }
  // path segments and query values (not query names: "token" alone is no secret, and scrubbing it garbles
  // text)
  const auto query = std::min(url.find('?', path_start), url.size());
  const auto fragment = std::min(url.find('#', path_start), url.size());
  std::size_t i = path_start;
  while (i < std::min(query, fragment)) {
    const auto next = std::min(url.find('/', i + 1), std::min(query, fragment));
    consider(std::string_view(url).substr(i + 1, next - i - 1));
    i = next;
  }
  if (query < fragment) {
    std::string_view q = std::string_view(url).substr(query + 1, fragment - query - 1);
    while (!q.empty()) {
      const auto amp = std::min(q.find('&'), q.size());
      std::string_view pair = q.substr(0, amp);
      const auto eq = pair.find('=');
      consider(eq == std::string_view::npos ? pair : pair.substr(eq + 1));
      q.remove_prefix(std::min(amp + 1, q.size()));
    }
  }
  return out;
}

struct Scrubber {
  std::vector<std::string> secrets;
  std::string operator()(std::string text) const {
    for (const auto& s : secrets) text = scrub(std::move(text), s);
    return text;
  }
};

Scrubber make_scrubber(const HttpRequest& request, const std::string& redacted) {
  Scrubber s{url_secrets(request.url, redacted)};
  for (const auto& secret : request.secrets) {
    if (!secret.empty()) s.secrets.push_back(secret);
  }
  for (const auto& [name, value] : request.headers) {
    const auto n = to_lower(name);
    if (n == "authorization" || n == "proxy-authorization" || n == "cookie" ||
        n.find("token") != std::string::npos || n.find("secret") != std::string::npos ||
        n.find("signature") != std::string::npos || n.find("key") != std::string::npos) {
      if (!value.empty()) s.secrets.push_back(value);
    }
  }
  return s;
}

std::string snippet(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kSnippetChars)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  }
  out = trim(out);
  if (body.size() > kSnippetChars) out += "...";
  return out;
}

Error curl_error(CURLcode rc, CURL* curl, const char* errbuf, const HttpRequest& request,
                 const std::string& where, const HttpOptions& options) {
  Error e;
  std::string why = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      e.code = ErrorCode::dns;
      e.retryable = true;  // resolvers fail transiently; a name that never resolves ends in the dead letters
      break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      // With TLS 1.3 a server refusing our client certificate says so in an alert after the handshake, and
      // libcurl reports it as a read error; it is a TLS setup problem that retrying will not fix.
      if (why.find("alert") != std::string::npos &&
          (why.find("certificate") != std::string::npos || why.find("unknown ca") != std::string::npos)) {
        e.code = ErrorCode::tls;
        e.retryable = false;
        break;
      }
      e.code = ErrorCode::connect;
      e.retryable = true;
      break;
    case CURLE_COULDNT_CONNECT:
      e.code = ErrorCode::connect;
      e.retryable = true;
      break;
    case CURLE_OPERATION_TIMEDOUT: {
      e.code = ErrorCode::timeout;
      e.retryable = true;
      curl_off_t connected_us = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected_us);
      why = connected_us == 0
                ? "connect timed out after " + std::to_string(options.timeouts.connect.count()) + " ms"
                : "no complete response within " + std::to_string(options.timeouts.total.count()) + " ms";
      break;
    }
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
      // A certificate that does not verify will not verify on the next attempt either.
      e.code = ErrorCode::tls;
      e.retryable = false;
      break;
    case CURLE_SSL_CONNECT_ERROR:
      // The handshake itself broke (reset, version mismatch): may be transient.
      e.code = ErrorCode::tls;
      e.retryable = true;
      break;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      e.code = ErrorCode::protocol;
      e.retryable = true;
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      e.code = ErrorCode::config;
      e.retryable = false;
      break;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
      e.code = ErrorCode::internal;
      e.retryable = true;
      break;
    default:
      e.code = ErrorCode::protocol;
      e.retryable = false;
      break;
  }
  e.message = make_scrubber(request, where)(request.method + " " + where + ": " + why);
  return e;
}

// Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3). Unparseable values are ignored.
std::optional<std::chrono::seconds> parse_retry_after(const std::string& value) {
  const std::string v = trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    if (v.size() > 9) return std::chrono::seconds(999'999'999);
    return std::chrono::seconds(std::stoll(v));
  }
  const time_t when = curl_getdate(v.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

}  // namespace

const std::string* HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

namespace {

// The URL as errors show it: the request's own masked form, or the URL masked now. Only failures need it.
std::string where_of(const HttpRequest& request) {
  return request.redacted_url.empty() ? redact_url(request.url) : request.redacted_url;
}

// Refuses what must never reach the wire: header injection, an empty or broken method.
std::optional<Error> check_request(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || has_line_break(name) || has_line_break(value) ||
        name.find(':') != std::string::npos) {
      return Error::permanent(ErrorCode::invalid_input,
                              "header '" + (has_line_break(name) ? std::string("(invalid name)") : name) +
                                  "' contains a line break or an invalid name; refused to send to " +
                                  where_of(request));
    }
  }
  if (has_line_break(request.method) || request.method.empty()) {
    return Error::permanent(ErrorCode::invalid_input, "invalid HTTP method");
  }
  return std::nullopt;
}

// One request's state while libcurl works on it: everything libcurl points into must live this long.
struct Exchange {
  HttpRequest owned;                // asynchronous: the request lives here until `done` has run
  const HttpRequest* req = &owned;  // synchronous: the caller's request, which outlives the exchange
  Transfer transfer;
  curl_slist* headers = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {0};
  detail::ConnectGuard guard;  // every connection this request opens (redirects, proxy) is judged here
  HttpClient::Callback done;   // asynchronous exchanges only
  bool check_status = false;   // asynchronous: apply send()'s status rules before `done`

  Exchange() = default;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange() { curl_slist_free_all(headers); }
};

// The options that are the same for every request of a client: set once, when a handle is made. Handles are
// reused without curl_easy_reset, which would throw these away and make every request set them again.
CURL* new_handle(const HttpOptions& o) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return nullptr;
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.timeouts.connect.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeouts.total.count()));
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(curl, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, o.follow_redirects ? 1L : 0L);
  if (o.follow_redirects) curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  if (!o.proxy.empty()) curl_easy_setopt(curl, CURLOPT_PROXY, o.proxy.c_str());

  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, o.tls.verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, o.tls.verify ? 2L : 0L);
  if (!o.tls.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, o.tls.ca_file.c_str());
  if (!o.tls.cert_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, o.tls.cert_file.c_str());
  if (!o.tls.key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, o.tls.key_file.c_str());

  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  detail::guard_connections(curl, nullptr);  // an idle handle opens nothing; configure() points it at a guard
  return curl;
}

// Sets what changes from one request to the next on a handle made by new_handle. Every option a previous
// request may have set is set again here, so nothing of one request leaks into the next.
void configure(CURL* curl, Exchange& x, const HttpOptions& o) {
  const HttpRequest& request = *x.req;
  x.transfer.max_body = o.max_response_bytes;
  for (const auto& [name, value] : request.headers) {
    // "Name;" is how libcurl is told to send a header with an empty value.
    std::string line = name;
    if (value.empty()) {
      line += ';';
    } else {
      line.append(": ").append(value);
    }
    x.headers = curl_slist_append(x.headers, line.c_str());
  }
  // libcurl sends "Expect: 100-continue" for larger bodies and then waits up to a second; webhooks are small.
  x.headers = curl_slist_append(x.headers, "Expect:");

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, x.errbuf);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, x.headers);
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
                     request.method == "POST" ? nullptr : request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  }
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x.transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x.transfer);
  x.guard.policy = &o.network;
  detail::point_at(curl, &x.guard);
}

// An idle handle must not point into an exchange that is gone.
void forget_request(CURL* curl) {
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, nullptr);
  detail::point_at(curl, nullptr);
}

// What libcurl's result code and the handle's status make of the exchange.
Result<HttpResponse> complete(CURLcode rc, CURL* curl, Exchange& x, const HttpOptions& o) {
  if (rc != CURLE_OK) {
    const std::string where = where_of(*x.req);
    if (auto refused = x.guard.forbidden(x.req->method + " " + where)) {
      refused->message = make_scrubber(*x.req, where)(std::move(refused->message));
      return *std::move(refused);
    }
    return curl_error(rc, curl, x.errbuf, *x.req, where, o);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  x.transfer.response.status = static_cast<int>(status);
  return std::move(x.transfer.response);
}

// Idle easy handles, LIFO: the most recently used one has the warmest connection (sync path) and caches.
class HandlePool {
 public:
  explicit HandlePool(const HttpOptions& options) : options_(options) {}
  HandlePool(const HandlePool&) = delete;
  HandlePool& operator=(const HandlePool&) = delete;
  ~HandlePool() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  CURL* borrow() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return new_handle(options_);
  }

  // The handle keeps its live connection, DNS and TLS session caches: exactly what reuse needs.
  void give_back(CURL* h) {
    forget_request(h);
    {
      std::lock_guard lock(mutex_);
      if (idle_.size() < kMaxIdleHandles) {
        idle_.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }

 private:
  const HttpOptions& options_;
  std::mutex mutex_;
  std::vector<CURL*> idle_;
};

Error cancelled_error(const Exchange& x) {
  return Error::transient(ErrorCode::internal, x.req->method + " " + where_of(*x.req) +
                                                   ": cancelled, the HttpClient was destroyed first");
}

void finish(Exchange& x, Result<HttpResponse> result) {
  try {
    x.done(*x.req, std::move(result));
  } catch (...) {
    // A throwing callback must not take the I/O thread (and every other request) down with it.
  }
}

// One asynchronous request on a CurlLoops thread.
class HttpTransfer final : public detail::CurlTransfer {
 public:
  HttpTransfer(CURL* easy, std::unique_ptr<Exchange> x, HandlePool& pool, const HttpOptions& options)
      : CurlTransfer(easy), x_(std::move(x)), pool_(pool), options_(options) {}

  void finished(CURLcode rc) override {
    Result<HttpResponse> result = complete(rc, easy(), *x_, options_);
    pool_.give_back(easy());
    if (x_->check_status) result = check_http_status(*x_->req, std::move(result));
    finish(*x_, std::move(result));
  }
  void cancelled() override { finish(*x_, cancelled_error(*x_)); }

 private:
  std::unique_ptr<Exchange> x_;
  HandlePool& pool_;
  const HttpOptions& options_;
};

}  // namespace

struct HttpClient::Impl {
  explicit Impl(HttpOptions o) : options(std::move(o)), loops(options.io_threads, options.batch_scheduling) {}
  const HttpOptions options;
  HandlePool pool{options};  // idle handles of both paths; outlives `loops`, whose transfers give back to it
  detail::CurlLoops loops;   // the asynchronous path, started on first use

  void submit(HttpRequest request, Callback done, bool check_status) {
    auto x = std::make_unique<Exchange>();
    x->owned = std::move(request);
    x->done = std::move(done);
    x->check_status = check_status;
    if (auto refused = check_request(x->owned)) {
      finish(*x, std::move(*refused));
      return;
    }
    CURL* curl = pool.borrow();
    if (curl == nullptr) {
      finish(*x, Error::transient(ErrorCode::internal, "curl_easy_init failed"));
      return;
    }
    // Configured here, on the caller's thread: the I/O thread only moves bytes.
    configure(curl, *x, options);
    loops.submit(std::make_unique<HttpTransfer>(curl, std::move(x), pool, options));
  }
};

HttpClient::HttpClient(HttpOptions options) {
  detail::curl_global_init_once();
  impl_ = std::make_unique<Impl>(std::move(options));
}

HttpClient::~HttpClient() = default;

const HttpOptions& HttpClient::options() const noexcept {
  return impl_->options;
}

Result<HttpResponse> HttpClient::perform(const HttpRequest& request) {
  const HttpOptions& o = impl_->options;
  Exchange x;
  x.req = &request;  // only read while libcurl works on it: no copy of the body
  if (auto refused = check_request(request)) return *refused;

  CURL* curl = impl_->pool.borrow();
  if (curl == nullptr) return Error::transient(ErrorCode::internal, "curl_easy_init failed");
  configure(curl, x, o);
  const CURLcode rc = curl_easy_perform(curl);
  Result<HttpResponse> result = complete(rc, curl, x, o);
  impl_->pool.give_back(curl);
  return result;
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  return check_http_status(request, perform(request));
}

void HttpClient::perform_async(HttpRequest request, Callback done) {
  impl_->submit(std::move(request), std::move(done), false);
}

void HttpClient::send_async(HttpRequest request, Callback done) {
  impl_->submit(std::move(request), std::move(done), true);
}

Result<HttpResponse> check_http_status(const HttpRequest& request, Result<HttpResponse> performed) {
  if (!performed) return performed;
  const HttpResponse& r = performed.value();
  if (r.status >= 200 && r.status < 300) return performed;

  const std::string where = where_of(request);
  Error e;
  e.status = r.status;
  e.code = ErrorCode::http_status;
  // 3xx: redirects are not followed unless asked; the URL is out of date and retrying will not fix it.
  // Other 4xx: the request itself is wrong. Both stay retryable = false.
  if (r.status == 429) {
    e.code = ErrorCode::throttled;
    e.retryable = true;
  } else if (r.status == 503) {
    e.code = ErrorCode::unavailable;
    e.retryable = true;
  } else if (r.status == 408 || r.status >= 500) {
    e.retryable = true;
  }
  if (const auto* ra = r.header("retry-after")) e.retry_after = parse_retry_after(*ra);

  std::string message = request.method + " " + where + ": HTTP " + std::to_string(r.status);
  if (r.status >= 300 && r.status < 400) {
    if (const auto* loc = r.header("location"))
      message += " (redirect to " + redact_url(*loc) + ", not followed)";
  }
  const std::string body = snippet(r.body);
  if (!body.empty()) message += ": " + body;
  e.message = make_scrubber(request, where)(std::move(message));
  return e;
}

}  // namespace eventhooks
