// Outbox semantics every backend must have (in-memory and SQLite run the same tests), then SQLite's own:
// file errors, persistence, crash safety of claims.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "eventhooks/outbox.hpp"
#include "test_env.hpp"

using namespace std::chrono_literals;
using namespace eventhooks;

namespace {

Event sample_event(std::string realm = "ops") {
  return Event::make("deploy", Payload(nlohmann::json{{"version", 3}, {"ok", true}}), std::move(realm));
}

class OutboxTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      outbox_ = make_memory_outbox();
    } else {
      auto r = open_sqlite_outbox({.path = (dir_ / "outbox.db").string()});
      ASSERT_TRUE(r.ok()) << r.error().message;
      outbox_ = r.value();
    }
  }

  std::vector<Job> claim(std::size_t n = 64, std::chrono::milliseconds lease = 60s,
                         std::vector<std::string> skip = {}) {
    auto r = outbox_->claim({.max_jobs = n, .lease = lease, .skip_hooks = std::move(skip)});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : std::vector<Job>{};
  }

  test::TempDir dir_;
  std::shared_ptr<Outbox> outbox_;
};

}  // namespace

TEST_P(OutboxTest, Enqueue_ThenClaim_OneJobPerHookWithTheEvent) {
  const auto e = sample_event();
  ASSERT_TRUE(outbox_->enqueue(e, {"a", "b"}).ok());
  auto jobs = claim();
  ASSERT_EQ(jobs.size(), 2u);
  std::set<std::string> hooks;
  for (const auto& j : jobs) {
    hooks.insert(j.hook);
    EXPECT_EQ(j.event.id, e.id);
    EXPECT_EQ(j.event.name, "deploy");
    EXPECT_EQ(j.event.realm, e.realm);
    EXPECT_EQ(j.event.payload, e.payload);
    EXPECT_EQ(j.attempts, 0);
    EXPECT_EQ(j.state, Job::State::in_flight);
  }
  EXPECT_EQ(hooks, (std::set<std::string>{"a", "b"}));
}

TEST_P(OutboxTest, TextPayloadAndNoRealm_SurviveTheOutbox) {
  auto e = Event::make("x", Payload("plain text"));
  ASSERT_TRUE(outbox_->enqueue(e, {"a"}).ok());
  auto jobs = claim();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(jobs[0].event.payload.is_text());
  EXPECT_EQ(jobs[0].event.payload.text(), "plain text");
  EXPECT_FALSE(jobs[0].event.realm.has_value());
}

TEST_P(OutboxTest, ClaimedJob_IsNotHandedOutAgainWhileLeased) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  EXPECT_EQ(claim().size(), 1u);
  EXPECT_TRUE(claim().empty());
}

TEST_P(OutboxTest, ClaimWhoseLeaseRanOut_IsHandedOutAgain) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  EXPECT_EQ(claim(64, 0ms).size(), 1u);
  EXPECT_EQ(claim().size(), 1u);
}

TEST_P(OutboxTest, Ack_RemovesTheJob) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  auto jobs = claim();
  ASSERT_EQ(jobs.size(), 1u);
  ASSERT_TRUE(outbox_->ack(jobs[0]).ok());
  auto s = outbox_->stats();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->pending + s->in_flight + s->dead, 0u);
  EXPECT_FALSE(outbox_->get(jobs[0].id).value().has_value());
  EXPECT_FALSE(outbox_->next_due().value().has_value());
}

TEST_P(OutboxTest, RetryAt_CountsTheAttemptKeepsTheErrorAndWaits) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  auto jobs = claim();
  ASSERT_EQ(jobs.size(), 1u);
  ASSERT_TRUE(outbox_->retry_at(jobs[0], 1h, "unavailable: HTTP 503").ok());
  EXPECT_TRUE(claim().empty());
  auto due = outbox_->next_due();
  ASSERT_TRUE(due.ok() && due.value().has_value());
  EXPECT_GT(*due.value(), 59min);
  auto job = outbox_->get(jobs[0].id).value();
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->state, Job::State::pending);
  EXPECT_EQ(job->last_error, "unavailable: HTTP 503");
}

TEST_P(OutboxTest, RetryAtZeroDelay_IsDueAgainAtOnce) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  auto jobs = claim();
  ASSERT_TRUE(outbox_->retry_at(jobs.at(0), 0ms, "x").ok());
  auto again = claim();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
}

TEST_P(OutboxTest, DeadLetter_IsKeptWithItsReasonAndNeverClaimed) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  auto jobs = claim();
  ASSERT_TRUE(outbox_->dead_letter(jobs.at(0), "permanent error: HTTP 404").ok());
  EXPECT_TRUE(claim(64, 0ms).empty());
  auto dead = outbox_->list({.which = JobFilter::Which::dead});
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->at(0).state, Job::State::dead);
  EXPECT_EQ(dead->at(0).dead_reason, "permanent error: HTTP 404");
  EXPECT_EQ(dead->at(0).attempts, 1);
  EXPECT_EQ(outbox_->stats().value().dead, 1u);
}

