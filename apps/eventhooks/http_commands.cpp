// What eventhooks-http runs (http_server.hpp): `serve` and `worker --metrics`'s endpoint.
//
// eventhooks serve: the HTTP ingest API (ingest_api.hpp) in front of the config's outbox, delivering it with
// the same Dispatcher as `eventhooks worker` (delivery.hpp), or leaving that to worker processes with
// --no-deliver. SIGTERM/SIGINT: /readyz turns 503, the listener closes, requests in progress are answered,
// in-flight deliveries finish and claimed jobs go back to the outbox; exit 0.
#include <httplib.h>

#include <memory>
#include <thread>

#include <spdlog/spdlog.h>
#include "commands.hpp"
#include "delivery.hpp"

#include "eventhooks/logger.hpp"
#include "http_server.hpp"
#include "ingest_api.hpp"
#include "output.hpp"

namespace eventhooks::cli {
namespace {
// cpp-httplib answers each connection on one pool thread for as long as it is kept alive, so the pool must
// hold every connection a client keeps open (32 for the benchmark's load balancer), or the next ones wait
// for a free thread. A kept-alive connection is reused this many times before the server closes it.
constexpr std::size_t kKeepAliveRequests = 100'000;

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

  std::unique_ptr<httplib::Server> server;
  const bool tls = !serve.cert_file.empty();
  if (tls) {
    auto https = std::make_unique<httplib::SSLServer>(serve.cert_file.c_str(), serve.key_file.c_str());
    if (!https->is_valid()) {
      print_error("serve: cannot use cert_file '" + serve.cert_file + "' with key_file '" + serve.key_file +
                  "' (unreadable, not PEM, or they do not match)");
      return exit_config;
    }
    server = std::move(https);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  const std::size_t threads = serve.threads;
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server->set_keep_alive_max_count(kKeepAliveRequests);
  server->set_tcp_nodelay(true);  // headers and body are two writes: without it Nagle holds the body ~40 ms
  server->set_payload_max_length(serve.max_body);
  IngestApi api(*config, serve, outbox, dispatcher.get());
  api.install(*server);

  int port = serve.listen.port;
  if (port == 0) {
    port = server->bind_to_any_port(serve.listen.host);
  } else if (!server->bind_to_port(serve.listen.host, port)) {
    port = -1;
  }
  const std::string where = fmt::format(
      "{}://{}:{}", tls ? "https" : "http",
      serve.listen.host.find(':') != std::string::npos ? "[" + serve.listen.host + "]" : serve.listen.host,
      port);
  if (port <= 0) {
    print_error(fmt::format("serve: cannot listen on {}:{} (address in use, or not an address of this host)",
                            serve.listen.host, serve.listen.port));
    return exit_internal;
  }
  std::thread listener([&server] { server->listen_after_bind(); });
  logger()->info("serve: listening on {} ({} connection threads), outbox {}, {}", where, threads,
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
  server->stop();  // closes the listener; requests being read or answered complete first
  listener.join();
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
  httplib::Server http;
  std::thread thread;
};

std::unique_ptr<MetricsEndpoint> MetricsEndpoint::start(const ServeConfig::Address& address,
                                                        std::function<std::string()> render,
                                                        std::string& error) {
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  endpoint->server_ = std::make_unique<Server>();
  auto& http = endpoint->server_->http;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };  // a scraper or two, not clients
  http.Get("/metrics", [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  int port = address.port;
  if (port == 0) {
    port = http.bind_to_any_port(address.host);
  } else if (!http.bind_to_port(address.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    error = "cannot listen on " + address.host + ":" + std::to_string(address.port) +
            " (address in use, or not an address of this host)";
    return nullptr;
  }
  const bool v6 = address.host.find(':') != std::string::npos;
  endpoint->url_ = "http://" + (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(port);
  endpoint->server_->thread = std::thread([&http] { http.listen_after_bind(); });
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (!server_) return;
  server_->http.stop();
  if (server_->thread.joinable()) server_->thread.join();
}

}  // namespace eventhooks::cli
