#include <algorithm>

#include "config/builtin_types.hpp"
#include "config/located_error.hpp"
#include "config/retry_keys.hpp"
#include "config/suggest.hpp"
#include "core/text.hpp"
#include "eventhooks/hook_registry.hpp"
#include "eventhooks/service_url.hpp"

namespace eventhooks {
namespace {

// A URL in a service's notation (ntfy://, slack://, …), not an http(s) URL: that one needs a type.
bool is_service_url(const nlohmann::json& url) {
  if (!url.is_string()) return false;
  const std::string text = url.get<std::string>();
  const auto colon = text.find("://");
  if (colon == std::string::npos) return false;
  const std::string scheme = detail::to_lower(std::string_view(text).substr(0, colon));
  return scheme != "http" && scheme != "https";
}

}  // namespace

HookRegistry HookRegistry::with_builtins() {
  HookRegistry registry;
  detail::register_http_hook_types(registry);
  detail::register_notify_hook_types(registry);
  detail::register_file_hook_type(registry);
  detail::register_rabbitmq_hook_type(registry);
  detail::register_email_hook_types(registry);
  return registry;
}

void HookRegistry::add(std::string type, HookBuilder builder) {
  if (type.empty()) throw ConfigError("a hook type needs a name");
  if (!builder) throw ConfigError("hook type '" + type + "' needs a builder");
  builders_.insert_or_assign(std::move(type), std::move(builder));
}

bool HookRegistry::contains(std::string_view type) const {
  return builders_.find(type) != builders_.end();
}

std::vector<std::string> HookRegistry::types() const {
  std::vector<std::string> out;
  out.reserve(builders_.size());
  for (const auto& [name, builder] : builders_) out.push_back(name);
  return out;
}

HookPtr HookRegistry::build(const std::string& name, const nlohmann::json& config,
                            const ConfigReader::Locator& locate, const nlohmann::json* defaults,
                            const NetworkRules* network) const {
  ConfigReader keys(name, config, locate, defaults, network);
  if (name.empty()) keys.fail("", "a hook needs a name");
  if (!config.is_object()) keys.fail("", "must be a mapping of keys (type, realms, ...)");

  // No type, a service URL (docs/urls.md): the URL says the type and its keys; the hook's own keys
  // override them. With a type, `url` is that type's own key (a WebHook's URL, an AMQP URI).
  if (!keys.has("type") && (keys.has("url_file") || is_service_url(config.value("url", nlohmann::json())))) {
    return build_from_service_url(name, config, keys, locate, defaults, network);
  }
  const std::string type = keys.required_string("type");
  auto builder = builders_.find(type);
  if (builder == builders_.end()) {
    std::string message = "unknown hook type '" + type + "'";
    if (auto near = detail::nearest_name(type, types())) message += "; did you mean '" + *near + "'?";
    std::string known;
    for (const auto& t : types()) known += (known.empty() ? "" : ", ") + t;
    message += " (known types: " + known + ")";
    keys.fail("type", message);
  }

  HookCommon common;
  common.name = name;
  if (const nlohmann::json* realms = keys.raw("realms"); realms != nullptr && !realms->is_null()) {
    // One realm may be written as a plain string; a comma inside it is part of the name, unlike recipients.
    if (realms->is_string()) {
      common.realms = Realms(std::vector<std::string>{realms->get<std::string>()});
    } else if (realms->is_array()) {
      std::vector<std::string> names;
      for (std::size_t i = 0; i < realms->size(); ++i) {
        const auto& item = (*realms)[i];
        if (!item.is_string() || item.get<std::string>().empty()) {
          keys.fail("realms", "item " + std::to_string(i + 1) + " must be a non-empty string");
        }
        names.push_back(item.get<std::string>());
      }
      common.realms = Realms(std::move(names));
    } else {
      keys.fail("realms", "must be a list of strings");
    }
  }
  common.enabled = keys.optional_bool("enabled", true);
  // Validated here for every type; a type that has a timeout reads it again through the same reader.
  (void)detail::read_timeout(keys);
  (void)detail::read_retry_policy(keys);

  HookPtr hook;
  try {
    hook = builder->second(std::move(common), keys);
  } catch (const detail::LocatedConfigError&) {
    throw;
  } catch (const ConfigError& e) {
    // A hook constructor that rejects its options does not know where they came from: put the problem at
    // the key it names (its file and line), or at the hook.
    if (!e.key().empty()) keys.fail(e.key(), e.problem());
    keys.fail("", e.what());
  }
  if (!hook) keys.fail("type", "the builder of type '" + type + "' made no hook");
  keys.finish();
  return hook;
}

HookPtr HookRegistry::build_from_service_url(const std::string& name, const nlohmann::json& config,
                                             ConfigReader& keys, const ConfigReader::Locator& locate,
                                             const nlohmann::json* defaults,
                                             const NetworkRules* network) const {
  const std::string url_key = keys.has("url_file") ? "url_file" : "url";
  nlohmann::json expanded;
  try {
    expanded = hook_config_from_url(keys.secret("url", true));
  } catch (const ConfigError& e) {
    keys.fail(url_key, e.problem());
  }
  for (const auto& [key, value] : config.items()) {
    if (key != "url" && key != "url_file") expanded[key] = value;
  }
  // A key the URL made has no line of its own: its problems are reported at the URL's line.
  ConfigReader::Locator at_url;
  if (locate) {
    at_url = [locate, config, url_key](std::string_view key) {
      const std::string top(key.substr(0, key.find('.')));
      return locate(key.empty() || config.contains(top) ? key : std::string_view(url_key));
    };
  }
  return build(name, expanded, at_url, defaults, network);
}

HookPtr eventhook_factory(const std::string& name, const nlohmann::json& config) {
  return HookRegistry::with_builtins().build(name, config);
}

}  // namespace eventhooks
