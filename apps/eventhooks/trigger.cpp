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

// The --data argument as text: literal, @FILE or - (stdin). nullopt after printing a usage error.
std::optional<std::string> read_data_text(const std::string& arg) {
  if (arg == "-") {
    std::ostringstream in;
    in << std::cin.rdbuf();
    std::string text = in.str();
    // `echo '{...}' | eventhooks trigger --data -` means the object, not the object and a line break: one
    // trailing line break (the shell's) is dropped; more are the data's own.
    if (text.ends_with("\r\n")) {
      text.resize(text.size() - 2);
    } else if (text.ends_with('\n')) {
      text.pop_back();
    }
    return text;
  }
  if (!arg.empty() && arg.front() == '@') {
    const std::string path = arg.substr(1);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      print_error("--data: cannot read '" + path + "': " + std::strerror(errno));
      return std::nullopt;
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return arg;
}

// DESIGN.md: text that parses as a JSON object is an object, anything else a string. Text that starts like
// an object but does not parse is almost always a quoting mistake, so it is refused rather than sent as text.
std::optional<Payload> parse_data(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    try {
      auto parsed = nlohmann::ordered_json::parse(text);
      if (parsed.is_object()) return Payload(std::move(parsed));
    } catch (const nlohmann::json::parse_error& e) {
      print_error("--data looks like a JSON object but is not valid JSON (at byte " + std::to_string(e.byte) +
                  "): " + e.what());
      return std::nullopt;
    }
  }
  return Payload::from_cli_text(text);
}

std::string skip_reason(const Hook& hook, const std::optional<std::string>& realm) {
  if (!hook.enabled()) return "hook is disabled";
  if (!realm) return "hook has realms [" + hook.realms().to_string() + "] and no realm was given";
  return "realm '" + *realm + "' not in [" + hook.realms().to_string() + "]";
}

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
      print_error("--hook: no hook named '" + name + "' in " + options.config + " (hooks: " + known + ")");
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

  std::size_t width = 0;
  for (const auto& hook : selected) width = std::max(width, hook->name().size());

  if (options.dry_run) {
    for (const auto& hook : selected) {
      const bool fires = hook->allows(realm ? std::optional<std::string_view>(*realm) : std::nullopt);
      const std::string word = fires ? "would-fire" : "skipped";
      const std::string detail = fires ? hook->describe() : skip_reason(*hook, realm);
      if (options.json) {
        nlohmann::ordered_json line{{"hook", hook->name()}, {"type", std::string(hook->type())},
                                    {"outcome", word},      {"detail", detail},
                                    {"event_id", nullptr},  {"status", nullptr},
                                    {"error", nullptr}};
        std::cout << line.dump() << "\n";
      } else {
        std::cout << outcome_line(hook->name(), width, word, detail) << "\n";
      }
    }
    std::cout.flush();
    return exit_ok;
  }

  // One run is one event: every hook gets the same event (id, name, time), sent now or enqueued.
  const Event event = Event::make(options.name, std::move(*payload), realm);
  if (options.enqueue) return run_enqueue(*config, options, event);

  // Hooks run side by side: a slow or unreachable hook must not hold back the others. The first runs on this
  // thread and each other one on a thread of its own, so the usual one-hook run starts no thread (and no
  // malloc arena) at all. Printing waits for all, so the output keeps the config's order.
  std::vector<Outcome> outcomes(selected.size());
  std::vector<std::thread> threads;
  threads.reserve(selected.size() > 1 ? selected.size() - 1 : 0);
  for (std::size_t i = 1; i < selected.size(); ++i) {
    threads.emplace_back([&, i] { outcomes[i] = selected[i]->trigger(event); });
  }
  if (!selected.empty()) outcomes[0] = selected[0]->trigger(event);
  for (auto& t : threads) t.join();

  bool any_failed = false;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    any_failed = any_failed || outcomes[i].failed();
    if (options.json) {
      std::cout << outcome_json(*selected[i], outcomes[i])
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    } else {
      std::cout << outcome_line(selected[i]->name(), width, outcomes[i].kind_name(), outcomes[i].detail())
                << "\n";
    }
  }
  std::cout.flush();
  return any_failed ? exit_delivery_failed : exit_ok;
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
