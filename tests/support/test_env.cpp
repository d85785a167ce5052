#include "test_env.hpp"

#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>

namespace eventhooks::test {

std::string require_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    throw std::runtime_error(
        std::string(name) +
        " is not set: start the test servers with scripts/test-servers.sh (make test does)");
  }
  return v;
}

int require_port(const char* name) {
  return std::stoi(require_env(name));
}

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::path(EVENTHOOKS_BINARY_DIR) / "test-tmp";
  std::filesystem::create_directories(base);
  for (;;) {
    auto candidate = base / ("t" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      break;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int run_command(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  if (output) *output = std::move(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace eventhooks::test