TEST_P(OutboxTest, Requeue_DeadLetterIsPendingAgainWithAttemptsReset) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  auto jobs = claim();
  ASSERT_TRUE(outbox_->dead_letter(jobs.at(0), "gave up").ok());
  auto done = outbox_->requeue(jobs[0].id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done.value());
  auto again = claim();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 0);
  EXPECT_EQ(again[0].event.id, jobs[0].event.id);
}

TEST_P(OutboxTest, Requeue_UnknownId_ReturnsFalse) {
  auto r = outbox_->requeue("424242");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
}

TEST_P(OutboxTest, Release_MakesTheJobDueNowWithoutCountingAnAttempt) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  auto jobs = claim();
  ASSERT_TRUE(outbox_->release(jobs.at(0)).ok());
  auto again = claim();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 0);
}

TEST_P(OutboxTest, SkipHooks_AreNotHandedOut) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"slow", "fast"}).ok());
  auto jobs = claim(64, 60s, {"slow"});
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].hook, "fast");
  auto due = outbox_->next_due({"slow", "fast"});
  ASSERT_TRUE(due.ok());
  // Only the in-flight "fast" job's lease is left for non-skipped hooks... which is skipped too: nothing.
  EXPECT_FALSE(due.value().has_value());
}

TEST_P(OutboxTest, ClaimMax_LimitsTheBatch) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  EXPECT_EQ(claim(3).size(), 3u);
  EXPECT_EQ(claim(3).size(), 2u);
}

TEST_P(OutboxTest, PurgeDead_RemovesOnlyDeadLetters) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a", "b"}).ok());
  auto jobs = claim(1);
  ASSERT_TRUE(outbox_->dead_letter(jobs.at(0), "x").ok());
  auto n = outbox_->purge_dead();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n.value(), 1u);
  auto s = outbox_->stats().value();
  EXPECT_EQ(s.dead, 0u);
  EXPECT_EQ(s.pending, 1u);
}

TEST_P(OutboxTest, RemoveInFlightJob_IsRefused) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  auto jobs = claim();
  auto r = outbox_->remove(jobs.at(0).id);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("being delivered"), std::string::npos);
}

TEST_P(OutboxTest, RemovePendingJob_DeletesIt) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a"}).ok());
  auto jobs = outbox_->list({});
  ASSERT_EQ(jobs.value().size(), 1u);
  EXPECT_TRUE(outbox_->remove(jobs.value()[0].id).value());
  EXPECT_TRUE(claim().empty());
}

TEST_P(OutboxTest, EnqueueNoHooks_StoresNothing) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {}).ok());
  EXPECT_EQ(outbox_->stats().value().pending, 0u);
}

TEST_P(OutboxTest, Stats_CountPendingDueInFlightAndDead) {
  ASSERT_TRUE(outbox_->enqueue(sample_event(), {"a", "b", "c"}).ok());
  auto jobs = claim(2);
  ASSERT_TRUE(outbox_->dead_letter(jobs.at(0), "x").ok());
  auto s = outbox_->stats().value();
  EXPECT_EQ(s.pending, 1u);
  EXPECT_EQ(s.due, 1u);
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(s.dead, 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, OutboxTest, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });

// ---- in-memory overflow policies ----

TEST(MemoryOutbox_Overflow, Reject_FailsAtOnceWhenFull) {
  auto o = make_memory_outbox({.capacity = 2, .overflow = OverflowPolicy::reject});
  ASSERT_TRUE(o->enqueue(sample_event(), {"a", "b"}).ok());
  auto r = o->enqueue(sample_event(), {"a"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_TRUE(r.error().retryable);
}

TEST(MemoryOutbox_Overflow, DropOldest_DropsTheOldestPendingJob) {
  std::vector<std::string> dropped;
  auto o = make_memory_outbox({.capacity = 2,
                               .overflow = OverflowPolicy::drop_oldest,
                               .on_drop = [&](const Job& j) { dropped.push_back(j.event.id); }});
  const auto first = sample_event(), second = sample_event(), third = sample_event();
  ASSERT_TRUE(o->enqueue(first, {"a"}).ok());
  ASSERT_TRUE(o->enqueue(second, {"a"}).ok());
  ASSERT_TRUE(o->enqueue(third, {"a"}).ok());
  EXPECT_EQ(dropped, std::vector<std::string>{first.id});
  auto jobs = o->claim({}).value();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].event.id, second.id);
  EXPECT_EQ(jobs[1].event.id, third.id);
}

