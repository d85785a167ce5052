// SlackWebHook, DiscordWebHook, TeamsWebHook, TelegramHook: each renders the service's documented request
// from an Event and reads its answer; HttpHook (http_hook.cpp) sends it.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "eventhooks/hooks/notify.hpp"
#include "eventhooks/redact.hpp"
#include "hooks/http_checks.hpp"
#include "hooks/message_template.hpp"

namespace eventhooks {
namespace {

using detail::json_post;
using detail::read_json_answer;
using detail::redact_url_path;
using detail::require_http_url;
using detail::required_message_text;

}  // namespace

// ------------------------------------------------------------------------------------------------- Slack

SlackWebHook::SlackWebHook(SlackOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "SlackWebHook '" + name() + "'";
  require_http_url(who, "url", options_.url);
  templates_ = detail::make_notify_templates(who, options_.message);
  if (!options_.blocks.empty()) {
    auto blocks = nlohmann::json::parse(options_.blocks, nullptr, false);
    if (blocks.is_discarded() || !blocks.is_array()) {
      throw ConfigError(who, "blocks", "must be a JSON array of Block Kit blocks");
    }
  }
}

SlackWebHook::~SlackWebHook() {
  detach_answers();
}

std::string SlackWebHook::describe() const {
  std::string out = "SlackWebHook '" + name() + "' -> " + redact_url_path(options_.url);
  if (!options_.channel.empty()) out += " channel " + options_.channel;
  if (!options_.blocks.empty()) out += " (blocks)";
  return out;
}

Result<HttpRequest> SlackWebHook::render(const Event& event) const {
  // With blocks, `text` is the notification's fallback and may be empty.
  std::string text = detail::message_text(templates_->message, event);
  if (text.empty() && options_.blocks.empty()) {
    auto refused = required_message_text(templates_->message, event, type(), name());
    return refused.error();
  }
  nlohmann::ordered_json body;
  body["text"] = std::move(text);
  if (!options_.blocks.empty()) body["blocks"] = nlohmann::ordered_json::parse(options_.blocks);
  if (!options_.username.empty()) body["username"] = options_.username;
  if (!options_.icon_url.empty()) body["icon_url"] = options_.icon_url;
  if (!options_.icon_emoji.empty()) body["icon_emoji"] = options_.icon_emoji;
  if (!options_.channel.empty()) body["channel"] = options_.channel;
  return json_post(options_.url, redact_url_path(options_.url), event, body);
}

// ----------------------------------------------------------------------------------------------- Discord

DiscordWebHook::DiscordWebHook(DiscordOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "DiscordWebHook '" + name() + "'";
  require_http_url(who, "url", options_.url);
  templates_ = detail::make_notify_templates(who, options_.message, options_.title);
  if (!options_.embeds.empty()) {
    auto embeds = nlohmann::json::parse(options_.embeds, nullptr, false);
    if (embeds.is_discarded() || !embeds.is_array() || embeds.empty()) {
      throw ConfigError(who, "embeds", "must be a non-empty JSON array of embed objects");
    }
    for (const auto& embed : embeds) {
      if (!embed.is_object()) throw ConfigError(who, "embeds", "every embed must be a JSON object");
    }
    if (embeds.size() + (options_.title.empty() ? 0 : 1) > 10) {
      throw ConfigError(who, "embeds", "Discord takes at most 10 embeds per message (the title's counts)");
    }
  }
}

DiscordWebHook::~DiscordWebHook() {
  detach_answers();
}

std::string DiscordWebHook::describe() const {
  std::string out = "DiscordWebHook '" + name() + "' -> " + redact_url_path(options_.url);
  if (!options_.title.empty()) out += " (embed)";
  if (!options_.embeds.empty()) out += " (embeds)";
  return out;
}

Result<HttpRequest> DiscordWebHook::render(const Event& event) const {
  // With embeds of its own, the message is optional (Discord takes content, embeds or both).
  std::string text = detail::message_text(templates_->message, event);
  if (text.empty() && options_.embeds.empty()) {
    auto refused = required_message_text(templates_->message, event, type(), name());
    return refused.error();
  }
  nlohmann::ordered_json body;
  nlohmann::ordered_json embeds = nlohmann::ordered_json::array();
  if (options_.title.empty()) {
    if (!text.empty()) body["content"] = std::move(text);
  } else {
    nlohmann::ordered_json first{{"title", templates_->title.render(event)}};
    if (!text.empty()) first["description"] = std::move(text);
    embeds.push_back(std::move(first));
  }
  if (!options_.embeds.empty()) {
    for (auto& embed : nlohmann::ordered_json::parse(options_.embeds)) embeds.push_back(std::move(embed));
  }
  if (!embeds.empty()) body["embeds"] = std::move(embeds);
  if (!options_.username.empty()) body["username"] = options_.username;
  if (!options_.avatar_url.empty()) body["avatar_url"] = options_.avatar_url;
  // wait=true: Discord answers 200 with the message it created (or an error), not a blind 204.
  const char* wait = options_.url.find('?') == std::string::npos ? "?wait=true" : "&wait=true";
  return json_post(options_.url + wait, redact_url_path(options_.url + wait), event, body);
}

Result<Receipt> DiscordWebHook::interpret(const HttpRequest& request, Result<HttpResponse> performed) const {
  return read_json_answer(request, std::move(performed), "/retry_after", "/id");
}

// ------------------------------------------------------------------------------------------------- Teams

TeamsWebHook::TeamsWebHook(TeamsOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "TeamsWebHook '" + name() + "'";
  require_http_url(who, "url", options_.url);
  templates_ = detail::make_notify_templates(who, options_.message, options_.title);
}

TeamsWebHook::~TeamsWebHook() {
  detach_answers();
}

std::string TeamsWebHook::describe() const {
  return "TeamsWebHook '" + name() + "' -> " + redact_url(options_.url);
}

Result<HttpRequest> TeamsWebHook::render(const Event& event) const {
  auto text = required_message_text(templates_->message, event, type(), name());
  if (!text) return text.error();
  nlohmann::ordered_json blocks = nlohmann::ordered_json::array();
  if (!options_.title.empty()) {
    blocks.push_back({{"type", "TextBlock"},
                      {"text", templates_->title.render(event)},
                      {"weight", "Bolder"},
                      {"size", "Medium"},
                      {"wrap", true}});
  }
  blocks.push_back({{"type", "TextBlock"}, {"text", std::move(text).value()}, {"wrap", true}});
  nlohmann::ordered_json card{{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                              {"type", "AdaptiveCard"},
                              {"version", "1.4"},
                              {"body", std::move(blocks)}};
  nlohmann::ordered_json body{
      {"type", "message"},
      {"attachments",
       nlohmann::ordered_json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                       {"contentUrl", nullptr},
                                       {"content", std::move(card)}}})}};
  return json_post(options_.url, redact_url(options_.url), event, body);
}

