// Scale-out (docs/scale-out.md) against the 3-node cluster of scripts/servers/rabbitmq-cluster.sh: real
// `eventhooks worker` processes share one quorum queue; one is killed with SIGKILL mid-stream, or the queue's
// leader node is stopped mid-stream, and every event confirmed at enqueue reaches the sink at least once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "eventhooks/outbox.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

namespace eventhooks {
namespace {

using namespace std::chrono_literals;
using test::require_env;

std::vector<std::string> cluster_urls() {
  std::vector<std::string> urls;
  std::stringstream in(require_env("EVENTHOOKS_CLUSTER_URLS"));
  for (std::string u; std::getline(in, u, ',');) urls.push_back(u);
  return urls;
}

// Counts every webhook-id it is sent; answers 200.
class CountingSink {
 public:
  CountingSink() {
    server_.answer_with([this](const test::RecordedRequest& r) {
      std::lock_guard lock(mu_);
      ++counts_[r.header("webhook-id")];
      ++total_;
      return test::CannedResponse{.status = 200};
    });
  }
  std::string url() const { return server_.url("/hook"); }
  std::size_t unique() const {
    std::lock_guard lock(mu_);
    return counts_.size();
  }
  std::size_t total() const {
    std::lock_guard lock(mu_);
    return total_;
  }
  bool seen(const std::string& id) const {
    std::lock_guard lock(mu_);
    return counts_.count(id) > 0;
  }
  // Waits (bounded) until `pred` holds.
  template <typename Pred>
  bool wait(Pred pred, std::chrono::seconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

 private:
  test::HttpTestServer server_;
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;
  std::size_t total_ = 0;
};

std::string write_config(const test::TempDir& dir, const std::vector<std::string>& urls,
                         const std::string& queue, const std::string& sink_url) {
  const std::string path = (dir / "eventhooks.yaml").string();
  std::ofstream out(path);
  out << "outbox:\n  url:\n";
  for (const auto& u : urls) out << "    - " << u << "\n";
  out << "  queue: " << queue << "\nhooks:\n  sink:\n    type: WebHook\n    url: " << sink_url << "\n";
  return path;
}

std::unique_ptr<test::ChildProcess> start_worker(const std::string& config, const test::TempDir& dir, int n,
                                                 int prefetch) {
  return std::make_unique<test::ChildProcess>(
      std::vector<std::string>{EVENTHOOKS_CLI, "worker", "-c", config, "--concurrency", "8", "--prefetch",
                               std::to_string(prefetch)},
      (dir / ("worker" + std::to_string(n) + ".log")).string());
}

// On a failed test (or always, with EVENTHOOKS_TEST_WORKER_LOGS=1 in the environment), prints the end of
// every worker's log (worker<N>.log in `dir`): what they connected to, lost and retried is what explains a
// stall.
struct WorkerLogsOnFailure {
  const test::TempDir& dir;
  ~WorkerLogsOnFailure() {
    if (!::testing::Test::HasFailure() && std::getenv("EVENTHOOKS_TEST_WORKER_LOGS") == nullptr) return;
    for (int n = 0; n < 8; ++n) {
      std::ifstream in(dir / ("worker" + std::to_string(n) + ".log"));
      if (!in) continue;
      std::stringstream text;
      text << in.rdbuf();
      std::string log = text.str();
      if (log.size() > 6000) log = "...\n" + log.substr(log.size() - 6000);
      std::cerr << "--- worker" << n << ".log ---\n" << log << "\n";
    }
  }
};

// Enqueues `count` events on `threads` threads; the ids whose enqueue was confirmed go to `confirmed`.
void enqueue_events(Outbox& outbox, int count, int threads, std::mutex& mu,
                    std::vector<std::string>& confirmed, std::atomic<int>& failures) {
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = t; i < count; i += threads) {
        const Event e = Event::make("tick", Payload(nlohmann::ordered_json{{"i", i}}));
        if (outbox.enqueue(e, {"sink"})) {
          std::lock_guard lock(mu);
          confirmed.push_back(e.id);
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
}

TEST(RabbitMqScaleOut, ThreeWorkersOneKilledMidStreamDeliverEveryEventWithDuplicatesWithinItsPrefetch) {
  constexpr int kEvents = 10'000;
  constexpr int kPrefetch = 40;
  CountingSink sink;
  test::TempDir dir;
  WorkerLogsOnFailure logs{dir};
  const std::string queue = "eventhooks-scale-kill-" + new_event_id();
  const auto urls = cluster_urls();
  auto opened = open_rabbitmq_outbox({.urls = urls, .queue = queue});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto outbox = opened.value();
  const std::string config = write_config(dir, urls, queue, sink.url());

  std::vector<std::unique_ptr<test::ChildProcess>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(start_worker(config, dir, i, kPrefetch));

  std::mutex mu;
  std::vector<std::string> confirmed;
  std::atomic<int> failures{0};
  std::thread enqueuer([&] { enqueue_events(*outbox, kEvents, 4, mu, confirmed, failures); });

  if (!sink.wait([&] { return sink.unique() >= kEvents / 4; }, 120s)) {
    enqueuer.join();
    FAIL() << "deliveries did not start: " << sink.unique();
  }
  workers[0]->stop(SIGKILL);  // holding up to kPrefetch unacked jobs, some of them delivered already
  workers[0] = start_worker(config, dir, 3, kPrefetch);
  enqueuer.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(confirmed.size(), static_cast<std::size_t>(kEvents));

  EXPECT_TRUE(sink.wait([&] { return sink.unique() >= kEvents; }, 180s))
      << sink.unique() << " of " << kEvents;
  for (const auto& id : confirmed) ASSERT_TRUE(sink.seen(id)) << "event " << id << " never delivered";
  EXPECT_LE(sink.total() - sink.unique(), static_cast<std::size_t>(kPrefetch))
      << sink.total() - sink.unique() << " duplicates";
  for (auto& w : workers) {
    const int status = w->stop(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a worker did not stop cleanly on SIGTERM";
  }
}

// The queue's leader as rabbitmqctl reports it: index 1-3 of the node in EVENTHOOKS_CLUSTER_NODES.
int leader_node(const std::string& queue) {
  std::string out;
  const int status = test::run_command(
      "'" + require_env("EVENTHOOKS_CLUSTER_CTL") + "' 1 list_queues name leader --formatter json --quiet",
      &out);
  if (status != 0) throw std::runtime_error("list_queues failed: " + out);
  const auto queues = nlohmann::json::parse(out.substr(out.find('[')));
  std::stringstream in(require_env("EVENTHOOKS_CLUSTER_NODES"));
  std::vector<std::string> nodes;
  for (std::string n; std::getline(in, n, ',');) nodes.push_back(n);
  for (const auto& q : queues) {
    if (q["name"] != queue) continue;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (q["leader"] == nodes[i]) return static_cast<int>(i) + 1;
    }
  }
  throw std::runtime_error("no leader found for " + queue + " in: " + out);
}

// The publisher's connection and both workers' are on the leader's node, so stopping it takes all of them.
// Until the publisher started over on a new connection after a basic.nack (src/transport/amqp_publisher.cpp),
// this failed in 4 of 15 runs: the channel opened on another node during the election nacked every
// publish until the test timed out.
TEST(RabbitMqScaleOut, QueueLeaderNodeStoppedMidStreamEnqueueAndDeliveryGoOnNothingConfirmedLost) {
  // The enqueuer goes on until kAfterStop events were confirmed after the node stopped (whatever the
  // machine's speed: a fixed count could all be confirmed before the slow `rabbitmqctl stop` returns), or a
  // failure.
  constexpr int kAfterStop = 1'000;
  constexpr int kMax = 50'000;
  CountingSink sink;
  test::TempDir dir;
  WorkerLogsOnFailure logs{dir};
  const std::string queue = "eventhooks-scale-leader-" + new_event_id();
  auto urls = cluster_urls();
  {
    auto declared = open_rabbitmq_outbox({.urls = urls, .queue = queue});
    ASSERT_TRUE(declared.ok()) << declared.error().message;
  }
  const int leader = leader_node(queue);
  // The enqueuer and the workers start on the leader's node: stopping it takes their connections.
  std::rotate(urls.begin(), urls.begin() + (leader - 1), urls.end());
  auto opened = open_rabbitmq_outbox({.urls = urls, .queue = queue});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto outbox = opened.value();
  const std::string config = write_config(dir, urls, queue, sink.url());
  std::vector<std::unique_ptr<test::ChildProcess>> workers;
  for (int i = 0; i < 2; ++i) workers.push_back(start_worker(config, dir, i, 40));

  std::mutex mu;
  std::vector<std::string> confirmed;
  std::atomic<int> failures{0};
  std::atomic<int> next{0};
  std::atomic<bool> node_stopped{false};
  std::atomic<int> confirmed_after_stop{0};
  const auto enqueue_loop = [&] {
    while (failures == 0 && !(node_stopped && confirmed_after_stop >= kAfterStop)) {
      const int n = next++;
      if (n >= kMax) return;
      const Event e = Event::make("tick", Payload(nlohmann::ordered_json{{"n", n}}));
      const bool after = node_stopped;
      if (outbox->enqueue(e, {"sink"})) {
        std::lock_guard lock(mu);
        confirmed.push_back(e.id);
        if (after) ++confirmed_after_stop;
      } else {
        ++failures;
      }
    }
  };
  std::thread enqueuer([&] {
    std::thread second(enqueue_loop);
    enqueue_loop();
    second.join();
  });
  if (!sink.wait([&] { return sink.unique() >= 300; }, 120s)) {
    failures = -1000'000;
    enqueuer.join();
    FAIL() << "deliveries did not start: " << sink.unique();
  }
  // Bring the node back whatever happens from here on, so that the cluster is whole for what runs next.
  struct Restart {
    int node;
    ~Restart() {
      std::string ignored;
      test::run_command("'" + require_env("EVENTHOOKS_CLUSTER_SCRIPT") + "' start-node '" +
                            require_env("EVENTHOOKS_CLUSTER_STATE_DIR") + "' " + std::to_string(node),
                        &ignored);
    }
  } restart{leader};
  std::string out;
  const int stopped =
      test::run_command("'" + require_env("EVENTHOOKS_CLUSTER_SCRIPT") + "' stop-node '" +
                            require_env("EVENTHOOKS_CLUSTER_STATE_DIR") + "' " + std::to_string(leader),
                        &out);
  node_stopped = true;
  if (stopped != 0) {
    failures = -1000'000;
    enqueuer.join();
    FAIL() << "stopping node " << leader << " failed: " << out;
  }
  enqueuer.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(confirmed_after_stop.load(), kAfterStop)
      << "enqueues stopped being confirmed after the leader stopped";
  EXPECT_TRUE(sink.wait([&] { return sink.unique() >= confirmed.size(); }, 180s))
      << sink.unique() << " of " << confirmed.size();
  for (const auto& id : confirmed)
    ASSERT_TRUE(sink.seen(id)) << "confirmed event " << id << " never delivered";
  for (auto& w : workers) {
    const int status = w->stop(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a worker did not stop cleanly on SIGTERM";
  }
}

}  // namespace
}  // namespace eventhooks
