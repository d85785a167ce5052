// eventhooks trigger: fire the hooks of a config file once, print one line per hook, exit 0/1; or, with
// --enqueue, store the event in the config's outbox for `eventhooks worker`.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "commands.hpp"
#include "enqueue.hpp"
#include "eventhooks/logger.hpp"
#include "fire.hpp"
#include "output.hpp"

namespace eventhooks::cli {
namespace {

struct TriggerOptions {
  std::string config;
  std::string realm;
  bool realm_given = false;
  std::string data;
  bool data_given = false;
  std::vector<std::string> hooks;
  bool dry_run = false;
  bool json = false;
  bool enqueue = false;
  std::string name = "trigger";  // the event's name (--name)
};

std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// `trigger --enqueue`: one job per selected hook in the config's outbox, one line per hook.
int run_enqueue(const Config& config, const TriggerOptions& options, const Event& event) {
  if (!config.outbox) {
    print_error("--enqueue: " + options.config + " has no outbox (`outbox: {path: FILE}`)");
    return exit_config;
  }
  auto opened = open_outbox_creating_folder(*config.outbox);
  if (!opened) {
    print_error("--enqueue: nothing was stored: " + opened.error().message);
    return exit_internal;
  }
  auto names = cli::enqueue_event(*opened.value(), config, event, options.hooks);
  if (!names) {
    print_error("--enqueue: nothing was stored: " + names.error().message);
    return exit_internal;
  }
  for (const auto& name : names.value()) {
    if (options.json) {
      std::cout << dump({{"hook", name}, {"outcome", "enqueued"}, {"event_id", event.id}}) << "\n";
    } else {
      std::cout << fmt::format("{}  enqueued  event {}\n", name, event.id);
    }
  }
  if (names.value().empty() && !options.json) std::cout << "no hook matches; nothing enqueued\n";
  std::cout.flush();
  return exit_ok;
}

int run_trigger(const TriggerOptions& options) {
  std::optional<Payload> payload = Payload();
  if (options.data_given) {
    auto text = read_data_text(options.data);
    if (!text) return exit_usage;
    payload = parse_data(*text);
    if (!payload) return exit_usage;
  }

  auto config = load_config_or_report(options.config);
  if (!config) return exit_config;
  // The data's kind and size only: its content may be private.
  logger()->debug("loaded {} hooks from {}", config->hooks.size(), options.config);
  logger()->trace("event data: {}, {} bytes",
                  payload->is_null()   ? "none"
                  : payload->is_json() ? "JSON object"
                                       : "text",
                  payload->is_null() ? 0 : payload->to_json_body().size());

  for (const auto& name : options.hooks) {
    if (!config->find(name)) {
      std::string known;
      for (const auto& entry : config->hooks)
        known.append(known.empty() ? "" : ", ").append(entry.hook->name());
      print_error(fmt::format("--hook: no hook named '{}' in {} (hooks: {})", name, options.config, known));
      return exit_usage;
    }
  }
  std::vector<HookPtr> selected;
  for (const auto& entry : config->hooks) {
    const bool wanted = options.hooks.empty() || std::find(options.hooks.begin(), options.hooks.end(),
                                                           entry.hook->name()) != options.hooks.end();
    if (wanted) selected.push_back(entry.hook);
  }
  const std::optional<std::string> realm =
      options.realm_given ? std::optional<std::string>(options.realm) : std::nullopt;

  if (options.dry_run) return report_dry_run(selected, realm, options.json);

  // One run is one event: every hook gets the same event (id, name, time), sent now or enqueued.
  const Event event = Event::make(options.name, std::move(*payload), realm);
  if (options.enqueue) return run_enqueue(*config, options, event);

  return fire_and_report(selected, event, options.json);
}

}  // namespace

void add_trigger_command(CLI::App& app, GlobalOptions& /*global*/, CommandRunner& run) {
  auto options = std::make_shared<TriggerOptions>();
  CLI::App* cmd =
      app.add_subcommand("trigger", "Fire the hooks of a config file once and print what each did");
  cmd->add_option("-c,--config", options->config, "Config file (YAML or JSON)")->required();
  CLI::Option* realm = cmd->add_option("--realm", options->realm,
                                       "Realm of this trigger (hooks with realms fire "
                                       "only for one of theirs)");
  CLI::Option* data =
      cmd->add_option("--data", options->data,
                      "Event data: a JSON object, any other text, @FILE to read a file, - for stdin");
  cmd->add_option("--hook", options->hooks, "Fire only this hook (repeatable)")->expected(1)->take_all();
  cmd->add_option(
         "--name", options->name,
         "The event's name, the same for every hook (FileHook's \"name\", RabbitMqHook's message type)")
      ->capture_default_str();
  cmd->add_flag("--dry-run", options->dry_run, "Show what would fire, send nothing");
  cmd->add_flag("--json", options->json, "One JSON object per hook instead of text lines");
  cmd->add_flag(
      "--enqueue", options->enqueue,
      "Store the event in the config's outbox for `eventhooks worker` and return (durable; sends nothing)");
  cmd->callback([options, realm, data, &run] {
    options->realm_given = realm->count() > 0;
    options->data_given = data->count() > 0;
    run = [options] { return run_trigger(*options); };
  });
}

}  // namespace eventhooks::cli
