#include "eventhooks/error.hpp"

#include <fmt/format.h>

namespace eventhooks {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_input: return "invalid_input";
    case ErrorCode::config: return "config";
    case ErrorCode::dns: return "dns";
    case ErrorCode::connect: return "connect";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::tls: return "tls";
    case ErrorCode::protocol: return "protocol";
    case ErrorCode::http_status: return "http_status";
    case ErrorCode::auth: return "auth";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::rejected: return "rejected";
    case ErrorCode::throttled: return "throttled";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::io: return "io";
    case ErrorCode::internal: return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string out = fmt::format("{}: {}", eventhooks::to_string(code), message);
  if (retry_after) out += fmt::format(" (retry after {} s)", retry_after->count());
  out += retryable ? " (retryable)" : " (permanent)";
  return out;
}

ConfigError::ConfigError(const std::string& context, std::string key, std::string problem)
    : std::runtime_error(context + ": " + key + ": " + problem),
      key_(std::move(key)),
      problem_(std::move(problem)) {}

}  // namespace eventhooks
