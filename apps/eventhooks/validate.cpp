// eventhooks validate: load and check a config file without sending anything; exit 0 or exit_config.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "commands.hpp"
#include "output.hpp"

namespace eventhooks::cli {

void add_validate_command(CLI::App& app, GlobalOptions& /*global*/, CommandRunner& run) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("validate", "Check a config file (every hook, key and value); send nothing");
  cmd->add_option("-c,--config", *path, "Config file (YAML or JSON)")->required();
  cmd->callback([path, &run] {
    run = [path] {
      auto config = load_config_or_report(*path);
      if (!config) return static_cast<int>(exit_config);
      std::size_t enabled = 0;
      for (const auto& entry : config->hooks) enabled += entry.hook->enabled() ? 1 : 0;
      std::cout << *path << ": ok, " << config->hooks.size()
                << (config->hooks.size() == 1 ? " hook" : " hooks") << " (" << enabled << " enabled)\n";
      return static_cast<int>(exit_ok);
    };
  });
}

}  // namespace eventhooks::cli
