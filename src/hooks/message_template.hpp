// MessageTemplate: a Mustache template (logic-less; kainjow/mustache from Debian) rendered over an event:
// {{name}}, {{realm}}, {{id}}, {{time}}, {{text}} (the data as the message text, as the hooks send it
// without a template) and {{data.<key>}} (an object's fields; {{data}} alone is the whole data as text).
// Checked once when made: rendering never fails. Immutable, so safe to render from many threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "eventhooks/error.hpp"
#include "eventhooks/event.hpp"

namespace eventhooks::detail {

class MessageTemplate {
 public:
  // none: {{x}} puts x in as it is (chat, push, subjects: not HTML); html: HTML-escaped ({{{x}}} is not).
  enum class Escape { none, html };
  MessageTemplate() = default;  // empty(): renders nothing
  // Throws ConfigError(who, key, problem) when `text` is not a valid Mustache template.
  MessageTemplate(const std::string& who, const std::string& key, std::string text,
                  Escape escape = Escape::none);

  bool empty() const noexcept { return text_.empty(); }
  std::string render(const Event& event) const;

 private:
  std::string text_;
  Escape escape_ = Escape::none;
};

std::string html_escape(const std::string& text);

// The templates of a chat, push or paging hook (hooks/notify.hpp): made once, shared by its deliveries.
struct NotifyTemplates {
  MessageTemplate message;
  MessageTemplate title;
  MessageTemplate dedup_key;  // PagerDutyHook's
};
// Each template checked (ConfigError at its key); an empty text is an empty template.
std::shared_ptr<const NotifyTemplates> make_notify_templates(const std::string& who,
                                                             const std::string& message,
                                                             const std::string& title = {},
                                                             const std::string& dedup_key = {});

// The text a chat, push or email hook sends: its `message` template rendered, else the event's data as text
// (Payload::to_text, "" for no data).
std::string message_text(const MessageTemplate& message, const Event& event);

// The text of a message that must not be empty (every chat and push service refuses one): an
// invalid_input error naming the hook when it is.
Result<std::string> required_message_text(const MessageTemplate& message, const Event& event,
                                          std::string_view type, const std::string& name);

}  // namespace eventhooks::detail
