// `eventhooks serve`: its command line. What it runs is in http_commands.cpp (eventhooks-http;
// http_server.hpp says why it is a second executable).
#include <CLI/CLI.hpp>

#include <memory>

#include "commands.hpp"
#include "http_server.hpp"

namespace eventhooks::cli {

void add_serve_command(CLI::App& app, GlobalOptions& /*global*/, CommandRunner& run) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Take events over HTTP (POST /v1/events) into the config's outbox and deliver them");
  cmd->add_option("-c,--config", options->config,
                  "Config file (YAML or JSON) with `serve:` and `outbox: {path: ...}`")
      ->required();
  cmd->add_option("--listen", options->listen,
                  "HOST:PORT to listen on (overrides serve.listen; port 0: any)");
  cmd->add_flag("--no-deliver", options->no_deliver,
                "Only store events; separate `eventhooks worker` processes deliver them");
  cmd->add_option("--threads", options->workers, "Delivery threads")->check(CLI::Range(1, 256));
  cmd->add_option("--summary-interval", options->summary_seconds, "Seconds between metric summary log lines")
      ->check(CLI::PositiveNumber);
  cmd->callback([options, &run] { run = [options] { return run_serve(*options); }; });
}

}  // namespace eventhooks::cli
