// The delivery engine against real servers and real processes: an in-process HTTP server that goes down and
// comes back, answers 4xx or 503 + Retry-After, or is slow; and `eventhooks worker` killed with SIGKILL in
// the middle of a 10,000-event backlog.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "eventhooks/dispatcher.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

using namespace std::chrono_literals;
using namespace eventhooks;

namespace {

// The example key of the Standard Webhooks spec: signing makes the WebHook send its webhook-id header.
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::shared_ptr<WebHook> webhook(const std::string& name, const std::string& url,
                                 std::chrono::milliseconds timeout = 10s) {
  return std::make_shared<WebHook>(WebHookOptions{.common = {.name = name},
                                                  .url = url,
                                                  .secret = kSecret,
                                                  .http = {.timeouts = {.connect = 2s, .total = timeout}}});
}

// A bare server on a given port, for "the endpoint comes back on the same address".
class RevivedServer {
 public:
  explicit RevivedServer(int port) {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      ids_.push_back(req.get_header_value("webhook-id"));
      res.set_content("ok", "text/plain");
    });
    if (!server_.bind_to_port("127.0.0.1", port)) throw std::runtime_error("port taken meanwhile");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~RevivedServer() {
    server_.stop();
    thread_.join();
  }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    return ids_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> ids_;
};

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string cli() {
  return EVENTHOOKS_CLI;
}

using test::spawn_cli;

}  // namespace

TEST(Delivery_Outage, EndpointDownThenUp_EveryEventDeliveredAndTheDispatcherIdlesMeanwhile) {
  const int port = test::closed_port();
  // poll_interval of an hour: any extra claim would come from a hot loop, not from the periodic poll.
  Dispatcher d({.workers = 2, .poll_interval = std::chrono::hours(1)});
  d.add_hook(webhook("down", "http://127.0.0.1:" + std::to_string(port) + "/hook"),
             RetryPolicy{.max_attempts = 1000, .initial_delay = 20ms, .max_delay = 200ms});
  std::set<std::string> fired;
  for (int i = 0; i < 20; ++i) fired.insert(d.fire(Payload(nlohmann::json{{"n", i}})).value());
  // Every event fails at least twice against the closed port...
  ASSERT_TRUE(eventually([&] { return d.metrics().failed >= 40; }))
      << d.metrics().to_string() << " polls=" << d.metrics().polls;
  EXPECT_EQ(d.metrics().delivered, 0u);
  // ...then the endpoint comes back on the same address.
  RevivedServer server(port);
  ASSERT_TRUE(d.flush(60s));
  const auto ids = server.ids();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), fired);
  const auto m = d.metrics();
  EXPECT_EQ(m.delivered, 20u);
  EXPECT_EQ(m.dead, 0u);
  // Idle while waiting: claims are bounded by the work done (fires, attempts, due retries), not by time.
  EXPECT_LE(m.polls, 3 * m.attempts + 20 + 8) << m.to_string() << " polls=" << m.polls;
}

TEST(Delivery_Http4xx, ClientError_IsDeadLetteredAfterOneAttempt) {
  test::HttpTestServer server;
  server.respond({.status = 400, .body = "bad payload"});
  Dispatcher d;
  d.add_hook(webhook("strict", server.url("/hook")), RetryPolicy{.initial_delay = 1ms});
  const auto id = d.fire(Payload(nlohmann::json{{"a", 1}})).value();
  ASSERT_TRUE(d.flush(20s));
  EXPECT_EQ(server.request_count(), 1u);
  auto dead = d.outbox()->list({.which = JobFilter::Which::dead}).value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].event.id, id);
  EXPECT_EQ(dead[0].attempts, 1);
  EXPECT_NE(dead[0].dead_reason.find("400"), std::string::npos) << dead[0].dead_reason;
  EXPECT_EQ(d.metrics().retried, 0u);
}

