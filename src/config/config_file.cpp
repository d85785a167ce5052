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
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "config/interpolate.hpp"
#include "config/located_error.hpp"
#include "config/network_keys.hpp"
#include "config/retry_keys.hpp"
#include "config/serve_keys.hpp"
#include "eventhooks/config.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"

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
  YamlToJson(std::string_view text, std::string source, std::string base_dir)
      : text_(text), source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  // `indent`: the column of the block collection that holds `node` (-1 for none); the lines of a quoted
  // scalar inside it must be indented further.
  nlohmann::json convert(const YAML::Node& node, std::vector<std::string>& path, int indent = -1) {
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
    const bool block = node.Style() != YAML::EmitterStyle::Flow;
    const int inner_indent = block && (node.IsMap() || node.IsSequence()) ? node.Mark().column : indent;
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
            nlohmann::json value = convert(value_node, path, inner_indent);
            out[key] = resolve_file_path(path, std::move(value));
          }
          path.pop_back();
        }
        return out;
      }
      case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& item : node) out.push_back(convert(item, path, inner_indent));
        return out;
      }
      case YAML::NodeType::Scalar:
        if (!check_quoted(node, path, indent)) return nullptr;
        return scalar(node, path);
      default: return nullptr;
    }
  }

  const LineMap& lines() const { return lines_; }
  const std::vector<std::string>& errors() const { return errors_; }
  // Whether an error was found under this top-level key ("defaults") or in this hook ("hooks", "x").
  bool has_errors_in(const std::string& top, const std::string& hook = {}) const {
    return errors_in_.count(hook.empty() ? top : top + "." + hook) != 0;
  }

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
    if (!path.empty()) errors_in_.insert(path[0]);
    if (path.size() >= 2) errors_in_.insert(path[0] + "." + path[1]);
  }

  // yaml-cpp 0.7 accepts a quoted scalar that is never closed: it runs to the end of the file, swallowing
  // every key after it (`password: "abc` followed by more hooks). YAML forbids that twice over: a quoted
  // scalar needs its closing quote, and in a block collection its continuation lines must be indented
  // further than the collection. So the scalar's source is scanned from its opening quote to its closing
  // one; a line at or left of `indent` before the closing quote means the quote was never closed there.
  // Legitimate multi-line quoted scalars (continuation lines indented further) are unaffected.
  bool check_quoted(const YAML::Node& node, const std::vector<std::string>& path, int indent) {
    const YAML::Mark mark = node.Mark();
    // yaml-cpp counts bytes from after a UTF-8 byte order mark.
    const std::size_t bom = text_.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) + bom >= text_.size()) return true;
    const std::size_t open = static_cast<std::size_t>(mark.pos) + bom;
    const char quote = text_[open];
    if (quote != '"' && quote != '\'') return true;  // plain, block scalar, or a tag before the quote
    const int line = mark.line + 1;
    const std::string unclosed =
        std::string("the ") + (quote == '"' ? "double" : "single") + "-quoted value that starts here";
    for (std::size_t i = open + 1; i < text_.size(); ++i) {
      const char c = text_[i];
      if (quote == '"' && c == '\\') {
        ++i;  // an escape: the next character, a quote or a line break included, is part of the value
      } else if (c == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;  // '' is a quote inside a single-quoted value
          continue;
        }
        return true;
      } else if (c == '\n' && indent >= 0) {
        std::size_t first = i + 1;
        while (first < text_.size() && (text_[first] == ' ' || text_[first] == '\t')) ++first;
        const bool blank = first >= text_.size() || text_[first] == '\n' || text_[first] == '\r';
        if (!blank && static_cast<int>(first - (i + 1)) <= indent) {
          const int stop =
              line +
              static_cast<int>(std::count(text_.begin() + static_cast<std::ptrdiff_t>(open),
                                          text_.begin() + static_cast<std::ptrdiff_t>(i), '\n')) +
              1;
          error(line, path,
                unclosed + " has no closing " + std::string(1, quote) + " before line " +
                    std::to_string(stop) + " (a missing closing quote?)");
          return false;
        }
      }
    }
    error(line, path, unclosed + " has no closing " + std::string(1, quote) + " (a missing closing quote?)");
    return false;
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

  // One rule for every file a config names: a hook's `path` (FileHook's output) and `<key>_file` (secret
  // files, ca_file, cert_file, ...), like `outbox.path`, are relative to the config file's folder, so that a
  // config works from any working directory.
  nlohmann::json resolve_file_path(const std::vector<std::string>& path, nlohmann::json value) const {
    if (path.size() != 3 || path[0] != "hooks" || !value.is_string()) return value;
    const std::string& key = path[2];
    const bool file_key = key == "path" || (key.size() > 5 && key.compare(key.size() - 5, 5, "_file") == 0);
    if (!file_key) return value;
    const std::string file = value.get<std::string>();
    if (file.empty() || std::filesystem::path(file).is_absolute()) return value;
    return (std::filesystem::path(base_dir_) / file).lexically_normal().string();
  }

  std::string_view text_;
  std::string source_;
  std::string base_dir_;
  LineMap lines_;
  std::vector<std::string> errors_;
  std::set<std::string, std::less<>> errors_in_;
  static constexpr int kMaxDepth = 64;
  static constexpr std::size_t kMaxValues = 100000;
  int depth_ = 0;
  std::size_t values_ = 0;
  bool too_big_ = false;  // conversion stopped; its error is recorded once
};

