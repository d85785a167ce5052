#include "hooks/email_common.hpp"

#include "hooks/message_template.hpp"
#include "transport/mime.hpp"

namespace eventhooks::detail {
namespace {

[[noreturn]] void config_fail(const std::string& hook, const std::string& key, const std::string& message) {
  throw ConfigError("hook '" + hook + "'", key, message);
}

}  // namespace

void check_email_content(const std::string& hook, const EmailContent& content) {
  if (content.sender.empty()) config_fail(hook, "sender", "is required");
  if (auto problem = address_problem(content.sender); !problem.empty()) {
    config_fail(hook, "sender", "address " + problem);
  }
  if (content.recipients.empty()) config_fail(hook, "recipients", "at least one recipient is required");
  for (const auto& r : content.recipients) {
    if (auto problem = address_problem(r); !problem.empty()) {
      std::string shown;
      for (char c : r) shown += (c == '\r' || c == '\n') ? '?' : c;
      config_fail(hook, "recipients", std::string("address '").append(shown).append("' ").append(problem));
    }
  }
  if (auto r = validate_header_value("sender_name", content.sender_name); !r) {
    config_fail(hook, "sender_name", r.error().message);
  }
  check_subject(hook, content.subject);
  (void)MessageTemplate("hook '" + hook + "'", "message", content.message);
  (void)MessageTemplate("hook '" + hook + "'", "html", content.html, MessageTemplate::Escape::html);
}

void check_subject(const std::string& hook, const std::string& subject) {
  if (auto r = validate_header_value("subject", subject); !r) config_fail(hook, "subject", r.error().message);
  (void)MessageTemplate("hook '" + hook + "'", "subject", subject);
}

Result<EmailParts> render_email_parts(const std::string& hook, const std::string& subject,
                                      const EmailContent& content, const Event& event) {
  // Built fresh from the event on every call: nothing carries over from an earlier send.
  const std::string who = "hook '" + hook + "'";
  EmailParts parts;
  try {
    parts.subject = MessageTemplate(who, "subject", subject).render(event);
  } catch (const ConfigError&) {
    parts.subject = subject;  // the default subject, the hook's name, is no template
  }
  if (auto r = validate_header_value("subject", parts.subject); !r) {
    return Error::permanent(ErrorCode::invalid_input,
                            who + ": the subject rendered from the event " + r.error().message);
  }
  parts.text = message_text(MessageTemplate(who, "message", content.message), event);
  parts.html = MessageTemplate(who, "html", content.html, MessageTemplate::Escape::html).render(event);
  return parts;
}

}  // namespace eventhooks::detail
