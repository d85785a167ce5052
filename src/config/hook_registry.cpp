#include <algorithm>

#include "config/builtin_types.hpp"
#include "config/located_error.hpp"
#include "config/retry_keys.hpp"
#include "config/suggest.hpp"
#include "eventhooks/config.hpp"

namespace eventhooks {

namespace detail {

RetryPolicy read_retry_policy(ConfigReader& keys) {
  ConfigReader retry = keys.nested("retry");
  RetryPolicy policy;
  using std::chrono::milliseconds;
  policy.max_attempts = static_cast<int>(retry.optional_int("max_attempts", policy.max_attempts, 1, 1000));
  const milliseconds max_age = retry.optional_seconds("max_age", policy.max_age);
  if (max_age < std::chrono::seconds(1)) retry.fail("max_age", "must be at least 1 second");
  policy.max_age = std::chrono::duration_cast<std::chrono::seconds>(max_age);
  policy.initial_delay = retry.optional_seconds("initial_delay", policy.initial_delay);
  policy.multiplier = retry.optional_number("multiplier", policy.multiplier, 1.0, 100.0);
  policy.max_delay = retry.optional_seconds("max_delay", policy.max_delay);
  if (policy.max_delay < policy.initial_delay)
    retry.fail("max_delay", "must not be smaller than initial_delay");
  policy.jitter = retry.optional_bool("jitter", policy.jitter);
  retry.finish();
  return policy;
}

std::optional<std::chrono::milliseconds> read_timeout(ConfigReader& keys) {
  constexpr std::chrono::milliseconds unset{-1};
  const auto timeout = keys.optional_seconds("timeout", unset);
  if (timeout == unset) return std::nullopt;
  if (timeout <= std::chrono::milliseconds(0)) keys.fail("timeout", "must be more than 0 seconds");
  return timeout;
}

}  // namespace detail

HookRegistry HookRegistry::with_builtins() {
  HookRegistry registry;
  detail::register_http_hook_types(registry);
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
                            const ConfigReader::Locator& locate, const nlohmann::json* defaults) const {
  ConfigReader keys(name, config, locate, defaults);
  if (name.empty()) keys.fail("", "a hook needs a name");
  if (!config.is_object()) keys.fail("", "must be a mapping of keys (type, realms, ...)");

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
    // A hook constructor that rejects its options does not know where they came from: add it.
    keys.fail("", e.what());
  }
  if (!hook) keys.fail("type", "the builder of type '" + type + "' made no hook");
  keys.finish();
  return hook;
}

HookPtr eventhook_factory(const std::string& name, const nlohmann::json& config) {
  return HookRegistry::with_builtins().build(name, config);
}

}  // namespace eventhooks
