// Delivery engine figures (issue 5). Modes:
//   bench_dispatch fire N                 fire() latency on the caller's thread, async mode (in-memory
//   outbox),
//                                         while 2 workers deliver; `fire-queue-only N`: dispatcher not
//                                         started
//   bench_dispatch enqueue DIR N THREADS  durable enqueue rate into the SQLite outbox next to a raw SQLite
//   insert
//                                         loop with the same journal settings (WAL, synchronous=FULL)
//   bench_dispatch e2e URL DIR N          deliveries/s: N events pre-stored in a SQLite outbox, delivered by
//   a
//                                         Dispatcher (4 threads) to the HTTP sink at URL
//   bench_dispatch deliver N              deliveries/s of the engine alone: N events for 4 no-op hooks stored
//   in
//                                         the in-memory outbox, then delivered by 2 workers (the hot path
//                                         of settle(), where the metrics counters are kept)
//   bench_dispatch fill DIR N URL         writes DIR/hooks.yaml (WebHook -> URL, outbox DIR/outbox.db) and
//                                         stores N events, for timing `eventhooks worker --once` from a
//                                         script
// Each prints one line of key=value pairs.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "eventhooks/dispatcher.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "eventhooks/logger.hpp"

using namespace eventhooks;
using Clock = std::chrono::steady_clock;

namespace {

class NullHook : public Hook {
 public:
  explicit NullHook(std::string name) : Hook(HookCommon{.name = std::move(name)}) {}
  std::string_view type() const noexcept override { return "Null"; }
  std::string describe() const override { return "Null"; }

 protected:
  Result<Receipt> send(const Event&) override { return Receipt{200, "", "ok"}; }
};

Payload sample_payload(int i) {
  return Payload(nlohmann::json{{"event", "deploy_finished"}, {"service", "api"}, {"n", i}, {"ok", true}});
}

// `delivering`: the workers deliver (to a no-op hook) while the caller fires, so on 2 cores the caller shares
// the CPUs with them; otherwise the dispatcher is not started and only the caller's own cost is measured.
int fire_latency(int n, bool delivering) {
  Dispatcher d({.workers = 2, .queue_capacity = 2 * static_cast<std::size_t>(n) + 2, .start = delivering});
  d.add_hook(std::make_shared<NullHook>("a"));
  d.add_hook(std::make_shared<NullHook>("b"));
  std::vector<std::int64_t> ns;
  ns.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Payload p = sample_payload(i);  // built outside the measured span: the caller has its data already
    const auto t0 = Clock::now();
    auto r = d.fire(std::move(p), "ops");
    const auto t1 = Clock::now();
    if (!r) {
      std::fprintf(stderr, "fire failed: %s\n", r.error().message.c_str());
      return 1;
    }
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
  }
  if (delivering) d.flush(std::chrono::minutes(5));
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return ns[std::min(ns.size() - 1, static_cast<std::size_t>(q * ns.size()))]; };
  std::printf("delivering=%d fires=%d p50_ns=%lld p99_ns=%lld p999_ns=%lld\n", delivering ? 1 : 0, n,
              static_cast<long long>(at(0.5)), static_cast<long long>(at(0.99)),
              static_cast<long long>(at(0.999)));
  return 0;
}

// The engine's own cost per delivery: nothing is sent, so claim, lanes, settle and the counters are all
// that is measured.
int deliver_rate(int n) {
  constexpr int kHooks = 4;
  Dispatcher d({.workers = 2, .queue_capacity = static_cast<std::size_t>(n) * kHooks + 2, .start = false});
  for (int h = 0; h < kHooks; ++h) d.add_hook(std::make_shared<NullHook>("h" + std::to_string(h)));
  for (int i = 0; i < n; ++i) {
    if (auto r = d.fire(sample_payload(i)); !r) {
      std::fprintf(stderr, "fire failed: %s\n", r.error().message.c_str());
      return 1;
    }
  }
  const auto t0 = Clock::now();
  d.start();
  if (!d.flush(std::chrono::minutes(5))) std::fprintf(stderr, "flush timed out\n");
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto delivered = d.metrics().delivered;
  std::printf("deliveries=%llu secs=%.3f per_s=%.0f ns_per_delivery=%.0f\n",
              static_cast<unsigned long long>(delivered), secs, delivered / secs, secs * 1e9 / delivered);
  return 0;
}