// "amqp://a, amqp://b" or one per line (a url_file), spaces trimmed.
std::vector<std::string> split_urls(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + ",") {
    if (c == ',' || c == '\n' || c == ' ' || c == '\t' || c == '\r') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

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

  // Every problem is collected, so that one run reports them all: unset variables, top-level keys and every
  // hook, each line naming file, line, hook and key.
  YamlToJson converter(text, source, base_dir);
  std::vector<std::string> path;
  const nlohmann::json document = converter.convert(root, path);
  std::vector<std::string> errors = converter.errors();
  auto collect = [&errors](const std::function<void()>& step) {
    try {
      step();
    } catch (const ConfigError& e) {
      errors.emplace_back(e.what());
    }
  };

  auto locate_top = [&](std::string_view key) {
    return SourceLocation{source, key.empty() ? 1 : converter.line_of(std::string(key))};
  };
  ConfigReader top("", document, locate_top);

  Config config;
  config.source = source;

  // defaults: validated once here, so that a bad default is reported at its own line, not at every hook.
  // A block with an error in it already (an unset variable) is not read again.
  config.defaults = nlohmann::json::object();
  bool defaults_ok = !converter.has_errors_in("defaults");
  collect([&] {
    ConfigReader defaults = top.nested("defaults");
    if (!defaults_ok) return;
    defaults_ok = false;
    (void)detail::read_timeout(defaults);
    (void)detail::read_retry_policy(defaults);
    defaults.finish();
    defaults_ok = true;
  });
  if (const nlohmann::json* d = top.raw("defaults"); defaults_ok && d != nullptr && d->is_object())
    config.defaults = *d;

  collect([&] {
    ConfigReader serve = top.nested("serve");
    if (converter.has_errors_in("serve") || !top.has("serve")) return;
    config.serve = detail::read_serve_config(serve, base_dir);
  });

  collect([&] {
    ConfigReader outbox = top.nested("outbox");
    if (converter.has_errors_in("outbox")) return;
    if (top.has("outbox") && (outbox.has("url") || outbox.has("url_file"))) {
      // RabbitMQ. The URL carries the password: read like a secret (`url_file` too); several URLs, as a list
      // or comma-separated, name the nodes of one cluster.
      OutboxConfig c;
      if (outbox.has("url_file")) {
        for (auto& u : split_urls(outbox.secret("url", true))) c.urls.push_back(std::move(u));
      } else {
        c.urls = outbox.string_list("url");
      }
      if (c.urls.empty()) outbox.fail("url", "needs at least one amqp:// or amqps:// URL");
      for (const auto& u : c.urls) {
        auto ep = parse_amqp_url(u);
        if (!ep) outbox.fail("url", ep.error().message);
        if (ep->user.empty() || ep->password.empty())
          outbox.fail("url", "needs a user and a password: amqp://user:password@host:5672/vhost");
      }
      c.queue = outbox.required_string("queue");
      c.delivery_limit = static_cast<int>(outbox.optional_int("delivery_limit", 20, 1, 1'000'000));
      c.tls = outbox.tls();
      config.outbox = std::move(c);
    } else if (top.has("outbox")) {
      config.outbox.emplace().path = outbox.required_string("path");
      const std::filesystem::path p(config.outbox->path);
      if (p.is_relative())
        config.outbox->path = (std::filesystem::path(base_dir) / p).lexically_normal().string();
      // `serve` reports delivered events, so with a `serve:` section they are kept a day by default.
      const std::chrono::milliseconds keep_default =
          top.has("serve") ? std::chrono::hours(24) : std::chrono::milliseconds(0);
      config.outbox->keep_delivered = outbox.optional_seconds("keep_delivered", keep_default);
      if (config.outbox->keep_delivered < std::chrono::milliseconds(0))
        outbox.fail("keep_delivered", "must not be negative");
      const std::string sync = outbox.optional_string("synchronous", "full");
      if (sync != "full" && sync != "normal") outbox.fail("synchronous", "must be 'full' or 'normal'");
      config.outbox->synchronous_full = sync == "full";
    }
    outbox.finish();
  });

  // network: the SSRF guard's rules (docs/network.md). A bad block stops the hooks from being built: they
  // would otherwise be built with a policy the user did not write.
  bool network_ok = !converter.has_errors_in("network");
  collect([&] {
    ConfigReader network = top.nested("network");
    if (!network_ok) return;
    network_ok = false;
    config.network = detail::read_network_rules(network, {});
    network.finish();
    network_ok = true;
  });

  const nlohmann::json* hooks = top.raw("hooks");
  collect([&] {
    top.finish();
  });  // before the check for `hooks`: a misspelt `hook:` gets "did you mean 'hooks'?"
  collect([&] {
    if (hooks == nullptr) top.fail("hooks", "is required: a mapping of hook name to its settings");
    if (!hooks->is_object()) top.fail("hooks", "must be a mapping of hook name to its settings");
  });
  if (hooks == nullptr || !hooks->is_object() || !network_ok) throw_all(errors);

  // Hooks in file order (nlohmann::json sorts keys; the YAML node keeps them as written).
  const YAML::Node hook_nodes = root["hooks"];
  for (auto it = hook_nodes.begin(); it != hook_nodes.end(); ++it) {
    const std::string name = it->first.Scalar();
    // Its problems were found while reading the file; building it would report them again, differently.
    if (converter.has_errors_in("hooks", name)) continue;
    const std::string prefix = "hooks." + name;
    const int hook_line = it->first.Mark().line + 1;
    auto locate = [&converter, &source, prefix](std::string_view key) {
      return SourceLocation{source,
                            converter.line_of(key.empty() ? prefix : prefix + "." + std::string(key))};
    };
    const nlohmann::json& settings = hooks->at(name);
    collect([&] {
      HookEntry entry;
      entry.hook = registry.build(name, settings, locate, &config.defaults, &config.network);
      ConfigReader keys(name, settings, locate, &config.defaults, &config.network);
      entry.retry = detail::read_retry_policy(keys);
      entry.location = SourceLocation{source, hook_line};
      config.hooks.push_back(std::move(entry));
    });
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
