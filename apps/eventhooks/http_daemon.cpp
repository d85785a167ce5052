#include "http_daemon.hpp"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "eventhooks/logger.hpp"

namespace eventhooks::cli {

namespace {

// An announced Content-Length this many times max_body is answered 413 at once, without reading the body;
// the connection closes after the answer. A smaller excess is read and dropped, so the connection stays
// usable and the client reads its 413 instead of a reset.
constexpr std::size_t kDropReadLimitFactor = 64;
constexpr std::size_t kMaxConnections = 65'536;

std::string host_in_url(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The connections the server may hold: the open-file limit allows (raised to its hard limit), less room
// for the outbox, logs and outbound deliveries.
unsigned connection_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1000;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = std::min<rlim_t>(limit.rlim_max, kMaxConnections + 1024);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  const rlim_t reserve = 256;
  const rlim_t usable = limit.rlim_cur > 2 * reserve ? limit.rlim_cur - reserve : limit.rlim_cur / 2;
  return static_cast<unsigned>(std::min<rlim_t>(usable, kMaxConnections));
}

}  // namespace

struct HttpDaemon::Impl {
  struct Loop;
  // One request's answer, shared by the connection and the reply callback the handler holds.
  struct Pending {
    std::mutex mu;
    Impl* impl = nullptr;
    Loop* loop = nullptr;
    MHD_Connection* connection = nullptr;
    std::optional<HttpAnswer> answer;
    bool replied = false;
    bool suspended = false;
  };
  // What libmicrohttpd keeps for us per request (its `con_cls`).
  struct RequestState {
    HttpRequest request;
    std::shared_ptr<Pending> pending;  // set when handed to the handler
  };

  // A connection accepted by one loop for another (round robin).
  struct Accepted {
    int fd = -1;
    sockaddr_storage address{};
    socklen_t length = 0;
  };
  // One event loop: a libmicrohttpd daemon in external-polling epoll mode without a listening socket of its
  // own, and the thread that runs it. Every loop polls the one listening socket (EPOLLEXCLUSIVE); the loop
  // that wakes accepts what is waiting and deals the connections out in turn, so each loop serves its share
  // however the clients connect (a burst of 32 connections no longer lands on whichever loop woke first).
  struct Loop {
    Impl* impl = nullptr;
    std::size_t index = 0;
    MHD_Daemon* daemon = nullptr;
    int epoll_fd = -1;  // ours: the daemon's epoll fd and wake_fd
    int wake_fd = -1;   // eventfd: stop_accepting(), wake() and answers from other threads wake the loop
    bool quiesced = false;
    bool run_again = false;  // a connection was resumed on this thread: run a pass without waiting
    bool polls_listener = false;
    std::chrono::steady_clock::time_point accept_paused_until{};  // out of descriptors: accept again then
    std::mutex inbox_mu;
    std::vector<Accepted> inbox;  // connections another loop accepted for this one
    std::thread thread;
  };

  HttpDaemonOptions options;
  HttpHandler handler;
  std::vector<std::unique_ptr<Loop>> loops;
  int listen_fd = -1;
  std::atomic<std::size_t> next_loop{0};  // round robin over loops for accepted connections
  std::atomic<std::chrono::steady_clock::time_point> last_accept_warning{std::chrono::steady_clock::now() -
                                                                         std::chrono::minutes(2)};
  std::string key_pem, cert_pem;
  std::atomic<bool> closing{false};   // stop_accepting() was called
  std::atomic<bool> stopping{false};  // the loops end
  std::size_t quiesced = 0;           // loops that stopped accepting (under mu)

  std::mutex mu;
  std::condition_variable idle_cv;
  // Requests begun and not yet completed (answer written or connection gone), and connections accepted for
  // another loop that it has not added yet.
  std::size_t in_progress = 0;
  std::size_t owed = 0;  // answers a handler has not given yet

  void begin() {
    std::lock_guard lock(mu);
    ++in_progress;
  }
  void end() {
    std::lock_guard lock(mu);
    if (--in_progress == 0) idle_cv.notify_all();
  }

