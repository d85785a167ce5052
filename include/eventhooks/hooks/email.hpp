// SimpleEmailHook (SMTP: plain, STARTTLS, implicit TLS) and AwsSesEmailHook (SES v2 SendEmail, SigV4-signed):
// the email hooks of the Python eventhooks library. Thread-safe like Hook: trigger() may be called from many
// threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "eventhooks/hook.hpp"
#include "eventhooks/hooks/http_hook.hpp"
#include "eventhooks/network.hpp"
#include "eventhooks/timeouts.hpp"
#include "eventhooks/tls.hpp"

namespace eventhooks {

namespace detail {
class SmtpClient;
}

// How a SimpleEmailHook talks to its server (config key `tls`: false / true / "implicit").
enum class SmtpSecurity {
  starttls,  // the Python library's tls=True: STARTTLS is required (never falls back to plain text), then
             // AUTH
  plain,     // tls=False: plain SMTP without AUTH (a port 25 relay)
  implicit,  // TLS from the first byte (SMTPS, usually port 465), then AUTH
};

// Parts common to both email hooks.
struct EmailContent {
  std::string sender;                   // envelope sender and From address
  std::string sender_name;              // From display name (UTF-8; RFC 2047-encoded when not ASCII)
  std::vector<std::string> recipients;  // every one receives the message
  // subject, message and html are Mustache templates over the event (docs/hooks.md, "Templates").
  std::string subject;  // empty = the hook's name
  std::string message;  // the text body; empty = the event's data as text
  // Optional HTML alternative ({{x}} HTML-escaped; "{{data}}" is the event's text). Empty = text/plain only.
  std::string html;
};

struct SimpleEmailOptions {
  HookCommon common;
  std::string host;         // empty = EVENT_MAIL_HOST, else email-smtp.us-west-2.amazonaws.com
  int port = 0;             // 0 = EVENT_MAIL_PORT, else 587 (465 for implicit TLS)
  std::string credentials;  // "user:password" (the password may contain ':'); required unless plain
  SmtpSecurity security = SmtpSecurity::starttls;
  EmailContent email;
  // An SMTP exchange (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA) takes longer than one HTTP request.
  Timeouts timeouts{.connect = std::chrono::seconds(10), .total = std::chrono::seconds(60)};
  TlsOptions tls;
  // Which addresses the hook may connect to, judged at connect time (docs/network.md).
  NetworkPolicy network;
};

// SimpleEmailHook of the Python eventhooks library. Consecutive sends reuse the SMTP session.
// Delivered = the server's 250 after DATA; the receipt's id is the Message-ID.
class EVENTHOOKS_EXPORT SimpleEmailHook final : public Hook {
 public:
  // Throws ConfigError: bad sender/recipient address, header injection, missing credentials when TLS.
  explicit SimpleEmailHook(SimpleEmailOptions options);
  ~SimpleEmailHook() override;
  std::string_view type() const noexcept override { return "SimpleEmailHook"; }
  std::string describe() const override;
  const SimpleEmailOptions& options() const noexcept { return options_; }

  // The Python library's `hook.email.subject = ...`: changes the subject of later sends. A CR or LF is
  // refused.
  void set_subject(std::string subject);
  std::string subject() const;

  // The complete message (RFC 5322, CRLF) this hook would send for `event`; no I/O.
  Result<std::string> render(const Event& event) const;

 protected:
  Result<Receipt> send(const Event& event) override;
  // On the SMTP client's I/O thread: many sends in flight from one caller over reused sessions. The
  // dispatcher still gives each SMTP delivery a worker (delivers_async() is false): servers cap sessions per
  // client, and on loopback a session per thread measured faster (docs/benchmarks.md).
  void send_async(const Event& event, std::function<void(Result<Receipt>)> done) override;

 private:
  SimpleEmailOptions options_;
  std::string username_, password_;
  mutable std::mutex subject_mutex_;
  std::shared_ptr<detail::SmtpClient> client_;
};

struct AwsSesOptions {
  HookCommon common;
  EmailContent email;
  std::string region;        // empty = AWS_REGION, else AWS_DEFAULT_REGION
  std::string endpoint_url;  // empty = AWS_ENDPOINT_URL_SES, else AWS_ENDPOINT_URL, else the regional one
  std::string configuration_set;  // SES ConfigurationSetName; empty = none
  std::string profile;            // ~/.aws/credentials profile when AWS_PROFILE is unset; empty = "default"
  // Explicit credentials; empty access key = the standard chain (AWS_ACCESS_KEY_ID/..., then the profile).
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  HttpHookOptions http;
};

// AwsSesEmailHook of the Python eventhooks library, on SES v2 SendEmail (POST /v2/email/outbound-emails,
// Simple content) signed with SigV4 (service "ses"). Delivered = SES returned a MessageId (the receipt's id).
class EVENTHOOKS_EXPORT AwsSesEmailHook final : public HttpHook {
 public:
  // Throws ConfigError: bad addresses, header injection, no region.
  explicit AwsSesEmailHook(AwsSesOptions options);
  ~AwsSesEmailHook() override;
  std::string_view type() const noexcept override { return "AwsSesEmailHook"; }
  std::string describe() const override;
  const AwsSesOptions& options() const noexcept { return options_; }
  const std::string& region() const noexcept { return region_; }
  const std::string& endpoint() const noexcept { return endpoint_; }

  void set_subject(std::string subject);
  std::string subject() const;

  // The signed SendEmail request for `event` at `now` (Authorization included); no I/O.
  Result<HttpRequest> render(const Event& event, std::chrono::system_clock::time_point now) const;
  Result<HttpRequest> render(const Event& event) const override;  // at the current time

 protected:
  // Delivered = SES returned a MessageId; SES's error types decide retryable, throttled, auth.
  Result<Receipt> interpret(const HttpRequest& request, Result<HttpResponse> performed) const override;

 private:
  AwsSesOptions options_;
  std::string region_;
  std::string endpoint_;
  mutable std::mutex subject_mutex_;
};

}  // namespace eventhooks