TEST(MemoryOutbox_Overflow, Block_TimesOutWhenNothingMakesRoom) {
  auto o = make_memory_outbox({.capacity = 1, .overflow = OverflowPolicy::block, .block_timeout = 10ms});
  ASSERT_TRUE(o->enqueue(sample_event(), {"a"}).ok());
  auto r = o->enqueue(sample_event(), {"a"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
}

TEST(MemoryOutbox_Overflow, Block_ProceedsOnceAnAckMakesRoom) {
  auto o = make_memory_outbox({.capacity = 1, .overflow = OverflowPolicy::block});
  ASSERT_TRUE(o->enqueue(sample_event(), {"a"}).ok());
  auto jobs = o->claim({}).value();
  std::thread acker([&] {
    std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(o->ack(jobs.at(0)).ok());
  });
  EXPECT_TRUE(o->enqueue(sample_event(), {"a"}).ok());
  acker.join();
}

TEST(MemoryOutbox_Overflow, EventWithMoreHooksThanCapacity_IsRefused) {
  auto o = make_memory_outbox({.capacity = 1});
  EXPECT_FALSE(o->enqueue(sample_event(), {"a", "b"}).ok());
}

// ---- SQLite files ----

TEST(SqliteOutbox_Open, MissingDirectory_NamesTheDirectory) {
  test::TempDir dir;
  auto r = open_sqlite_outbox({.path = (dir / "nope" / "outbox.db").string()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::io);
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos) << r.error().message;
}

TEST(SqliteOutbox_Open, PathIsADirectory_CannotBeWritten) {
  test::TempDir dir;
  auto r = open_sqlite_outbox({.path = dir.path().string()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::io);
  EXPECT_NE(r.error().message.find(dir.path().string()), std::string::npos) << r.error().message;
}

TEST(SqliteOutbox_Open, UnwritableLocation_ClearError) {
  // /proc refuses new files even to root, unlike a chmod'ed directory.
  auto r = open_sqlite_outbox({.path = "/proc/eventhooks-outbox.db"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::io);
  EXPECT_NE(r.error().message.find("cannot be written"), std::string::npos) << r.error().message;
}

TEST(SqliteOutbox_Open, CorruptFile_SaysCorruptAndLeavesItAlone) {
  test::TempDir dir;
  const auto path = dir / "outbox.db";
  const std::string garbage(8192, 'x');
  std::ofstream(path) << garbage;
  auto r = open_sqlite_outbox({.path = path.string()});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("corrupt"), std::string::npos) << r.error().message;
  std::ifstream in(path);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, garbage);  // no silent overwrite of what might be someone's data
}

TEST(SqliteOutbox_Open, ForeignSqliteDatabase_IsNotTakenForAnOutbox) {
  test::TempDir dir;
  const auto path = (dir / "other.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE customers(id INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = open_sqlite_outbox({.path = path});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not an eventhooks outbox"), std::string::npos) << r.error().message;
}

TEST(SqliteOutbox_Open, NewerSchemaVersion_IsRefused) {
  test::TempDir dir;
  const auto path = (dir / "outbox.db").string();
  { ASSERT_TRUE(open_sqlite_outbox({.path = path}).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = open_sqlite_outbox({.path = path});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("newer"), std::string::npos) << r.error().message;
}

TEST(SqliteOutbox_Locked, AnotherWriterHoldingTheLock_EnqueueFailsLoudlyAndStoresNothing) {
  test::TempDir dir;
  const auto path = (dir / "outbox.db").string();
  auto opened = open_sqlite_outbox({.path = path, .busy_timeout = 50ms});
  ASSERT_TRUE(opened.ok());
  auto outbox = opened.value();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = outbox->enqueue(sample_event(), {"a"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_NE(r.error().message.find("locked by another process"), std::string::npos) << r.error().message;
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_EQ(outbox->stats().value().pending, 0u);
  EXPECT_TRUE(outbox->enqueue(sample_event(), {"a"}).ok());  // usable again once the lock is gone
}

TEST(SqliteOutbox_Durability, JobsSurviveClosingAndReopening) {
  test::TempDir dir;
  const auto path = (dir / "outbox.db").string();
  const auto e = sample_event();
  {
    auto o = open_sqlite_outbox({.path = path}).value();
    ASSERT_TRUE(o->enqueue(e, {"a"}).ok());
  }
  auto o = open_sqlite_outbox({.path = path}).value();
  auto jobs = o->claim({}).value();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].event.id, e.id);
  EXPECT_EQ(jobs[0].event.payload, e.payload);
}

TEST(SqliteOutbox_Durability, ConcurrentEnqueues_AreAllStored) {
  test::TempDir dir;
  auto o = open_sqlite_outbox({.path = (dir / "outbox.db").string(), .synchronous_full = false}).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) EXPECT_TRUE(o->enqueue(sample_event(), {"a", "b"}).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(o->stats().value().pending, 400u);
}

// A worker process claims jobs and dies without settling them (what kill -9 does).
TEST(SqliteOutbox_CrashSafety, ClaimsOfADeadWorker_AreRecoveredAndDueAgain) {
  test::TempDir dir;
  const auto path = (dir / "outbox.db").string();
  {
    auto o = open_sqlite_outbox({.path = path}).value();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(o->enqueue(sample_event(), {"a"}).ok());
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto o = open_sqlite_outbox({.path = path});
    const bool ok = o.ok() && o.value()->claim({.max_jobs = 2, .lease = 1h}).value().size() == 2;
    _exit(ok ? 0 : 1);  // no destructor, no release: the claims are left behind
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  auto o = open_sqlite_outbox({.path = path}).value();
  EXPECT_EQ(o->stats().value().in_flight, 2u);
  EXPECT_EQ(o->claim({.max_jobs = 10}).value().size(), 1u);  // the dead worker's two are still leased
  auto recovered = o->recover();
  ASSERT_TRUE(recovered.ok());
  EXPECT_EQ(recovered.value(), 2u);
  EXPECT_EQ(o->claim({.max_jobs = 10}).value().size(), 2u);
}

TEST(SqliteOutbox_CrashSafety, ClaimsOfALiveWorker_AreNotRecovered) {
  test::TempDir dir;
  const auto path = (dir / "outbox.db").string();
  auto a = open_sqlite_outbox({.path = path}).value();
  ASSERT_TRUE(a->enqueue(sample_event(), {"a"}).ok());
  ASSERT_EQ(a->claim({}).value().size(), 1u);
  auto b = open_sqlite_outbox({.path = path}).value();
  EXPECT_EQ(b->recover().value(), 0u);
  EXPECT_TRUE(b->claim({}).value().empty());
}

// Disk full, simulated with RLIMIT_FSIZE in a child process (a tmpfs mount needs privileges tests lack):
// enqueue must fail loudly, and every enqueue that reported success must be in the file afterwards.
TEST(SqliteOutbox_DiskFull, EnqueueFailsLoudlyAndNothingAcknowledgedIsMissing) {
  test::TempDir dir;
  const auto path = (dir / "outbox.db").string();
  const auto report = dir / "report.txt";
  { ASSERT_TRUE(open_sqlite_outbox({.path = path}).ok()); }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of being killed
    rlimit limit{256 * 1024, 256 * 1024};
    setrlimit(RLIMIT_FSIZE, &limit);
    auto o = open_sqlite_outbox({.path = path});
    if (!o.ok()) _exit(2);
    int stored = 0;
    std::string message;
    const std::string big(4000, 'x');
    for (int i = 0; i < 10'000; ++i) {
      auto r = o.value()->enqueue(Event::make("e", Payload(big)), {"a"});
      if (!r.ok()) {
        message = r.error().message;
        break;
      }
      ++stored;
    }
    std::ofstream(report) << stored << "\n" << message << "\n";
    _exit(message.empty() ? 3 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the limit was never hit";
  std::ifstream in(report);
  std::size_t stored = 0;
  std::string message;
  in >> stored;
  std::getline(in >> std::ws, message);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  auto o = open_sqlite_outbox({.path = path});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o.value()->stats().value().pending, stored);
}

// ---- what `eventhooks serve` asks of the SQLite outbox ----

namespace {

// Ids of the jobs in the file, in id order, read by SQLite itself.
std::vector<std::int64_t> job_ids(const std::string& path) {
  sqlite3* db = nullptr;
  std::vector<std::int64_t> ids;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_exec(
        db, "SELECT id FROM jobs ORDER BY id",
        [](void* out, int, char** v, char**) {
          static_cast<std::vector<std::int64_t>*>(out)->push_back(std::stoll(v[0]));
          return 0;
        },
        &ids, nullptr);
  }
  sqlite3_close(db);
  return ids;
}

// An outbox file as eventhooks 0.1 wrote it (schema 1, ids by AUTOINCREMENT), with `rows_sql` run in it.
bool make_version_one_file(const std::string& path, const std::string& rows_sql) {
  sqlite3* db = nullptr;
  const std::string sql =
      "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, event_name TEXT NOT "
      "NULL, realm TEXT, payload TEXT NOT NULL, created_at INTEGER NOT NULL, hook TEXT NOT NULL, attempts "
      "INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, "
      "claimed_by TEXT, last_error TEXT, dead_reason TEXT, updated_at INTEGER NOT NULL);"
      "CREATE INDEX jobs_due ON jobs(state, next_attempt_at);" +
      rows_sql + "PRAGMA user_version=1;";
  const bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
                  sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// A trigger that makes SQLite refuse the jobs of every event named "poison", as a failing write would.
bool add_poison_trigger(const std::string& path) {
  sqlite3* db = nullptr;
  const bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
                  sqlite3_exec(db,
                               "CREATE TRIGGER poison BEFORE INSERT ON jobs WHEN NEW.event_name = 'poison' "
                               "BEGIN SELECT RAISE(ABORT, 'poisoned event'); END",
                               nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

std::shared_ptr<Outbox> sqlite_outbox(const test::TempDir& dir,
                                      std::chrono::milliseconds keep_delivered = {}) {
  auto r = open_sqlite_outbox({.path = (dir / "outbox.db").string(), .keep_delivered = keep_delivered});
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.value();
}

}  // namespace

// Jobs of `event_id` in the file, read on a connection of its own: what is committed, nothing else.
int committed_jobs(const std::string& path, const std::string& event_id) {
  sqlite3* db = nullptr;
  int n = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM jobs WHERE event_id = ?1", -1, &q, nullptr);
    sqlite3_bind_text(q, 1, event_id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  return n;
}

// Many callers at once, none waiting: every callback runs once, after the commit that holds its event.
TEST(SqliteOutbox_EnqueueAsync, ManyCallers_EachCallbackOnceAfterItsEventIsCommitted) {
  test::TempDir dir;
  const std::string path = (dir / "outbox.db").string();
  constexpr int kThreads = 4, kPerThread = 25;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, int> answered;  // event id -> callbacks
  std::vector<std::string> problems;
  {
    auto outbox = sqlite_outbox(dir);
    EXPECT_FALSE(outbox->enqueue_async_blocks());  // an event loop may call it directly
    std::vector<std::thread> callers;
    for (int t = 0; t < kThreads; ++t) {
      callers.emplace_back([&] {
        for (int i = 0; i < kPerThread; ++i) {
          const Event e = sample_event();
          outbox->enqueue_async(e, {"a", "b"}, std::nullopt, [&, id = e.id](Result<EnqueueOnceResult> r) {
            const int committed = committed_jobs(path, id);  // on the writer thread, after the commit
            std::lock_guard lock(mu);
            if (!r) problems.push_back(id + ": " + r.error().message);
            if (committed != 2) problems.push_back(id + ": " + std::to_string(committed) + " jobs committed");
            ++answered[id];
            cv.notify_all();
          });
        }
      });
    }
    for (auto& c : callers) c.join();
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return answered.size() == kThreads * kPerThread; }))
        << answered.size() << " answered";
  }
  EXPECT_TRUE(problems.empty()) << problems.front();
  for (const auto& [id, n] : answered) EXPECT_EQ(n, 1) << id;
  auto reopened = sqlite_outbox(dir);
  EXPECT_EQ(reopened->stats().value().pending, static_cast<std::size_t>(2 * kThreads * kPerThread));
}

TEST(SqliteOutbox_EnqueueAsync, SameKeyTwice_SecondIsReplayedWithTheFirstAnswer) {
  test::TempDir dir;
  auto outbox = sqlite_outbox(dir);
  std::promise<Result<EnqueueOnceResult>> first, second;
  const auto a = sample_event(), b = sample_event();
  outbox->enqueue_async(a, {"a"}, IdempotencyKey{.key = "k", .answer = "A"},
                        [&](Result<EnqueueOnceResult> r) { first.set_value(std::move(r)); });
  outbox->enqueue_async(b, {"a"}, IdempotencyKey{.key = "k", .answer = "B"},
                        [&](Result<EnqueueOnceResult> r) { second.set_value(std::move(r)); });
  auto r1 = first.get_future().get(), r2 = second.get_future().get();
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_FALSE(r1->replayed);
  EXPECT_TRUE(r2->replayed);
  EXPECT_EQ(r2->answer, "A");
  EXPECT_EQ(outbox->stats().value().pending, 1u);
  EXPECT_TRUE(outbox->event_jobs(b.id).value().empty());
}

// One request of a group commit failing (here: a trigger the test adds refuses events named "poison") fails
// alone: the writer runs a batch of enqueues without savepoints, then again with one per request after a
// rollback, and every other event of the batch is stored.
TEST(SqliteOutbox_EnqueueAsync, OneFailingEnqueueInABatch_FailsAloneTheOthersAreStored) {
  test::TempDir dir;
  const std::string path = (dir / "outbox.db").string();
  auto outbox = sqlite_outbox(dir);
  ASSERT_TRUE(add_poison_trigger(path));
  constexpr int kEvents = 60;
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  std::map<std::string, bool> stored;  // event id -> the callback said stored
  std::string poisoned_id, poisoned_error;
  for (int i = 0; i < kEvents; ++i) {
    const Event e = Event::make(i % 20 == 7 ? "poison" : "fine", Payload(std::to_string(i)));
    if (e.name == "poison" && poisoned_id.empty()) poisoned_id = e.id;
    outbox->enqueue_async(e, {"a"}, std::nullopt, [&, id = e.id](Result<EnqueueOnceResult> r) {
      std::lock_guard lock(mu);
      stored[id] = r.ok();
      if (!r.ok() && id == poisoned_id) poisoned_error = r.error().message;
      ++answered;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return answered == kEvents; }));
  }
  int ok = 0;
  for (const auto& [id, was_stored] : stored) {
    EXPECT_EQ(committed_jobs(path, id), was_stored ? 1 : 0) << id;
    ok += was_stored ? 1 : 0;
  }
  EXPECT_EQ(ok, kEvents - 3);  // events 7, 27 and 47 are refused, each alone
  EXPECT_FALSE(stored[poisoned_id]);
  EXPECT_NE(poisoned_error.find("poisoned event"), std::string::npos) << poisoned_error;
}

// Backends without a writer of their own: the blocking call, and the callback before enqueue_async returns.
TEST(MemoryOutbox_EnqueueAsync, CallbackRunsOnTheCallersThreadBeforeItReturns) {
  auto outbox = make_memory_outbox();
  bool called = false;
  std::thread::id on;
  outbox->enqueue_async(sample_event(), {"a"}, std::nullopt, [&](Result<EnqueueOnceResult> r) {
    EXPECT_TRUE(r.ok());
    EXPECT_FALSE(r->replayed);
    called = true;
    on = std::this_thread::get_id();
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(on, std::this_thread::get_id());
  EXPECT_TRUE(outbox->enqueue_async_blocks());
  EXPECT_EQ(outbox->stats().value().pending, 1u);
  // An idempotency key needs enqueue_once(), which the in-memory outbox does not have: the callback says so.
  std::optional<Error> refused;
  outbox->enqueue_async(sample_event(), {"a"}, IdempotencyKey{.key = "k"}, [&](Result<EnqueueOnceResult> r) {
    refused = r.ok() ? std::nullopt : std::optional(r.error());
  });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code, ErrorCode::config);
}

// A text payload that is not UTF-8 (raw bytes from a file, a Latin-1 string) cannot go into the stored JSON
// as it is: each bad byte becomes U+FFFD, as in every hook that writes JSON. Storing it returns ok; it
// threw a nlohmann type_error out of enqueue() (and ended `serve`) before.
TEST(SqliteOutbox_Text, NotUtf8_IsStoredWithReplacementCharacters_NeverThrows) {
  test::TempDir dir;
  auto outbox = open_sqlite_outbox({.path = (dir / "outbox.db").string()}).value();
  const auto sync = Event::make("x", Payload("caf\xe9 \xff\xfe ok"));
  Result<void> stored;
  ASSERT_NO_THROW(stored = outbox->enqueue(sync, {"a"}));
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  const auto async = Event::make("y", Payload(std::string("nul \0 and \xc3", 11)));
  std::promise<Result<EnqueueOnceResult>> done;
  ASSERT_NO_THROW(outbox->enqueue_async(async, {"a"}, std::nullopt,
                                        [&](Result<EnqueueOnceResult> r) { done.set_value(std::move(r)); }));
  const auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::map<std::string, std::string> text;
  const auto jobs = outbox->claim({.max_jobs = 8, .lease = 60s});
  ASSERT_TRUE(jobs.ok()) << jobs.error().message;
  ASSERT_EQ(jobs.value().size(), 2u);
  for (const auto& j : jobs.value()) {
    ASSERT_TRUE(j.event.payload.is_text()) << j.event.name << ": " << j.event.payload.to_stored_text();
    text[j.event.name] = j.event.payload.text();
  }
  EXPECT_EQ(text["x"], "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd ok");
  EXPECT_EQ(text["y"], std::string("nul \0 and \xef\xbf\xbd", 13));  // NUL is valid UTF-8: kept
}

TEST(SqliteOutbox_Idempotency, SameKeyTwice_StoresOnceAndReplaysTheFirstAnswer) {
  test::TempDir dir;
  auto outbox = sqlite_outbox(dir);
  const auto first = sample_event(), second = sample_event();
  auto a = outbox->enqueue_once(first, {"a", "b"}, {.key = "k1", .answer = "first answer"});
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_FALSE(a->replayed);
  auto b = outbox->enqueue_once(second, {"a", "b"}, {.key = "k1", .answer = "second answer"});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->replayed);
  EXPECT_EQ(b->answer, "first answer");
  EXPECT_EQ(outbox->stats().value().pending, 2u);  // the first event's two jobs, nothing of the second
  EXPECT_TRUE(outbox->event_jobs(second.id).value().empty());
}

TEST(SqliteOutbox_Idempotency, ExpiredKey_StoresAgain) {
  test::TempDir dir;
  auto outbox = sqlite_outbox(dir);
  ASSERT_TRUE(outbox->enqueue_once(sample_event(), {"a"}, {.key = "k", .answer = "1", .ttl = 1ms}).ok());
  std::this_thread::sleep_for(5ms);
  auto again = outbox->enqueue_once(sample_event(), {"a"}, {.key = "k", .answer = "2"});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->replayed);
  EXPECT_EQ(outbox->stats().value().pending, 2u);
}

TEST(SqliteOutbox_Idempotency, KeySurvivesReopening) {
  test::TempDir dir;
  { ASSERT_TRUE(sqlite_outbox(dir)->enqueue_once(sample_event(), {"a"}, {.key = "k", .answer = "x"}).ok()); }
  auto again = sqlite_outbox(dir)->enqueue_once(sample_event(), {"a"}, {.key = "k", .answer = "y"});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->answer, "x");
}

