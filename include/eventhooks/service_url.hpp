// One-line service URLs in the notation of Apprise and Shoutrrr (slack://T/B/X, ntfy://host/topic,
// tgram://TOKEN/CHAT, ...): the hook each one stands for. docs/urls.md has the grammar of every scheme.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "eventhooks/export.hpp"
#include "eventhooks/hook.hpp"

namespace eventhooks {

// The hook config that `url` stands for: {"type": "NtfyHook", "server": ..., "topic": ...}, ready for
// HookRegistry::build (where a config's own keys override these). Throws ConfigError with key "url" for an
// unknown scheme or a malformed URL; the message never quotes the URL (it holds secrets).
EVENTHOOKS_EXPORT nlohmann::json hook_config_from_url(std::string_view url);

// A hook named `name` built with the built-in types from `url`.
EVENTHOOKS_EXPORT HookPtr hook_from_url(const std::string& name, std::string_view url);

// The schemes hook_config_from_url() knows, for messages and `eventhooks send --help`.
EVENTHOOKS_EXPORT std::vector<std::string> service_url_schemes();

}  // namespace eventhooks
