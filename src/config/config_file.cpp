// Loading a config file: YAML (or JSON, which yaml-cpp also reads) → nlohmann::json with the line of every
// key kept for error messages, ${VAR} interpolation, relative *_file paths, then one hook at a time through
// the registry. Nothing is returned unless every hook is valid.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>

#include "config/interpolate.hpp"
#include "config/located_error.hpp"
#include "config/retry_keys.hpp"
#include "eventhooks/config.hpp"

namespace eventhooks {
namespace {

// Key paths are joined with '.', the form ConfigReader hands to its Locator ("retry.max_attempts").
using LineMap = std::map<std::string, int, std::less<>>;

// The scalar grammars below are matched by hand: std::regex compiled them on first use, which cost a
// one-shot `eventhooks trigger` about 0.5 ms (locale facets, bracket matchers) for three tiny patterns.

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::size_t skip_sign(std::string_view s) {
  return !s.empty() && (s.front() == '-' || s.front() == '+') ? 1 : 0;
}

std::size_t count_digits(std::string_view s, std::size_t from) {
  std::size_t i = from;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i - from;
}

// [-+]?(0|[1-9][0-9]*): leading zeros stay text.
bool is_yaml_integer(std::string_view s) {
  const std::size_t start = skip_sign(s);
  const std::size_t digits = count_digits(s, start);
  if (digits == 0 || start + digits != s.size()) return false;
  return digits == 1 || s[start] != '0';
}

// [-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?  or  [-+]?[0-9]+[eE][-+]?[0-9]+
bool is_yaml_float(std::string_view s) {
  std::size_t i = skip_sign(s);
  const std::size_t whole = count_digits(s, i);
  i += whole;
  bool point = false;
  std::size_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    point = true;
    fraction = count_digits(s, ++i);
    i += fraction;
  }
  if (whole == 0 && fraction == 0) return false;
  bool exponent = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    i += skip_sign(s.substr(i));
    const std::size_t digits = count_digits(s, i);
    if (digits == 0) return false;
    i += digits;
    exponent = true;
  }
  return i == s.size() && (point || exponent);
}

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) out += (out.empty() ? "" : ".") + p;
  return out;
}

class YamlToJson {
 public:
  YamlToJson(std::string source, std::string base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  nlohmann::json convert(const YAML::Node& node, std::vector<std::string>& path) {
    // Aliases make the document a graph: `a: &a [*a]` would recurse until the stack overflows, and a few
    // nested aliases expand a 200-byte file to millions of values. A config is small and shallow.
    if (too_big_) return nullptr;
    if (depth_ >= kMaxDepth || ++values_ > kMaxValues) {
      too_big_ = true;
      error(node.Mark().line + 1, path,
            depth_ >= kMaxDepth ? "nested more than " + std::to_string(kMaxDepth) +
                                      " levels deep (an alias inside its own anchor?)"
                                : "more than " + std::to_string(kMaxValues) + " values (aliases expanding?)");
      return nullptr;
    }
    struct Nesting {
      int& depth;
      explicit Nesting(int& d) : depth(++d) {}
      ~Nesting() { --depth; }
    } nesting(depth_);
    switch (node.Type()) {
      case YAML::NodeType::Map: {
        nlohmann::json out = nlohmann::json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
          // Copies: yaml-cpp's iterator hands out a temporary pair, a reference into it would dangle.
          const YAML::Node key_node = it->first;
          const YAML::Node value_node = it->second;
          if (!key_node.IsScalar()) {
            error(key_node.Mark().line + 1, path, "a key must be a plain name");
            continue;
          }
          const std::string& key = key_node.Scalar();
          path.push_back(key);
          lines_.emplace(join_path(path), key_node.Mark().line + 1);
          if (out.contains(key)) {
            error(key_node.Mark().line + 1, path, "duplicate key");
          } else {
            nlohmann::json value = convert(value_node, path);
            out[key] = resolve_file_path(path, std::move(value));
          }
          path.pop_back();
        }
        return out;
      }
      case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& item : node) out.push_back(convert(item, path));
        return out;
      }
      case YAML::NodeType::Scalar: return scalar(node, path);
      default: return nullptr;
    }
  }

  const LineMap& lines() const { return lines_; }
  const std::vector<std::string>& errors() const { return errors_; }

  // "hooks.x.retry.max_attempts" → its line, or the nearest enclosing key's line.
  int line_of(std::string path) const {
    while (!path.empty()) {
      if (auto it = lines_.find(path); it != lines_.end()) return it->second;
      const auto dot = path.rfind('.');
      if (dot == std::string::npos) break;
      path.erase(dot);
    }
    return 0;
  }

 private:
  void error(int line, const std::vector<std::string>& path, const std::string& message) {
    std::string text = source_ + ":" + std::to_string(line) + ": ";
    std::size_t key_start = 0;
    if (path.size() >= 2 && path[0] == "hooks") {
      text += "hook '" + path[1] + "': ";
      key_start = 2;
    }
    std::string key;
    for (std::size_t i = key_start; i < path.size(); ++i) key += (key.empty() ? "" : ".") + path[i];
    if (!key.empty()) text += "key '" + key + "': ";
    errors_.push_back(text + message);
  }

  nlohmann::json scalar(const YAML::Node& node, const std::vector<std::string>& path) {
    const std::string& raw = node.Scalar();
    const int line = node.Mark().line + 1;
    const bool plain = node.Tag() == "?";
    const bool has_reference = raw.find("${") != std::string::npos;
    std::string text = raw;
    if (has_reference) {
      std::string problem;
      auto value = detail::interpolate_variables(raw, problem);
      if (!value) {
        error(line, path, problem);
        return nullptr;
      }
      text = std::move(*value);
    }
    // A quoted scalar is a string, whatever it looks like; a plain one gets YAML's core types.
    if (!plain) return text;
    if (!has_reference &&
        (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")) {
      return nullptr;
    }
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    // Leading zeros stay text: `0123` is more likely a token than the number 123.
    if (is_yaml_integer(text)) {
      errno = 0;
      const long long v = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == 0) return v;
      return text;
    }
    if (is_yaml_float(text)) return std::strtod(text.c_str(), nullptr);
    return text;
  }

  // A hook's `<key>_file` (secret files, ca_file, cert_file, ...) is relative to the config file's folder,
  // so that a config works from any working directory.
  nlohmann::json resolve_file_path(const std::vector<std::string>& path, nlohmann::json value) const {
    if (path.size() != 3 || path[0] != "hooks" || !value.is_string()) return value;
    const std::string& key = path[2];
    if (key.size() <= 5 || key.compare(key.size() - 5, 5, "_file") != 0) return value;
    const std::string file = value.get<std::string>();
    if (file.empty() || std::filesystem::path(file).is_absolute()) return value;
    return (std::filesystem::path(base_dir_) / file).lexically_normal().string();
  }

  std::string source_;
  std::string base_dir_;
  LineMap lines_;
  std::vector<std::string> errors_;
  static constexpr int kMaxDepth = 64;
  static constexpr std::size_t kMaxValues = 100000;
  int depth_ = 0;
  std::size_t values_ = 0;
  bool too_big_ = false;  // conversion stopped; its error is recorded once
};