TEST(SqliteOutbox_KeepDelivered, AckedJob_IsReportedDeliveredButNeverClaimedListedOrCounted) {
  test::TempDir dir;
  auto outbox = sqlite_outbox(dir, 1h);
  const auto e = sample_event();
  ASSERT_TRUE(outbox->enqueue(e, {"a"}).ok());
  auto job = outbox->claim({}).value().at(0);
  ASSERT_TRUE(outbox->ack(job).ok());
  auto jobs = outbox->event_jobs(e.id).value();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].state, Job::State::delivered);
  EXPECT_EQ(jobs[0].attempts, 1);
  EXPECT_EQ(jobs[0].event.payload, e.payload);
  EXPECT_TRUE(outbox->claim({}).value().empty());
  EXPECT_TRUE(outbox->list({}).value().empty());
  const auto s = outbox->stats().value();
  EXPECT_EQ(s.pending + s.in_flight + s.dead, 0u);
  EXPECT_FALSE(outbox->next_due().value().has_value());
  EXPECT_FALSE(outbox->requeue(job.id).value());  // delivered is final
}

TEST(SqliteOutbox_KeepDelivered, Zero_AckDeletesTheJob) {
  test::TempDir dir;
  auto outbox = sqlite_outbox(dir);
  const auto e = sample_event();
  ASSERT_TRUE(outbox->enqueue(e, {"a"}).ok());
  ASSERT_TRUE(outbox->ack(outbox->claim({}).value().at(0)).ok());
  EXPECT_TRUE(outbox->event_jobs(e.id).value().empty());
}

