// The HTTP ingest API of `eventhooks serve` (docs/serve.md): the routes that turn authenticated requests
// into outbox jobs, report an event's deliveries, and expose health and metrics. The API only parses, checks
// and answers: reading and writing HTTP is the HttpDaemon's (http_daemon.hpp), storing the Outbox's,
// delivering the Dispatcher's. Thread-safe: the daemon's event loops call handle() at once.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "eventhooks/config.hpp"
#include "eventhooks/dispatcher.hpp"
#include "eventhooks/outbox.hpp"
#include "http_daemon.hpp"

namespace eventhooks::cli {

class IngestApi {
 public:
  // `dispatcher` is null with --no-deliver (separate `eventhooks worker` processes deliver).
  // `loops`: the HttpDaemon's event loops (HttpRequest::loop is below it).
  IngestApi(const Config& config, const ServeConfig& serve, std::shared_ptr<Outbox> outbox,
            Dispatcher* dispatcher, std::size_t loops);

  ~IngestApi();
  IngestApi(const IngestApi&) = delete;
  IngestApi& operator=(const IngestApi&) = delete;

  // The HttpHandler: answers `request` through `reply`, at once when that needs no I/O; an accepted POST
  // /v1/events after its commit, from after_pass(); the rest (status routes, /readyz, /metrics) from the
  // API's own threads. Never blocks the caller.
  void handle(HttpRequest&& request, HttpReply reply);
  // The HttpAfterPass: answers the events the outbox stored since the last pass, and hands it the ones this
  // pass accepted (the SQLite outbox commits them together, with other loops' events).
  void after_pass(std::size_t loop);
  // How the outbox's thread wakes a loop that has results to answer (HttpDaemon::wake).
  void set_wake(std::function<void(std::size_t loop)> wake);
  // SIGTERM: /readyz answers 503 from now on, so a load balancer stops sending before the listener closes.
  void drain() { draining_ = true; }

  // The Prometheus text of /metrics.
  std::string metrics_text() const;

 private:
  using Answer = HttpAnswer;
  // Every answer goes out through here: counted (before it is written, so a client that reads /metrics
  // after its own answer finds it counted), logged at -v, written.
  struct Responder;
  void post_event(HttpRequest&& request, const std::shared_ptr<Responder>& respond);
  std::string accepted_body(const std::string& id, const std::vector<std::string>& hooks) const;
  // An accepted event on its way to the outbox, and its answer once it is stored.
  struct StoreRequest {
    Event event;
    std::vector<std::string> hooks;
    std::optional<IdempotencyKey> key;
    Answer ok;
    std::shared_ptr<Responder> respond;
    std::size_t loop = 0;
  };
  // Answers one stored (or refused) event; true when the dispatcher has something new to deliver.
  bool answer_stored(StoreRequest& request, Result<EnqueueOnceResult> result);
  Answer get_event(const std::string& id);
  Answer retry_event(const std::string& id);
  Answer ready() const;
  // Counts an answer by status; `post_duration`: for POST /v1/events, how long it took from the request read
  // to its answer (observed in the histogram of its status).
  void count(int status, std::optional<std::chrono::steady_clock::duration> post_duration = std::nullopt);
  // Runs `work` on one of the API's threads (started as needed, up to kMaxThreads): the I/O the event
  // loops must not wait for. Should `work` throw, `respond` answers 500.
  void run_blocking(std::function<void()> work, std::shared_ptr<Responder> respond);

  static constexpr std::size_t kMaxThreads = 64;

  const Config& config_;
  const ServeConfig& serve_;
  std::shared_ptr<Outbox> outbox_;
  Dispatcher* dispatcher_;
  std::atomic<bool> draining_{false};

  std::atomic<std::uint64_t> accepted_{0};  // events stored (202, replays excluded)
  std::atomic<std::uint64_t> replayed_{0};  // idempotent replays answered
  mutable std::mutex counts_mu_;
  std::map<int, std::uint64_t> requests_by_status_;
  // POST /v1/events durations by status: observations per bucket of kPostBuckets (+Inf last), and their sum.
  static constexpr std::array<double, 16> kPostBuckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  struct Durations {
    std::array<std::uint64_t, kPostBuckets.size() + 1> counts{};
    double sum = 0;
  };
  std::map<int, Durations> post_durations_;

  // Per event loop: events accepted in the current pass (only its thread touches them), and the outbox's
  // results waiting to be answered on that thread.
  struct Loop {
    std::vector<std::shared_ptr<StoreRequest>> accepted;
    std::mutex mu;
    std::vector<std::pair<std::shared_ptr<StoreRequest>, Result<EnqueueOnceResult>>> stored;
  };
  std::vector<Loop> loops_;
  std::unordered_map<std::string, std::string> hook_json_;  // hook name -> its JSON string
  std::function<void(std::size_t loop)> wake_;

  std::mutex work_mu_;
  std::condition_variable work_cv_;
  struct Work {
    std::function<void()> work;
    std::shared_ptr<Responder> respond;
  };
  std::deque<Work> work_;
  std::vector<std::thread> threads_;
  std::size_t idle_threads_ = 0;
  bool stopping_ = false;

  // serve.max_pending: the outbox's undelivered jobs are backlog_base_ + reserved_. reserved_ counts the
  // jobs of every event let through (a refused one is taken back); the backlog thread counts the outbox
  // (every second past half the limit, every 10 s below) and sets backlog_base_ to that count minus
  // reserved_ as it was just before counting.
  void count_backlog();
  std::atomic<std::int64_t> reserved_{0};
  std::atomic<std::int64_t> backlog_base_{0};
  std::mutex backlog_mu_;
  std::condition_variable backlog_cv_;
  bool backlog_stop_ = false;
  std::thread backlog_thread_;
};

}  // namespace eventhooks::cli
