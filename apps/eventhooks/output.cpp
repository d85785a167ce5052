#include "output.hpp"

#include <fmt/format.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <mutex>

#include "eventhooks/event.hpp"
#include "eventhooks/logger.hpp"

namespace eventhooks::cli {
namespace {

// One JSON object per line, for log collectors; spdlog's pattern formatter cannot escape the message.
class JsonStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    nlohmann::ordered_json line;
    line["time"] = to_rfc3339(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size());
    line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    line["message"] = std::string(msg.payload.data(), msg.payload.size());
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

void configure_logging(const GlobalOptions& global) {
  std::shared_ptr<spdlog::logger> log;
  if (global.log_format == "json") {
    log = std::make_shared<spdlog::logger>("eventhooks", std::make_shared<JsonStderrSink>());
  } else {
    log = std::make_shared<spdlog::logger>("eventhooks",
                                           std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  log->set_level(global.verbosity >= 2   ? spdlog::level::trace
                 : global.verbosity == 1 ? spdlog::level::debug
                                         : spdlog::level::info);
  set_logger(std::move(log));
}

void print_error(const std::string& message) {
  std::fprintf(stderr, "eventhooks: %s\n", message.c_str());
}

std::optional<Config> load_config_or_report(const std::string& path) {
  try {
    return load_config(path);
  } catch (const ConfigError& e) {
    print_error(std::string("invalid config, nothing was sent:\n") + e.what());
    return std::nullopt;
  }
}

nlohmann::ordered_json outcome_json(const Hook& hook, const Outcome& outcome) {
  nlohmann::ordered_json out;
  out["hook"] = hook.name();
  out["type"] = std::string(hook.type());
  out["outcome"] = outcome.kind_name();
  out["detail"] = outcome.detail();
  out["event_id"] = outcome.event_id;
  std::optional<int> status = outcome.receipt.status;
  if (outcome.error && outcome.error->status) status = outcome.error->status;
  out["status"] = status ? nlohmann::ordered_json(*status) : nlohmann::ordered_json(nullptr);
  if (outcome.error) {
    const Error& e = *outcome.error;
    out["error"] = {{"code", to_string(e.code)},
                    {"message", e.message},
                    {"retryable", e.retryable},
                    {"retry_after", e.retry_after ? nlohmann::ordered_json(e.retry_after->count())
                                                  : nlohmann::ordered_json(nullptr)}};
  } else {
    out["error"] = nullptr;
  }
  return out;
}

std::string outcome_line(const std::string& name, std::size_t name_width, const std::string& word,
                         const std::string& detail) {
  return fmt::format("{:<{}}  {:<10} {}", name, name_width, word, detail);
}

}  // namespace eventhooks::cli
