// Where the test servers started by scripts/test-servers.sh listen. A missing variable fails the test:
// integration tests never skip.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace eventhooks::test {

// The value of an environment variable set by scripts/test-servers.sh; throws (failing the test) if unset.
std::string require_env(const char* name);
int require_port(const char* name);

// A fresh empty directory under the build tree, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A loopback port nothing listens on: bound, then closed.
int closed_port();

// Runs a shell command, returns its exit status and fills `output` with stdout+stderr.
int run_command(const std::string& command, std::string* output = nullptr);

// Starts the eventhooks CLI (`eventhooks ARGS...`) in the background with stdout and stderr into `log`;
// returns its pid (the caller signals and reaps it).
pid_t spawn_cli(const std::vector<std::string>& args, const std::filesystem::path& log);

}  // namespace eventhooks::test
