// Cost of the metrics (docs/metrics.md, docs/benchmarks.md "Metrics"):
//   BM_SettleCounters     what Dispatcher's settle() adds per attempt: the latency bucket and sum, the
//   outcome
//                         counter of the hook (threads share one hook: the contended case)
//   BM_RenderPrometheus   one scrape's text for 20 hooks with failures of 3 codes each
// scripts/bench-metrics.sh runs it next to the engine's own cost per delivery (bench_dispatch deliver).
#include <benchmark/benchmark.h>

#include <chrono>

#include "delivery/hook_counters.hpp"
#include "eventhooks/metrics.hpp"

using namespace eventhooks;

namespace {

detail::HookCounters shared_counters("sink", "WebHook");

void BM_SettleCounters(benchmark::State& state) {
  std::int64_t us = state.thread_index() * 7;
  for (auto _ : state) {
    us = (us + 37) % 4000;  // spread over the first buckets, as a fast sink's latencies are
    shared_counters.attempt_settled(std::chrono::microseconds(us));
    shared_counters.delivered();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SettleCounters)->Threads(1)->Threads(2)->UseRealTime();

void BM_RenderPrometheus(benchmark::State& state) {
  MetricsSnapshot s;
  for (int h = 0; h < 20; ++h) {
    HookMetrics m;
    m.hook = "hook_" + std::to_string(h);
    m.type = "WebHook";
    m.delivered = 123456;
    for (auto code : {ErrorCode::timeout, ErrorCode::http_status, ErrorCode::unavailable}) {
      m.failures.push_back({.code = code, .retried = 17, .dead = 3});
    }
    for (std::size_t i = 0; i < m.latency.counts.size(); ++i) m.latency.counts[i] = 1000 * i;
    m.latency.sum_seconds = 4567.25;
    s.hooks.push_back(m);
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto text = render_prometheus(s);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderPrometheus);

}  // namespace

BENCHMARK_MAIN();