  MHD_Result queue(MHD_Connection* connection, const HttpAnswer& a) {
    MHD_Response* response = MHD_create_response_from_buffer(a.body.size(), const_cast<char*>(a.body.data()),
                                                             MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, a.content_type);
    for (const auto& [name, value] : a.headers)
      MHD_add_response_header(response, name.c_str(), value.c_str());
    if (closing.load(std::memory_order_relaxed))
      MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    const MHD_Result r = MHD_queue_response(connection, static_cast<unsigned>(a.status), response);
    MHD_destroy_response(response);
    return r;
  }

  void reply(Pending& p, HttpAnswer answer) {
    {
      std::lock_guard lock(p.mu);
      if (p.replied) return;  // a second reply: the contract says once; keep the first
      p.replied = true;
      p.answer = std::move(answer);
      if (p.suspended) {
        p.suspended = false;
        // The loop calls on_request again, which writes the answer. In external polling a resume does not
        // wake the loop by itself.
        MHD_resume_connection(p.connection);
        if (current_loop == p.loop) {
          p.loop->run_again = true;
        } else {
          wake(*p.loop);
        }
      }
    }
    std::lock_guard lock(mu);
    if (--owed == 0) idle_cv.notify_all();
  }

  // Hands the request to the handler: writes its answer now when it gave one before returning, or suspends
  // the connection until it does.
  MHD_Result dispatch(Loop& loop, MHD_Connection* connection, RequestState& state) {
    auto pending = std::make_shared<Pending>();
    pending->impl = this;
    pending->loop = &loop;
    pending->connection = connection;
    state.pending = pending;
    {
      std::lock_guard lock(mu);
      ++owed;
    }
    HttpReply reply_fn = [pending](HttpAnswer a) { pending->impl->reply(*pending, std::move(a)); };
    try {
      handler(std::move(state.request), reply_fn);
    } catch (const std::exception& e) {
      logger()->error("http: request handler failed: {}", e.what());
      reply_fn(HttpAnswer{
          500, R"({"error":{"code":"internal","message":"internal error"}})", "application/json", {}});
    }
    std::unique_lock lock(pending->mu);
    if (pending->answer) {
      HttpAnswer a = std::move(*pending->answer);
      pending->answer.reset();
      lock.unlock();
      return queue(connection, a);
    }
    MHD_suspend_connection(connection);
    pending->suspended = true;
    return MHD_YES;
  }