// The same row the outbox writes, inserted the plain way: one autocommit INSERT per event, so each one is
// durable when the call returns — the guarantee enqueue() gives.
double raw_insert_rate(const std::string& path, int n) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr);
  sqlite3_exec(
      db,
      "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, event_name TEXT "
      "NOT NULL, realm TEXT, payload TEXT NOT NULL, created_at INTEGER NOT NULL, hook TEXT NOT NULL, "
      "attempts INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT "
      "NULL, claimed_by TEXT, last_error TEXT, dead_reason TEXT, updated_at INTEGER NOT NULL);"
      "CREATE INDEX jobs_due ON jobs(state, next_attempt_at);",
      nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(
      db,
      "INSERT INTO jobs (event_id, event_name, realm, payload, created_at, hook, next_attempt_at, "
      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
      -1, &st, nullptr);
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto e = Event::make("bench", sample_payload(i), "ops");
    const std::string payload = e.payload.to_stored().dump();
    sqlite3_bind_text(st, 1, e.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, "ops", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, payload.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, 0);
    sqlite3_bind_text(st, 6, "a", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, 0);
    if (sqlite3_step(st) != SQLITE_DONE) std::fprintf(stderr, "raw insert failed: %s\n", sqlite3_errmsg(db));
    sqlite3_reset(st);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n / secs;
}

double outbox_rate(const std::string& path, int n, int threads) {
  auto outbox = open_sqlite_outbox({.path = path}).value();
  const int per = n / threads;
  const auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < per; ++i) {
        auto r = outbox->enqueue(Event::make("bench", sample_payload(i), "ops"), {"a"});
        if (!r) std::fprintf(stderr, "enqueue failed: %s\n", r.error().message.c_str());
      }
    });
  }
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  return per * threads / secs;
}

int enqueue_rate(const std::string& dir, int n, int threads) {
  std::filesystem::create_directories(dir);
  for (const char* f : {"raw.db", "raw.db-wal", "raw.db-shm", "outbox.db", "outbox.db-wal", "outbox.db-shm",
                        "outbox-mt.db", "outbox-mt.db-wal", "outbox-mt.db-shm"}) {
    std::filesystem::remove(std::filesystem::path(dir) / f);
  }
  const double raw = raw_insert_rate(dir + "/raw.db", n);
  const double one = outbox_rate(dir + "/outbox.db", n, 1);
  const double many = outbox_rate(dir + "/outbox-mt.db", n, threads);
  std::printf("events=%d raw_per_s=%.0f outbox_1thread_per_s=%.0f outbox_%dthreads_per_s=%.0f\n", n, raw, one,
              threads, many);
  return 0;
}

void write_config(const std::string& dir, const std::string& url) {
  std::ofstream(dir + "/hooks.yaml") << "outbox:\n  path: " << dir
                                     << "/outbox.db\nhooks:\n  sink:\n    type: WebHook\n"
                                     << "    url: " << url << "\n";
}

void fill(const std::string& dir, int n) {
  std::filesystem::remove(dir + "/outbox.db");
  std::filesystem::remove(dir + "/outbox.db-wal");
  std::filesystem::remove(dir + "/outbox.db-shm");
  auto outbox = open_sqlite_outbox({.path = dir + "/outbox.db", .synchronous_full = false}).value();
  for (int i = 0; i < n; ++i) (void)outbox->enqueue(Event::make("bench", sample_payload(i)), {"sink"});
}

int end_to_end(const std::string& url, const std::string& dir, int n) {
  std::filesystem::create_directories(dir);
  fill(dir, n);
  auto outbox = open_sqlite_outbox({.path = dir + "/outbox.db"}).value();
  auto hook = std::make_shared<WebHook>(WebHookOptions{.common = {.name = "sink"}, .url = url});
  const auto t0 = Clock::now();
  Dispatcher d({.workers = 4, .per_hook_concurrency = 4, .outbox = outbox, .start = false});
  d.add_hook(hook);
  d.start();
  if (!d.flush(std::chrono::minutes(10))) std::fprintf(stderr, "flush timed out\n");
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto m = d.metrics();
  std::printf("events=%d delivered=%llu secs=%.2f per_s=%.0f\n", n,
              static_cast<unsigned long long>(m.delivered), secs, m.delivered / secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // One info line per delivery would measure the terminal, not the engine.
  logger()->set_level(spdlog::level::warn);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "fire" && argc >= 3) return fire_latency(std::stoi(argv[2]), true);
  if (mode == "fire-queue-only" && argc >= 3) return fire_latency(std::stoi(argv[2]), false);
  if (mode == "deliver" && argc >= 3) return deliver_rate(std::stoi(argv[2]));
  if (mode == "enqueue" && argc >= 5) return enqueue_rate(argv[2], std::stoi(argv[3]), std::stoi(argv[4]));
  if (mode == "e2e" && argc >= 5) return end_to_end(argv[2], argv[3], std::stoi(argv[4]));
  if (mode == "fill" && argc >= 5) {
    std::filesystem::create_directories(argv[2]);
    write_config(argv[2], argv[4]);
    fill(argv[2], std::stoi(argv[3]));
    return 0;
  }
  std::fprintf(
      stderr,
      "usage: bench_dispatch fire N | deliver N | enqueue DIR N THREADS | e2e URL DIR N | fill DIR N URL\n");
  return 2;
}