// ---------------------------------------------------------------------------------------------- Telegram

TelegramHook::TelegramHook(TelegramOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "TelegramHook '" + name() + "'";
  options_.base_url = detail::strip_trailing_slashes(options_.base_url);
  require_http_url(who, "base_url", options_.base_url);
  detail::check_path_segment(who, "token", options_.token);
  const auto& chat = options_.chat_id;
  const bool channel_name =
      chat.size() > 1 && chat[0] == '@' && chat.find_first_of(" \t\r\n") == std::string::npos;
  const auto digits = chat.find_first_not_of('-') == 1 ? chat.substr(1) : chat;
  const bool numeric =
      !digits.empty() && digits.size() <= 18 && digits.find_first_not_of("0123456789") == std::string::npos;
  if (!channel_name && !numeric) {
    throw ConfigError(who, "chat_id", "must be a numeric chat id (-100… for a channel) or @channelusername");
  }
  const auto& mode = options_.parse_mode;
  if (!mode.empty() && mode != "MarkdownV2" && mode != "HTML" && mode != "Markdown") {
    throw ConfigError(who, "parse_mode", "must be MarkdownV2, HTML or Markdown, not '" + mode + "'");
  }
  templates_ = detail::make_notify_templates(who, options_.message);
}

TelegramHook::~TelegramHook() {
  detach_answers();
}

std::string TelegramHook::describe() const {
  return "TelegramHook '" + name() + "' -> " + redact_url(options_.base_url) + "/bot" + mask(options_.token) +
         "/sendMessage chat " + options_.chat_id;
}

Result<HttpRequest> TelegramHook::render(const Event& event) const {
  auto text = required_message_text(templates_->message, event, type(), name());
  if (!text) return text.error();
  nlohmann::ordered_json body;
  // A numeric id goes out as a number, as the Bot API documents it; @channelusername as a string.
  if (options_.chat_id.front() != '@') {
    body["chat_id"] = std::stoll(options_.chat_id);
  } else {
    body["chat_id"] = options_.chat_id;
  }
  body["text"] = std::move(text).value();
  if (!options_.parse_mode.empty()) body["parse_mode"] = options_.parse_mode;
  if (options_.disable_notification) body["disable_notification"] = true;
  auto request = json_post(options_.base_url + "/bot" + options_.token + "/sendMessage",
                           redact_url(options_.base_url) + "/bot***/sendMessage", event, body);
  request.secrets.push_back(options_.token);
  return request;
}

Result<Receipt> TelegramHook::interpret(const HttpRequest& request, Result<HttpResponse> performed) const {
  return read_json_answer(request, std::move(performed), "/parameters/retry_after", "/result/message_id");
}

}  // namespace eventhooks