  MHD_Result on_request(Loop& loop, MHD_Connection* connection, const char* url, const char* method,
                        const char* upload_data, size_t* upload_data_size, void** con_cls) {
    auto* state = static_cast<RequestState*>(*con_cls);
    if (state == nullptr) {  // the headers are in
      state = new RequestState;
      *con_cls = state;
      begin();
      HttpRequest& r = state->request;
      r.method = method;
      r.path = url;
      r.loop = loop.index;
      auto header = [connection](const char* name) {
        const char* v = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
        return v != nullptr ? std::string_view(v) : std::string_view();
      };
      r.authorization = header(MHD_HTTP_HEADER_AUTHORIZATION);
      r.content_type = header(MHD_HTTP_HEADER_CONTENT_TYPE);
      r.idempotency_key = header("Idempotency-Key");
      if (const char* length =
              MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        const unsigned long long n = std::strtoull(length, nullptr, 10);
        if (n > options.max_body) {
          r.too_large = true;
          // Far too large: answer before the body (and before "100 Continue"); the connection closes.
          if (n / kDropReadLimitFactor > options.max_body) return dispatch(loop, connection, *state);
        } else {
          r.body.reserve(static_cast<std::size_t>(n));
        }
      }
      return MHD_YES;
    }
    if (*upload_data_size > 0) {  // a piece of the body
      HttpRequest& r = state->request;
      if (!state->pending && !r.too_large) {
        if (r.body.size() + *upload_data_size > options.max_body) {
          r.too_large = true;
          std::string().swap(r.body);
        } else {
          r.body.append(upload_data, *upload_data_size);
        }
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (!state->pending) return dispatch(loop, connection, *state);  // the whole request is in
    // Resumed: the answer is there.
    std::unique_lock lock(state->pending->mu);
    if (!state->pending->answer) return MHD_YES;
    HttpAnswer a = std::move(*state->pending->answer);
    state->pending->answer.reset();
    lock.unlock();
    return queue(connection, a);
  }

  static MHD_Result on_request_c(void* cls, MHD_Connection* connection, const char* url, const char* method,
                                 const char* /*version*/, const char* upload_data, size_t* upload_data_size,
                                 void** con_cls) {
    auto* loop = static_cast<Loop*>(cls);
    return loop->impl->on_request(*loop, connection, url, method, upload_data, upload_data_size, con_cls);
  }

  static void on_completed(void* cls, MHD_Connection* /*connection*/, void** con_cls,
                           MHD_RequestTerminationCode /*code*/) {
    auto* state = static_cast<RequestState*>(*con_cls);
    if (state == nullptr) return;
    delete state;
    *con_cls = nullptr;
    static_cast<Loop*>(cls)->impl->end();
  }

  static thread_local Loop* current_loop;

  void poll_listener(Loop& loop, bool on) const {
    if (loop.polls_listener == on) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = listen_fd;
    epoll_ctl(loop.epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_fd, on ? &ev : nullptr);
    loop.polls_listener = on;
  }

  void add_connection(Loop& loop, const Accepted& a) {
    // On failure (the connection limit, memory) libmicrohttpd closes the socket itself.
    if (MHD_add_connection(loop.daemon, a.fd, reinterpret_cast<const sockaddr*>(&a.address), a.length) !=
        MHD_YES) {
      logger()->debug("http: connection refused by the server: {}", std::strerror(errno));
    }
  }

  // Accepts what the listening socket holds and deals it out, this loop included.
  void accept_waiting(Loop& loop) {
    for (int i = 0; i < 64; ++i) {
      Accepted a;
      a.length = sizeof a.address;
      a.fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&a.address), &a.length,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (a.fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: the socket stays readable, so stop polling it for a while instead of
          // spinning; the pending connections wait in the backlog.
          const int e = errno;
          const auto now = std::chrono::steady_clock::now();
          // Once a minute at most: the condition lasts until connections close, and is tried every 100 ms.
          if (now - last_accept_warning.load() >= std::chrono::minutes(1)) {
            last_accept_warning = now;
            logger()->warn("http: cannot accept connections: {}; new connections wait until some close",
                           std::strerror(e));
          }
          poll_listener(loop, false);
          loop.accept_paused_until = now + std::chrono::milliseconds(100);
        }
        return;  // EAGAIN (nothing more), or a connection that went away before it was accepted
      }
      Loop& to = *loops[next_loop.fetch_add(1, std::memory_order_relaxed) % loops.size()];
      if (&to == &loop) {
        add_connection(loop, a);
      } else {
        begin();  // in progress until the other loop adds it (ended there): wait_idle() waits for it
        {
          std::lock_guard lock(to.inbox_mu);
          to.inbox.push_back(a);
        }
        wake(to);
      }
    }
  }

