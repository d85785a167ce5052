// The HTTP server libraries `eventhooks serve` could be built on, each answering what serve answers to an
// accepted event (202 and a small JSON body, after reading the whole body and the Authorization header), with
// nothing else to do: what each library costs by itself. scripts/bench-http-libs.sh drives it with wrk next
// to nginx.
//
//   bench_http_server httplib PORT [THREADS]        cpp-httplib (Debian's libcpp-httplib), a thread per
//                                                   keep-alive connection from a pool of THREADS (default 64)
//   bench_http_server mhd-epoll PORT [THREADS]      libmicrohttpd, THREADS epoll event loops (default 2)
//   bench_http_server mhd-threads PORT              libmicrohttpd, a thread per connection
//
// Runs until SIGINT or SIGTERM.
#include <arpa/inet.h>
#include <httplib.h>
#include <microhttpd.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

namespace {

constexpr std::string_view kAnswer = R"({"id":"01938a4c-7f1a-7c3e-9d2b-5a6e4f3c2b1a","hooks":["bench"]})";

int usage() {
  std::fprintf(stderr, "usage: bench_http_server httplib|mhd-epoll|mhd-threads PORT [THREADS]\n");
  return 2;
}

void wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
}

int run_httplib(int port, int threads) {
  httplib::Server server;
  // As serve configures it (apps/eventhooks/serve.cpp): without TCP_NODELAY Nagle's algorithm holds each
  // answer's body behind its headers, and the default of 5 requests per connection would measure reconnects.
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100'000);
  server.Post("/v1/events", [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization").empty()) {
      res.status = 401;
      return;
    }
    res.status = 202;
    res.set_content(std::string(kAnswer), "application/json");
  });
  std::thread t([&] { server.listen("127.0.0.1", port); });
  wait_for_signal();
  server.stop();
  t.join();
  return 0;
}

// One request's state across libmicrohttpd's calls of the handler: headers, then body pieces, then the end.
struct MhdRequest {
  std::string body;
  bool authorized = false;
};

MHD_Result mhd_handler(void*, MHD_Connection* connection, const char* url, const char* method, const char*,
                       const char* upload_data, size_t* upload_data_size, void** state) {
  auto* request = static_cast<MhdRequest*>(*state);
  if (request == nullptr) {
    request = new MhdRequest;
    request->authorized =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) != nullptr;
    *state = request;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    request->body.append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  const bool ok = std::strcmp(method, "POST") == 0 && std::strcmp(url, "/v1/events") == 0;
  const unsigned status = !ok ? MHD_HTTP_NOT_FOUND : request->authorized ? MHD_HTTP_ACCEPTED : 401;
  MHD_Response* response = MHD_create_response_from_buffer(kAnswer.size(), const_cast<char*>(kAnswer.data()),
                                                           MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  const MHD_Result r = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return r;
}

void mhd_completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
  delete static_cast<MhdRequest*>(*state);
  *state = nullptr;
}

int run_mhd(int port, bool epoll, int threads) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const unsigned flags = epoll ? MHD_USE_EPOLL_INTERNAL_THREAD : MHD_USE_THREAD_PER_CONNECTION;
  MHD_Daemon* daemon =
      epoll ? MHD_start_daemon(flags, static_cast<std::uint16_t>(port), nullptr, nullptr, &mhd_handler,
                               nullptr, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
                               static_cast<unsigned>(threads), MHD_OPTION_CONNECTION_LIMIT, 4096u,
                               MHD_OPTION_NOTIFY_COMPLETED, &mhd_completed, nullptr, MHD_OPTION_END)
            : MHD_start_daemon(flags, static_cast<std::uint16_t>(port), nullptr, nullptr, &mhd_handler,
                               nullptr, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_CONNECTION_LIMIT, 4096u,
                               MHD_OPTION_NOTIFY_COMPLETED, &mhd_completed, nullptr, MHD_OPTION_END);
  if (daemon == nullptr) {
    std::fprintf(stderr, "bench_http_server: libmicrohttpd could not listen on port %d\n", port);
    return 1;
  }
  wait_for_signal();
  MHD_stop_daemon(daemon);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  // Signals are taken by sigwait() in the main thread: block them before any server thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  const std::string kind = argv[1];
  const int port = std::atoi(argv[2]);
  if (kind == "httplib") return run_httplib(port, argc > 3 ? std::atoi(argv[3]) : 64);
  if (kind == "mhd-epoll") return run_mhd(port, true, argc > 3 ? std::atoi(argv[3]) : 2);
  if (kind == "mhd-threads") return run_mhd(port, false, 0);
  return usage();
}
