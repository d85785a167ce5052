// The HTTP ingest API of `eventhooks serve` (docs/serve.md): routes on a cpp-httplib server that turn
// authenticated requests into outbox jobs, report an event's deliveries, and expose health and metrics.
// The API only parses, checks and answers: storing is the Outbox's, delivering the Dispatcher's.
// Thread-safe: the server calls the handlers from its pool threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "eventhooks/config.hpp"
#include "eventhooks/dispatcher.hpp"
#include "eventhooks/outbox.hpp"

namespace httplib {
class Server;
}

namespace eventhooks::cli {

class IngestApi {
 public:
  // `dispatcher` is null with --no-deliver (separate `eventhooks worker` processes deliver).
  IngestApi(const Config& config, const ServeConfig& serve, std::shared_ptr<Outbox> outbox,
            Dispatcher* dispatcher);

  // Installs the routes, the JSON error answers and the request counting on `server`.
  void install(httplib::Server& server);
  // SIGTERM: /readyz answers 503 from now on, so a load balancer stops sending before the listener closes.
  void drain() { draining_ = true; }

  // The Prometheus text of /metrics.
  std::string metrics_text() const;

 private:
  struct Answer;
  Answer post_event(const std::string& content_type, const std::string& body,
                    const std::string& idempotency_key);
  Answer get_event(const std::string& id);
  Answer retry_event(const std::string& id);
  Answer ready() const;
  void count(int status);

  const Config& config_;
  const ServeConfig& serve_;
  std::shared_ptr<Outbox> outbox_;
  Dispatcher* dispatcher_;
  std::atomic<bool> draining_{false};

  std::atomic<std::uint64_t> accepted_{0};  // events stored (202, replays excluded)
  std::atomic<std::uint64_t> replayed_{0};  // idempotent replays answered
  mutable std::mutex counts_mu_;
  std::map<int, std::uint64_t> requests_by_status_;
};

}  // namespace eventhooks::cli
