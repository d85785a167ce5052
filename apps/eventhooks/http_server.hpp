// The commands that run an HTTP server (`serve`, `worker --metrics`) live in a second executable,
// eventhooks-http, installed next to eventhooks: cpp-httplib and the libraries it loads (brotli among them)
// would otherwise be mapped and relocated by every one-shot `eventhooks send` or `trigger` too (about a
// millisecond and several hundred KiB of each; docs/benchmarks.md). Both executables are built from the same
// sources and parse the same command line; in `eventhooks` these commands replace the process with
// eventhooks-http, same arguments, before doing anything else (http_exec.cpp), in eventhooks-http they run
// (http_commands.cpp).
#pragma once

#include <cstddef>
#include <string>

namespace eventhooks::cli {

struct ServeOptions {
  std::string config;
  std::string listen;  // overrides serve.listen
  bool no_deliver = false;
  std::size_t workers = 4;
  double summary_seconds = 60;
};

// The command line main() was given (argv, null-terminated); set by main() before parsing.
void set_command_line(char** argv);
char** command_line();

// True in eventhooks-http.
bool has_http_server();

// eventhooks: replaces this process with eventhooks-http and the same arguments; returns only when that
// failed, with the exit code after printing why. eventhooks-http: never called.
int run_in_http_executable(const char* command);

// `eventhooks serve` (serve.cpp parses it).
int run_serve(const ServeOptions& options);

}  // namespace eventhooks::cli
