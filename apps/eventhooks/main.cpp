// eventhooks: the command-line tool. Parses, hands over to the chosen subcommand, returns its exit code
// (commands.hpp, docs/cli.md). Results go to stdout, logs and errors to stderr.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "output.hpp"

int main(int argc, char** argv) {
  using namespace eventhooks::cli;
  CLI::App app{"Fire webhooks, email and AMQP messages configured in a YAML or JSON file.", "eventhooks"};
  app.set_version_flag("--version", std::string("eventhooks ") + EVENTHOOKS_VERSION);
  app.require_subcommand(1);
  // Global options are accepted after the subcommand too: `eventhooks trigger -v ...`.
  app.fallthrough();

  GlobalOptions global;
  app.add_flag("-v,--verbose", global.verbosity, "More log output on stderr (-v debug, -vv trace)");
  app.add_option("--log-format", global.log_format, "Log lines on stderr as text or json")
      ->check(CLI::IsMember({"text", "json"}));

  CommandRunner run;
  add_trigger_command(app, global, run);
  add_validate_command(app, global, run);
  add_list_command(app, global, run);
  add_worker_command(app, global, run);
  add_outbox_command(app, global, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help/version to stdout, errors to stderr
    return code == 0 ? exit_ok : exit_usage;
  }

  configure_logging(global);
  if (!run) {
    print_error("no command given (try --help)");
    return exit_usage;
  }
  try {
    return run();
  } catch (const std::exception& e) {
    print_error(std::string("unexpected error: ") + e.what());
    return exit_internal;
  }
}
