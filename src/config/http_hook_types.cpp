// Builders for the HTTP hook types (WebHook, MattermostWebHook, DockerCloudWebHook) and FileHook: they read
// a hook's keys through ConfigReader, so every mistake becomes a ConfigError naming file, line, hook and key.
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "config/builtin_types.hpp"
#include "eventhooks/hooks/file_hook.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "transport/signing.hpp"

namespace eventhooks::detail {
namespace {

using std::chrono::milliseconds;

// The keys every HTTP hook takes: timeouts and TLS.
HttpHookOptions read_http_options(ConfigReader& keys) {
  const HttpHookOptions defaults;
  HttpHookOptions http;
  http.timeout = keys.optional_seconds("timeout", defaults.timeout);
  http.connect_timeout = keys.optional_seconds("connect_timeout", defaults.connect_timeout);
  if (http.timeout.count() <= 0) keys.fail("timeout", "must be greater than 0");
  if (http.connect_timeout.count() <= 0) keys.fail("connect_timeout", "must be greater than 0");
  http.tls = keys.tls();
  return http;
}

// Tokens and ids that become one segment of a URL path: a '/' or '?' in them would send the request
// elsewhere.
void check_path_segment(ConfigReader& keys, const char* key, const std::string& value) {
  if (value.find_first_of("/?#\r\n \t") != std::string::npos) {
    keys.fail(keys.has(std::string(key) + "_file") ? std::string(key) + "_file" : std::string(key),
              "must not contain '/', '?', '#', spaces or line breaks");
  }
}

HookPtr build_webhook(HookCommon common, ConfigReader& keys) {
  // The seed called the URL `webhook`; DESIGN.md calls it `url`. Both are accepted, never both at once,
  // because two URLs in one hook would leave the reader guessing which one is used.
  const bool has_url = keys.has("url");
  const bool has_webhook = keys.has("webhook");
  if (has_url && has_webhook) keys.fail("webhook", "give either `url` or `webhook` (its old name), not both");
  if (!has_url && !has_webhook)
    keys.fail("url", "missing: the URL to POST to (`url`, or the seed's `webhook`)");

  WebHookOptions options;
  options.name = std::move(common.name);
  options.realms = std::move(common.realms);
  options.enabled = common.enabled;
  options.url = keys.url(has_url ? "url" : "webhook", true);
  options.headers = keys.string_map("headers");
  for (const auto& [name, value] : options.headers) {
    // Checked here too (WebHook checks again) so that the error carries the file and line of the header.
    const bool name_ok = !name.empty() && name.find_first_of(" \t\r\n:") == std::string::npos;
    if (!name_ok) keys.fail("headers", "'" + name + "' is not a valid header name");
    if (value.find_first_of("\r\n") != std::string::npos) {
      keys.fail("headers." + name, "must not contain a line break (header injection)");
    }
  }
  const bool secret_from_file = keys.has("secret_file");
  options.secret = keys.secret("secret", false);
  if (!options.secret.empty() && !detail::decode_webhook_secret(options.secret)) {
    keys.fail(secret_from_file ? "secret_file" : "secret",
              "is not a Standard Webhooks key (expected whsec_ followed by base64)");
  }
  options.http = read_http_options(keys);
  return std::make_shared<WebHook>(std::move(options));
}

HookPtr build_mattermost(HookCommon common, ConfigReader& keys) {
  MattermostOptions options;
  options.name = std::move(common.name);
  options.realms = std::move(common.realms);
  options.enabled = common.enabled;
  options.host = keys.url("host", true);
  options.token = keys.secret("token", true);
  options.username = keys.optional_string("username");
  options.channel = keys.optional_string("channel");
  options.icon_url = keys.optional_string("icon_url");
  options.icon_emoji = keys.optional_string("icon_emoji");
  check_path_segment(keys, "token", options.token);
  options.http = read_http_options(keys);
  return std::make_shared<MattermostWebHook>(std::move(options));
}

HookPtr build_docker_cloud(HookCommon common, ConfigReader& keys) {
  DockerCloudOptions options;
  const DockerCloudOptions defaults;
  options.name = std::move(common.name);
  options.realms = std::move(common.realms);
  options.enabled = common.enabled;
  options.source = keys.secret("source", true);
  options.trigger = keys.secret("trigger", true);
  options.source_branch = keys.optional_string("source_branch", defaults.source_branch);
  options.source_type = keys.optional_string("source_type", defaults.source_type);
  if (keys.has("base_url")) options.base_url = keys.url("base_url", true);
  check_path_segment(keys, "source", options.source);
  check_path_segment(keys, "trigger", options.trigger);
  options.http = read_http_options(keys);
  return std::make_shared<DockerCloudWebHook>(std::move(options));
}

HookPtr build_file_hook(HookCommon common, ConfigReader& keys) {
  FileHookOptions options;
  options.name = std::move(common.name);
  options.realms = std::move(common.realms);
  options.enabled = common.enabled;
  options.path = keys.required_string("path");
  if (options.path.empty()) keys.fail("path", "must not be empty");
  options.fsync = keys.optional_bool("fsync", false);
  return std::make_shared<FileHook>(std::move(options));
}

}  // namespace

void register_http_hook_types(HookRegistry& registry) {
  registry.add("WebHook", build_webhook);
  registry.add("MattermostWebHook", build_mattermost);
  registry.add("DockerCloudWebHook", build_docker_cloud);
}

void register_file_hook_type(HookRegistry& registry) {
  registry.add("FileHook", build_file_hook);
}

}  // namespace eventhooks::detail