TEST(SqliteOutbox_RequeueEvent, DeadAndFailedJobsAreDueAgainDeliveredOnesStay) {
  test::TempDir dir;
  auto outbox = sqlite_outbox(dir, 1h);
  const auto e = sample_event();
  ASSERT_TRUE(outbox->enqueue(e, {"dead", "failed", "done"}).ok());
  const auto claimed = outbox->claim({}).value();
  for (const auto& job : claimed) {
    if (job.hook == "dead") ASSERT_TRUE(outbox->dead_letter(job, "HTTP 404").ok());
    if (job.hook == "failed") ASSERT_TRUE(outbox->retry_at(job, 1h, "HTTP 503").ok());
    if (job.hook == "done") ASSERT_TRUE(outbox->ack(job).ok());
  }
  EXPECT_EQ(outbox->requeue_event(e.id).value(), 2u);
  auto due = outbox->claim({}).value();
  ASSERT_EQ(due.size(), 2u);
  for (const auto& job : due) EXPECT_EQ(job.attempts, 0) << job.hook;
  EXPECT_EQ(outbox->requeue_event("no-such-event").value(), 0u);
}

TEST(SqliteOutbox_Schema, VersionOneFile_IsUpgradedAndItsJobsKept) {
  test::TempDir dir;
  const auto path = (dir / "outbox.db").string();
  ASSERT_TRUE(make_version_one_file(
      path,
      "INSERT INTO jobs (event_id, event_name, payload, created_at, hook, next_attempt_at, updated_at) "
      "VALUES ('e1', 'old', '{\"text\":\"hi\"}', 0, 'a', 0, 0);"));
  auto outbox = sqlite_outbox(dir);
  ASSERT_EQ(outbox->event_jobs("e1").value().size(), 1u);
  ASSERT_TRUE(outbox->enqueue_once(sample_event(), {"a"}, {.key = "k", .answer = "x"}).ok());
  EXPECT_EQ(outbox->stats().value().pending, 2u);
}

