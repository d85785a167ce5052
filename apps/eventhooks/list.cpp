// eventhooks list: the hooks of a config file, one per line, optionally only those a realm would fire.
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "output.hpp"

namespace eventhooks::cli {
namespace {

struct ListOptions {
  std::string config;
  std::string realm;
  bool realm_given = false;
};

// "any", or the realms joined by "," without spaces, so that the column splits on whitespace in scripts.
std::string realms_column(const Realms& realms) {
  if (realms.empty()) return "any";
  std::string out;
  for (const auto& name : realms.names()) out += (out.empty() ? "" : ",") + name;
  return out;
}

int run_list(const ListOptions& options) {
  auto config = load_config_or_report(options.config);
  if (!config) return exit_config;
  std::size_t name_width = 0, type_width = 0, realms_width = 0;
  std::vector<const HookEntry*> shown;
  for (const auto& entry : config->hooks) {
    if (options.realm_given && !entry.hook->allows(std::string_view(options.realm))) continue;
    shown.push_back(&entry);
    name_width = std::max(name_width, entry.hook->name().size());
    type_width = std::max(type_width, entry.hook->type().size());
    realms_width = std::max(realms_width, realms_column(entry.hook->realms()).size());
  }
  for (const HookEntry* entry : shown) {
    const Hook& hook = *entry->hook;
    // Columns: name, type, realms ("any" when none), enabled/disabled, the masked description.
    std::cout << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<8}  {}\n", hook.name(), name_width, hook.type(),
                             type_width, realms_column(hook.realms()), realms_width,
                             hook.enabled() ? "enabled" : "disabled", hook.describe());
  }
  return exit_ok;
}

}  // namespace

void add_list_command(CLI::App& app, GlobalOptions& /*global*/, CommandRunner& run) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* cmd = app.add_subcommand("list", "List the hooks of a config file (secrets masked)");
  cmd->add_option("-c,--config", options->config, "Config file (YAML or JSON)")->required();
  CLI::Option* realm =
      cmd->add_option("--realm", options->realm, "Only the hooks a trigger with this realm fires");
  cmd->callback([options, realm, &run] {
    options->realm_given = realm->count() > 0;
    run = [options] { return run_list(*options); };
  });
}

}  // namespace eventhooks::cli
