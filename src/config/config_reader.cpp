#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "config/located_error.hpp"
#include "config/network_keys.hpp"
#include "config/suggest.hpp"
#include "core/text.hpp"
#include "eventhooks/config.hpp"
#include "eventhooks/redact.hpp"

namespace eventhooks {
namespace {

const nlohmann::json& empty_object() {
  static const nlohmann::json empty = nlohmann::json::object();
  return empty;
}

// Names the JSON type the user wrote, never the value: the value may be a secret.
std::string type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "an empty value";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    case nlohmann::json::value_t::array: return "a list";
    case nlohmann::json::value_t::object: return "a mapping";
    default: return "an unsupported value";
  }
}

// A scalar as text: config files and ${VAR} produce numbers and booleans where a string is meant
// (`token: 12345`, `port: "${PORT}"`), and both are fine.
std::optional<std::string> scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_number_float() || v.is_boolean())
    return v.dump();
  return std::nullopt;
}

std::optional<double> as_number(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    // ${VAR} in a JSON file has to be quoted, so a number may arrive as a string.
    const std::string s = v.get<std::string>();
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(s.c_str(), &end);
    if (errno == 0 && end == s.c_str() + s.size() && std::isfinite(d)) return d;
  }
  return std::nullopt;
}

// "hooks.yaml:12: hook 'x': " — where a key is, for the start of an error line.
std::string where_text(const ConfigReader::Locator& locate, const std::string& full_key,
                       const std::string& hook_name) {
  SourceLocation where;
  if (locate) where = locate(full_key.empty() ? std::string_view() : std::string_view(full_key));
  std::string text;
  if (!where.file.empty()) {
    text += where.file;
    if (where.line > 0) text += ":" + std::to_string(where.line);
    text += ": ";
  }
  if (!hook_name.empty()) text += "hook '" + hook_name + "': ";
  return text;
}

}  // namespace

ConfigReader::ConfigReader(std::string hook_name, const nlohmann::json& object, Locator locate,
                           const nlohmann::json* defaults, const NetworkRules* network)
    : hook_name_(std::move(hook_name)),
      object_(object),
      locate_(std::move(locate)),
      defaults_(defaults),
      network_(network) {}

bool ConfigReader::has(std::string_view key) const {
  used_.emplace(key);  // asking is knowing: finish() accepts the key
  return object_.is_object() && object_.contains(key) && !object_.at(std::string(key)).is_null();
}

const nlohmann::json* ConfigReader::raw(std::string_view key) {
  used_.emplace(key);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end()) return nullptr;
  return &*it;
}

const nlohmann::json* ConfigReader::fallback(std::string_view key) const {
  if (defaults_ == nullptr || !defaults_->is_object()) return nullptr;
  auto it = defaults_->find(key);
  if (it == defaults_->end() || it->is_null()) return nullptr;
  return &*it;
}

void ConfigReader::fail(std::string_view key, const std::string& message) const {
  const std::string full_key = prefix_ + std::string(key);
  std::string text = where_text(locate_, full_key, hook_name_);
  if (!full_key.empty()) text += "key '" + full_key + "': ";
  // A hook constructor's ConfigError already names its hook: do not say "hook 'x': hook 'x':".
  std::string_view reason = message;
  const std::string own_prefix = "hook '" + hook_name_ + "': ";
  if (!hook_name_.empty() && reason.substr(0, own_prefix.size()) == own_prefix)
    reason.remove_prefix(own_prefix.size());
  text += reason;
  // A required key that is missing is most often a misspelt one: "unknown key 'urll'; did you mean 'url'?"
  // comes first, so that the user is not told to add a key that is (nearly) there.
  const bool missing = !key.empty() && (!object_.is_object() || !object_.contains(key) ||
                                        object_.at(std::string(key)).is_null());
  if (missing && object_.is_object()) {
    std::string typos;
    for (const auto& [present, value] : object_.items()) {
      if (used_.count(present) != 0 || !detail::is_likely_typo(present, key)) continue;
      typos.append(where_text(locate_, prefix_ + present, hook_name_))
          .append("unknown key '")
          .append(prefix_)
          .append(present)
          .append("'; did you mean '")
          .append(key)
          .append("'?\n");
    }
    text = typos + text;
  }
  throw detail::LocatedConfigError(text);
}

std::optional<std::string> ConfigReader::maybe_string(std::string_view key) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  auto text = scalar_text(*v);
  if (!text) fail(key, "must be a string, got " + type_name(*v));
  return text;
}

std::string ConfigReader::required_string(std::string_view key) {
  auto value = maybe_string(key);
  if (!value) fail(key, "is required");
  if (value->empty()) fail(key, "must not be empty");
  return *value;
}

