// eventhooks send: fire hooks given as service URLs (docs/urls.md) once, no config file; the output and exit
// codes of `trigger`.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "eventhooks/hook_registry.hpp"
#include "eventhooks/service_url.hpp"
#include "fire.hpp"
#include "output.hpp"

namespace eventhooks::cli {
namespace {

struct SendOptions {
  std::vector<std::string> urls;
  std::string data;
  bool data_given = false;
  std::string title;
  bool dry_run = false;
  bool json = false;
  std::string name = "send";
};

// The key a --title goes to, per type; types without a title keep their message as it is.
const char* title_key(const std::string& type) {
  static const std::map<std::string, const char*> keys = {{"DiscordWebHook", "title"},
                                                          {"TeamsWebHook", "title"},
                                                          {"NtfyHook", "title"},
                                                          {"GotifyHook", "title"},
                                                          {"SimpleEmailHook", "subject"}};
  auto it = keys.find(type);
  return it == keys.end() ? nullptr : it->second;
}

int run_send(SendOptions options) {
  if (options.urls.empty()) {
    // EVENTHOOKS_URLS: space-separated, so one environment variable can hold a whole set of targets.
    if (const char* env = std::getenv("EVENTHOOKS_URLS")) {
      std::istringstream words(env);
      for (std::string url; words >> url;) options.urls.push_back(url);
    }
  }
  if (options.urls.empty()) {
    print_error("send: no URL given (as arguments, or space-separated in EVENTHOOKS_URLS); see docs/urls.md");
    return exit_usage;
  }
  Payload payload;
  if (options.data_given) {
    auto text = read_data_text(options.data);
    if (!text) return exit_usage;
    auto parsed = parse_data(*text);
    if (!parsed) return exit_usage;
    payload = std::move(*parsed);
  }

  // Each hook is named after its scheme (ntfy, slack, …; ntfy-2 for a second one), and every URL is checked
  // before anything is sent.
  const HookRegistry registry = HookRegistry::with_builtins();
  std::vector<HookPtr> hooks;
  std::map<std::string, int> seen;
  bool invalid = false;
  for (std::size_t i = 0; i < options.urls.size(); ++i) {
    const std::string& url = options.urls[i];
    const std::string scheme = url.substr(0, url.find("://"));
    const int n = ++seen[scheme];
    const std::string name = n == 1 ? scheme : scheme + "-" + std::to_string(n);
    try {
      nlohmann::json config = hook_config_from_url(url);
      if (!options.title.empty()) {
        if (const char* key = title_key(config.value("type", ""))) config[key] = options.title;
      }
      hooks.push_back(registry.build(name, config));
    } catch (const ConfigError& e) {
      // Never the URL itself: it holds the secrets.
      std::string message = e.what();
      const std::string generic = "service URL: url: ";
      if (message.rfind(generic, 0) == 0) message.erase(0, generic.size());
      print_error(std::string("URL ")
                      .append(std::to_string(i + 1))
                      .append(" (")
                      .append(name)
                      .append("): ")
                      .append(message));
      invalid = true;
    }
  }
  if (invalid) return exit_config;
  if (options.dry_run) return report_dry_run(hooks, std::nullopt, options.json);
  return fire_and_report(hooks, Event::make(options.name, std::move(payload)), options.json);
}

}  // namespace

void add_send_command(CLI::App& app, GlobalOptions& /*global*/, CommandRunner& run) {
  auto options = std::make_shared<SendOptions>();
  CLI::App* cmd = app.add_subcommand(
      "send",
      "Send once to services given as URLs (slack://, ntfy://, tgram://, …; docs/urls.md), no config");
  cmd->add_option("urls", options->urls, "Service URLs (default: EVENTHOOKS_URLS, space-separated)");
  CLI::Option* data =
      cmd->add_option("--data", options->data,
                      "Event data: a JSON object, any other text, @FILE to read a file, - for stdin");
  cmd->add_option("--title", options->title,
                  "Title (Discord, Teams, ntfy, Gotify) or subject (mailto); the others ignore it");
  cmd->add_option("--name", options->name, "The event's name")->capture_default_str();
  cmd->add_flag("--dry-run", options->dry_run, "Show each URL's hook (secrets masked), send nothing");
  cmd->add_flag("--json", options->json, "One JSON object per hook instead of text lines");
  cmd->callback([options, data, &run] {
    options->data_given = data->count() > 0;
    run = [options] { return run_send(*options); };
  });
}

}  // namespace eventhooks::cli
