// RabbitMqHook throughput: THREADS threads trigger one hook (one shared connection, confirms pipelined by the
// publisher's I/O thread) until COUNT persistent messages are confirmed into a fresh durable queue.
// scripts/bench-amqp.sh runs it next to bench_amqp_reference (plain rabbitmq-c, window 256) in the same run.
//   bench_amqp QUEUE COUNT THREADS            broker from EVENTHOOKS_AMQP_* (scripts/servers/rabbitmq.sh)
//   bench_amqp QUEUE COUNT async:WINDOW       one thread, hook.deliver_async() with WINDOW messages in flight
//                                             (the same shape as the reference loop)
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "amqp_bench_common.hpp"
#include "async_window.hpp"
#include "eventhooks/eventhooks.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s QUEUE COUNT THREADS\n", argv[0]);
    return 2;
  }
  const std::string queue = argv[1];
  const long count = std::stol(argv[2]);
  const std::string mode = argv[3];
  const bool async = mode.rfind("async:", 0) == 0;
  const int threads_n = std::stoi(async ? mode.substr(6) : mode);
  const auto broker = amqp_bench::broker_from_env();
  amqp_bench::reset_queue(broker, queue);

  eventhooks::logger()->set_level(
      spdlog::level::warn);  // one info line per trigger would measure the terminal
  eventhooks::RabbitMqHook hook(
      {.common = {.name = "bench"},
       .broker = {.host = broker.host, .port = broker.port, .user = broker.user, .password = broker.password},
       .routing_key = queue});
  const auto payload = eventhooks::Payload::from_cli_text(amqp_bench::kPayload);
  // Connect before the clock starts: the reference's connection is made outside its timing too.
  if (!hook.trigger(payload).delivered()) {
    std::fprintf(stderr, "warm-up trigger failed\n");
    return 1;
  }

  std::atomic<long> next{1}, delivered{1}, failed{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  if (async) {
    // One caller, a window of threads_n unconfirmed messages, like the rabbitmq-c reference loop.
    long i = 1;
    bench::keep_in_flight(
        threads_n, [&] { return i++ < count; },
        [&](auto done) { hook.deliver_async(eventhooks::Event::make("bench", payload), std::move(done)); },
        [&](const eventhooks::Outcome& out) { out.delivered() ? ++delivered : ++failed; });
  }
  for (int t = 0; !async && t < threads_n; ++t) {
    threads.emplace_back([&] {
      long ok = 0, bad = 0;
      while (next.fetch_add(1, std::memory_order_relaxed) < count) {
        auto out = hook.trigger(payload);
        out.delivered() ? ++ok : ++bad;
      }
      delivered += ok;
      failed += bad;
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto depth = amqp_bench::queue_depth(broker, queue);
  std::printf("hook %s=%d messages=%ld delivered=%ld failed=%ld in_queue=%u seconds=%.3f rate=%.0f\n",
              async ? "window" : "threads", threads_n, count, delivered.load(), failed.load(), depth, elapsed,
              (delivered.load() - 1) / elapsed);
  return failed == 0 ? 0 : 1;
}
