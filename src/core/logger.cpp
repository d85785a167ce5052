#include "eventhooks/logger.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace eventhooks {
namespace {
// The one piece of global state: the library's logger. Never destroyed: threads the process did not stop
// before exit (an HTTP client's I/O thread whose hook is still referenced, as by a Python daemon thread) may
// still log while static objects are destroyed, and must not find the logger gone.
std::mutex& g_mutex = *new std::mutex;                                             // NOLINT
std::shared_ptr<spdlog::logger>& g_logger = *new std::shared_ptr<spdlog::logger>;  // NOLINT
}  // namespace

std::shared_ptr<spdlog::logger> logger() {
  std::lock_guard lock(g_mutex);
  if (!g_logger) {
    // A host application that registered its own "eventhooks" logger with spdlog gets it.
    g_logger = spdlog::get("eventhooks");
    if (!g_logger) {
      g_logger = std::make_shared<spdlog::logger>("eventhooks",
                                                  std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
      // Embedded in an application the library speaks up only when something goes wrong (failed deliveries,
      // dead letters); connection chatter at info stays out of the host's logs. The CLI sets info itself.
      g_logger->set_level(spdlog::level::warn);
    }
  }
  return g_logger;
}

void set_logger(std::shared_ptr<spdlog::logger> logger) {
  std::lock_guard lock(g_mutex);
  g_logger = std::move(logger);
}

}  // namespace eventhooks