// A job id names one job forever: a worker whose lease ran out acks `WHERE id = ?`, and a reused id would
// let that stale ack delete somebody else's new job.
TEST(SqliteOutbox_Ids, NeverReused_AfterTheHighestIdIsDeleted_NorAfterReopening) {
  test::TempDir dir;
  const std::string path = (dir / "outbox.db").string();
  std::int64_t highest = 0;
  {
    auto outbox = sqlite_outbox(dir);  // keep_delivered 0: an ack deletes the job
    ASSERT_TRUE(outbox->enqueue(sample_event(), {"a", "b", "c"}).ok());
    for (const auto& job : outbox->claim({.max_jobs = 10}).value()) {
      highest = std::max<std::int64_t>(highest, std::stoll(job.id));
      ASSERT_TRUE(outbox->ack(job).ok());
    }
    ASSERT_TRUE(job_ids(path).empty());
    ASSERT_TRUE(outbox->enqueue(sample_event(), {"a"}).ok());
    ASSERT_EQ(job_ids(path).size(), 1u);
    EXPECT_GT(job_ids(path)[0], highest);
    highest = job_ids(path)[0];
    const auto jobs = outbox->claim({}).value();
    ASSERT_EQ(jobs.size(), 1u);
    ASSERT_TRUE(outbox->ack(jobs[0]).ok());
  }
  auto reopened = sqlite_outbox(dir);
  ASSERT_TRUE(reopened->enqueue(sample_event(), {"a"}).ok());
  ASSERT_EQ(job_ids(path).size(), 1u);
  // Not reused, and not a block further either: the first outbox gave back the ids it had not used.
  EXPECT_EQ(job_ids(path)[0], highest + 1);
}

