// Rendering shared by the two email hooks: checks at construction, subject, text and HTML bodies.
#pragma once

#include <string>

#include "eventhooks/event.hpp"
#include "eventhooks/hooks/email.hpp"

namespace eventhooks::detail {

// Throws ConfigError naming the hook and the key: sender, recipients, sender_name, subject.
void check_email_content(const std::string& hook, const EmailContent& content);
// Throws ConfigError when a subject carries CR/LF or is not a valid Mustache template.
void check_subject(const std::string& hook, const std::string& subject);

// An email's subject, text and HTML alternative for one event, each rendered from its Mustache template
// (docs/hooks.md, "Templates"): the subject (`subject`, else the hook's name), the text (`message`, else the
// data as text), the HTML (`html`, HTML-escaped, empty = none).
struct EmailParts {
  std::string subject, text, html;
};
// Templates are checked at construction, so only a rendered subject with a line break (data put into it)
// fails: invalid_input, nothing sent.
Result<EmailParts> render_email_parts(const std::string& hook, const std::string& subject,
                                      const EmailContent& content, const Event& event);

}  // namespace eventhooks::detail
