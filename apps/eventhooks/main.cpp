// eventhooks: the command-line tool. Parses, hands over to the chosen subcommand, returns its exit code
// (commands.hpp, docs/cli.md). Results go to stdout, logs and errors to stderr.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "http_server.hpp"
#include "output.hpp"

namespace {

// Levenshtein distance, for "did you mean 'trigger'?".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// CLI11 answers a misspelt command (`eventhooks trigr`) with "A subcommand is required", which hides the
// typo. The first word that is not an option must name a command: otherwise say so, with the nearest one.
// Returns the message, or "" when the command is known (or help/version was asked for first).
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help" || arg == "--version" || arg == "--") return {};
    if (arg == "--log-format") {
      ++i;  // its value
      continue;
    }
    if (arg.starts_with('-')) continue;
    std::string nearest;
    std::size_t best = 0;
    for (const CLI::App* command : app.get_subcommands({})) {
      const std::string& name = command->get_name();
      if (name == arg) return {};
      const std::size_t d = edit_distance(arg, name);
      if (nearest.empty() || d < best) {
        nearest = name;
        best = d;
      }
    }
    std::string message = "unknown command '" + std::string(arg) + "'";
    if (!nearest.empty() && best <= std::max<std::size_t>(2, arg.size() / 3))
      message += "; did you mean '" + nearest + "'?";
    return message + " (try --help)";
  }
  return {};
}

char** g_argv = nullptr;

}  // namespace

namespace eventhooks::cli {
void set_command_line(char** argv) {
  g_argv = argv;
}
char** command_line() {
  return g_argv;
}
}  // namespace eventhooks::cli

int main(int argc, char** argv) {
  using namespace eventhooks::cli;
  set_command_line(argv);
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
  add_send_command(app, global, run);
  add_worker_command(app, global, run);
  add_outbox_command(app, global, run);
  add_serve_command(app, global, run);

  if (const std::string problem = unknown_command(app, argc, argv); !problem.empty()) {
    print_error(problem);
    return exit_usage;
  }
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
