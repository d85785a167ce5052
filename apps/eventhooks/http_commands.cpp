// What eventhooks-http runs (http_server.hpp): `serve` and `worker --metrics`'s endpoint.
//
// eventhooks serve: the HTTP ingest API (ingest_api.hpp) in front of the config's outbox, delivering it with
// the same Dispatcher as `eventhooks worker` (delivery.hpp), or leaving that to worker processes with
// --no-deliver. SIGTERM/SIGINT: /readyz turns 503, the listener closes, requests in progress are answered,
// in-flight deliveries finish and claimed jobs go back to the outbox; exit 0.
#include <atomic>
#include <memory>
#include <thread>

#include <spdlog/spdlog.h>
#include "commands.hpp"
#include "delivery.hpp"

#include "eventhooks/logger.hpp"
#include "http_daemon.hpp"
#include "http_server.hpp"
#include "ingest_api.hpp"
#include "output.hpp"

namespace eventhooks::cli {
namespace {
// On SIGTERM, requests in progress get this long to be answered (a client still sending its body, an answer
// waiting for the outbox) before the remaining connections are closed. An answer the outbox still owes is
// always waited for: it is an event that may already be stored.
constexpr auto kDrainTimeout = std::chrono::seconds(30);

}  // namespace
int run_serve(const ServeOptions& options) {
  StopSignals stop;  // before any thread exists
  auto config = load_config_or_report(options.config);
  if (!config) return exit_config;
  if (!config->serve) {
    print_error(options.config + ": no serve section; `eventhooks serve` needs `serve: {api_keys: [...]}`");
    return exit_config;
  }
  ServeConfig serve = *config->serve;
  if (!options.listen.empty()) {
    auto address = ServeConfig::parse_address(options.listen);
    if (!address) {
      print_error("--listen '" + options.listen + "' is not HOST:PORT (e.g. 127.0.0.1:8642 or [::1]:8642)");
      return exit_usage;
    }
    serve.listen = *address;
  }
  int code = exit_ok;
  auto outbox = open_delivery_outbox(*config, options.config, "serve", code);
  if (!outbox) return code;

  std::unique_ptr<Dispatcher> dispatcher;
  if (!options.no_deliver) dispatcher = start_delivery(*config, outbox, options.workers, "serve");

  if (serve.threads == 0) serve.threads = std::max(1u, std::thread::hardware_concurrency());
  IngestApi api(*config, serve, outbox, dispatcher.get(), serve.threads);
  // The outbox's writer wakes a loop when its events are stored (set once the daemon exists; a wake-up before
  // that is not needed: the loop's next pass answers them anyway).
  std::atomic<HttpDaemon*> daemon{nullptr};
  api.set_wake([&daemon](std::size_t loop) {
    if (HttpDaemon* d = daemon.load()) d->wake(loop);
  });
  std::string error;
  auto server = HttpDaemon::start(
      {.listen = serve.listen,
       .threads = serve.threads,
       .max_body = serve.max_body,
       .cert_file = serve.cert_file,
       .key_file = serve.key_file,
       .idle_timeout = serve.idle_timeout,
       .after_pass = [&api](std::size_t loop) { api.after_pass(loop); }},
      [&api](HttpRequest&& request, HttpReply reply) { api.handle(std::move(request), std::move(reply)); },
      error);
  daemon = server.get();
  if (!server) {
    print_error("serve: " + error);
    return serve.cert_file.empty() ? exit_internal : exit_config;
  }
  logger()->info("serve: listening on {} ({} event loop(s)), outbox {}, {}", server->url(), serve.threads,
                 outbox->describe(),
                 dispatcher ? fmt::format("delivering with {} thread(s)", options.workers)
                            : std::string("delivery left to `eventhooks worker` (--no-deliver)"));

  SummaryLog summary("serve", options.summary_seconds);
  int stop_signal = 0;
  while (!(stop_signal = stop.wait(std::chrono::milliseconds(200)))) {
    if (dispatcher) summary.tick(*dispatcher);
  }
  logger()->info("serve: {} received: no new connections; answering requests in progress",
                 StopSignals::name(stop_signal));
  api.drain();
  server->stop_accepting();  // new connections are refused; requests in progress are answered
  if (!server->wait_idle(kDrainTimeout))
    logger()->warn("serve: requests still in progress after {} s; closing their connections",
                   kDrainTimeout.count());
  server.reset();  // waits for every answer the outbox still owes
  daemon = nullptr;
  if (dispatcher) {
    logger()->info("serve: finishing in-flight deliveries");
    dispatcher->shutdown();
    logger()->info("serve: stopped; {}", dispatcher->metrics().to_string());
  } else {
    logger()->info("serve: stopped");
  }
  return exit_ok;
}

bool has_http_server() {
  return true;
}

int run_in_http_executable(const char* /*command*/) {
  return exit_internal;  // not called: eventhooks-http runs these commands itself
}

struct MetricsEndpoint::Server {
  std::unique_ptr<HttpDaemon> http;
};

std::unique_ptr<MetricsEndpoint> MetricsEndpoint::start(const ServeConfig::Address& address,
                                                        std::function<std::string()> render,
                                                        std::string& error) {
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->server_ = std::make_unique<Server>();
  // One event loop answering inline: its clients are a scraper or two, and a render takes a few reads.
  endpoint->server_->http = HttpDaemon::start(
      {.listen = address, .threads = 1, .max_body = 0},
      [render = std::move(render)](HttpRequest&& request, const HttpReply& reply) {
        if (request.method == "GET" && request.path == "/metrics") {
          reply({200, render(), "text/plain; version=0.0.4; charset=utf-8", {}});
        } else if (request.method == "GET" && request.path == "/healthz") {
          reply({200, R"({"status":"ok"})", "application/json", {}});
        } else {
          reply({404,
                 R"({"error":{"code":"not_found","message":"GET /metrics or /healthz"}})",
                 "application/json",
                 {}});
        }
      },
      error);
  if (!endpoint->server_->http) return nullptr;
  endpoint->url_ = endpoint->server_->http->url();
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() = default;

}  // namespace eventhooks::cli
