// HookCounters: one hook's delivery counters, made when the hook is registered with a Dispatcher and updated
// where an attempt's outcome is settled. Lock-free: relaxed atomic increments only (tens of thousands of
// deliveries a second go through settle(); a snapshot may see one counter a step ahead of another).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "eventhooks/metrics.hpp"

namespace eventhooks::detail {

class HookCounters {
 public:
  // Room for every ErrorCode; a code beyond it would be counted as the last one.
  static constexpr std::size_t kMaxErrorCodes = 32;

  HookCounters(std::string hook, std::string type) : hook_(std::move(hook)), type_(std::move(type)) {}

  const std::string& hook() const noexcept { return hook_; }
  const std::string& type() const noexcept { return type_; }

  void attempt_settled(std::chrono::microseconds elapsed) noexcept {
    const std::int64_t us = elapsed.count() < 0 ? 0 : elapsed.count();
    latency_[bucket(us)].fetch_add(1, std::memory_order_relaxed);
    latency_sum_us_.fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
  }
  void delivered() noexcept { delivered_.fetch_add(1, std::memory_order_relaxed); }
  void failed(ErrorCode code, bool retried) noexcept {
    (retried ? retried_ : dead_)[index(code)].fetch_add(1, std::memory_order_relaxed);
  }

  HookMetrics snapshot() const {
    HookMetrics m;
    m.hook = hook_;
    m.type = type_;
    m.delivered = delivered_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < kMaxErrorCodes; ++i) {
      const auto r = retried_[i].load(std::memory_order_relaxed);
      const auto d = dead_[i].load(std::memory_order_relaxed);
      if (r || d) m.failures.push_back({static_cast<ErrorCode>(i), r, d});
    }
    for (std::size_t i = 0; i < latency_.size(); ++i) {
      m.latency.counts[i] = latency_[i].load(std::memory_order_relaxed);
    }
    m.latency.sum_seconds = static_cast<double>(latency_sum_us_.load(std::memory_order_relaxed)) / 1e6;
    return m;
  }

 private:
  static std::size_t index(ErrorCode code) noexcept {
    const auto i = static_cast<std::size_t>(code);
    return i < kMaxErrorCodes ? i : kMaxErrorCodes - 1;
  }
  // The first bucket whose bound (in microseconds, exact for every bound) is not below `us`.
  static std::size_t bucket(std::int64_t us) noexcept {
    std::size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    return i;
  }
  static constexpr auto kBoundsUs = [] {
    std::array<std::int64_t, LatencyHistogram::bounds.size()> out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<std::int64_t>(LatencyHistogram::bounds[i] * 1e6 + 0.5);
    }
    return out;
  }();

  const std::string hook_, type_;
  std::atomic<std::uint64_t> delivered_{0};
  std::array<std::atomic<std::uint64_t>, kMaxErrorCodes> retried_{}, dead_{};
  std::array<std::atomic<std::uint64_t>, LatencyHistogram::bounds.size() + 1> latency_{};
  std::atomic<std::uint64_t> latency_sum_us_{0};
};

}  // namespace eventhooks::detail
