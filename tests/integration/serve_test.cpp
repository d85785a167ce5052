// `eventhooks serve` as clients and operators meet it: the real binary, real HTTP (libcurl), a real SQLite
// outbox and real webhook deliveries to an in-process HTTP server. Auth, body limits, bad input, idempotency,
// event status and retry, kill -9 and restart, SIGTERM drain, and /metrics read by Prometheus's own parser.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "eventhooks/outbox.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

using namespace std::chrono_literals;
using namespace eventhooks;
using Json = nlohmann::json;

namespace {

// Listed in scripts/check-test-secrets.sh: it must never appear in any test output or log.
constexpr const char* kApiKey = "ehk_serve_test_7Qm2vX9pL4";
constexpr const char* kWrongKey = "ehk_wrong_key_Zr81Kd0";
// The Standard Webhooks spec's example key: signing makes the WebHook send its webhook-id header.
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

struct Reply {
  long status = 0;  // 0: no answer (connection refused or cut)
  std::string body;
  std::string headers;
  Json json() const { return Json::parse(body); }
};

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One HTTP request with libcurl. `key`: the Bearer key, none when empty. `ca_file`: the CA that signed an
// HTTPS server's certificate (verified).
Reply http(const std::string& method, const std::string& url, const std::string& body = {},
           const std::string& content_type = "application/json", const std::string& key = kApiKey,
           const std::vector<std::string>& extra_headers = {}, const std::string& ca_file = {}) {
  CURL* curl = curl_easy_init();
  Reply reply;
  curl_slist* headers = nullptr;
  if (!content_type.empty()) headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  if (!key.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + key).c_str());
  for (const auto& h : extra_headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

// A TCP connection to the server at `base_url` ("http://127.0.0.1:PORT"), for requests curl would not send.
int connect_to(const std::string& base_url) {
  const int port = std::stoi(base_url.substr(base_url.rfind(':') + 1));
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads from a raw connection until `GET /healthz`'s answer is complete ("ok"), EOF, or 20 s without data.
std::string read_health_answer(int fd) {
  timeval wait{.tv_sec = 20, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  std::string answer;
  char buf[512];
  while (answer.find("\"ok\"") == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  return answer;
}

// A config with a `serve:` section, an outbox and `hooks` (YAML text under `hooks:`), and the serve process
// started on it: `eventhooks -v serve` on a free port, its log in the temp dir.
class ServeTest : public ::testing::Test {
 protected:
  void write_config(const std::string& hooks, const std::string& serve_extra = "") {
    std::ofstream(config_) << "serve:\n  api_keys: [" << kApiKey << "]\n"
                           << serve_extra << "outbox:\n  path: " << (dir_ / "outbox.db").string()
                           << "\nhooks:\n"
                           << hooks;
  }
  void file_hooks() {
    write_config("  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() +
                 "\n  ops:\n    type: FileHook\n    path: " + (dir_ / "ops.jsonl").string() +
                 "\n    realms: [ops]\n");
  }
  void webhook_to(const test::HttpTestServer& server) {
    write_config("  sink:\n    type: WebHook\n    url: " + server.url("/hook") + "\n    secret: " + kSecret +
                 "\n    retry: {initial_delay: 0.01, max_delay: 0.05}\n");
  }

  // Starts serve and waits for its "listening on" line; returns the base URL.
  std::string start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"-v", "serve", "-c", config_.string(), "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    log_ = dir_ / ("serve" + std::to_string(++runs_) + ".log");
    pid_ = test::spawn_cli(args, log_);
    std::string url;
    EXPECT_TRUE(eventually([&] {
      const std::string text = read_file(log_);
      const auto at = text.find("listening on http");  // http:// or https://
      if (at == std::string::npos) return false;
      url = text.substr(at + 13, text.find(' ', at + 13) - (at + 13));
      return true;
    })) << read_file(log_);
    base_ = url;
    return url;
  }
  // SIGTERM (or another signal) and reap; returns the exit status (128 + signal when killed).
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~ServeTest() override { stop(SIGKILL); }

  Reply post(const std::string& body, const std::vector<std::string>& headers = {}) {
    return http("POST", base_ + "/v1/events", body, "application/json", kApiKey, headers);
  }
  std::string all_logs() const {
    std::string text;
    for (int i = 1; i <= runs_; ++i) text += read_file(dir_ / ("serve" + std::to_string(i) + ".log"));
    return text;
  }
  std::size_t lines(const std::string& name) const {
    const std::string text = read_file(dir_ / name);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  }

  test::TempDir dir_;
  std::filesystem::path config_ = dir_ / "hooks.yaml";
  std::filesystem::path log_;
  std::string base_;
  pid_t pid_ = -1;
  int runs_ = 0;
};

}  // namespace

TEST_F(ServeTest, Auth_NoKeyAndWrongKeyAre401_RightKeyIs202_AndNoKeyIsEverLogged) {
  file_hooks();
  start();
  const Reply none = http("POST", base_ + "/v1/events", R"({"data": 1})", "application/json", "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(none.json()["error"]["code"], "unauthorized");
  const Reply wrong = http("POST", base_ + "/v1/events", R"({"data": 1})", "application/json", kWrongKey);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body.find(kWrongKey), std::string::npos);
  const Reply right = post(R"({"data": {"a": 1}})");
  ASSERT_EQ(right.status, 202) << right.body;
  EXPECT_EQ(right.json()["id"].get<std::string>().size(), 36u);
  EXPECT_EQ(right.json()["hooks"], Json({"sink"}));
  // The status routes need the key too.
  EXPECT_EQ(http("GET", base_ + "/v1/events/" + right.json()["id"].get<std::string>(), "", "", "").status,
            401);
  // A path with an encoded line break is logged on one line: no client can forge a log line.
  EXPECT_EQ(http("GET", base_ + "/x%0Aforged%20line", "", "", "").status, 404);
  EXPECT_EQ(stop(), 0);
  const std::string log = all_logs();
  EXPECT_EQ(log.find("\nforged line"), std::string::npos) << log;
  EXPECT_NE(log.find("GET /x?forged line 404"), std::string::npos) << log;
  EXPECT_NE(log.find("POST /v1/events 401"), std::string::npos) << "requests are logged at -v";
  EXPECT_EQ(log.find(kApiKey), std::string::npos);
  EXPECT_EQ(log.find(kWrongKey), std::string::npos);
}

TEST_F(ServeTest, KnownPathWithAnotherMethod_Is405NamingTheAllowedOne_UnknownPathIs404) {
  file_hooks();
  start();
  const std::string id = post(R"({"data": 1})").json()["id"];
  struct Case {
    std::string method, path, allowed;
  };
  for (const Case& c :
       {Case{"DELETE", "/v1/events", "POST"}, Case{"GET", "/v1/events", "POST"},
        Case{"POST", "/healthz", "GET"}, Case{"PUT", "/metrics", "GET"},
        Case{"DELETE", "/v1/events/" + id, "GET"}, Case{"GET", "/v1/events/" + id + "/retry", "POST"}}) {
    const Reply r = http(c.method, base_ + c.path, "", "");
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path << ": " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "method_not_allowed") << c.path;
    EXPECT_NE(r.headers.find("Allow: " + c.allowed + "\r\n"), std::string::npos) << c.path << "\n"
                                                                                 << r.headers;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find(c.method), std::string::npos) << r.body;
  }
  EXPECT_EQ(http("DELETE", base_ + "/v2/events").status, 404);
  EXPECT_EQ(http("GET", base_ + "/v1/events/" + id + "/other").status, 404);
  EXPECT_EQ(stop(), 0);
}

// serve.max_pending: while the outbox holds that many undelivered jobs, an event is refused with 503 and
// nothing is stored; jobs are counted, not events; once a worker has delivered them, events are taken again.
TEST_F(ServeTest, MaxPending_FullOutboxIs503NothingStored_TakenAgainOnceDelivered) {
  write_config("  a:\n    type: FileHook\n    path: " + (dir_ / "a.jsonl").string() +
                   "\n  b:\n    type: FileHook\n    path: " + (dir_ / "b.jsonl").string() + "\n",
               "  max_pending: 3\n");
  start({"--no-deliver"});
  ASSERT_EQ(post(R"({"data": 1})").status, 202);  // a and b: 2 jobs
  const Reply two_more = post(R"({"data": 2})");  // 2 + 2 > 3
  ASSERT_EQ(two_more.status, 503) << two_more.body;
  EXPECT_EQ(two_more.json()["error"]["code"], "outbox_full");
  EXPECT_NE(two_more.body.find("holds 2 undelivered jobs and this event has 2 (serve.max_pending is 3)"),
            std::string::npos)
      << two_more.body;
  EXPECT_NE(two_more.headers.find("Retry-After: 10\r\n"), std::string::npos) << two_more.headers;
  ASSERT_EQ(post(R"({"data": 3, "hooks": ["a"]})").status, 202);  // one job fits
  EXPECT_EQ(post(R"({"data": 4, "hooks": ["b"]})").status, 503);
  {
    auto outbox = open_sqlite_outbox({.path = (dir_ / "outbox.db").string()}).value();
    EXPECT_EQ(outbox->stats().value().pending, 3u);  // the refused events left nothing behind
  }
  // A worker delivers the backlog; within a few seconds serve has counted it and takes events again.
  const pid_t worker = test::spawn_cli({"worker", "--once", "-c", config_.string()}, dir_ / "worker.log");
  int status = -1;
  ASSERT_EQ(waitpid(worker, &status, 0), worker);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(dir_ / "worker.log");
  EXPECT_EQ(lines("a.jsonl") + lines("b.jsonl"), 3u);
  int answer = 0;
  for (int i = 0; i < 100 && answer != 202; ++i) {  // serve counts the outbox every second near the limit
    answer = post(R"({"data": 5})").status;
    if (answer != 202) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(answer, 202);
  const std::string metrics = http("GET", base_ + "/metrics").body;
  EXPECT_NE(metrics.find("eventhooks_ingest_http_requests_total{status=\"503\"}"), std::string::npos);
  EXPECT_EQ(stop(), 0);
}

TEST_F(ServeTest, BodyOverMaxBody_Is413WithAJsonError) {
  file_hooks();
  write_config("  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() + "\n",
               "  max_body: 1000\n");
  start();
  const Reply big = http("POST", base_ + "/v1/events", std::string(2000, 'x'), "text/plain");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.json()["error"]["code"], "too_large");
  EXPECT_EQ(http("POST", base_ + "/v1/events", std::string(900, 'x'), "text/plain").status, 202);
}

// Bodies over max_body that curl's plain POST does not send: chunked (no length known in advance), and a
// Content-Length so large the server answers before reading any of it.
TEST_F(ServeTest, ChunkedBodyOverMaxBody_Is413_HugeContentLengthIs413BeforeTheBody) {
  write_config("  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() + "\n",
               "  max_body: 1000\n");
  start();
  const Reply chunked = http("POST", base_ + "/v1/events", std::string(5000, 'x'), "text/plain", kApiKey,
                             {"Transfer-Encoding: chunked"});
  EXPECT_EQ(chunked.status, 413) << chunked.body;
  EXPECT_EQ(chunked.json()["error"]["code"], "too_large");

  const int fd = connect_to(base_);
  ASSERT_GE(fd, 0);
  const std::string head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           std::string(kApiKey) +
                           "\r\nContent-Type: text/plain\r\nContent-Length: 1000000000\r\n\r\n";
  ASSERT_EQ(write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("too_large"), std::string::npos) << answer;
  EXPECT_EQ(lines("sink.jsonl"), 0u);
}

// Many clients at once on kept-alive connections, as a load balancer sends them: each answered 202 with its
// own id, each stored exactly once (the answers of one group commit go back to the right connections).
TEST_F(ServeTest, ManyKeptAliveClientsAtOnce_EachGetsItsOwnIdAndEachEventIsStoredOnce) {
  file_hooks();
  start({"--no-deliver"});
  constexpr int kClients = 16, kEach = 40;
  std::mutex mu;
  std::map<std::string, std::string> sent;  // id -> the data it was sent with
  std::vector<std::string> problems;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      CURL* curl = curl_easy_init();  // one handle: one kept-alive connection
      curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
      headers = curl_slist_append(headers, (std::string("Authorization: Bearer ") + kApiKey).c_str());
      for (int i = 0; i < kEach; ++i) {
        const std::string data = std::to_string(c) + "-" + std::to_string(i);
        const std::string body = R"({"data": ")" + data + R"("})";
        std::string out;
        curl_easy_setopt(curl, CURLOPT_URL, (base_ + "/v1/events").c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        std::lock_guard lock(mu);
        if (status != 202) {
          problems.push_back(data + ": HTTP " + std::to_string(status) + " " + out);
          continue;
        }
        const std::string id = Json::parse(out)["id"];
        if (!sent.emplace(id, data).second) problems.push_back("id " + id + " answered twice");
      }
      curl_slist_free_all(headers);
      curl_easy_cleanup(curl);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_TRUE(problems.empty()) << problems.front();
  ASSERT_EQ(sent.size(), static_cast<std::size_t>(kClients * kEach));
  EXPECT_EQ(stop(), 0);
  auto outbox = open_sqlite_outbox({.path = (dir_ / "outbox.db").string()}).value();
  EXPECT_EQ(outbox->stats().value().pending, sent.size());
  for (const auto& [id, data] : sent) {
    const auto jobs = outbox->event_jobs(id).value();
    ASSERT_EQ(jobs.size(), 1u) << id;
    EXPECT_EQ(jobs[0].event.payload.text(), data) << id;  // the answer went to the request it belongs to
  }
}

// Connections are dealt to the event loops in turn, whichever loop accepts them: 8 connections opened at once
// to 4 loops give each loop exactly 2 (the access log at -v names the loop that answered).
TEST_F(ServeTest, ConnectionsOpenedAtOnce_AreDealtToEveryEventLoopInTurn) {
  write_config("  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() + "\n",
               "  threads: 4\n");
  start({"--no-deliver"});
  constexpr int kConnections = 8;
  std::vector<int> fds;
  for (int i = 0; i < kConnections; ++i) {
    fds.push_back(connect_to(base_));
    ASSERT_GE(fds.back(), 0);
  }
  const std::string body = R"({"data": "x"})";
  const std::string request =
      "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + std::string(kApiKey) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
      body;
  for (int fd : fds) {
    ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    std::string answer;
    char buf[1024];
    while (answer.find("\"hooks\"") == std::string::npos) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << answer;
      answer.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_EQ(answer.rfind("HTTP/1.1 202", 0), 0u) << answer;
  }
  for (int fd : fds) close(fd);
  EXPECT_EQ(stop(), 0);
  const std::string log = read_file(log_);
  for (int loop = 0; loop < 4; ++loop) {
    const std::string line = "POST /v1/events 202 (loop " + std::to_string(loop) + ")";
    std::size_t count = 0;
    for (auto at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) ++count;
    EXPECT_EQ(count, 2u) << line << "\n" << log;
  }
}

// serve.idle_timeout: a kept-alive connection that sends nothing more is closed by the server; one that
// keeps sending is not.
TEST_F(ServeTest, IdleTimeout_ClosesAnIdleKeptAliveConnection_NotABusyOne) {
  write_config("  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() + "\n",
               "  idle_timeout: 1\n");
  start({"--no-deliver"});
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  auto ask = [&](int fd) {
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
      return std::string();
    return read_health_answer(fd);
  };
  const int idle = connect_to(base_), busy = connect_to(base_);
  ASSERT_GE(idle, 0);
  ASSERT_GE(busy, 0);
  EXPECT_EQ(ask(idle).rfind("HTTP/1.1 200", 0), 0u);
  const auto start_time = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start_time < 2500ms) {  // the busy one asks every 300 ms
    EXPECT_EQ(ask(busy).rfind("HTTP/1.1 200", 0), 0u);
    std::this_thread::sleep_for(300ms);
  }
  timeval wait{.tv_sec = 5, .tv_usec = 0};
  setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  char byte = 0;
  EXPECT_EQ(recv(idle, &byte, 1, 0), 0) << "the idle connection was closed by the server (EOF)";
  EXPECT_EQ(ask(busy).rfind("HTTP/1.1 200", 0), 0u) << "the busy connection is still open";
  close(idle);
  close(busy);
  EXPECT_EQ(stop(), 0);
}

// Out of descriptors (EMFILE): the connections beyond the limit wait in the backlog, serve warns once (not
// every 100 ms per loop), keeps answering the connections it has, and accepts the waiting ones as soon as
// descriptors are free again. The limit is lowered on the running process (prlimit), so exactly
// `kAccepted` more descriptors are left.
TEST_F(ServeTest, OutOfDescriptors_ConnectionsWaitInTheBacklog_OneWarning_AcceptedOnceSomeClose) {
  write_config("  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() + "\n",
               "  threads: 2\n");
  start({"--no-deliver"});
  constexpr int kAccepted = 3, kWaiting = 4;
  const std::string fd_dir = "/proc/" + std::to_string(pid_) + "/fd";
  auto count_fds = [&] {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(fd_dir)) n += entry.path().empty() ? 0 : 1;
    return n;
  };
  // Serve is listening with every descriptor it keeps open (no connection yet): the count is steady.
  int open_fds = count_fds();
  ASSERT_TRUE(eventually([&] {
    std::this_thread::sleep_for(100ms);
    const int now = count_fds();
    return std::exchange(open_fds, now) == now;
  }));
  // RLIMIT_NOFILE bounds the descriptor numbers: with every open one below the new limit, the kernel hands
  // out exactly limit - open_fds more.
  const rlimit limit{.rlim_cur = static_cast<rlim_t>(open_fds + kAccepted),
                     .rlim_max = static_cast<rlim_t>(open_fds + kAccepted)};
  int max_fd = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fd_dir))
    max_fd = std::max(max_fd, std::stoi(entry.path().filename().string()));
  ASSERT_LT(max_fd, open_fds + kAccepted);
  ASSERT_EQ(prlimit(pid_, RLIMIT_NOFILE, &limit, nullptr), 0) << std::strerror(errno);

  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  // One at a time, so the backlog's order is the order of `fds`: the first kAccepted get descriptors.
  std::vector<int> fds;
  for (int i = 0; i < kAccepted + kWaiting; ++i) {
    fds.push_back(connect_to(base_));
    ASSERT_GE(fds.back(), 0);
    ASSERT_EQ(send(fds.back(), request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    if (i < kAccepted)
      EXPECT_EQ(read_health_answer(fds.back()).rfind("HTTP/1.1 200", 0), 0u) << "connection " << i;
  }
  const std::string warning = "cannot accept connections: Too many open files";
  ASSERT_TRUE(eventually([&] { return read_file(log_).find(warning) != std::string::npos; }))
      << read_file(log_);
  // A second's worth of retries (every 100 ms in each loop): still the one warning, nothing answered.
  std::this_thread::sleep_for(1s);
  for (int i = kAccepted; i < kAccepted + kWaiting; ++i) {
    pollfd p{.fd = fds[i], .events = POLLIN, .revents = 0};
    EXPECT_EQ(poll(&p, 1, 0), 0) << "connection " << i << " was answered past the descriptor limit";
  }
  // The kept-alive connections serve has are still served.
  EXPECT_EQ(send(fds[0], request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  EXPECT_EQ(read_health_answer(fds[0]).rfind("HTTP/1.1 200", 0), 0u);
  // Closing them frees descriptors: the waiting connections are accepted and answered.
  for (int i = 0; i < kAccepted; ++i) close(fds[i]);
  for (int i = kAccepted; i < kAccepted + kWaiting; ++i) {
    EXPECT_EQ(read_health_answer(fds[i]).rfind("HTTP/1.1 200", 0), 0u) << "connection " << i;
    close(fds[i]);
  }
  EXPECT_EQ(stop(), 0);
  const std::string log = read_file(log_);
  std::size_t warnings = 0;
  for (auto at = log.find(warning); at != std::string::npos; at = log.find(warning, at + 1)) ++warnings;
  EXPECT_EQ(warnings, 1u) << log;
}

TEST_F(ServeTest, Tls_ServesHttpsWithTheConfiguredCertificate_PlainHttpGetsNoAnswer) {
  const auto certs = test::make_test_certificates(dir_.path());
  write_config(
      "  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() + "\n",
      "  cert_file: " + certs.cert_file.string() + "\n  key_file: " + certs.key_file.string() + "\n");
  const std::string url = start();
  ASSERT_EQ(url.rfind("https://", 0), 0u) << url;
  const Reply tls = http("POST", url + "/v1/events", R"({"data": "over tls"})", "application/json", kApiKey,
                         {}, certs.ca_file);
  EXPECT_EQ(tls.status, 202) << tls.body;
  EXPECT_TRUE(eventually([&] { return lines("sink.jsonl") == 1; }));  // and delivered
  // The same port in plain HTTP: no HTTP answer.
  const std::string plain = "http://" + url.substr(std::string("https://").size());
  EXPECT_EQ(http("GET", plain + "/healthz").status, 0);
  EXPECT_EQ(stop(), 0);
}

// A certificate and a key that do not belong together: exit 3 naming both files, before listening.
TEST_F(ServeTest, Tls_KeyOfAnotherCertificate_Exits3NamingBothFiles) {
  const auto certs = test::make_test_certificates(dir_.path());
  write_config("  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() + "\n",
               "  cert_file: " + certs.cert_file.string() +
                   "\n  key_file: " + certs.wrong_name_key_file.string() + "\n");
  log_ = dir_ / "serve1.log";
  runs_ = 1;
  pid_ = test::spawn_cli({"serve", "-c", config_.string(), "--listen", "127.0.0.1:0"}, log_);
  int status = 0;
  ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
  pid_ = -1;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  const std::string log = read_file(log_);
  EXPECT_NE(log.find("cert_file '" + certs.cert_file.string() + "'"), std::string::npos) << log;
  EXPECT_NE(log.find("key_file '" + certs.wrong_name_key_file.string() + "'"), std::string::npos) << log;
  EXPECT_EQ(log.find("listening on"), std::string::npos) << log;
}

TEST_F(ServeTest, BadJson_Is400NamingTheByte) {
  file_hooks();
  start();
  const Reply r = post(R"({"data": [1, })");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"]["code"], "bad_json");
  EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("byte 14"), std::string::npos) << r.body;
  // Well-formed, but a number no double holds: still the client's mistake, not a 500.
  const Reply overflow = post(R"({"data": {"n": 1e999}})");
  EXPECT_EQ(overflow.status, 400) << overflow.body;
  EXPECT_EQ(overflow.json()["error"]["code"], "bad_json");
  EXPECT_NE(overflow.body.find("1e999"), std::string::npos) << overflow.body;
  EXPECT_EQ(post(R"({"data": 1, "colour": "red"})").status, 400);  // unknown key
  EXPECT_EQ(post(R"({"name": "x"})").status, 400);                 // no data
  const Reply no_hooks = post(R"({"data": 1, "hooks": []})");      // not "every hook"
  EXPECT_EQ(no_hooks.status, 400) << no_hooks.body;
  EXPECT_NE(no_hooks.body.find("'hooks' is empty"), std::string::npos) << no_hooks.body;
}

TEST_F(ServeTest, WrongContentType_Is415_PlainTextIsTheData) {
  file_hooks();
  start();
  EXPECT_EQ(http("POST", base_ + "/v1/events", "<a/>", "application/xml").status, 415);
  const Reply text = http("POST", base_ + "/v1/events", "disk full", "text/plain; charset=utf-8");
  ASSERT_EQ(text.status, 202) << text.body;
  ASSERT_TRUE(eventually([&] { return lines("sink.jsonl") == 1; }));
  EXPECT_EQ(Json::parse(read_file(dir_ / "sink.jsonl"))["data"], "disk full");
}

// A body that is not UTF-8 is refused with the byte that is wrong, never altered, and nothing is stored. One
// such text/plain request used to end `serve` (an exception on the event loop's thread).
TEST_F(ServeTest, BodyNotUtf8_Is400NamingTheByte_OtherCharsetIs415_NothingStored_ServerGoesOn) {
  file_hooks();
  start();
  const Reply latin1 = http("POST", base_ + "/v1/events", "caf\xe9 au lait", "text/plain");
  ASSERT_EQ(latin1.status, 400) << latin1.body;
  EXPECT_EQ(latin1.json()["error"]["code"], "bad_text");
  EXPECT_NE(latin1.json()["error"]["message"].get<std::string>().find("(byte 3)"), std::string::npos)
      << latin1.body;
  // Overlong, surrogate, beyond U+10FFFF, cut short: each is not UTF-8.
  for (const std::string bad : {"a\xc0\xaf", "a\xed\xa0\x80", "a\xf4\x90\x80\x80", "a\xe2\x82"}) {
    const Reply r = http("POST", base_ + "/v1/events", bad, "text/plain");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("(byte 1)"), std::string::npos) << r.body;
  }
  const Reply charset = http("POST", base_ + "/v1/events", "caf\xe9", "text/plain; charset=ISO-8859-1");
  EXPECT_EQ(charset.status, 415) << charset.body;
  EXPECT_NE(charset.body.find("ISO-8859-1"), std::string::npos) << charset.body;
  // JSON is UTF-8 (RFC 8259): a JSON body declared in another charset is refused, whatever its bytes.
  const Reply utf16 =
      http("POST", base_ + "/v1/events", R"({"data": 1})", "application/json; charset=utf-16");
  EXPECT_EQ(utf16.status, 415) << utf16.body;
  EXPECT_NE(utf16.body.find("JSON body must be UTF-8, not charset 'utf-16'"), std::string::npos)
      << utf16.body;
  // In JSON too (nlohmann's parser checks the strings).
  EXPECT_EQ(post("{\"data\": \"caf\xe9\"}").json()["error"]["code"], "bad_json");
  EXPECT_EQ(post("{\"data\": \"caf\xe9\"}").status, 400);
  ASSERT_EQ(http("POST", base_ + "/v1/events", R"({"data": 2})", "application/json; charset=UTF-8").status,
            202);
  // The server is still there, and the good bodies after the bad ones are the only events stored.
  const std::string good = "caf\xc3\xa9 \xf0\x9f\x9a\x80 \xe2\x82\xac";
  ASSERT_EQ(http("POST", base_ + "/v1/events", good, "text/plain; charset=\"UTF-8\"").status, 202);
  ASSERT_TRUE(eventually([&] { return lines("sink.jsonl") == 2; }));
  std::multiset<std::string> stored;
  std::istringstream sink(read_file(dir_ / "sink.jsonl"));
  for (std::string line; std::getline(sink, line);) stored.insert(Json::parse(line)["data"].dump());
  EXPECT_EQ(stored, (std::multiset<std::string>{"2", Json(good).dump()}));
  auto outbox = open_sqlite_outbox({.path = (dir_ / "outbox.db").string()}).value();
  EXPECT_EQ(outbox->stats().value().pending + outbox->stats().value().in_flight, 0u);
  EXPECT_EQ(stop(), 0);
}

// 3000 requests made at random (seeded) from the inputs that broke or nearly broke serve: bodies that are
// not UTF-8, numbers beyond a double, deep nesting, empty hook lists, odd content types and charsets, wrong
// keys, chunked bodies, unknown routes and methods, odd idempotency keys. None gets a 5xx, every one gets an
// HTTP answer, the handler never fails, and serve is still up and stops cleanly.
TEST_F(ServeTest, RandomRequests_NoneGetsA5xx_EveryOneIsAnswered_ServerStaysUp) {
  write_config("  sink:\n    type: FileHook\n    path: " + (dir_ / "sink.jsonl").string() +
                   "\n  ops:\n    type: FileHook\n    path: " + (dir_ / "ops.jsonl").string() +
                   "\n    realms: [ops]\n",
               "  max_body: 16384\n");  // below the largest body of the mix
  start();
  const std::string port = base_.substr(base_.rfind(':') + 1);
  std::string out;
  ASSERT_EQ(
      test::run_command("/usr/bin/python3 " EVENTHOOKS_SOURCE_DIR "/tests/support/serve_random_requests.py " +
                            port + " " + kApiKey + " 20261202 3000",
                        &out),
      0)
      << out;
  const Json result = Json::parse(out.substr(out.find('{')));
  EXPECT_EQ(result["server_errors"], Json::array()) << out;
  EXPECT_EQ(result["unanswered"], 0) << out;
  // The mix reached the routes that matter: events stored, and every kind of refusal.
  for (const char* status : {"202", "400", "401", "404", "405", "413", "415", "422"})
    EXPECT_GT(result["statuses"].value(status, 0), 0) << status << " never answered: " << out;
  EXPECT_EQ(http("GET", base_ + "/healthz").status, 200);
  EXPECT_EQ(stop(), 0);
  EXPECT_EQ(read_file(log_).find("request handler failed"), std::string::npos) << read_file(log_);
  EXPECT_EQ(read_file(log_).find(" error "), std::string::npos) << read_file(log_);
}

TEST_F(ServeTest, UnknownHookOrRealm_Is422AndNothingStored) {
  file_hooks();
  start();
  const Reply hook = post(R"({"data": 1, "hooks": ["sink", "nope"]})");
  EXPECT_EQ(hook.status, 422);
  EXPECT_EQ(hook.json()["error"]["code"], "unknown_hook");
  EXPECT_NE(hook.body.find("'nope'"), std::string::npos);
  // `sink` has no realms, so it fires for any realm: with only `ops`, an unknown realm selects nothing.
  write_config("  ops:\n    type: FileHook\n    path: " + (dir_ / "ops.jsonl").string() +
               "\n    realms: [ops]\n");
  EXPECT_EQ(stop(), 0);
  start();
  const Reply realm = post(R"({"data": 1, "realm": "nowhere"})");
  EXPECT_EQ(realm.status, 422);
  EXPECT_EQ(realm.json()["error"]["code"], "unknown_realm");
  const Reply ops = post(R"({"data": 1, "realm": "ops"})");
  EXPECT_EQ(ops.status, 202);
  EXPECT_EQ(ops.json()["hooks"], Json({"ops"}));
  EXPECT_EQ(stop(), 0);
  auto outbox = open_sqlite_outbox({.path = (dir_ / "outbox.db").string()}).value();
  EXPECT_EQ(outbox->event_jobs(ops.json()["id"]).value().size(), 1u);  // only the accepted one
}

TEST_F(ServeTest, IdempotencyKey_SecondRequestGetsTheFirstAnswerAndNothingIsStoredTwice) {
  file_hooks();
  start();
  const Reply first = post(R"({"data": {"n": 1}})", {"Idempotency-Key: order-42"});
  ASSERT_EQ(first.status, 202) << first.body;
  const Reply again = post(R"({"data": {"n": 1}})", {"Idempotency-Key: order-42"});
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(again.body, first.body);
  EXPECT_NE(again.headers.find("Idempotent-Replayed: true"), std::string::npos) << again.headers;
  const Reply other = post(R"({"data": {"n": 1}})", {"Idempotency-Key: order-43"});
  EXPECT_NE(other.json()["id"], first.json()["id"]);
  ASSERT_TRUE(eventually([&] { return lines("sink.jsonl") == 2; }));
  EXPECT_EQ(stop(), 0);
  // Across a restart too: the key is in the outbox, not in memory.
  start();
  EXPECT_EQ(post(R"({"data": {"n": 1}})", {"Idempotency-Key: order-42"}).body, first.body);
  EXPECT_EQ(stop(), 0);
  EXPECT_EQ(lines("sink.jsonl"), 2u);
}

TEST_F(ServeTest, EventStatus_DeadThenRetriedThenDelivered) {
  test::HttpTestServer server;
  server.respond({.status = 404, .body = "no such hook"});
  webhook_to(server);
  start();
  const Reply posted = post(R"({"name": "deploy", "realm": "prod", "data": {"v": 3}})");
  ASSERT_EQ(posted.status, 202) << posted.body;
  const std::string url = base_ + "/v1/events/" + posted.json()["id"].get<std::string>();
  Json status;
  ASSERT_TRUE(eventually([&] {
    status = http("GET", url).json();
    return status["deliveries"][0]["state"] == "dead";
  })) << status.dump();
  EXPECT_EQ(status["name"], "deploy");
  EXPECT_EQ(status["realm"], "prod");
  EXPECT_EQ(status["data"], Json({{"v", 3}}));
  const Json& d = status["deliveries"][0];
  EXPECT_EQ(d["hook"], "sink");
  EXPECT_EQ(d["attempts"], 1);
  EXPECT_NE(d["last_error"].get<std::string>().find("404"), std::string::npos) << d.dump();

  server.respond({.status = 200});
  const Reply retried = http("POST", url + "/retry", "", "");
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(retried.json()["requeued"], 1);
  ASSERT_TRUE(eventually([&] { return http("GET", url).json()["deliveries"][0]["state"] == "delivered"; }));
  EXPECT_EQ(server.requests().back().header("webhook-id"), posted.json()["id"]);
  EXPECT_EQ(http("GET", base_ + "/v1/events/01900000-0000-7000-8000-000000000000").status, 404);
}

// The same API on the RabbitMQ outbox (docs/scale-out.md): every 202 is a confirmed publish, serve's own
// workers consume and deliver; per-event status and retry need the SQLite outbox's index and answer 501 here.
TEST_F(ServeTest, RabbitMqOutbox_AcknowledgedEventsAreDeliveredFromTheQueue_StatusRoutesAre501) {
  test::HttpTestServer server;
  const std::string broker = "amqp://" + test::require_env("EVENTHOOKS_AMQP_USER") + ":" +
                             test::require_env("EVENTHOOKS_AMQP_PASSWORD") + "@" +
                             test::require_env("EVENTHOOKS_AMQP_HOST") + ":" +
                             test::require_env("EVENTHOOKS_AMQP_PORT") + "/";
  std::ofstream(config_) << "serve:\n  api_keys: [" << kApiKey << "]\noutbox:\n  url: " << broker
                         << "\n  queue: eventhooks-serve-" << new_event_id() << "\nhooks:\n  sink:\n"
                         << "    type: WebHook\n    url: " << server.url("/hook")
                         << "\n    secret: " << kSecret << "\n";
  start();
  std::set<std::string> acknowledged;
  for (int i = 0; i < 20; ++i) {
    const Reply r = post(R"({"name": "deploy", "data": {"n": )" + std::to_string(i) + "}}");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(r.json()["hooks"], Json({"sink"}));
    acknowledged.insert(r.json()["id"].get<std::string>());
  }
  ASSERT_TRUE(server.wait_for_requests(20, 20s)) << server.request_count() << " of 20 delivered";
  std::set<std::string> delivered;
  for (const auto& r : server.requests()) delivered.insert(r.header("webhook-id"));
  EXPECT_EQ(delivered, acknowledged);
  const std::string url = base_ + "/v1/events/" + *acknowledged.begin();
  const Reply status = http("GET", url);
  EXPECT_EQ(status.status, 501) << status.body;
  EXPECT_EQ(status.json()["error"]["code"], "unsupported");
  EXPECT_EQ(http("POST", url + "/retry", "", "").status, 501);
  EXPECT_EQ(stop(), 0);
  EXPECT_EQ(all_logs().find(test::require_env("EVENTHOOKS_AMQP_PASSWORD")), std::string::npos)
      << "the broker password was logged";
}

TEST_F(ServeTest, Kill9ThenRestart_EveryAcknowledgedEventIsDelivered) {
  test::HttpTestServer server;
  webhook_to(server);
  start();
  // Clients post until the server dies under them; only what got a 202 is acknowledged.
  constexpr int kClients = 4;
  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<bool> dead{false};
  std::atomic<int> unanswered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !dead; ++i) {
        const Reply r = post(Json{{"data", {{"client", c}, {"n", i}}}}.dump());
        if (r.status != 202) {
          ++unanswered;
          return;
        }
        std::lock_guard lock(mu);
        acked.insert(r.json()["id"].get<std::string>());
      }
    });
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return acked.size() >= 300;
  }));
  EXPECT_EQ(stop(SIGKILL), 128 + SIGKILL);
  dead = true;
  for (auto& t : clients) t.join();

  start();
  auto received = [&] {
    std::map<std::string, int> ids;
    for (const auto& r : server.requests()) ++ids[r.header("webhook-id")];
    return ids;
  };
  ASSERT_TRUE(eventually(
      [&] {
        const auto ids = received();
        return std::all_of(acked.begin(), acked.end(), [&](const std::string& id) { return ids.count(id); });
      },
      60s))
      << "acknowledged events missing after the restart";
  // Beyond the acknowledged ones only events whose 202 the kill cut off (stored, never answered), one per
  // client at most.
  std::size_t extra = 0;
  for (const auto& [id, n] : received()) extra += acked.count(id) ? 0 : 1;
  EXPECT_LE(extra, static_cast<std::size_t>(unanswered.load()));
  EXPECT_EQ(stop(), 0);
}

