// SmtpClient: sends one prepared message over SMTP with libcurl (plain, STARTTLS required, or implicit TLS).
// Thread-safe: each send() borrows an easy handle from a small pool, so an SMTP session is kept open and
// reused by the next send on that handle, and concurrent sends use separate sessions.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "eventhooks/error.hpp"
#include "eventhooks/network.hpp"
#include "eventhooks/outcome.hpp"
#include "eventhooks/timeouts.hpp"
#include "eventhooks/tls.hpp"
#include "transport/curl_multi.hpp"

namespace eventhooks::detail {

enum class SmtpMode {
  plain,     // no TLS, no AUTH (port 25 relay style)
  starttls,  // STARTTLS required (never falls back to plain text), then AUTH
  implicit,  // TLS from the first byte (smtps://, port 465), then AUTH
};

struct SmtpClientOptions {
  std::string host;
  int port = 587;
  SmtpMode mode = SmtpMode::starttls;
  std::string username;
  std::string password;  // secret
  // connect: TCP + TLS handshake; total: one whole exchange, connect included.
  Timeouts timeouts{.connect = std::chrono::seconds(10), .total = std::chrono::seconds(60)};
  TlsOptions tls;
  NetworkPolicy network;         // judged for every connection, after DNS (docs/network.md)
  bool batch_scheduling = true;  // send_async()'s I/O thread runs as batch work (see HttpOptions)
};

class SmtpClient {
 public:
  explicit SmtpClient(SmtpClientOptions options);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // MAIL FROM sender, RCPT TO each recipient (any refusal aborts the whole message), DATA `message`
  // (CRLF line ends). Delivered only on the server's 250 after DATA. The reply codes decide retryable:
  // 4xx yes, 5xx no, 535 (authentication) no.
  Result<Receipt> send(const std::string& sender, const std::vector<std::string>& recipients,
                       std::string_view message);

  // send() on the client's I/O thread (libcurl's multi interface, started on first use): returns at once;
  // `done` runs exactly once, on that thread (or on the caller's when nothing could be started), with the
  // same result send() would give. Sessions are kept open and reused by later sends, as with send().
  // A send still running when the client is destroyed ends as a retryable `internal` error ("cancelled").
  void send_async(const std::string& sender, const std::vector<std::string>& recipients, std::string message,
                  std::function<void(Result<Receipt>)> done);

  // "smtp://host:port (STARTTLS)" without credentials.
  std::string describe() const;
  const SmtpClientOptions& options() const noexcept { return options_; }

 private:
  struct Handle;
  class Transfer;
  std::unique_ptr<Handle> borrow();
  void give_back(std::unique_ptr<Handle> handle);
  // Sets the envelope and the message on a handle; false when out of memory.
  bool prepare(Handle& h, const std::vector<std::string>& recipients) const;
  // What libcurl's result and the server's last replies make of a finished exchange.
  Result<Receipt> conclude(Handle& h, CURLcode rc, std::size_t recipients) const;

  SmtpClientOptions options_;
  std::string url_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Handle>> idle_;
  CurlLoops loops_{
      1, options_.batch_scheduling};  // destroyed first: its transfers give their handles back to idle_
};

}  // namespace eventhooks::detail
