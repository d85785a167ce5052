// Registration of the built-in hook types, one function per family, each defined next to its builders
// (src/config/*_type(s).cpp). HookRegistry::with_builtins() calls them all.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "eventhooks/hook_registry.hpp"
#include "eventhooks/hooks/http_hook.hpp"

namespace eventhooks::detail {

void register_http_hook_types(HookRegistry& registry);     // WebHook, MattermostWebHook, DockerCloudWebHook
void register_file_hook_type(HookRegistry& registry);      // FileHook
void register_email_hook_types(HookRegistry& registry);    // SimpleEmailHook, AwsSesEmailHook
void register_rabbitmq_hook_type(HookRegistry& registry);  // RabbitMqHook
// SlackWebHook, DiscordWebHook, TeamsWebHook, TelegramHook, NtfyHook, GotifyHook, PagerDutyHook
void register_notify_hook_types(HookRegistry& registry);

// The transport keys every HTTP hook takes: timeouts, TLS, follow_redirects and network.
HttpHookOptions read_http_options(ConfigReader& keys);
// The key a secret was read from: `key_file` when that was given, else `key`.
std::string secret_key_name(ConfigReader& keys, const std::string& key);

// Constructs a hook of type H; a constructor's complaint about a secret read from `<key>_file` is put at
// that key's line (the registry puts every other complaint at the key it names).
template <typename H, typename Options>
HookPtr construct_hook(ConfigReader& keys, Options options, std::initializer_list<const char*> secrets) {
  try {
    return std::make_shared<H>(std::move(options));
  } catch (const ConfigError& e) {
    for (const char* secret : secrets) {
      if (e.key() == secret) keys.fail(secret_key_name(keys, secret), e.problem());
    }
    throw;
  }
}

}  // namespace eventhooks::detail
