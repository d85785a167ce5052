// Enqueue rate through the RabbitMQ outbox (open_rabbitmq_outbox): COUNT events, one hook each, enqueued by
// THREADS threads, each enqueue() returning after the broker's confirm, so THREADS is the number of
// unconfirmed messages in flight. scripts/bench-scale.sh runs it next to bench_amqp_reference (a plain
// rabbitmq-c confirm loop with the same window into a quorum queue) and uses it to fill the queue for the
// worker-scaling figures.
//   bench_outbox_enqueue QUEUE COUNT [THREADS]    broker: EVENTHOOKS_BENCH_URLS (comma-separated), else
//                                                 EVENTHOOKS_AMQP_* (scripts/servers/rabbitmq.sh)
// Prints "rate=<events/s> count=<n> seconds=<s>".
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "eventhooks/outbox.hpp"

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s QUEUE COUNT [THREADS]\n", argv[0]);
    return 2;
  }
  const std::string queue = argv[1];
  const long count = std::stol(argv[2]);
  const long threads = argc > 3 ? std::stol(argv[3]) : 64;
  std::vector<std::string> urls;
  if (!env("EVENTHOOKS_BENCH_URLS").empty()) {
    std::stringstream in(env("EVENTHOOKS_BENCH_URLS"));
    for (std::string u; std::getline(in, u, ',');) urls.push_back(u);
  } else {
    urls.push_back("amqp://" + env("EVENTHOOKS_AMQP_USER") + ":" + env("EVENTHOOKS_AMQP_PASSWORD") + "@" +
                   env("EVENTHOOKS_AMQP_HOST") + ":" + env("EVENTHOOKS_AMQP_PORT") + "/");
  }
  auto opened = eventhooks::open_rabbitmq_outbox({.urls = urls, .queue = queue});
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().message.c_str());
    return 1;
  }
  auto outbox = opened.value();
  const auto data = nlohmann::ordered_json::parse(
      R"({"event": "deploy_finished", "service": "api", "ok": true, "host": "web-01", "duration_ms": 8123})");
  std::atomic<long> next{0}, failed{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (long t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      while (next.fetch_add(1) < count) {
        if (!outbox->enqueue(eventhooks::Event::make("deploy", eventhooks::Payload(data)), {"sink"}))
          ++failed;
      }
    });
  }
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed > 0) {
    std::fprintf(stderr, "%ld enqueues failed\n", failed.load());
    return 1;
  }
  std::printf("rate=%.0f count=%ld seconds=%.2f\n", static_cast<double>(count) / secs, count, secs);
  return 0;
}
