// What `eventhooks` does for the commands that need an HTTP server: replace itself with eventhooks-http, same
// arguments (http_server.hpp says why they are a second executable).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "commands.hpp"
#include "delivery.hpp"
#include "http_server.hpp"
#include "output.hpp"

namespace eventhooks::cli {

bool has_http_server() {
  return false;
}

int run_in_http_executable(const char* command) {
  // Next to this executable: the build directory, or the install prefix's bin/.
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string path = (self.parent_path() / "eventhooks-http").string();
  if (!ec) ::execv(path.c_str(), command_line());
  const std::string why = ec ? ec.message() : std::strerror(errno);
  print_error(std::string("eventhooks ") + command +
              " runs in eventhooks-http (installed next to eventhooks), which could not be started as " +
              path + ": " + why);
  return exit_internal;
}

int run_serve(const ServeOptions& /*options*/) {
  return run_in_http_executable("serve");
}

// Not reached here: `worker --metrics` moves to eventhooks-http before it starts anything.
struct MetricsEndpoint::Server {};

// The signature of the one in http_commands.cpp, which keeps `render`.
// NOLINTBEGIN(performance-unnecessary-value-param)
std::unique_ptr<MetricsEndpoint> MetricsEndpoint::start(const ServeConfig::Address& /*address*/,
                                                        std::function<std::string()> /*render*/,
                                                        std::string& error) {
  error = "this executable has no HTTP server (eventhooks-http has)";
  return nullptr;
}
// NOLINTEND(performance-unnecessary-value-param)

MetricsEndpoint::~MetricsEndpoint() = default;

}  // namespace eventhooks::cli
