#include <spdlog/spdlog.h>

#include <cstdlib>

#include "eventhooks/hooks/email.hpp"
#include "eventhooks/logger.hpp"
#include "hooks/email_common.hpp"
#include "transport/mime.hpp"
#include "transport/smtp_client.hpp"

namespace eventhooks {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

int resolve_port(const SimpleEmailOptions& o) {
  if (o.port != 0) {
    if (o.port < 1 || o.port > 65535)
      throw ConfigError("hook '" + o.common.name + "'", "port", "must be 1..65535");
    return o.port;
  }
  const char* v = std::getenv("EVENT_MAIL_PORT");
  if (v && *v) {
    char* end = nullptr;
    const long p = std::strtol(v, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) {
      throw ConfigError("hook '" + o.common.name + "'", "port",
                        "EVENT_MAIL_PORT='" + std::string(v) + "' is not a port number");
    }
    return static_cast<int>(p);
  }
  return o.security == SmtpSecurity::implicit ? 465 : 587;
}

const char* security_name(SmtpSecurity s) {
  switch (s) {
    case SmtpSecurity::starttls: return "STARTTLS";
    case SmtpSecurity::plain: return "plain";
    case SmtpSecurity::implicit: return "implicit TLS";
  }
  return "?";
}

}  // namespace

SimpleEmailHook::SimpleEmailHook(SimpleEmailOptions options)
    : Hook(options.common), options_(std::move(options)) {
  detail::check_email_content(name(), options_.email);
  options_.host =
      options_.host.empty() ? env_or("EVENT_MAIL_HOST", "email-smtp.us-west-2.amazonaws.com") : options_.host;
  options_.port = resolve_port(options_);
  // Nothing speaks STARTTLS on the SMTPS port: port 465 with the default mode means implicit TLS.
  if (options_.security == SmtpSecurity::starttls && options_.port == 465)
    options_.security = SmtpSecurity::implicit;

  if (options_.security == SmtpSecurity::plain) {
    if (!options_.credentials.empty()) {
      logger()->warn(
          "SimpleEmailHook '{}': tls is false, so the credentials are not used (a password is never "
          "sent in plain text)",
          name());
    }
  } else {
    const auto colon = options_.credentials.find(':');
    if (options_.credentials.empty()) {
      throw ConfigError("hook '" + name() + "'", "credentials",
                        std::string("required with tls ") + security_name(options_.security) +
                            " (\"user:password\"); use tls: false for a relay without authentication");
    }
    if (colon == std::string::npos || colon == 0) {
      throw ConfigError("hook '" + name() + "'", "credentials", "expected \"user:password\"");
    }
    // Split at the first ':' only: the password keeps every ':' it has (the Python library cut it at the
    // second).
    username_ = options_.credentials.substr(0, colon);
    password_ = options_.credentials.substr(colon + 1);
  }

  detail::SmtpClientOptions smtp;
  smtp.host = options_.host;
  smtp.port = options_.port;
  smtp.mode = options_.security == SmtpSecurity::plain      ? detail::SmtpMode::plain
              : options_.security == SmtpSecurity::implicit ? detail::SmtpMode::implicit
                                                            : detail::SmtpMode::starttls;
  smtp.username = username_;
  smtp.password = password_;
  smtp.timeouts = options_.timeouts;
  smtp.tls = options_.tls;
  smtp.network = options_.network;
  client_ = std::make_shared<detail::SmtpClient>(std::move(smtp));
}

SimpleEmailHook::~SimpleEmailHook() = default;

std::string SimpleEmailHook::describe() const {
  std::string out = "SimpleEmailHook '" + name() + "' -> " + client_->describe();
  if (!username_.empty()) out += " as " + username_ + ":***";
  out += ", from " + options_.email.sender + " to " + std::to_string(options_.email.recipients.size()) +
         " recipient(s)";
  return out;
}

void SimpleEmailHook::set_subject(std::string subject) {
  detail::check_subject(name(), subject);
  std::lock_guard lock(subject_mutex_);
  options_.email.subject = std::move(subject);
}

std::string SimpleEmailHook::subject() const {
  std::lock_guard lock(subject_mutex_);
  return options_.email.subject.empty() ? name() : options_.email.subject;
}

Result<std::string> SimpleEmailHook::render(const Event& event) const {
  detail::EmailMessage m;
  m.sender = options_.email.sender;
  m.sender_name = options_.email.sender_name;
  m.recipients = options_.email.recipients;
  auto parts = detail::render_email_parts(name(), subject(), options_.email, event);
  if (!parts) return parts.error();
  m.subject = std::move(parts->subject);
  m.text = std::move(parts->text);
  m.html = std::move(parts->html);
  m.message_id = detail::make_message_id(event.id, name(), m.sender);
  m.date =
      event.created_at.time_since_epoch().count() == 0 ? std::chrono::system_clock::now() : event.created_at;
  return detail::build_mime(m);
}

Result<Receipt> SimpleEmailHook::send(const Event& event) {
  auto message = render(event);
  if (!message) return message.error();
  auto sent = client_->send(options_.email.sender, options_.email.recipients, message.value());
  if (!sent) return sent;
  sent->id = detail::make_message_id(event.id, name(), options_.email.sender);
  return sent;
}

void SimpleEmailHook::send_async(const Event& event, std::function<void(Result<Receipt>)> done) {
  auto message = render(event);
  if (!message) {
    done(message.error());
    return;
  }
  client_->send_async(options_.email.sender, options_.email.recipients, std::move(message).value(),
                      [id = detail::make_message_id(event.id, name(), options_.email.sender),
                       done = std::move(done)](Result<Receipt> sent) {
                        if (sent) sent->id = id;
                        done(std::move(sent));
                      });
}

}  // namespace eventhooks
