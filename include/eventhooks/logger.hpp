// The library's logger: an spdlog logger named "eventhooks". A host application gives it its own sinks and
// format with set_logger() or by registering a logger of that name before first use. Thread-safe.
#pragma once

#include <memory>

#include "eventhooks/export.hpp"

namespace spdlog {
class logger;
}

namespace eventhooks {

// The logger every hook and transport writes to (created on first use, stderr, level warn).
EVENTHOOKS_EXPORT std::shared_ptr<spdlog::logger> logger();
// Replaces it. Pass nullptr to go back to the default.
EVENTHOOKS_EXPORT void set_logger(std::shared_ptr<spdlog::logger> logger);

}  // namespace eventhooks
