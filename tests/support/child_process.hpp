// A child process for tests that need real separate processes (`eventhooks worker`): started with its output
// in a file, killed with the signal a test chooses, reaped. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace eventhooks::test {

class ChildProcess {
 public:
  // Starts `argv` (argv[0] a path) with stdout and stderr appended to `log_file`.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_file);
  ~ChildProcess();  // SIGKILL and reap, if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signal` and waits up to `grace` for the process to end (then SIGKILLs it); returns its wait
  // status.
  int stop(int signal, std::chrono::seconds grace = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
};

}  // namespace eventhooks::test
