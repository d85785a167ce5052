// The C++ logger's lines, on their way to Python's logging.getLogger("EventHooks"). C++ threads (callers with
// the GIL released, dispatcher workers, I/O threads) only append to a queue and never touch Python, so no C++
// thread ever waits for the GIL; Python threads take the lines and log them. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace eventhooks::python {

struct LogLine {
  int level = 0;  // Python's logging level (logging.DEBUG ... logging.CRITICAL)
  std::string text;
};

class LogQueue {
 public:
  // Lines beyond this are dropped oldest first (and counted), so a logging storm with no Python thread
  // draining cannot grow without bound.
  static constexpr std::size_t capacity = 10'000;

  // From any thread. After close(), warnings and worse go to stderr (the interpreter is shutting down:
  // nothing will take them), the rest is dropped.
  void push(int level, std::string text);
  // What is queued now (no waiting), preceded by a warning line when lines were dropped.
  std::vector<LogLine> take();
  // Waits up to `timeout` for a line (call it with the GIL released). Empty when none came or when closed.
  std::vector<LogLine> wait(std::chrono::milliseconds timeout);
  // Wakes wait() and makes later pushes bypass the queue (interpreter shutdown). Idempotent.
  void close();
  bool closed() const;

 private:
  std::vector<LogLine> take_locked();

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<LogLine> lines_;
  std::size_t dropped_ = 0;
  bool closed_ = false;
};

// The one queue of the process. Never destroyed: C++ threads may still log while the process exits.
LogQueue& log_queue();

// Makes the library's logger (eventhooks::logger()) an spdlog logger that writes into log_queue().
void install_log_sink();

// spdlog's level for a Python logging level, and Python's for spdlog's (as ints: spdlog::level::level_enum).
int spdlog_level_for(int python_level);
int python_level_for(int spdlog_level);

}  // namespace eventhooks::python
