// Rendering shared by the two email hooks: checks at construction, subject, text and HTML bodies.
#pragma once

#include <string>

#include "eventhooks/event.hpp"
#include "eventhooks/hooks/email.hpp"

namespace eventhooks::detail {

// Throws ConfigError naming the hook and the key: sender, recipients, sender_name, subject.
void check_email_content(const std::string& hook, const EmailContent& content);
// Throws ConfigError when a subject set later carries CR/LF.
void check_subject(const std::string& hook, const std::string& subject);
std::string html_escape(const std::string& text);
// The HTML alternative: the template with "{{data}}" replaced by the escaped text; empty when no template.
std::string render_email_html(const std::string& html_template, const std::string& text);

}  // namespace eventhooks::detail
