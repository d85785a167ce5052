#include "hooks/message_template.hpp"

#include <kainjow/mustache.hpp>
#include <utility>

namespace eventhooks::detail {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

data to_data(const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      data object{data::type::object};
      for (const auto& [key, item] : value.items()) object.set(key, to_data(item));
      return object;
    }
    case nlohmann::json::value_t::array: {
      data list{data::type::list};
      for (const auto& item : value) list.push_back(to_data(item));
      return list;
    }
    case nlohmann::json::value_t::string: return data{value.get<std::string>()};
    case nlohmann::json::value_t::boolean: return data{value.get<bool>()};
    case nlohmann::json::value_t::null: return data{false};
    default:  // numbers as JSON writes them
      return data{value.dump()};
  }
}

data context_of(const Event& event) {
  data context{data::type::object};
  context.set("name", event.name);
  // Absent rather than "" without a realm: Mustache sections treat any string as true.
  if (event.realm) context.set("realm", *event.realm);
  context.set("id", event.id);
  context.set("time", to_rfc3339(event.created_at));
  context.set("text", event.payload.empty() ? std::string() : event.payload.to_text());
  if (event.payload.is_json()) context.set("data", to_data(event.payload.json()));
  return context;
}

// "{{data}}" alone (and "{{{data}}}", "{{&data}}") means the whole data as text: an email's HTML template
// said so before templates were Mustache, and an object has no text of its own in Mustache.
std::string with_whole_data_as_text(std::string text) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"{{{data}}}", "{{{text}}}"},
                                 {"{{&data}}", "{{&text}}"},
                                 {"{{data}}", "{{text}}"}}) {
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
      text.replace(pos, from.size(), to);
    }
  }
  return text;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
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

MessageTemplate::MessageTemplate(const std::string& who, const std::string& key, std::string text,
                                 Escape escape)
    : text_(with_whole_data_as_text(std::move(text))), escape_(escape) {
  const mustache parsed(text_);
  if (!parsed.is_valid()) throw ConfigError(who, key, "invalid Mustache template: " + parsed.error_message());
}

std::string MessageTemplate::render(const Event& event) const {
  if (text_.empty()) return {};
  // Parsed again for each rendering: kainjow's render() is not const, and a short template parses in
  // microseconds, far below one network request.
  mustache parsed(text_);
  if (escape_ == Escape::none) {
    parsed.set_custom_escape([](const std::string& s) { return s; });
  } else {
    parsed.set_custom_escape([](const std::string& s) { return html_escape(s); });
  }
  return parsed.render(context_of(event));
}

std::shared_ptr<const NotifyTemplates> make_notify_templates(const std::string& who,
                                                             const std::string& message,
                                                             const std::string& title,
                                                             const std::string& dedup_key) {
  auto templates = std::make_shared<NotifyTemplates>();
  templates->message = MessageTemplate(who, "message", message);
  templates->title = MessageTemplate(who, "title", title);
  templates->dedup_key = MessageTemplate(who, "dedup_key", dedup_key);
  return templates;
}

std::string message_text(const MessageTemplate& message, const Event& event) {
  if (!message.empty()) return message.render(event);
  return event.payload.empty() ? std::string() : event.payload.to_text();
}

Result<std::string> required_message_text(const MessageTemplate& message, const Event& event,
                                          std::string_view type, const std::string& name) {
  std::string text = message_text(message, event);
  if (text.empty()) {
    return Error::permanent(ErrorCode::invalid_input,
                            std::string(type) + " '" + name + "': nothing to send (empty message)");
  }
  return text;
}

}  // namespace eventhooks::detail