  void run(Loop& loop) {
    current_loop = &loop;
    const std::string name = "http-loop-" + std::to_string(loop.index);  // as `top -H` shows it
    pthread_setname_np(pthread_self(), name.c_str());
    const MHD_DaemonInfo* info = MHD_get_daemon_info(loop.daemon, MHD_DAEMON_INFO_EPOLL_FD);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = info->epoll_fd;
    epoll_ctl(loop.epoll_fd, EPOLL_CTL_ADD, info->epoll_fd, &ev);
    ev.data.fd = loop.wake_fd;
    epoll_ctl(loop.epoll_fd, EPOLL_CTL_ADD, loop.wake_fd, &ev);
    if (!closing.load()) poll_listener(loop, true);
    std::vector<Accepted> handed;
    while (!stopping.load()) {
      MHD_UNSIGNED_LONG_LONG next = 0;
      int timeout = 1000;
      if (loop.run_again) {
        timeout = 0;
        loop.run_again = false;
      } else if (MHD_get_timeout(loop.daemon, &next) == MHD_YES) {
        timeout = static_cast<int>(std::min<MHD_UNSIGNED_LONG_LONG>(next, 1000));
      }
      if (!loop.polls_listener && !loop.quiesced) timeout = std::min(timeout, 100);
      epoll_event events[3];
      const int n = epoll_wait(loop.epoll_fd, events, 3, timeout);
      bool listener_ready = false;
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == loop.wake_fd) {
          std::uint64_t count = 0;
          [[maybe_unused]] auto r = read(loop.wake_fd, &count, sizeof count);
        } else if (events[i].data.fd == listen_fd) {
          listener_ready = true;
        }
      }
      if (closing.load() && !loop.quiesced) {
        // Only this thread touches its epoll set: the loop stops accepting itself.
        poll_listener(loop, false);
        loop.quiesced = true;
        std::lock_guard lock(mu);
        ++quiesced;
        idle_cv.notify_all();
      }
      if (!loop.quiesced) {
        if (listener_ready) accept_waiting(loop);
        if (!loop.polls_listener && std::chrono::steady_clock::now() >= loop.accept_paused_until)
          poll_listener(loop, true);
      }
      {
        std::lock_guard lock(loop.inbox_mu);
        handed.swap(loop.inbox);
      }
      // Accepted before the stop: served (with Connection: close once closing), not dropped.
      for (const auto& a : handed) {
        add_connection(loop, a);
        end();
      }
      handed.clear();
      MHD_run(loop.daemon);
      if (options.after_pass) options.after_pass(loop.index);
    }
  }

  static void wake(const Loop& loop) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = write(loop.wake_fd, &one, sizeof one);
  }

  // libmicrohttpd's own messages (a client that sent garbage, a socket error): for -v, never at info.
  static void on_log(void* /*cls*/, const char* format, va_list ap) {
    if (!logger()->should_log(spdlog::level::debug)) return;
    char text[512];
    std::vsnprintf(text, sizeof text, format, ap);
    std::string_view s(text);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    logger()->debug("http: {}", s);
  }
};

thread_local HttpDaemon::Impl::Loop* HttpDaemon::Impl::current_loop = nullptr;

