// End-to-end WebHook throughput: N threads trigger one WebHook (one shared, pooled HttpClient) against a
// local keep-alive sink for a fixed time. scripts/bench-http.sh runs it next to wrk on the same sink and
// body.
//   bench_webhook URL CONCURRENCY SECONDS BODY_FILE
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "eventhooks/eventhooks.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s URL CONCURRENCY SECONDS BODY_FILE\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const int concurrency = std::stoi(argv[2]);
  const double seconds = std::stod(argv[3]);
  std::ifstream in(argv[4]);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto payload = eventhooks::Payload::from_cli_text(ss.str());

  eventhooks::logger()->set_level(
      spdlog::level::warn);  // one info line per trigger would measure the terminal
  eventhooks::WebHook hook({.name = "bench", .url = url});

  std::atomic<bool> stop{false};
  std::atomic<long> delivered{0}, failed{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      long ok = 0, bad = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto out = hook.trigger(payload);
        out.delivered() ? ++ok : ++bad;
      }
      delivered += ok;
      failed += bad;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("delivered=%ld failed=%ld seconds=%.3f rate=%.0f\n", delivered.load(), failed.load(), elapsed,
              delivered.load() / elapsed);
  return failed.load() == 0 ? 0 : 1;
}