TEST(Delivery_RetryAfter, Http503WithRetryAfter_NextAttemptWaitsWhatTheServerAsked) {
  test::HttpTestServer server;
  server.respond({.status = 503, .headers = {{"Retry-After", "2"}}, .body = "busy"});
  Dispatcher d;
  // Our own backoff would retry after 1 ms; the server asked for 2 s.
  d.add_hook(webhook("busy", server.url("/hook")),
             RetryPolicy{.max_attempts = 5, .initial_delay = 1ms, .max_delay = 1ms, .jitter = false});
  const auto id = d.fire(Payload("x")).value();
  ASSERT_TRUE(eventually([&] {
    auto jobs = d.outbox()->list({.which = JobFilter::Which::pending}).value();
    return !jobs.empty() && jobs[0].attempts == 1 && jobs[0].state == Job::State::pending;
  }));
  auto job = d.outbox()->list({}).value().at(0);
  EXPECT_GT(job.next_attempt_at - std::chrono::system_clock::now(), 1500ms);
  EXPECT_NE(job.last_error.value_or("").find("503"), std::string::npos);
  EXPECT_EQ(server.request_count(), 1u);
  server.respond({.status = 200});
  ASSERT_TRUE(d.flush(20s));
  ASSERT_EQ(server.request_count(), 2u);
  EXPECT_EQ(server.requests()[1].header("webhook-id"), id);
}

TEST(Delivery_Isolation, SlowEndpoint_DoesNotHoldUpAFastOne) {
  test::HttpTestServer slow, fast;
  slow.respond({.status = 200, .delay = 3s});
  Dispatcher d({.workers = 2, .per_hook_concurrency = 1});
  d.add_hook(webhook("slow", slow.url("/hook")));
  d.add_hook(webhook("fast", fast.url("/hook")));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(fast.wait_for_requests(10, 20s));
  // All ten fast deliveries went through while the slow endpoint was still on its first few.
  EXPECT_LT(slow.request_count(), 10u);
}

TEST(Delivery_Async, OneWorkerKeepsManyHttpDeliveriesInFlight) {
  test::HttpTestServer server;
  // Long enough that no answer leaves the server while the test counts what arrived, even on a loaded
  // machine.
  server.respond({.status = 200, .delay = 3s});
  // One worker thread and a synchronous hook would have one request open at a time.
  // Four per hook: fewer than the test server's eight handler threads, so a fifth request would be seen.
  Dispatcher d({.workers = 1, .max_in_flight = 16, .per_hook_concurrency = 4});
  d.add_hook(webhook("alarm", server.url("/hook")));
  std::set<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    auto id = d.fire(Payload(nlohmann::json{{"n", i}}));
    ASSERT_TRUE(id.ok());
    ids.insert(id.value());
  }
  // Four requests reach the server before the first answer leaves it: four in flight from one worker, and
  // not more than the per-hook limit.
  ASSERT_TRUE(server.wait_for_requests(4, 2500ms));
  std::this_thread::sleep_for(200ms);  // room for a fifth to arrive if the limit were not kept
  EXPECT_EQ(server.request_count(), 4u) << "more in flight than per_hook_concurrency";
  ASSERT_TRUE(d.flush(30s));
  std::set<std::string> got;
  for (const auto& r : server.requests()) got.insert(r.header("webhook-id"));
  EXPECT_EQ(got, ids);
  const auto m = d.metrics();
  EXPECT_EQ(m.delivered, 8u);
  EXPECT_EQ(m.in_flight, 0u);
  EXPECT_EQ(m.attempts, 8u);
}

TEST(Delivery_Async, FailuresOfAsyncDeliveriesAreRetriedAndDeadLettered) {
  test::HttpTestServer server;
  server.respond("/busy", {.status = 503});
  server.respond("/gone", {.status = 404});
  Dispatcher d({.workers = 1});
  d.add_hook(webhook("busy", server.url("/busy")),
             RetryPolicy{.max_attempts = 3, .initial_delay = 1ms, .max_delay = 5ms});
  d.add_hook(webhook("gone", server.url("/gone")));
  ASSERT_TRUE(d.fire(Payload("x")).ok());
  ASSERT_TRUE(d.flush(20s));
  const auto m = d.metrics();
  EXPECT_EQ(m.attempts, 4u);  // three to the busy one, one to the gone one
  EXPECT_EQ(m.retried, 2u);
  EXPECT_EQ(m.dead, 2u);
  EXPECT_EQ(m.dead_letters, 2u);
}

TEST(Delivery_Async, ShutdownWaitsForAsyncDeliveriesInFlight) {
  test::HttpTestServer server;
  server.respond({.status = 200, .delay = 300ms});
  auto outbox = make_memory_outbox({});
  std::atomic<int> settled{0};
  {
    Dispatcher d({.workers = 1, .outbox = outbox, .on_attempt = [&](const Job&, const Outcome& out) {
                    if (out.delivered()) ++settled;
                  }});
    d.add_hook(webhook("alarm", server.url("/hook")));
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(d.fire(Payload("x")).ok());
    ASSERT_TRUE(server.wait_for_requests(4, 5s));
  }  // shutdown with four requests waiting for their answers
  EXPECT_EQ(settled.load(), 4) << "an in-flight delivery was abandoned at shutdown";
  EXPECT_EQ(outbox->stats().value().pending, 0u);
  EXPECT_EQ(outbox->stats().value().in_flight, 0u);
}

