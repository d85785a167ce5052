// HookRegistry: the hook types a config file may name, each with the builder that makes a hook from its keys;
// ConfigReader: how a builder reads those keys. A registry is safe to read from many threads once filled;
// fill it before sharing it. A ConfigReader belongs to one builder call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "eventhooks/error.hpp"
#include "eventhooks/export.hpp"
#include "eventhooks/hook.hpp"
#include "eventhooks/hook_entry.hpp"
#include "eventhooks/network.hpp"
#include "eventhooks/timeouts.hpp"
#include "eventhooks/tls.hpp"

namespace eventhooks {

// Reads one hook's keys with type checks, tracks which keys were used, and turns every problem into a
// ConfigError that names the file, line, hook and key. A hook type's builder reads its keys through this.
class EVENTHOOKS_EXPORT ConfigReader {
 public:
  using Locator = std::function<SourceLocation(std::string_view key)>;
  // `network`: the file's top-level `network:` rules, which every hook's network() starts from.
  ConfigReader(std::string hook_name, const nlohmann::json& object, Locator locate = {},
               const nlohmann::json* defaults = nullptr, const NetworkRules* network = nullptr);

  const std::string& hook_name() const noexcept { return hook_name_; }
  bool has(std::string_view key) const;

  std::string required_string(std::string_view key);
  std::string optional_string(std::string_view key, std::string fallback = {});
  std::optional<std::string> maybe_string(std::string_view key);
  bool optional_bool(std::string_view key, bool fallback);
  std::int64_t optional_int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  // Any number (integer or not) in [min, max].
  double optional_number(std::string_view key, double fallback, double min, double max);
  // Seconds as a number (0.5 = 500 ms); falls back to the file's `defaults:` block, then `fallback`.
  std::chrono::milliseconds optional_seconds(std::string_view key, std::chrono::milliseconds fallback);
  // A list of strings, or one string split on `,` with spaces trimmed (the recipients rule of the Python
  // eventhooks library).
  std::vector<std::string> string_list(std::string_view key);
  // A mapping of string to string (HTTP headers, AMQP headers).
  std::vector<std::pair<std::string, std::string>> string_map(std::string_view key);
  // A secret: `key` itself, or read from the file named by `key_file` (trailing newline dropped).
  std::string secret(std::string_view key, bool required);
  // An http(s) URL, checked for scheme and host.
  std::string url(std::string_view key, bool required);
  // A URL that is itself a credential (a Slack, Discord or Teams webhook URL): read like secret() (`key`
  // or `key_file`), checked like url().
  std::string secret_url(std::string_view key, bool required);
  // ca_file, cert_file, key_file, verify.
  TlsOptions tls();
  // `timeout` (total) and `connect_timeout`, in seconds, each > 0; unset keys keep `fallback`'s values
  // (after the file's `defaults:` block). Every hook type that talks to a network reads them this way.
  Timeouts timeouts(Timeouts fallback);
  // The hook's network policy: the file's `network:` rules, extended by the hook's own `network:` block
  // (its deny and allow lists are added, its deny_private replaces the file's). docs/network.md.
  NetworkPolicy network();
  // The raw value, marked as used (nullptr when absent).
  const nlohmann::json* raw(std::string_view key);

  // A reader for a mapping inside this one (`retry:`): its errors name keys as "retry.max_attempts", and it
  // falls back to the same block of `defaults:`. An absent key reads as an empty mapping.
  ConfigReader nested(std::string_view key);

  // Throws for every key present but never read (suggesting the nearest known one).
  void finish();
  [[noreturn]] void fail(std::string_view key, const std::string& message) const;

 private:
  const nlohmann::json* fallback(std::string_view key) const;
  void check_url(std::string_view key, const std::string& url, bool secret) const;

  std::string hook_name_;
  const nlohmann::json& object_;
  Locator locate_;
  const nlohmann::json* defaults_;
  const NetworkRules* network_;
  mutable std::set<std::string, std::less<>> used_;  // every key asked for, present or not
  std::string prefix_;                               // "retry." for a nested reader
};

// Makes a hook of one type from its common part and its keys.
using HookBuilder = std::function<HookPtr(HookCommon common, ConfigReader& keys)>;

class EVENTHOOKS_EXPORT HookRegistry {
 public:
  HookRegistry() = default;
  // A registry with the built-in types: WebHook, MattermostWebHook, DockerCloudWebHook, FileHook,
  // SimpleEmailHook, AwsSesEmailHook, RabbitMqHook, SlackWebHook, DiscordWebHook, TeamsWebHook,
  // TelegramHook, NtfyHook, GotifyHook, PagerDutyHook.
  static HookRegistry with_builtins();

  // Adds (or replaces) a type. Applications register their own hook types here.
  void add(std::string type, HookBuilder builder);
  bool contains(std::string_view type) const;
  std::vector<std::string> types() const;

  // Builds one hook from its dict: {"type": ..., "realms": [...], "enabled": ..., <type's keys>}, or, without
  // a type, from a service URL: {"url": "ntfy://host/topic", "realms": [...], <keys overriding the URL's>}
  // (docs/urls.md). Throws ConfigError (unknown type with the nearest name suggested, unknown key, missing
  // key, bad value).
  // `network`: the file's `network:` rules (none: the defaults of docs/network.md).
  HookPtr build(const std::string& name, const nlohmann::json& config,
                const ConfigReader::Locator& locate = {}, const nlohmann::json* defaults = nullptr,
                const NetworkRules* network = nullptr) const;

 private:
  HookPtr build_from_service_url(const std::string& name, const nlohmann::json& config, ConfigReader& keys,
                                 const ConfigReader::Locator& locate, const nlohmann::json* defaults,
                                 const NetworkRules* network) const;

  std::map<std::string, HookBuilder, std::less<>> builders_;
};

// The Python eventhooks library's entry point: eventhook_factory("name", {"type": "WebHook", "url": "..."})
// with the built-ins.
EVENTHOOKS_EXPORT HookPtr eventhook_factory(const std::string& name, const nlohmann::json& config);

}  // namespace eventhooks
