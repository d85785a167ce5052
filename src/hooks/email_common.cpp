#include "hooks/email_common.hpp"

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
}

void check_subject(const std::string& hook, const std::string& subject) {
  if (auto r = validate_header_value("subject", subject); !r) config_fail(hook, "subject", r.error().message);
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_email_html(const std::string& html_template, const std::string& text) {
  if (html_template.empty()) return {};
  static constexpr std::string_view kSlot = "{{data}}";
  const std::string escaped = html_escape(text);
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto hit = html_template.find(kSlot, pos);
    if (hit == std::string::npos) break;
    out.append(html_template, pos, hit - pos);
    out += escaped;
    pos = hit + kSlot.size();
  }
  out.append(html_template, pos, std::string::npos);
  return out;
}

}  // namespace eventhooks::detail
