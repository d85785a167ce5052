// The chat, push and paging services: SlackWebHook, DiscordWebHook, TeamsWebHook, TelegramHook, NtfyHook,
// GotifyHook, PagerDutyHook. Each is an HttpHook: one HTTP request per event, formatted for the service's
// documented API, its answer read the service's way (rate-limit delays, error bodies, message ids).
// Thread-safe like Hook.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eventhooks/hooks/http_hook.hpp"

namespace eventhooks {
namespace detail {
struct NotifyTemplates;
}

// `message`, `title` (and PagerDuty's `dedup_key`) are Mustache templates over the event: {{name}},
// {{realm}}, {{id}}, {{time}}, {{text}}, {{data.<key>}} (docs/hooks.md, "Templates"). An empty `message`
// sends the event's data as text.

// ------------------------------------------------------------------------------------------------- Slack

struct SlackOptions {
  HookCommon common;
  std::string url;     // the incoming webhook URL, https://hooks.slack.com/services/T…/B…/X… (secret)
  std::string blocks;  // optional: a JSON array of Block Kit blocks, sent as is next to `text`
  // Legacy overrides Slack still honours for some apps (ignored by newer ones; never an error).
  std::string username, icon_url, icon_emoji, channel;
  std::string message;
  HttpHookOptions http;
};

// POST url, {"text": <Payload::to_text()>, "blocks": [...], ...}. Slack answers 200 "ok", or a 4xx with a
// word ("invalid_payload", "no_text", "channel_not_found", ...) that goes into the error.
class EVENTHOOKS_EXPORT SlackWebHook final : public HttpHook {
 public:
  explicit SlackWebHook(SlackOptions options);
  ~SlackWebHook() override;
  std::string_view type() const noexcept override { return "SlackWebHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 private:
  SlackOptions options_;
  std::shared_ptr<const detail::NotifyTemplates> templates_;
};

// ----------------------------------------------------------------------------------------------- Discord

struct DiscordOptions {
  HookCommon common;
  std::string url;  // https://discord.com/api/webhooks/ID/TOKEN (the token is a secret)
  std::string username, avatar_url;
  // Non-empty: the message goes out as one embed with this title and the text as its description.
  std::string title;
  // Optional: a JSON array of Discord embed objects, sent as is after the title's embed (at most 10 in all).
  // With embeds the message may be empty.
  std::string embeds;
  std::string message;
  HttpHookOptions http;
};

// POST url?wait=true (so Discord answers with the created message, whose id is the receipt's), body
// {"content": text, "username", "avatar_url"} or {"embeds": [{"title", "description"}, <embeds>...]}. A 429's
// `retry_after` (seconds, fractional) becomes the retry delay.
class EVENTHOOKS_EXPORT DiscordWebHook final : public HttpHook {
 public:
  explicit DiscordWebHook(DiscordOptions options);
  ~DiscordWebHook() override;
  std::string_view type() const noexcept override { return "DiscordWebHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 protected:
  Result<Receipt> interpret(const HttpRequest& request, Result<HttpResponse> performed) const override;

 private:
  DiscordOptions options_;
  std::shared_ptr<const detail::NotifyTemplates> templates_;
};

// ------------------------------------------------------------------------------------------------- Teams

struct TeamsOptions {
  HookCommon common;
  std::string url;    // the Power Automate workflow URL ("When a Teams webhook request is received"); its
                      // query (sig=…) is a secret
  std::string title;  // optional: a bold first line of the card
  std::string message;
  HttpHookOptions http;
};

// POST url, {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
// "content": <Adaptive Card 1.4 with TextBlocks>}]}. The workflow answers 202 Accepted.
class EVENTHOOKS_EXPORT TeamsWebHook final : public HttpHook {
 public:
  explicit TeamsWebHook(TeamsOptions options);
  ~TeamsWebHook() override;
  std::string_view type() const noexcept override { return "TeamsWebHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 private:
  TeamsOptions options_;
  std::shared_ptr<const detail::NotifyTemplates> templates_;
};

// ---------------------------------------------------------------------------------------------- Telegram

struct TelegramOptions {
  HookCommon common;
  std::string token;       // the bot token, 123456:ABC… (secret)
  std::string chat_id;     // a numeric id (-100… for channels) or @channelusername
  std::string parse_mode;  // "", "MarkdownV2", "HTML" or "Markdown"
  bool disable_notification = false;
  std::string message;
  std::string base_url = "https://api.telegram.org";
  HttpHookOptions http;
};

// POST {base_url}/bot{token}/sendMessage, {"chat_id", "text", "parse_mode", "disable_notification"}. The
// answer {"ok": true, "result": {"message_id": N}} gives the receipt's id; a 429's
// parameters.retry_after becomes the retry delay.
class EVENTHOOKS_EXPORT TelegramHook final : public HttpHook {
 public:
  explicit TelegramHook(TelegramOptions options);
  ~TelegramHook() override;
  std::string_view type() const noexcept override { return "TelegramHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 protected:
  Result<Receipt> interpret(const HttpRequest& request, Result<HttpResponse> performed) const override;

 private:
  TelegramOptions options_;
  std::shared_ptr<const detail::NotifyTemplates> templates_;
};

// -------------------------------------------------------------------------------------------------- ntfy

struct NtfyOptions {
  HookCommon common;
  std::string server = "https://ntfy.sh";
  std::string topic;  // 1-64 of A-Z a-z 0-9 _ -
  std::string title;
  int priority = 0;  // 1 (min) … 5 (max); 0 = the server's default (3)
  std::vector<std::string> tags;
  std::string click;  // URL opened when the notification is tapped
  // Access control: an access token (tk_…, sent as Bearer), or a user and password (Basic). Secrets.
  std::string token;
  std::string user, password;
  std::string message;
  HttpHookOptions http;
};

// POST {server}/ with ntfy's JSON form {"topic", "message", "title", "priority", "tags", "click"}; the
// answer's "id" is the receipt's.
class EVENTHOOKS_EXPORT NtfyHook final : public HttpHook {
 public:
  explicit NtfyHook(NtfyOptions options);
  ~NtfyHook() override;
  std::string_view type() const noexcept override { return "NtfyHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 protected:
  Result<Receipt> interpret(const HttpRequest& request, Result<HttpResponse> performed) const override;

 private:
  NtfyOptions options_;
  std::shared_ptr<const detail::NotifyTemplates> templates_;
  std::string authorization_;  // the Authorization header's value, or empty
};

// ------------------------------------------------------------------------------------------------ Gotify

struct GotifyOptions {
  HookCommon common;
  std::string server;  // https://gotify.example.com (no public default: Gotify is always self-hosted)
  std::string token;   // the application token (secret), sent as X-Gotify-Key
  std::string title;   // empty = Gotify shows the application's name
  int priority = -1;   // 0-10; -1 = the application's default
  std::string message;
  HttpHookOptions http;
};

// POST {server}/message, {"message", "title", "priority"}; the answer's "id" is the receipt's.
class EVENTHOOKS_EXPORT GotifyHook final : public HttpHook {
 public:
  explicit GotifyHook(GotifyOptions options);
  ~GotifyHook() override;
  std::string_view type() const noexcept override { return "GotifyHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 protected:
  Result<Receipt> interpret(const HttpRequest& request, Result<HttpResponse> performed) const override;

 private:
  GotifyOptions options_;
  std::shared_ptr<const detail::NotifyTemplates> templates_;
};

// --------------------------------------------------------------------------------------------- PagerDuty

struct PagerDutyOptions {
  HookCommon common;
  std::string routing_key;                   // the Events API v2 integration key, 32 characters (secret)
  std::string event_action = "trigger";      // trigger, acknowledge or resolve
  std::string dedup_key;                     // empty = the event's id (trigger only)
  std::string severity = "error";            // critical, error, warning or info
  std::string source;                        // empty = this machine's host name
  std::string component, group, class_name;  // optional payload fields ("class" in the API)
  std::string message;                       // the summary; empty = the data as text, else the event's name
  std::string base_url = "https://events.pagerduty.com";
  HttpHookOptions http;
};

// POST {base_url}/v2/enqueue. trigger: {"routing_key", "event_action", "dedup_key", "payload": {"summary":
// text (at most 1024 characters), "source", "severity", "timestamp", "custom_details": data}};
// acknowledge/resolve: routing_key, event_action, dedup_key only. PagerDuty answers 202 {"status":
// "success", "dedup_key": …}; the dedup_key is the receipt's id.
class EVENTHOOKS_EXPORT PagerDutyHook final : public HttpHook {
 public:
  explicit PagerDutyHook(PagerDutyOptions options);
  ~PagerDutyHook() override;
  std::string_view type() const noexcept override { return "PagerDutyHook"; }
  std::string describe() const override;
  Result<HttpRequest> render(const Event& event) const override;

 protected:
  Result<Receipt> interpret(const HttpRequest& request, Result<HttpResponse> performed) const override;

 private:
  PagerDutyOptions options_;
  std::shared_ptr<const detail::NotifyTemplates> templates_;
};

}  // namespace eventhooks
