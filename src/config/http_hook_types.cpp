// Builders for the HTTP hook types (WebHook, MattermostWebHook, DockerCloudWebHook): they read a hook's keys
// through ConfigReader, so every mistake becomes a ConfigError naming file, line, hook and key. The hooks'
// constructors check the values (header names, URL path segments); their errors are put at the key they
// name (HookRegistry::build).
#include <memory>
#include <string>
#include <utility>

#include "config/builtin_types.hpp"
#include "eventhooks/hooks/webhook.hpp"

namespace eventhooks::detail {

HttpHookOptions read_http_options(ConfigReader& keys) {
  return HttpHookOptions{
      .timeouts = keys.timeouts(HttpHookOptions{}.timeouts),
      .tls = keys.tls(),
      .follow_redirects = keys.optional_bool("follow_redirects", false),
      .network = keys.network(),
      .client = nullptr,
  };
}

std::string secret_key_name(ConfigReader& keys, const std::string& key) {
  return keys.has(key + "_file") ? key + "_file" : key;
}

namespace {

// `body:` as written (a mapping or list of templates); the hook checks every template and names its key.
nlohmann::ordered_json body_template(ConfigReader& keys) {
  const nlohmann::json* raw = keys.raw("body");
  if (raw == nullptr || raw->is_null()) return nullptr;
  if (!raw->is_object() && !raw->is_array()) keys.fail("body", "must be a mapping (or a list) of templates");
  return nlohmann::ordered_json::parse(raw->dump());
}

HookPtr build_webhook(HookCommon common, ConfigReader& keys) {
  // The Python eventhooks library called the URL `webhook`; both are accepted, never both at once, because
  // two URLs in one hook would leave the reader guessing which one is used.
  const bool has_url = keys.has("url");
  const bool has_webhook = keys.has("webhook");
  if (has_url && has_webhook) keys.fail("webhook", "give either `url` or `webhook` (its old name), not both");
  if (!has_url && !has_webhook)
    keys.fail("url", "missing: the URL to POST to (`url`, or its old name `webhook`)");

  const std::string url_key = has_url ? "url" : "webhook";
  WebHookOptions options{
      .common = std::move(common),
      .url = keys.url(url_key, true),
      .headers = keys.string_map("headers"),
      .secret = keys.secret("secret", false),
      .body = body_template(keys),
      .http = read_http_options(keys),
  };
  try {
    return std::make_shared<WebHook>(std::move(options));
  } catch (const ConfigError& e) {
    if (e.key() == "secret") keys.fail(secret_key_name(keys, "secret"), e.problem());
    if (e.key() == "url") keys.fail(url_key, e.problem());
    throw;
  }
}

HookPtr build_mattermost(HookCommon common, ConfigReader& keys) {
  MattermostOptions options{
      .common = std::move(common),
      .host = keys.url("host", true),
      .token = keys.secret("token", true),
      .username = keys.optional_string("username"),
      .channel = keys.optional_string("channel"),
      .icon_url = keys.optional_string("icon_url"),
      .icon_emoji = keys.optional_string("icon_emoji"),
      .message = keys.optional_string("message"),
      .http = read_http_options(keys),
  };
  return construct_hook<MattermostWebHook>(keys, std::move(options), {"token"});
}

HookPtr build_docker_cloud(HookCommon common, ConfigReader& keys) {
  const DockerCloudOptions defaults;
  DockerCloudOptions options{
      .common = std::move(common),
      .source = keys.secret("source", true),
      .trigger = keys.secret("trigger", true),
      .source_branch = keys.optional_string("source_branch", defaults.source_branch),
      .source_type = keys.optional_string("source_type", defaults.source_type),
      .base_url = keys.has("base_url") ? keys.url("base_url", true) : defaults.base_url,
      .http = read_http_options(keys),
  };
  return construct_hook<DockerCloudWebHook>(keys, std::move(options), {"source", "trigger"});
}

}  // namespace

void register_http_hook_types(HookRegistry& registry) {
  registry.add("WebHook", build_webhook);
  registry.add("MattermostWebHook", build_mattermost);
  registry.add("DockerCloudWebHook", build_docker_cloud);
}

}  // namespace eventhooks::detail