std::string ConfigReader::optional_string(std::string_view key, std::string fallback_value) {
  auto value = maybe_string(key);
  return value ? *value : std::move(fallback_value);
}

bool ConfigReader::optional_bool(std::string_view key, bool fallback_value) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr || v->is_null()) v = fallback(key);
  if (v == nullptr) return fallback_value;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  fail(key, "must be true or false, got " + type_name(*v));
}

std::int64_t ConfigReader::optional_int(std::string_view key, std::int64_t fallback_value, std::int64_t min,
                                        std::int64_t max) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr || v->is_null()) v = fallback(key);
  if (v == nullptr) return fallback_value;
  auto number = as_number(*v);
  if (!number || *number != std::floor(*number)) fail(key, "must be a whole number, got " + type_name(*v));
  if (*number < static_cast<double>(min) || *number > static_cast<double>(max)) {
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return static_cast<std::int64_t>(*number);
}

double ConfigReader::optional_number(std::string_view key, double fallback_value, double min, double max) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr || v->is_null()) v = fallback(key);
  if (v == nullptr) return fallback_value;
  auto number = as_number(*v);
  if (!number) fail(key, "must be a number, got " + type_name(*v));
  if (*number < min || *number > max) {
    fail(key, "must be between " + nlohmann::json(min).dump() + " and " + nlohmann::json(max).dump());
  }
  return *number;
}

std::chrono::milliseconds ConfigReader::optional_seconds(std::string_view key,
                                                         std::chrono::milliseconds fallback_value) {
  const nlohmann::json* v = raw(key);
  if (v == nullptr || v->is_null()) v = fallback(key);
  if (v == nullptr) return fallback_value;
  auto number = as_number(*v);
  if (!number) fail(key, "must be a number of seconds, got " + type_name(*v));
  if (*number < 0) fail(key, "must not be negative");
  if (*number > 365.0 * 24 * 3600) fail(key, "must be at most a year (in seconds)");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*number * 1000.0)));
}

std::vector<std::string> ConfigReader::string_list(std::string_view key) {
  const nlohmann::json* v = raw(key);
  std::vector<std::string> out;
  if (v == nullptr || v->is_null()) return out;
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    std::size_t start = 0;
    while (start <= s.size()) {
      const std::size_t comma = s.find(',', start);
      std::string item =
          detail::trim(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!item.empty()) out.push_back(std::move(item));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out;
  }
  if (!v->is_array())
    fail(key, "must be a list of strings or a comma-separated string, got " + type_name(*v));
  for (std::size_t i = 0; i < v->size(); ++i) {
    auto text = scalar_text((*v)[i]);
    if (!text || (*v)[i].is_boolean()) {
      fail(key, "item " + std::to_string(i + 1) + " must be a string, got " + type_name((*v)[i]));
    }
    if (text->empty()) fail(key, "item " + std::to_string(i + 1) + " must not be empty");
    out.push_back(std::move(*text));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ConfigReader::string_map(std::string_view key) {
  const nlohmann::json* v = raw(key);
  std::vector<std::pair<std::string, std::string>> out;
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_object()) fail(key, "must be a mapping of names to strings, got " + type_name(*v));
  for (const auto& [name, value] : v->items()) {
    auto text = scalar_text(value);
    if (!text) fail(std::string(key) + "." + name, "must be a string, got " + type_name(value));
    out.emplace_back(name, std::move(*text));
  }
  return out;
}

std::string ConfigReader::secret(std::string_view key, bool required) {
  const std::string file_key = std::string(key) + "_file";
  auto direct = maybe_string(key);
  auto path = maybe_string(file_key);
  if (direct && path) fail(key, "set either '" + std::string(key) + "' or '" + file_key + "', not both");
  if (path) {
    // The loader has already made a relative path relative to the config file's folder.
    std::FILE* f = std::fopen(path->c_str(), "rb");
    if (f == nullptr) fail(file_key, "cannot read secret file '" + *path + "': " + std::strerror(errno));
    std::string content;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) {
      content.append(buffer, n);
      if (content.size() > std::size_t{1024} * 1024) {
        std::fclose(f);
        fail(file_key, "secret file '" + *path + "' is larger than 1 MiB");
      }
    }
    const bool read_error = std::ferror(f) != 0;
    std::fclose(f);
    if (read_error) fail(file_key, "cannot read secret file '" + *path + "'");
    // Editors and `echo` add a final newline that is never part of the secret.
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
    if (content.empty() && required) fail(file_key, "secret file '" + *path + "' is empty");
    return content;
  }
  if (direct) {
    if (direct->empty() && required) fail(key, "must not be empty");
    return *direct;
  }
  if (required) fail(key, "is required (or '" + file_key + "' naming a file that holds it)");
  return {};
}