// One-shot processes (`trigger --enqueue`) each open the file, store one event and close it.
TEST(SqliteOutbox_Ids, OneShotOpeners_NumberTheirJobsOneAfterAnother) {
  test::TempDir dir;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sqlite_outbox(dir)->enqueue(sample_event(), {"a", "b"}).ok());
  EXPECT_EQ(job_ids((dir / "outbox.db").string()), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

// Two outboxes on one file (two processes) take ids from the same counter. One of them had its reservation
// of ids rolled back with a refused event (the trigger), and must not go on with ids the other then gets.
TEST(SqliteOutbox_Ids, TwoOutboxesOnOneFile_NeverShareAnId_EvenAfterARolledBackReservation) {
  test::TempDir dir;
  const std::string path = (dir / "outbox.db").string();
  auto a = sqlite_outbox(dir);
  ASSERT_TRUE(add_poison_trigger(path));
  // a's first job: the block of ids is reserved in the same transaction as the refused insert, and undone.
  ASSERT_FALSE(a->enqueue(Event::make("poison", Payload("x")), {"a"}).ok());
  auto b = sqlite_outbox(dir);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b->enqueue(sample_event(), {"b"}).ok());
    ASSERT_TRUE(a->enqueue(sample_event(), {"a"}).ok());  // with a's stale block this was b's id: refused
  }
  // And with the asynchronous (batched) enqueue, a refused event in a batch of fine ones.
  std::atomic<int> answered = 0, refused = 0;
  for (int i = 0; i < 20; ++i) {
    a->enqueue_async(Event::make(i == 0 ? "poison" : "fine", Payload("y")), {"a"}, std::nullopt,
                     [&](Result<EnqueueOnceResult> r) {
                       refused += r.ok() ? 0 : 1;
                       ++answered;
                     });
  }
  for (int i = 0; i < 200 && answered < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(answered, 20);
  EXPECT_EQ(refused, 1);
  ASSERT_TRUE(b->enqueue(sample_event(), {"b"}).ok());
  ASSERT_TRUE(a->enqueue(sample_event(), {"a"}).ok());
  const auto ids = job_ids(path);
  EXPECT_EQ(ids.size(), 3u + 3u + 19u + 2u);
  EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), ids.size());
  // At close only the block reserved last gives its unused ids back (a's); b's, reserved before it, must not
  // take the counter back below a's jobs.
  a.reset();
  b.reset();
  ASSERT_TRUE(sqlite_outbox(dir)->enqueue(sample_event(), {"c"}).ok());
  const auto after = job_ids(path);
  ASSERT_EQ(after.size(), ids.size() + 1);
  EXPECT_EQ(after.back(), ids.back() + 1);
}

