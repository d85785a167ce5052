// The CLI's subcommands. Each lives in its own file and registers itself on the CLI11 app; the CLI only
// parses, calls the library and prints (DESIGN.md).
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace eventhooks::cli {

// Documented in docs/cli.md; scripts rely on them.
enum ExitCode : int {
  exit_ok = 0,               // every selected hook delivered or skipped
  exit_delivery_failed = 1,  // at least one hook failed
  exit_usage = 2,            // bad arguments or bad --data
  exit_config = 3,           // the config file is invalid; nothing was sent
  exit_internal = 4,         // a bug or an unexpected failure (outbox unusable, ...)
};

struct GlobalOptions {
  int verbosity = 0;                // -v: debug, -vv: trace
  std::string log_format = "text";  // text | json
};

// Set by the subcommand that was chosen; main() calls it after parsing and returns its exit code.
using CommandRunner = std::function<int()>;

void add_trigger_command(CLI::App& app, GlobalOptions& global, CommandRunner& run);
void add_validate_command(CLI::App& app, GlobalOptions& global, CommandRunner& run);
void add_list_command(CLI::App& app, GlobalOptions& global, CommandRunner& run);
// Service URLs, no config file (docs/urls.md).
void add_send_command(CLI::App& app, GlobalOptions& global, CommandRunner& run);
// Delivery engine (issue 5): worker and outbox.
void add_worker_command(CLI::App& app, GlobalOptions& global, CommandRunner& run);
void add_outbox_command(CLI::App& app, GlobalOptions& global, CommandRunner& run);
// The HTTP ingest API (issue 11).
void add_serve_command(CLI::App& app, GlobalOptions& global, CommandRunner& run);

}  // namespace eventhooks::cli