TEST_F(ServeTest, Sigterm_AnswersTheRequestInProgressFinishesDeliveriesAndExitsZero) {
  test::HttpTestServer server;
  server.respond({.status = 200, .delay = 500ms});
  webhook_to(server);
  const std::string url = start();
  const std::string id = post(R"({"data": "in flight"})").json()["id"];
  ASSERT_TRUE(server.wait_for_requests(1, 10s));  // its delivery is waiting for the slow endpoint

  // A request half sent when SIGTERM arrives.
  const int fd = connect_to(url);
  ASSERT_GE(fd, 0);
  const std::string body = R"({"data": "half sent"})";
  const std::string head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           std::string(kApiKey) +
                           "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n";
  ASSERT_EQ(write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
  // "100 Continue": the server has read the headers, so this request is in progress when SIGTERM comes.
  char buf[4096];
  const ssize_t got = read(fd, buf, sizeof buf);
  ASSERT_GT(got, 0);
  ASSERT_EQ(std::string(buf, static_cast<std::size_t>(got)).rfind("HTTP/1.1 100", 0), 0u);
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  // The listener closes: new connections are refused while the old one is still served.
  ASSERT_TRUE(eventually([&] { return http("GET", url + "/healthz").status == 0; }));
  ASSERT_EQ(write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
  std::string answer;
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  close(fd);
  ASSERT_EQ(answer.rfind("HTTP/1.1 202", 0), 0u) << answer;
  const std::string late = Json::parse(answer.substr(answer.find("\r\n\r\n") + 4))["id"];

  int status = 0;
  ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
  pid_ = -1;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The delivery in flight finished; the event answered during the drain is stored: delivered already, or
  // pending for the next start, never left claimed.
  auto outbox = open_sqlite_outbox({.path = (dir_ / "outbox.db").string()}).value();
  EXPECT_EQ(outbox->event_jobs(id).value().at(0).state, Job::State::delivered);
  const auto drained = outbox->event_jobs(late).value();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_TRUE(drained[0].state == Job::State::delivered || drained[0].state == Job::State::pending)
      << to_string(drained[0].state);
  EXPECT_EQ(outbox->stats().value().in_flight, 0u);
}

namespace {

// Checks `text` with `promtool check metrics`, then reads it with the Python prometheus_client parser
// (tests/support/parse_prometheus.py): every sample as "name{label=value,...}" -> value.
std::map<std::string, double> parse_metrics(const test::TempDir& dir, const std::string& text) {
  const auto file = dir / "metrics.txt";
  std::ofstream(file) << text;
  std::string out;
  EXPECT_EQ(test::run_command("promtool check metrics < '" + file.string() + "'", &out), 0) << out << text;
  EXPECT_EQ(
      test::run_command("/usr/bin/python3 " EVENTHOOKS_SOURCE_DIR "/tests/support/parse_prometheus.py '" +
                            file.string() + "'",
                        &out),
      0)
      << out << text;
  std::map<std::string, double> samples;
  for (const auto& s : Json::parse(out)) {
    std::string key = s["name"];
    std::string labels;
    for (const auto& [k, v] : s["labels"].items())
      labels += (labels.empty() ? "" : ",") + k + "=" + v.get<std::string>();
    if (!labels.empty()) key += "{" + labels + "}";
    samples[key] = s["value"];
  }
  return samples;
}

}  // namespace

TEST_F(ServeTest, Metrics_PassPromtoolAndCountWhatWasSent) {
  file_hooks();
  start();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(post(R"({"data": 1})").status, 202);
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(http("POST", base_ + "/v1/events", "{}", "application/json", "").status, 401);
  EXPECT_EQ(post(R"({"data": 1, "hooks": ["nope"]})").status, 422);
  EXPECT_EQ(http("GET", base_ + "/healthz").status, 200);
  const Reply ready = http("GET", base_ + "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  ASSERT_TRUE(eventually([&] { return lines("sink.jsonl") == 3; }));
  const Reply metrics = http("GET", base_ + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  auto samples = parse_metrics(dir_, metrics.body);
  EXPECT_EQ(samples["eventhooks_ingest_events_accepted_total"], 3.0);
  EXPECT_EQ(samples["eventhooks_ingest_http_requests_total{status=202}"], 3.0);
  EXPECT_EQ(samples["eventhooks_ingest_http_requests_total{status=401}"], 2.0);
  EXPECT_EQ(samples["eventhooks_ingest_http_requests_total{status=422}"], 1.0);
  // healthz, readyz and this scrape itself
  EXPECT_EQ(samples["eventhooks_ingest_http_requests_total{status=200}"], 3.0);
  // The delivery engine's own families, from the same Dispatcher as `eventhooks worker`.
  EXPECT_EQ(samples["eventhooks_deliveries_total{error_code=,hook=sink,outcome=delivered,type=FileHook}"],
            3.0);
  EXPECT_EQ(samples["eventhooks_outbox_jobs{state=pending}"], 0.0);
  // POST /v1/events durations, by status: every answer observed once, the 202s after their commit.
  EXPECT_EQ(samples["eventhooks_ingest_event_duration_seconds_count{status=202}"], 3.0);
  EXPECT_EQ(samples["eventhooks_ingest_event_duration_seconds_bucket{le=+Inf,status=202}"], 3.0);
  EXPECT_GT(samples["eventhooks_ingest_event_duration_seconds_sum{status=202}"], 0.0);
  EXPECT_EQ(samples["eventhooks_ingest_event_duration_seconds_count{status=401}"], 2.0);
  EXPECT_EQ(samples["eventhooks_ingest_event_duration_seconds_count{status=422}"], 1.0);
  EXPECT_EQ(samples.count("eventhooks_ingest_event_duration_seconds_count{status=200}"), 0u);  // not a POST
}

TEST_F(ServeTest, WorkerMetricsOption_ServesTheEngineFamilies) {
  file_hooks();
  {
    auto outbox = open_sqlite_outbox({.path = (dir_ / "outbox.db").string()}).value();
    ASSERT_TRUE(outbox->enqueue(Event::make("e", Payload("x")), {"sink"}).ok());
  }
  const auto log = dir_ / "worker.log";
  pid_ = test::spawn_cli({"worker", "-c", config_.string(), "--metrics", "127.0.0.1:0"}, log);
  std::string url;
  ASSERT_TRUE(eventually([&] {
    const std::string text = read_file(log);
    const auto at = text.find("metrics on http://");
    if (at == std::string::npos) return false;
    url = text.substr(at + 11, text.find(' ', at + 11) - (at + 11));
    url = url.substr(0, url.find('\n'));
    return true;
  })) << read_file(log);
  ASSERT_TRUE(eventually([&] { return lines("sink.jsonl") == 1; }));
  const Reply metrics = http("GET", url, "", "", "");
  ASSERT_EQ(metrics.status, 200) << url;
  auto samples = parse_metrics(dir_, metrics.body);
  EXPECT_EQ(samples["eventhooks_deliveries_total{error_code=,hook=sink,outcome=delivered,type=FileHook}"],
            1.0);
  EXPECT_EQ(samples.count("eventhooks_ingest_events_accepted_total"), 0u);  // a worker ingests nothing
  EXPECT_EQ(stop(), 0);
}
