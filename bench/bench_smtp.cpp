// End-to-end SMTP throughput: SESSIONS threads trigger one SimpleEmailHook (plain SMTP, its pool keeps one
// reused session per concurrent sender) against postfix's smtp-sink until MESSAGES mails were accepted.
// scripts/bench-smtp.sh runs it next to smtp-source sending the same number and size of mails to the same
// sink.
//   bench_smtp HOST PORT SESSIONS MESSAGES BODY_BYTES        SESSIONS threads call hook.trigger()
//   bench_smtp HOST PORT async:SESSIONS MESSAGES BODY_BYTES  one thread keeps SESSIONS hook.deliver_async()
//                                                            in flight on the client's I/O thread, as
//                                                            smtp-source drives its sessions from one process
//   bench_smtp HOST PORT dispatch:SESSIONS MESSAGES BODY_BYTES  the application fire()s MESSAGES events at a
//                                                            Dispatcher (in-memory outbox) whose SESSIONS
//                                                            workers deliver them: the library's own
//                                                            background path, timed until all are delivered
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "async_window.hpp"
#include "eventhooks/dispatcher.hpp"
#include "eventhooks/eventhooks.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s HOST PORT [async:]SESSIONS MESSAGES BODY_BYTES\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[3];
  const bool async = mode.rfind("async:", 0) == 0;
  const bool dispatch = mode.rfind("dispatch:", 0) == 0;
  const int sessions = std::stoi(async ? mode.substr(6) : dispatch ? mode.substr(9) : mode);
  const long messages = std::stol(argv[4]);
  const std::size_t body_bytes = std::stoul(argv[5]);
  // Lines of 70 characters, like smtp-source's payload, so quoted-printable adds no soft breaks.
  std::string body;
  while (body.size() + 71 <= body_bytes) body += std::string(70, 'x') + "\n";
  body += std::string(body_bytes - body.size(), 'x');

  eventhooks::logger()->set_level(
      spdlog::level::warn);  // one info line per trigger would measure the terminal
  auto shared_hook = std::make_shared<eventhooks::SimpleEmailHook>(eventhooks::SimpleEmailOptions{
      .common = {.name = "bench"},
      .host = argv[1],
      .port = std::stoi(argv[2]),
      .security = eventhooks::SmtpSecurity::plain,
      .email = {.sender = "bench@example.com", .recipients = {"sink@example.com"}}});
  eventhooks::SimpleEmailHook& hook = *shared_hook;
  const eventhooks::Payload payload(body);

  std::atomic<long> next{0}, delivered{0}, failed{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  if (dispatch) {
    const auto n = static_cast<std::size_t>(sessions);
    eventhooks::Dispatcher d(
        {.workers = n, .per_hook_concurrency = n, .queue_capacity = static_cast<std::size_t>(messages) + 1});
    d.add_hook(shared_hook);
    for (long i = 0; i < messages; ++i) {
      if (!d.fire(payload).ok()) ++failed;
    }
    if (!d.flush(std::chrono::minutes(5))) std::fprintf(stderr, "bench_smtp: flush timed out\n");
    const auto m = d.metrics();
    delivered = static_cast<long>(m.delivered);
    failed += static_cast<long>(m.failed);
  } else if (async) {
    // A full event each time, as trigger() makes: UUIDv7 id, MIME rendering.
    long i = 0;
    bench::keep_in_flight(
        sessions, [&] { return i++ < messages; },
        [&](auto done) { hook.deliver_async(eventhooks::Event::make("bench", payload), std::move(done)); },
        [&](const eventhooks::Outcome& out) {
          if (out.delivered()) {
            ++delivered;
          } else if (failed++ == 0) {
            std::fprintf(stderr, "bench_smtp: %s\n", out.detail().c_str());
          }
        });
  }
  for (int t = 0; !async && !dispatch && t < sessions; ++t) {
    threads.emplace_back([&] {
      long ok = 0, bad = 0;
      while (next.fetch_add(1, std::memory_order_relaxed) < messages) {
        auto out = hook.trigger(payload);
        if (out.delivered()) {
          ++ok;
        } else {
          if (bad++ == 0) std::fprintf(stderr, "bench_smtp: %s\n", out.detail().c_str());
        }
      }
      delivered += ok;
      failed += bad;
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("delivered=%ld failed=%ld seconds=%.3f rate=%.0f\n", delivered.load(), failed.load(), elapsed,
              delivered.load() / elapsed);
  return failed.load() == 0 ? 0 : 1;
}