// ---- the worker process ----

namespace {

struct WorkerFixture {
  test::TempDir dir;
  std::filesystem::path config = dir / "hooks.yaml";
  std::filesystem::path sink = dir / "sink.jsonl";
  std::filesystem::path db = dir / "outbox.db";

  WorkerFixture() {
    std::ofstream(config) << "outbox:\n  path: " << db.string() << "\nhooks:\n  sink:\n    type: FileHook\n"
                          << "    path: " << sink.string() << "\n";
  }
  std::set<std::string> enqueue(int n) {
    // Setting up, not under test: no fsync per event.
    auto outbox = open_sqlite_outbox({.path = db.string(), .synchronous_full = false}).value();
    std::set<std::string> ids;
    for (int i = 0; i < n; ++i) {
      auto e = Event::make("load", Payload(nlohmann::json{{"n", i}}));
      EXPECT_TRUE(outbox->enqueue(e, {"sink"}).ok());
      ids.insert(e.id);
    }
    return ids;
  }
};

}  // namespace

TEST(Delivery_Crash, WorkerKilledMidBacklog_RestartDeliversEveryEventWithBoundedDuplicates) {
  WorkerFixture f;
  const auto ids = f.enqueue(10'000);
  const int threads = 4;
  const pid_t worker = spawn_cli({"worker", "-c", f.config.string(), "--threads", std::to_string(threads)},
                                 f.dir / "worker1.log");
  ASSERT_TRUE(eventually([&] { return read_lines(f.sink).size() >= 2000; }, 60s));
  ASSERT_EQ(kill(worker, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(worker, &status, 0), worker);
  const auto at_kill = read_lines(f.sink).size();
  ASSERT_LT(at_kill, 10'000u) << "the worker finished before it could be killed; the test proves nothing";

  std::string output;
  ASSERT_EQ(test::run_command(cli() + " worker --once -c '" + f.config.string() + "' --threads " +
                                  std::to_string(threads) + " 2>&1",
                              &output),
            0)
      << output;
  std::map<std::string, int> seen;
  for (const auto& line : read_lines(f.sink)) ++seen[nlohmann::json::parse(line).at("id").get<std::string>()];
  std::set<std::string> received;
  std::size_t duplicates = 0;
  for (const auto& [id, count] : seen) {
    received.insert(id);
    duplicates += static_cast<std::size_t>(count - 1);
  }
  EXPECT_EQ(received, ids);
  // A job is delivered twice only if it was sent and its ack not yet committed: one per worker thread at
  // most.
  EXPECT_LE(duplicates, static_cast<std::size_t>(threads)) << "duplicates: " << duplicates;
  auto outbox = open_sqlite_outbox({.path = f.db.string()}).value();
  auto s = outbox->stats().value();
  EXPECT_EQ(s.pending + s.in_flight + s.dead, 0u);
}

TEST(Delivery_Worker, Sigterm_FinishesAndExitsZero) {
  WorkerFixture f;
  f.enqueue(50);
  const pid_t worker = spawn_cli({"worker", "-c", f.config.string()}, f.dir / "worker.log");
  ASSERT_TRUE(eventually([&] { return read_lines(f.sink).size() == 50; }));
  ASSERT_EQ(kill(worker, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(worker, &status, 0), worker);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Delivery_Cli, TriggerEnqueueThenWorkerOnce_DeliversTheEvent) {
  WorkerFixture f;
  std::string out;
  ASSERT_EQ(
      test::run_command(
          cli() + " trigger --enqueue --json -c '" + f.config.string() + "' --data '{\"k\":\"v\"}'", &out),
      0)
      << out;
  const auto enqueued = nlohmann::json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(enqueued.at("outcome"), "enqueued");
  EXPECT_TRUE(read_lines(f.sink).empty());  // stored, not sent
  ASSERT_EQ(test::run_command(cli() + " worker --once -c '" + f.config.string() + "' 2>&1", &out), 0) << out;
  const auto lines = read_lines(f.sink);
  ASSERT_EQ(lines.size(), 1u);
  const auto line = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(line.at("id"), enqueued.at("event_id"));
  EXPECT_EQ(line.at("data").at("k"), "v");
}

TEST(Delivery_Cli, OutboxListShowRetryPurge_ManageDeadLetters) {
  WorkerFixture f;
  std::string id;
  {
    auto outbox = open_sqlite_outbox({.path = f.db.string()}).value();
    ASSERT_TRUE(outbox->enqueue(Event::make("e", Payload("payload text")), {"sink"}).ok());
    auto job = outbox->claim({}).value().at(0);
    ASSERT_TRUE(outbox->dead_letter(job, "permanent error: HTTP 404").ok());
    id = job.id;
  }
  const std::string c = " -c '" + f.config.string() + "'";
  std::string out;
  ASSERT_EQ(test::run_command(cli() + " outbox list --json" + c, &out), 0) << out;
  auto listed = nlohmann::json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(listed.at("id"), id);
  EXPECT_EQ(listed.at("state"), "dead");
  EXPECT_EQ(listed.at("dead_reason"), "permanent error: HTTP 404");
  EXPECT_EQ(listed.at("attempts"), 1);

  ASSERT_EQ(test::run_command(cli() + " outbox show " + id + " --json" + c, &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out).at("data"), "payload text");  // the data, not the storage wrapper

  ASSERT_EQ(test::run_command(cli() + " outbox retry " + id + c, &out), 0) << out;
  ASSERT_EQ(test::run_command(cli() + " worker --once" + c + " 2>&1", &out), 0) << out;
  EXPECT_EQ(read_lines(f.sink).size(), 1u);  // the dead letter was delivered after retry

  {
    auto outbox = open_sqlite_outbox({.path = f.db.string()}).value();
    ASSERT_TRUE(outbox->enqueue(Event::make("e", Payload("x")), {"sink"}).ok());
    auto job = outbox->claim({}).value().at(0);
    ASSERT_TRUE(outbox->dead_letter(job, "gave up").ok());
  }
  ASSERT_EQ(test::run_command(cli() + " outbox purge --json" + c, &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out).at("removed"), 1);
  ASSERT_EQ(test::run_command(cli() + " outbox list --json" + c, &out), 0) << out;
  EXPECT_EQ(out, "");
}

TEST(Delivery_Cli, OutboxShowUnknownId_ExitsOne) {
  WorkerFixture f;
  std::string out;
  EXPECT_EQ(test::run_command(cli() + " outbox show 999 -c '" + f.config.string() + "' 2>&1", &out), 1)
      << out;
  EXPECT_NE(out.find("no job with id 999"), std::string::npos) << out;
}

TEST(Delivery_Cli, ConfigWithoutOutbox_WorkerExitsWithConfigError) {
  test::TempDir dir;
  std::ofstream(dir / "c.yaml") << "hooks:\n  sink:\n    type: FileHook\n    path: " << (dir / "s").string()
                                << "\n";
  std::string out;
  EXPECT_EQ(test::run_command(cli() + " worker --once -c '" + (dir / "c.yaml").string() + "' 2>&1", &out), 3)
      << out;
  EXPECT_NE(out.find("no outbox configured"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(cli() + " trigger --enqueue -c '" + (dir / "c.yaml").string() + "' 2>&1", &out),
            3)
      << out;
}

TEST(Delivery_Cli, CorruptOutboxFile_ExitsFourNamingTheFile) {
  WorkerFixture f;
  std::ofstream(f.db) << std::string(4096, 'z');
  std::string out;
  EXPECT_EQ(test::run_command(cli() + " outbox list -c '" + f.config.string() + "' 2>&1", &out), 4) << out;
  EXPECT_NE(out.find("corrupt"), std::string::npos) << out;
  EXPECT_NE(out.find(f.db.string()), std::string::npos) << out;
}

TEST(Delivery_Worker, SummaryInterval_LogsAMetricsLine) {
  WorkerFixture f;
  f.enqueue(5);
  const auto log = f.dir / "worker.log";
  const pid_t worker = spawn_cli({"worker", "-c", f.config.string(), "--summary-interval", "0.2"}, log);
  const auto has_summary = [&] {
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("worker: fired=") != std::string::npos && text.find("delivered=5") != std::string::npos;
  };
  EXPECT_TRUE(eventually(has_summary));
  ASSERT_EQ(kill(worker, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(worker, &status, 0), worker);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