std::string ConfigReader::url(std::string_view key, bool required) {
  auto value = maybe_string(key);
  if (!value || value->empty()) {
    if (required) fail(key, "is required");
    return {};
  }
  check_url(key, *value, false);
  return *value;
}

std::string ConfigReader::secret_url(std::string_view key, bool required) {
  std::string value = secret(key, required);
  const std::string file_key = std::string(key) + "_file";
  if (!value.empty()) check_url(has(file_key) ? file_key : std::string(key), value, true);
  return value;
}

void ConfigReader::check_url(std::string_view key, const std::string& u, bool secret) const {
  // A secret URL is never quoted, not even masked: its path is the credential.
  const std::string shown = secret ? std::string("the URL") : "'" + redact_url(u) + "'";
  const auto scheme_end = u.find("://");
  if (scheme_end == std::string::npos) {
    fail(key, shown + " is not a URL (expected http://host/... or https://host/...)");
  }
  const std::string scheme = detail::to_lower(std::string_view(u).substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    fail(key, shown + " must use http or https, not '" + scheme + "'");
  }
  const auto authority_start = scheme_end + 3;
  const auto authority_end = u.find_first_of("/?#", authority_start);
  std::string authority =
      u.substr(authority_start,
               authority_end == std::string::npos ? std::string::npos : authority_end - authority_start);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  std::string host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') == std::string::npos ? 0 : host.find(']') + 1);
  } else if (auto colon = host.find(':'); colon != std::string::npos) {
    const std::string port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
        std::stoi(port) == 0 || std::stoi(port) > 65535) {
      fail(key, shown + " has an invalid port");
    }
  }
  if (host.empty()) fail(key, shown + " has no host");
  if (u.find_first_of(" \t\r\n") != std::string::npos) fail(key, shown + " contains whitespace");
}

TlsOptions ConfigReader::tls() {
  TlsOptions options;
  options.verify = optional_bool("verify", true);
  options.ca_file = optional_string("ca_file");
  options.cert_file = optional_string("cert_file");
  options.key_file = optional_string("key_file");
  if (!options.key_file.empty() && options.cert_file.empty()) fail("key_file", "needs 'cert_file' as well");
  return options;
}

Timeouts ConfigReader::timeouts(Timeouts fallback) {
  Timeouts t;
  t.total = optional_seconds("timeout", fallback.total);
  t.connect = optional_seconds("connect_timeout", fallback.connect);
  if (t.total.count() <= 0) fail("timeout", "must be greater than 0");
  if (t.connect.count() <= 0) fail("connect_timeout", "must be greater than 0");
  return t;
}

NetworkPolicy ConfigReader::network() {
  NetworkRules rules = network_ != nullptr ? *network_ : NetworkRules{};
  if (has("network")) {
    ConfigReader block = nested("network");
    rules = detail::read_network_rules(block, std::move(rules));
    block.finish();
  }
  return NetworkPolicy(rules);  // every CIDR was checked by read_network_rules
}

ConfigReader ConfigReader::nested(std::string_view key) {
  const nlohmann::json* v = raw(key);
  if (v != nullptr && !v->is_null() && !v->is_object()) fail(key, "must be a mapping, got " + type_name(*v));
  const nlohmann::json& inner = (v != nullptr && v->is_object()) ? *v : empty_object();
  const nlohmann::json* inner_defaults = fallback(key);
  if (inner_defaults != nullptr && !inner_defaults->is_object()) inner_defaults = nullptr;
  ConfigReader reader(hook_name_, inner, locate_, inner_defaults, network_);
  reader.prefix_ = prefix_ + std::string(key) + ".";
  return reader;
}

void ConfigReader::finish() {
  if (!object_.is_object()) return;
  const std::vector<std::string> known(used_.begin(), used_.end());
  std::string errors;  // every unknown key, not only the first
  for (const auto& [key, value] : object_.items()) {
    if (used_.count(key) != 0) continue;
    std::string line = where_text(locate_, prefix_ + key, hook_name_);
    line.append("unknown key '").append(prefix_).append(key).append("'");
    if (auto near = detail::nearest_name(key, known)) {
      line += "; did you mean '" + *near + "'?";
    } else if (!known.empty()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      line += " (known keys: " + list + ")";
    }
    errors += (errors.empty() ? "" : "\n") + line;
  }
  if (!errors.empty()) throw detail::LocatedConfigError(errors);
}

}  // namespace eventhooks