std::unique_ptr<HttpDaemon> HttpDaemon::start(const HttpDaemonOptions& options, HttpHandler handler,
                                              std::string& error) {
  const std::string where = host_in_url(options.listen.host) + ":" + std::to_string(options.listen.port);
  std::unique_ptr<HttpDaemon> server(new HttpDaemon());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.options = options;
  impl.handler = std::move(handler);

  const bool tls = !options.cert_file.empty();
  if (tls) {
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      error =
          "this libmicrohttpd was built without TLS: remove cert_file/key_file, or terminate TLS in a proxy";
      return nullptr;
    }
    auto cert = read_whole(options.cert_file);
    auto key = read_whole(options.key_file);
    if (!cert || !key) {
      error = "cannot read " + (!cert ? "cert_file '" + options.cert_file : "key_file '" + options.key_file) +
              "'";
      return nullptr;
    }
    impl.cert_pem = std::move(*cert);
    impl.key_pem = std::move(*key);
  }

  // The listening socket is ours: its errors are reported exactly, port 0 is resolved, and on SIGTERM it
  // is shut down so new connections are refused at once (stop_accepting()).
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(options.listen.port);
  if (int rc = getaddrinfo(options.listen.host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    error = "cannot listen on " + where + ": " + gai_strerror(rc);
    return nullptr;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "cannot listen on " + where + ": " + std::strerror(errno);
    return nullptr;
  }
  impl.listen_fd = fd;
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
    error = "cannot listen on " + where + ": " + std::strerror(errno);
    close(fd);
    impl.listen_fd = -1;
    return nullptr;
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const int port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                               : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  server->url_ = fmt::format("{}://{}:{}", tls ? "https" : "http", host_in_url(options.listen.host), port);

  // Each loop may hold every connection the process can: they share one limit only loosely.
  const unsigned limit = connection_limit();
  const std::size_t threads = std::max<std::size_t>(1, options.threads);
  for (std::size_t i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Impl::Loop>();
    loop->impl = &impl;
    loop->index = i;
    std::vector<MHD_OptionItem> items{
        {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Impl::on_log), &impl},  // first, or it warns
        {MHD_OPTION_CONNECTION_LIMIT, limit, nullptr},
        {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(options.idle_timeout.count()), nullptr},
        {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::on_completed), loop.get()},
    };
    if (tls) {
      items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(impl.key_pem.c_str())});
      items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(impl.cert_pem.c_str())});
    }
    items.push_back({MHD_OPTION_END, 0, nullptr});
    // External polling: the loop below runs the daemon, so it can call after_pass between passes.
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
    if (tls) flags |= MHD_USE_TLS;
    loop->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::on_request_c, loop.get(),
                                    MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->daemon == nullptr || loop->epoll_fd < 0 || loop->wake_fd < 0) {
      error = loop->daemon == nullptr && tls
                  ? "cannot use cert_file '" + options.cert_file + "' with key_file '" + options.key_file +
                        "' (not PEM, or they do not match)"
                  : "cannot start the HTTP server on " + where;
      impl.loops.push_back(std::move(loop));
      return nullptr;  // the destructor stops what started
    }
    impl.loops.push_back(std::move(loop));
  }
  for (auto& loop : impl.loops) loop->thread = std::thread([&impl, l = loop.get()] { impl.run(*l); });
  return server;
}

void HttpDaemon::stop_accepting() {
  Impl& impl = *impl_;
  if (impl.closing.exchange(true)) return;
  // Each loop stops polling the socket itself; then shutting it down makes the kernel refuse new
  // connections (and reset the ones not yet accepted) instead of queueing them for nobody. Closed after
  // the daemons stop.
  std::size_t running = 0;
  for (auto& loop : impl.loops) {
    if (loop->thread.joinable()) {
      ++running;
      Impl::wake(*loop);
    }
  }
  std::unique_lock lock(impl.mu);
  impl.idle_cv.wait(lock, [&] { return impl.quiesced == running; });
  if (impl.listen_fd >= 0) shutdown(impl.listen_fd, SHUT_RDWR);
}

void HttpDaemon::wake(std::size_t loop) {
  if (loop < impl_->loops.size()) Impl::wake(*impl_->loops[loop]);
}

bool HttpDaemon::wait_idle(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  std::unique_lock lock(impl.mu);
  return impl.idle_cv.wait_for(lock, timeout, [&] { return impl.in_progress == 0; });
}

HttpDaemon::~HttpDaemon() {
  if (!impl_) return;
  Impl& impl = *impl_;
  stop_accepting();
  {
    // A suspended connection must be resumed before its daemon stops: wait for every owed answer (the loops
    // go on running meanwhile, to write them).
    std::unique_lock lock(impl.mu);
    impl.idle_cv.wait(lock, [&] { return impl.owed == 0; });
  }
  impl.stopping = true;
  for (auto& loop : impl.loops) {
    if (loop->wake_fd >= 0) Impl::wake(*loop);
  }
  for (auto& loop : impl.loops) {
    if (loop->thread.joinable()) loop->thread.join();
    if (loop->daemon != nullptr) MHD_stop_daemon(loop->daemon);
    for (const auto& a : loop->inbox) close(a.fd);  // handed over after the loop ended
    if (loop->epoll_fd >= 0) close(loop->epoll_fd);
    if (loop->wake_fd >= 0) close(loop->wake_fd);
  }
  if (impl.listen_fd >= 0) close(impl.listen_fd);
}

}  // namespace eventhooks::cli
