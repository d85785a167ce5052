#include "log_bridge.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <utility>

#include "eventhooks/logger.hpp"

namespace eventhooks::python {
namespace {

constexpr int kDebug = 10, kInfo = 20, kWarning = 30, kError = 40, kCritical = 50;

// Only the message: the Python handler adds time, logger name and level in the application's own format.
class QueueSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    log_queue().push(python_level_for(msg.level), std::string(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}
};

}  // namespace

void LogQueue::push(int level, std::string text) {
  {
    std::lock_guard lock(mutex_);
    if (!closed_) {
      if (lines_.size() >= capacity) {
        lines_.pop_front();
        ++dropped_;
      }
      lines_.push_back({level, std::move(text)});
      ready_.notify_one();
      return;
    }
  }
  if (level >= kWarning) std::fprintf(stderr, "EventHooks: %s\n", text.c_str());
}

std::vector<LogLine> LogQueue::take_locked() {
  std::vector<LogLine> out;
  out.reserve(lines_.size() + 1);
  if (dropped_ > 0) {
    out.push_back({kWarning, std::to_string(dropped_) +
                                 " log line(s) dropped: more than 10000 were waiting for a Python thread"});
    dropped_ = 0;
  }
  for (auto& line : lines_) out.push_back(std::move(line));
  lines_.clear();
  return out;
}

std::vector<LogLine> LogQueue::take() {
  std::lock_guard lock(mutex_);
  if (lines_.empty() && dropped_ == 0) return {};
  return take_locked();
}

std::vector<LogLine> LogQueue::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return closed_ || !lines_.empty(); });
  return take_locked();
}

void LogQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  ready_.notify_all();
}

bool LogQueue::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

LogQueue& log_queue() {
  static auto* queue = new LogQueue;  // NOLINT(cppcoreguidelines-owning-memory): outlives every thread
  return *queue;
}

void install_log_sink() {
  auto sink = std::make_shared<QueueSink>();
  auto logger = std::make_shared<spdlog::logger>("eventhooks", std::move(sink));
  logger->set_level(spdlog::level::warn);  // Python's default (WARNING) until the first sync
  eventhooks::set_logger(std::move(logger));
}

int spdlog_level_for(int python_level) {
  if (python_level <= 0) return spdlog::level::trace;  // NOTSET all the way up: everything
  if (python_level <= kDebug) return spdlog::level::debug;
  if (python_level <= kInfo) return spdlog::level::info;
  if (python_level <= kWarning) return spdlog::level::warn;
  if (python_level <= kError) return spdlog::level::err;
  if (python_level <= kCritical) return spdlog::level::critical;
  return spdlog::level::off;
}

int python_level_for(int spdlog_level) {
  switch (spdlog_level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return kDebug;
    case spdlog::level::info: return kInfo;
    case spdlog::level::warn: return kWarning;
    case spdlog::level::err: return kError;
    default: return kCritical;
  }
}

}  // namespace eventhooks::python