// A file of schema 1 or 2 numbered its jobs with AUTOINCREMENT: the ids it handed out stay used after the
// upgrade, even those whose jobs are gone.
TEST(SqliteOutbox_Schema, OlderFile_NewIdsStartAboveEveryIdItHandedOut) {
  test::TempDir dir;
  const auto path = (dir / "outbox.db").string();
  ASSERT_TRUE(make_version_one_file(
      path,
      "INSERT INTO jobs (id, event_id, event_name, payload, created_at, hook, next_attempt_at, updated_at) "
      "VALUES (40, 'e1', 'old', '{\"text\":\"hi\"}', 0, 'a', 0, 0), "
      "(41, 'e2', 'old', '{\"text\":\"hi\"}', 0, 'a', 0, 0);"
      "DELETE FROM jobs WHERE id = 41;"));  // delivered: gone, but 41 was handed out
  {
    auto outbox = sqlite_outbox(dir);
    ASSERT_TRUE(outbox->enqueue(sample_event(), {"a"}).ok());
    EXPECT_EQ(job_ids(path), (std::vector<std::int64_t>{40, 42}));
  }
  // Opened again (now schema 3): the next job takes the next id, not one of a block already handed out.
  auto outbox = sqlite_outbox(dir);
  ASSERT_TRUE(outbox->enqueue(sample_event(), {"a"}).ok());
  const auto ids = job_ids(path);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_GT(ids[2], 42);
}

TEST(MemoryOutbox_Capabilities, ServeOnlyCapabilities_FailSayingSo) {
  auto outbox = make_memory_outbox();
  auto r = outbox->event_jobs("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::config);
  EXPECT_NE(r.error().message.find("does not support"), std::string::npos) << r.error().message;
}
