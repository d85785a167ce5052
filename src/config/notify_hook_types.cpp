// Builders for the chat, push and paging hook types (SlackWebHook, DiscordWebHook, TeamsWebHook,
// TelegramHook, NtfyHook, GotifyHook, PagerDutyHook): they read a hook's keys through ConfigReader; the
// hooks' constructors check the values, and their complaints land at the key they name.
#include <string>
#include <utility>

#include "config/builtin_types.hpp"
#include "eventhooks/hooks/notify.hpp"

namespace eventhooks::detail {
namespace {

// A list-valued key sent to the service as is (Slack's blocks, Discord's embeds): a YAML/JSON list, or that
// list as JSON text (what the services' own builders give). Returned as JSON text; empty when not set.
std::string json_list_key(ConfigReader& keys, const std::string& key, const std::string& what) {
  const nlohmann::json* raw = keys.raw(key);
  if (raw == nullptr || raw->is_null()) return {};
  if (raw->is_string()) return raw->get<std::string>();
  if (raw->is_array()) return raw->dump();
  keys.fail(key, "must be a list of " + what + " (or that list as JSON text)");
  return {};
}

HookPtr build_slack(HookCommon common, ConfigReader& keys) {
  std::string blocks = json_list_key(keys, "blocks", "Block Kit blocks");
  SlackOptions options{
      .common = std::move(common),
      .url = keys.secret_url("url", true),
      .blocks = std::move(blocks),
      .username = keys.optional_string("username"),
      .icon_url = keys.optional_string("icon_url"),
      .icon_emoji = keys.optional_string("icon_emoji"),
      .channel = keys.optional_string("channel"),
      .message = keys.optional_string("message"),
      .http = read_http_options(keys),
  };
  return construct_hook<SlackWebHook>(keys, std::move(options), {"url"});
}

HookPtr build_discord(HookCommon common, ConfigReader& keys) {
  DiscordOptions options{
      .common = std::move(common),
      .url = keys.secret_url("url", true),
      .username = keys.optional_string("username"),
      .avatar_url = keys.optional_string("avatar_url"),
      .title = keys.optional_string("title"),
      .embeds = json_list_key(keys, "embeds", "Discord embed objects"),
      .message = keys.optional_string("message"),
      .http = read_http_options(keys),
  };
  return construct_hook<DiscordWebHook>(keys, std::move(options), {"url"});
}

HookPtr build_teams(HookCommon common, ConfigReader& keys) {
  TeamsOptions options{
      .common = std::move(common),
      .url = keys.secret_url("url", true),
      .title = keys.optional_string("title"),
      .message = keys.optional_string("message"),
      .http = read_http_options(keys),
  };
  return construct_hook<TeamsWebHook>(keys, std::move(options), {"url"});
}

HookPtr build_telegram(HookCommon common, ConfigReader& keys) {
  // YAML reads `chat_id: -1001234` as a number; both spellings mean the same chat.
  std::string chat_id;
  if (const nlohmann::json* raw = keys.raw("chat_id"); raw != nullptr && raw->is_number_integer()) {
    chat_id = std::to_string(raw->get<std::int64_t>());
  } else {
    chat_id = keys.required_string("chat_id");
  }
  const TelegramOptions defaults;
  TelegramOptions options{
      .common = std::move(common),
      .token = keys.secret("token", true),
      .chat_id = std::move(chat_id),
      .parse_mode = keys.optional_string("parse_mode"),
      .disable_notification = keys.optional_bool("disable_notification", false),
      .message = keys.optional_string("message"),
      .base_url = keys.has("base_url") ? keys.url("base_url", true) : defaults.base_url,
      .http = read_http_options(keys),
  };
  return construct_hook<TelegramHook>(keys, std::move(options), {"token"});
}

// ntfy's priorities by number (1-5) or by name, as its docs and CLI accept them.
int ntfy_priority(ConfigReader& keys) {
  const nlohmann::json* raw = keys.raw("priority");
  if (raw == nullptr || raw->is_null()) return 0;
  if (raw->is_string()) {
    static const std::pair<const char*, int> names[] = {{"min", 1},  {"low", 2},    {"default", 3},
                                                        {"high", 4}, {"urgent", 5}, {"max", 5}};
    for (const auto& [word, value] : names) {
      if (raw->get<std::string>() == word) return value;
    }
    keys.fail("priority", "must be 1-5 or min, low, default, high, max (urgent)");
  }
  return static_cast<int>(keys.optional_int("priority", 0, 1, 5));
}

HookPtr build_ntfy(HookCommon common, ConfigReader& keys) {
  const NtfyOptions defaults;
  NtfyOptions options{
      .common = std::move(common),
      .server = keys.has("server") ? keys.url("server", true) : defaults.server,
      .topic = keys.required_string("topic"),
      .title = keys.optional_string("title"),
      .priority = ntfy_priority(keys),
      .tags = keys.string_list("tags"),
      .click = keys.optional_string("click"),
      .token = keys.secret("token", false),
      .user = keys.optional_string("user"),
      .password = keys.secret("password", false),
      .message = keys.optional_string("message"),
      .http = read_http_options(keys),
  };
  if (!options.password.empty() && options.user.empty()) keys.fail("user", "is required with a password");
  return construct_hook<NtfyHook>(keys, std::move(options), {"token", "password"});
}

HookPtr build_gotify(HookCommon common, ConfigReader& keys) {
  GotifyOptions options{
      .common = std::move(common),
      .server = keys.url("server", true),
      .token = keys.secret("token", true),
      .title = keys.optional_string("title"),
      .priority = static_cast<int>(keys.optional_int("priority", -1, 0, 10)),
      .message = keys.optional_string("message"),
      .http = read_http_options(keys),
  };
  return construct_hook<GotifyHook>(keys, std::move(options), {"token"});
}

HookPtr build_pagerduty(HookCommon common, ConfigReader& keys) {
  const PagerDutyOptions defaults;
  PagerDutyOptions options{
      .common = std::move(common),
      .routing_key = keys.secret("routing_key", true),
      .event_action = keys.optional_string("event_action", defaults.event_action),
      .dedup_key = keys.optional_string("dedup_key"),
      .severity = keys.optional_string("severity", defaults.severity),
      .source = keys.optional_string("source"),
      .component = keys.optional_string("component"),
      .group = keys.optional_string("group"),
      .class_name = keys.optional_string("class"),
      .message = keys.optional_string("message"),
      .base_url = keys.has("base_url") ? keys.url("base_url", true) : defaults.base_url,
      .http = read_http_options(keys),
  };
  return construct_hook<PagerDutyHook>(keys, std::move(options), {"routing_key"});
}

}  // namespace

void register_notify_hook_types(HookRegistry& registry) {
  registry.add("SlackWebHook", build_slack);
  registry.add("DiscordWebHook", build_discord);
  registry.add("TeamsWebHook", build_teams);
  registry.add("TelegramHook", build_telegram);
  registry.add("NtfyHook", build_ntfy);
  registry.add("GotifyHook", build_gotify);
  registry.add("PagerDutyHook", build_pagerduty);
}

}  // namespace eventhooks::detail