[[noreturn]] void throw_all(const std::vector<std::string>& errors) {
  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
  throw detail::LocatedConfigError(message);
}

}  // namespace

HookPtr Config::find(std::string_view name) const {
  for (const auto& entry : hooks) {
    if (entry.hook && entry.hook->name() == name) return entry.hook;
  }
  return nullptr;
}

Config parse_config(std::string_view text, const std::string& source, const HookRegistry& registry,
                    const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string message = source;
    if (!e.mark.is_null()) {
      message += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    throw detail::LocatedConfigError(message + ": not valid YAML or JSON: " + e.msg);
  }
  if (!root.IsMap()) {
    const int line = root.IsDefined() && !root.IsNull() ? root.Mark().line + 1 : 1;
    throw detail::LocatedConfigError(source + ":" + std::to_string(line) +
                                     ": the file must be a mapping with a 'hooks:' key");
  }

  YamlToJson converter(source, base_dir);
  std::vector<std::string> path;
  const nlohmann::json document = converter.convert(root, path);
  if (!converter.errors().empty()) throw_all(converter.errors());

  auto locate_top = [&](std::string_view key) {
    return SourceLocation{source, key.empty() ? 1 : converter.line_of(std::string(key))};
  };
  ConfigReader top("", document, locate_top);

  Config config;
  config.source = source;

  // defaults: validated once here, so that a bad default is reported at its own line, not at every hook.
  ConfigReader defaults = top.nested("defaults");
  (void)detail::read_timeout(defaults);
  (void)detail::read_retry_policy(defaults);
  defaults.finish();
  if (const nlohmann::json* d = top.raw("defaults"); d != nullptr && d->is_object())
    config.defaults = *d;
  else
    config.defaults = nlohmann::json::object();

  ConfigReader outbox = top.nested("outbox");
  if (top.has("outbox")) {
    config.outbox = OutboxConfig{.path = outbox.required_string("path")};
    const std::filesystem::path p(config.outbox->path);
    if (p.is_relative())
      config.outbox->path = (std::filesystem::path(base_dir) / p).lexically_normal().string();
  }
  outbox.finish();

  const nlohmann::json* hooks = top.raw("hooks");
  top.finish();  // before the check for `hooks`: a misspelt `hook:` gets "did you mean 'hooks'?"
  if (hooks == nullptr) top.fail("hooks", "is required: a mapping of hook name to its settings");
  if (!hooks->is_object()) top.fail("hooks", "must be a mapping of hook name to its settings");

  // Hooks in file order (nlohmann::json sorts keys; the YAML node keeps them as written).
  std::vector<std::string> errors;
  const YAML::Node hook_nodes = root["hooks"];
  for (auto it = hook_nodes.begin(); it != hook_nodes.end(); ++it) {
    const std::string name = it->first.Scalar();
    const std::string prefix = "hooks." + name;
    const int hook_line = it->first.Mark().line + 1;
    auto locate = [&converter, &source, prefix](std::string_view key) {
      return SourceLocation{source,
                            converter.line_of(key.empty() ? prefix : prefix + "." + std::string(key))};
    };
    const nlohmann::json& settings = hooks->at(name);
    try {
      HookEntry entry;
      entry.hook = registry.build(name, settings, locate, &config.defaults);
      ConfigReader keys(name, settings, locate, &config.defaults);
      entry.retry = detail::read_retry_policy(keys);
      entry.location = SourceLocation{source, hook_line};
      config.hooks.push_back(std::move(entry));
    } catch (const ConfigError& e) {
      errors.emplace_back(e.what());
    }
  }
  if (!errors.empty()) throw_all(errors);
  return config;
}

Config load_config(const std::string& path, const HookRegistry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw detail::LocatedConfigError(path + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw detail::LocatedConfigError(path + ": cannot read config file");
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  if (base_dir.empty()) base_dir = ".";
  return parse_config(text.str(), path, registry, base_dir);
}

}  // namespace eventhooks
