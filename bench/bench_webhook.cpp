// End-to-end WebHook throughput against a local keep-alive sink for a fixed time. scripts/bench-http.sh runs
// it next to wrk on the same sink and body.
//   bench_webhook URL N SECONDS BODY_FILE        N threads each call hook.trigger() in a loop
//   bench_webhook URL async:N[:T] SECONDS BODY_FILE  one thread keeps N hook.deliver_async() in flight,
//                                                driven by T I/O threads of the hook's HttpClient (default 1)
//   bench_webhook URL loop:N[:T] SECONDS BODY_FILE   N chains of hook.deliver_async(), each completion
//                                                starting the next delivery from its callback on the
//                                                HttpClient's T I/O threads (default 1): event loops, as wrk
//                                                drives its connections from -t threads
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "async_window.hpp"
#include "eventhooks/eventhooks.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s URL N|async:N[:T]|loop:N[:T] SECONDS BODY_FILE\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const std::string mode = argv[2];
  const bool loop = mode.rfind("loop:", 0) == 0;
  const bool async = loop || mode.rfind("async:", 0) == 0;
  const std::size_t prefix = loop ? 5 : 6;
  const int concurrency = std::stoi(async ? mode.substr(prefix) : mode);
  const auto colon = async ? mode.find(':', prefix) : std::string::npos;
  const int io_threads = colon == std::string::npos ? 1 : std::stoi(mode.substr(colon + 1));
  const double seconds = std::stod(argv[3]);
  std::ifstream in(argv[4]);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto payload = eventhooks::Payload::from_cli_text(ss.str());

  eventhooks::logger()->set_level(
      spdlog::level::warn);  // one info line per trigger would measure the terminal
  eventhooks::HttpOptions http;
  http.io_threads = static_cast<std::size_t>(io_threads);
  eventhooks::WebHook hook({.common = {.name = "bench"},
                            .url = url,
                            .http = {.client = std::make_shared<eventhooks::HttpClient>(http)}});

  std::atomic<bool> stop{false};
  std::atomic<long> delivered{0}, failed{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  if (loop) {
    threads.emplace_back([&] {
      // A full event each time, as trigger() makes: UUIDv7 id, rendered by the hook (here on the I/O thread).
      bench::chain_in_flight(
          concurrency, [&] { return !stop.load(std::memory_order_relaxed); },
          [&](auto done) { hook.deliver_async(eventhooks::Event::make("bench", payload), std::move(done)); },
          [&](const eventhooks::Outcome& out) { out.delivered() ? ++delivered : ++failed; });
    });
  } else if (async) {
    threads.emplace_back([&] {
      // A full event each time, as trigger() makes: UUIDv7 id, rendered by the hook.
      bench::keep_in_flight(
          concurrency, [&] { return !stop.load(std::memory_order_relaxed); },
          [&](auto done) { hook.deliver_async(eventhooks::Event::make("bench", payload), std::move(done)); },
          [&](const eventhooks::Outcome& out) { out.delivered() ? ++delivered : ++failed; });
    });
  }
  for (int t = 0; !async && t < concurrency; ++t) {
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
