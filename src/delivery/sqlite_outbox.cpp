// SQLite outbox: one file in WAL mode. One writer thread owns the connection and groups the requests of all
// callers into one transaction (group commit), so many concurrent enqueues/acks cost one fsync, not one each.
// Times are wall-clock Unix milliseconds: they must survive a restart, which a monotonic clock does not.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "delivery/sqlite_api.hpp"
#include "eventhooks/logger.hpp"
#include "eventhooks/outbox.hpp"

namespace eventhooks {
namespace {

// 1: jobs. 2: delivered jobs may be kept (state 2), jobs by event id, idempotency keys. 3: job ids from
// id_blocks instead of AUTOINCREMENT (next_job_id()).
constexpr int kSchemaVersion = 3;
// Job ids a writer reserves at a time: one write of the id_blocks row per this many jobs.
constexpr std::int64_t kIdBlock = 1024;
// Delivered jobs and used idempotency keys are pruned at most this often, inside a write batch.
constexpr std::int64_t kPruneEveryMs = 10'000;
constexpr int kPruneAtMost = 10'000;  // rows per prune, so one batch never stalls on a large backlog

// SQLite is loaded on first use (sqlite_api.hpp); open_sqlite_outbox() makes sure it was before any
// SqliteOutbox exists, so every call below finds the table.
const detail::SqliteApi& sqlite() {
  return *detail::sqlite_api(nullptr);
}

using SysClock = std::chrono::system_clock;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SysClock::now().time_since_epoch()).count();
}
std::int64_t to_ms(SysClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SysClock::time_point from_ms(std::int64_t ms) {
  return SysClock::time_point(std::chrono::duration_cast<SysClock::duration>(std::chrono::milliseconds(ms)));
}

// Raised inside the writer thread only and turned into an Error before anything leaves this file.
struct DbFailure {
  int rc;
  std::string message;
};

// Prepared statements by their SQL, looked up by string_view (transparent hash).
struct SqlHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view sql) const noexcept { return std::hash<std::string_view>{}(sql); }
};
using StatementCache = std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>>;

class Stmt {
 public:
  Stmt(sqlite3* db, StatementCache& cache, std::string_view sql) : db_(db) {
    auto it = cache.find(sql);  // no std::string made per statement: the SQL is mostly a literal
    if (it == cache.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite().prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
      if (rc != SQLITE_OK) throw DbFailure{rc, sqlite().errmsg(db)};
      it = cache.emplace(std::string(sql), s).first;
    }
    s_ = it->second;
  }
  ~Stmt() {
    sqlite().reset(s_);
    sqlite().clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v) {
    sqlite().bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    sqlite().bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, const std::optional<std::string>& v) {
    if (v) return bind(i, *v);
    sqlite().bind_null(s_, i);
    return *this;
  }
  bool step() {
    int rc = sqlite().step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw DbFailure{rc, sqlite().errmsg(db_)};
  }
  std::int64_t col_int(int i) const { return sqlite().column_int64(s_, i); }
  bool col_null(int i) const { return sqlite().column_type(s_, i) == SQLITE_NULL; }
  std::string col_text(int i) const {
    const auto* p = sqlite().column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite().column_bytes(s_, i)))
             : std::string();
  }
  int changes() const { return sqlite().changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

const char* kJobColumns =
    "id, event_id, event_name, realm, payload, created_at, hook, attempts, state, next_attempt_at, "
    "claimed_by, "
    "last_error, dead_reason, updated_at";

std::string skip_clause(const std::vector<std::string>& skip, int first_param) {
  if (skip.empty()) return {};
  std::string s = " AND hook NOT IN (";
  for (std::size_t i = 0; i < skip.size(); ++i) {
    if (i) s += ",";
    s += '?';
    s += std::to_string(first_param + static_cast<int>(i));
  }
  return s + ")";
}

class SqliteOutbox final : public Outbox {
 public:
  explicit SqliteOutbox(SqliteOutboxOptions o) : options_(std::move(o)) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    host_ = host;
    owner_ = fmt::format("{}:{}", host_, ::getpid());
    if (options_.max_batch == 0) options_.max_batch = 1;
  }

  ~SqliteOutbox() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    for (auto& [sql, s] : cache_) sqlite().finalize(s);
    if (db_) sqlite().close_v2(db_);
  }

  Result<void> open() {
    const std::filesystem::path p(options_.path);
    if (options_.path.empty()) return Error::permanent(ErrorCode::config, "outbox: no path given");
    std::error_code ec;
    if (p.has_parent_path() && !std::filesystem::is_directory(p.parent_path(), ec)) {
      return Error::permanent(ErrorCode::io,
                              fmt::format("outbox {}: cannot create it: directory {} does not exist",
                                          options_.path, p.parent_path().string()));
    }
    int rc = sqlite().open_v2(options_.path.c_str(), &db_,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return db_error(rc, db_ ? sqlite().errmsg(db_) : "cannot open", "open");
    if (sqlite().db_readonly(db_, "main") == 1) {
      return Error::permanent(
          ErrorCode::io,
          fmt::format("outbox {}: the file is not writable (permissions); nothing can be stored",
                      options_.path));
    }
    sqlite().busy_timeout(db_, static_cast<int>(options_.busy_timeout.count()));
    try {
      // Reading the schema first tells a corrupt or foreign file apart from a fresh one before anything is
      // written to it.
      std::int64_t version = 0;
      {
        Stmt q(db_, cache_, "PRAGMA user_version");
        if (q.step()) version = q.col_int(0);
      }
      bool has_jobs = false, has_other = false, has_sequence = false;
      {
        Stmt q(db_, cache_, "SELECT name FROM sqlite_master WHERE type = 'table'");
        while (q.step()) {
          const auto name = q.col_text(0);
          if (name == "jobs") {
            has_jobs = true;
          } else if (name == "sqlite_sequence") {
            has_sequence = true;
          } else if (name.rfind("sqlite_", 0) != 0) {
            has_other = true;
          }
        }
      }
      if (version > kSchemaVersion) {
        return Error::permanent(
            ErrorCode::io,
            fmt::format("outbox {}: schema version {} is newer than this eventhooks supports ({}); "
                        "use a newer eventhooks",
                        options_.path, version, kSchemaVersion));
      }
      if ((version == 0 && has_other && !has_jobs) || (version >= 1 && !has_jobs)) {
        return Error::permanent(
            ErrorCode::io,
            fmt::format("outbox {}: the file is an SQLite database but not an eventhooks outbox",
                        options_.path));
      }
      {
        Stmt q(db_, cache_, "PRAGMA journal_mode=WAL");
        std::string mode = q.step() ? q.col_text(0) : "";
        if (mode != "wal") {
          return Error::permanent(
              ErrorCode::io,
              fmt::format("outbox {}: cannot switch to WAL journal mode (got '{}'); is the directory "
                          "writable?",
                          options_.path, mode));
        }
      }
      exec(options_.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      if (version < kSchemaVersion) {
        // A fresh file, or one of schema 1 or 2 (whose jobs stay as they are, AUTOINCREMENT included):
        // everything below is IF NOT EXISTS.
        exec("BEGIN IMMEDIATE");
        try {
          exec(
              "CREATE TABLE IF NOT EXISTS jobs ("
              " id INTEGER PRIMARY KEY,"  // from id_blocks, never reused (next_job_id())
              " event_id TEXT NOT NULL, event_name TEXT NOT NULL, realm TEXT, payload TEXT NOT NULL,"
              " created_at INTEGER NOT NULL, hook TEXT NOT NULL,"
              " attempts INTEGER NOT NULL DEFAULT 0,"
              " state INTEGER NOT NULL DEFAULT 0,"  // 0 pending (or claimed), 1 dead, 2 delivered (kept)
              " next_attempt_at INTEGER NOT NULL,"  // due time; while claimed: lease end; delivered: when
              " claimed_by TEXT, last_error TEXT, dead_reason TEXT,"
              " updated_at INTEGER NOT NULL)");
          exec("CREATE INDEX IF NOT EXISTS jobs_due ON jobs(state, next_attempt_at)");
          exec("CREATE INDEX IF NOT EXISTS jobs_event ON jobs(event_id)");
          exec(
              "CREATE TABLE IF NOT EXISTS idempotency ("
              " key TEXT PRIMARY KEY, answer TEXT NOT NULL, expires_at INTEGER NOT NULL)");
          exec("CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency(expires_at)");
          // The first free job id: above every id an older file's AUTOINCREMENT handed out, even one whose
          // job is gone.
          exec("CREATE TABLE IF NOT EXISTS id_blocks (next INTEGER NOT NULL)");
          exec(fmt::format(
              "INSERT INTO id_blocks (next) SELECT max({}, coalesce((SELECT max(id) FROM jobs), 0)) + 1 "
              "WHERE NOT EXISTS (SELECT 1 FROM id_blocks)",
              has_sequence ? "coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = 'jobs'), 0)"
                           : "0"));
          exec(fmt::format("PRAGMA user_version={}", kSchemaVersion));
          exec("COMMIT");
        } catch (...) {
          sqlite().exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
          throw;
        }
      }
    } catch (const DbFailure& f) {
      return db_error(f.rc, f.message, "open");
    }
    writer_ = std::thread([this] { writer_loop(); });
    return {};
  }

  Result<void> enqueue(const Event& event, const std::vector<std::string>& hooks) override {
    if (hooks.empty()) return {};
    const std::string payload = event.payload.to_stored_text();
    return done(run<bool>(
        [&](Ctx& c) {
          insert_jobs(c, event, payload, hooks);
          return true;
        },
        /*rerunnable=*/true));
  }

  Result<EnqueueOnceResult> enqueue_once(const Event& event, const std::vector<std::string>& hooks,
                                         const IdempotencyKey& key) override {
    const std::string payload = event.payload.to_stored_text();
    return run<EnqueueOnceResult>([&](Ctx& c) { return store_once(c, event, payload, hooks, key); },
                                  /*rerunnable=*/true);
  }

  bool enqueue_async_blocks() const override { return false; }

  void enqueue_async(const Event& event, const std::vector<std::string>& hooks,
                     const std::optional<IdempotencyKey>& key, EnqueueCallback done) override {
    if (hooks.empty() && !key) {
      done(EnqueueOnceResult{});
      return;
    }
    auto result = std::make_shared<EnqueueOnceResult>();
    auto req = std::make_unique<Request>();
    // The writer needs the event's fields and its stored payload text, not a second copy of the payload.
    Event fields{.id = event.id,
                 .name = event.name,
                 .realm = event.realm,
                 .payload = {},
                 .created_at = event.created_at};
    req->body = [this, fields = std::move(fields), hooks, key, payload = event.payload.to_stored_text(),
                 result](Ctx& c) {
      if (key) {
        *result = store_once(c, fields, payload, hooks, *key);
      } else {
        insert_jobs(c, fields, payload, hooks);
      }
    };
    req->rerunnable = true;
    req->finished = [done = std::move(done), result](const std::optional<Error>& error) {
      if (error) {
        done(*error);
      } else {
        done(std::move(*result));
      }
    };
    std::unique_lock lock(mu_);
    if (stopping_) {
      lock.unlock();
      req->finished(Error::permanent(ErrorCode::internal, "outbox is closed"));
      return;
    }
    queue_.push_back(req.release());  // the writer deletes it after finished()
    // Only the push that makes the queue non-empty wakes the writer: it waits only on an empty queue, and
    // takes everything queued before it waits again (one wake-up per batch, not a futex call per event).
    if (queue_.size() == 1) work_cv_.notify_one();
  }

  Result<std::vector<Job>> event_jobs(const std::string& event_id) override {
    return run<std::vector<Job>>([&](Ctx& c) {
      Stmt q(c.db, c.cache, fmt::format("SELECT {} FROM jobs WHERE event_id = ?1 ORDER BY id", kJobColumns));
      q.bind(1, event_id);
      std::vector<Job> out;
      const auto now = now_ms();
      while (q.step()) out.push_back(read_job(q, now));
      return out;
    });
  }

  Result<std::size_t> requeue_event(const std::string& event_id) override {
    return run<std::size_t>([&](Ctx& c) {
      const auto now = now_ms();
      // Dead jobs, and pending ones that failed and wait for their retry (not one being delivered now).
      Stmt q(
          c.db, c.cache,
          "UPDATE jobs SET state = 0, attempts = 0, next_attempt_at = ?1, claimed_by = NULL, dead_reason = "
          "NULL, updated_at = ?1 WHERE event_id = ?2 AND (state = 1 OR (state = 0 AND attempts > 0 AND "
          "(claimed_by IS NULL OR next_attempt_at <= ?1)))");
      q.bind(1, now).bind(2, event_id);
      q.step();
      return static_cast<std::size_t>(q.changes());
    });
  }

  Result<std::vector<Job>> claim(const ClaimRequest& request) override {
    return run<std::vector<Job>>([&](Ctx& c) {
      const auto now = now_ms();
      std::vector<Job> jobs;
      {
        Stmt q(c.db, c.cache,
               fmt::format("SELECT {} FROM jobs WHERE state = 0 AND next_attempt_at <= ?1{} ORDER BY "
                           "next_attempt_at, id LIMIT ?2",
                           kJobColumns, skip_clause(request.skip_hooks, 3)));
        q.bind(1, now).bind(2, static_cast<std::int64_t>(request.max_jobs));
        for (std::size_t i = 0; i < request.skip_hooks.size(); ++i)
          q.bind(3 + static_cast<int>(i), request.skip_hooks[i]);
        while (q.step()) jobs.push_back(read_job(q, now));
      }
      const auto lease_end = now + request.lease.count();
      for (auto& j : jobs) {
        Stmt u(c.db, c.cache,
               "UPDATE jobs SET next_attempt_at = ?1, claimed_by = ?2, updated_at = ?3 WHERE id = ?4");
        u.bind(1, lease_end).bind(2, owner_).bind(3, now).bind(4, std::stoll(j.id));
        u.step();
        j.state = Job::State::in_flight;
        j.next_attempt_at = from_ms(lease_end);
      }
      return jobs;
    });
  }

  Result<void> ack(const Job& job) override {
    return done(run<bool>([&](Ctx& c) {
      if (options_.keep_delivered.count() <= 0) {
        Stmt q(c.db, c.cache, "DELETE FROM jobs WHERE id = ?1 AND state = 0");
        q.bind(1, std::stoll(job.id));
        q.step();
        return true;
      }
      // Kept as delivered (state 2) until pruned; next_attempt_at holds the delivery time, which the
      // jobs_due index then orders for pruning.
      const auto now = now_ms();
      Stmt q(c.db, c.cache,
             "UPDATE jobs SET state = 2, attempts = attempts + 1, next_attempt_at = ?1, claimed_by = NULL,"
             " updated_at = ?1 WHERE id = ?2 AND state = 0");
      q.bind(1, now).bind(2, std::stoll(job.id));
      q.step();
      return true;
    }));
  }

  Result<void> retry_at(const Job& job, std::chrono::milliseconds delay, const std::string& error) override {
    return done(run<bool>([&](Ctx& c) {
      const auto now = now_ms();
      Stmt q(
          c.db, c.cache,
          "UPDATE jobs SET attempts = attempts + 1, next_attempt_at = ?1, claimed_by = NULL, last_error = ?2,"
          " updated_at = ?3 WHERE id = ?4 AND state = 0");
      q.bind(1, now + delay.count()).bind(2, error).bind(3, now).bind(4, std::stoll(job.id));
      q.step();
      return true;
    }));
  }

  Result<void> dead_letter(const Job& job, const std::string& reason, bool attempted) override {
    return done(run<bool>([&](Ctx& c) {
      Stmt q(c.db, c.cache,
             "UPDATE jobs SET state = 1, attempts = attempts + ?1, claimed_by = NULL, dead_reason = ?2,"
             " last_error = coalesce(?3, last_error), updated_at = ?4 WHERE id = ?5");
      q.bind(1, std::int64_t{attempted ? 1 : 0}).bind(2, reason).bind(3, job.last_error).bind(4, now_ms());
      q.bind(5, std::stoll(job.id));
      q.step();
      return true;
    }));
  }

  Result<void> release(const Job& job) override {
    return done(run<bool>([&](Ctx& c) {
      const auto now = now_ms();
      Stmt q(c.db, c.cache,
             "UPDATE jobs SET next_attempt_at = ?1, claimed_by = NULL, updated_at = ?1 WHERE id = ?2 AND "
             "claimed_by = ?3 AND state = 0");
      q.bind(1, now).bind(2, std::stoll(job.id)).bind(3, owner_);
      q.step();
      return true;
    }));
  }

  Result<std::size_t> recover() override {
    return run<std::size_t>([&](Ctx& c) {
      std::vector<std::string> owners;
      {
        Stmt q(c.db, c.cache,
               "SELECT DISTINCT claimed_by FROM jobs WHERE claimed_by IS NOT NULL AND state = 0");
        while (q.step()) owners.push_back(q.col_text(0));
      }
      std::size_t released = 0;
      const auto now = now_ms();
      for (const auto& o : owners) {
        // Only claims of this host can be checked; another host's claims run out with their lease.
        const auto colon = o.rfind(':');
        if (colon == std::string::npos || o.substr(0, colon) != host_) continue;
        const auto pid = static_cast<pid_t>(std::atol(o.c_str() + colon + 1));
        if (pid <= 0 || pid == ::getpid()) continue;
        if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to check)
        Stmt u(
            c.db, c.cache,
            "UPDATE jobs SET next_attempt_at = ?1, claimed_by = NULL, updated_at = ?1 WHERE claimed_by = ?2 "
            "AND state = 0");
        u.bind(1, now).bind(2, o);
        u.step();
        released += static_cast<std::size_t>(u.changes());
      }
      return released;
    });
  }

  Result<std::optional<std::chrono::milliseconds>> next_due(const std::vector<std::string>& skip) override {
    return run<std::optional<std::chrono::milliseconds>>([&](Ctx& c) {
      Stmt q(c.db, c.cache,
             fmt::format("SELECT min(next_attempt_at) FROM jobs WHERE state = 0{}", skip_clause(skip, 1)));
      for (std::size_t i = 0; i < skip.size(); ++i) q.bind(1 + static_cast<int>(i), skip[i]);
      std::optional<std::chrono::milliseconds> out;
      if (q.step() && !q.col_null(0)) {
        out = std::chrono::milliseconds(std::max<std::int64_t>(0, q.col_int(0) - now_ms()));
      }
      return out;
    });
  }

  Result<OutboxStats> stats() override {
    return run<OutboxStats>([&](Ctx& c) {
      OutboxStats s;
      Stmt q(c.db, c.cache,
             "SELECT state, claimed_by IS NOT NULL AND next_attempt_at > ?1, next_attempt_at <= ?1, count(*) "
             "FROM jobs WHERE state < 2 GROUP BY 1, 2, 3");
      q.bind(1, now_ms());
      while (q.step()) {
        const auto n = static_cast<std::size_t>(q.col_int(3));
        if (q.col_int(0) == 1) {
          s.dead += n;
        } else if (q.col_int(1)) {
          s.in_flight += n;
        } else {
          s.pending += n;
          if (q.col_int(2)) s.due += n;
        }
      }
      return s;
    });
  }

  Result<std::vector<Job>> list(const JobFilter& filter) override {
    return run<std::vector<Job>>([&](Ctx& c) {
      std::string where = "state < 2";
      if (filter.which == JobFilter::Which::pending) where = "state = 0";
      if (filter.which == JobFilter::Which::dead) where = "state = 1";
      if (!filter.hook.empty()) where += " AND hook = ?2";
      Stmt q(c.db, c.cache,
             fmt::format("SELECT {} FROM jobs WHERE {} ORDER BY id LIMIT ?1", kJobColumns, where));
      q.bind(1, filter.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(filter.limit));
      if (!filter.hook.empty()) q.bind(2, filter.hook);
      std::vector<Job> out;
      const auto now = now_ms();
      while (q.step()) out.push_back(read_job(q, now));
      return out;
    });
  }

  Result<std::optional<Job>> get(const std::string& id) override {
    const auto n = parse_id(id);
    return run<std::optional<Job>>([&](Ctx& c) {
      Stmt q(c.db, c.cache, fmt::format("SELECT {} FROM jobs WHERE id = ?1", kJobColumns));
      q.bind(1, n);
      std::optional<Job> out;
      if (q.step()) out = read_job(q, now_ms());
      return out;
    });
  }

  Result<bool> requeue(const std::string& id) override {
    const auto n = parse_id(id);
    return run<bool>([&](Ctx& c) {
      const auto now = now_ms();
      Stmt q(
          c.db, c.cache,
          "UPDATE jobs SET state = 0, attempts = 0, next_attempt_at = ?1, dead_reason = NULL, updated_at = ?1"
          " WHERE id = ?2 AND (state = 1 OR (state = 0 AND (claimed_by IS NULL OR next_attempt_at <= ?1)))");
      q.bind(1, now).bind(2, n);
      q.step();
      return q.changes() > 0;
    });
  }

  Result<bool> remove(const std::string& id) override {
    const auto n = parse_id(id);
    bool in_flight = false;
    auto r = run<bool>([&](Ctx& c) {
      const auto now = now_ms();
      {
        Stmt q(c.db, c.cache,
               "SELECT 1 FROM jobs WHERE id = ?1 AND state = 0 AND claimed_by IS NOT NULL AND "
               "next_attempt_at > ?2");
        q.bind(1, n).bind(2, now);
        if (q.step()) {
          in_flight = true;
          return false;
        }
      }
      Stmt q(c.db, c.cache, "DELETE FROM jobs WHERE id = ?1");
      q.bind(1, n);
      q.step();
      return q.changes() > 0;
    });
    if (r.ok() && in_flight) {
      return Error::permanent(ErrorCode::invalid_input,
                              fmt::format("job {} is being delivered right now", id));
    }
    return r;
  }

  Result<std::size_t> purge_dead() override {
    return run<std::size_t>([&](Ctx& c) {
      Stmt q(c.db, c.cache, "DELETE FROM jobs WHERE state = 1");
      q.step();
      return static_cast<std::size_t>(q.changes());
    });
  }

  std::string describe() const override { return "sqlite:" + options_.path; }

 private:
  struct Ctx {
    sqlite3* db;
    StatementCache& cache;
  };
  struct Request {
    std::function<void(Ctx&)> body;  // throws DbFailure
    std::optional<Error> error;
    bool done = false;
    // enqueue_async(): called by the writer after the commit (or the failure), outside its lock; the writer
    // owns such a request and deletes it then. Other requests belong to the caller waiting in run().
    std::function<void(const std::optional<Error>&)> finished;
    // `body` may run again after a rollback of the whole transaction (it only writes rows and assigns its
    // result): the writer may then skip its savepoint.
    bool rerunnable = false;
  };

  static std::int64_t parse_id(const std::string& id) {
    try {
      return std::stoll(id);
    } catch (...) {
      return -1;
    }
  }

  static Result<void> done(const Result<bool>& r) {
    if (!r.ok()) return r.error();
    return {};
  }

  template <typename T>
  Result<T> run(const std::function<T(Ctx&)>& body, bool rerunnable = false) {
    std::optional<T> value;
    Request req;
    req.body = [&](Ctx& c) { value = body(c); };
    req.rerunnable = rerunnable;
    {
      std::unique_lock lock(mu_);
      if (stopping_) return Error::permanent(ErrorCode::internal, "outbox is closed");
      queue_.push_back(&req);
      if (queue_.size() == 1) work_cv_.notify_one();  // as in enqueue_async()
      done_cv_.wait(lock, [&] { return req.done; });
    }
    if (req.error) return *req.error;
    return std::move(*value);
  }

  void exec(const std::string& sql) {
    char* msg = nullptr;
    int rc = sqlite().exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
      std::string m = msg ? msg : sqlite().errstr(rc);
      sqlite().free(msg);
      throw DbFailure{rc, m};
    }
  }

  Error db_error(int rc, const std::string& message, const char* what) const {
    const int primary = rc & 0xFF;
    switch (primary) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        return Error::transient(
            ErrorCode::unavailable,
            fmt::format("outbox {} is locked by another process (waited {} ms during {}): {}", options_.path,
                        options_.busy_timeout.count(), what, message));
      case SQLITE_NOTADB:
      case SQLITE_CORRUPT:
        return Error::permanent(ErrorCode::io,
                                fmt::format("outbox {} is corrupt or not an SQLite database ({}): {}",
                                            options_.path, what, message));
      case SQLITE_READONLY:
      case SQLITE_CANTOPEN:
      case SQLITE_PERM:
      case SQLITE_AUTH:
        return Error::permanent(
            ErrorCode::io, fmt::format("outbox {} cannot be written ({}): {}", options_.path, what, message));
      case SQLITE_FULL:
        return Error::transient(
            ErrorCode::io,
            fmt::format("outbox {}: disk full during {}; nothing of it was stored", options_.path, what));
      default:
        return Error::of(ErrorCode::io, fmt::format("outbox {}: {} failed: {}", options_.path, what, message),
                         primary == SQLITE_IOERR);
    }
  }

  static constexpr std::string_view kSavepoint = "SAVEPOINT r";
  static constexpr std::string_view kRelease = "RELEASE r";

  void writer_loop() {
    Ctx ctx{db_, cache_};
    std::vector<Request*> batch;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {  // stopping, and every caller has been answered
          lock.unlock();
          return_unused_ids();
          return;
        }
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      std::optional<Error> batch_error;
      try {
        exec("BEGIN IMMEDIATE");
      } catch (const DbFailure& f) {
        batch_error = db_error(f.rc, f.message, "begin");
      }
      if (!batch_error) {
        // Enqueues only (the common case under load): run them without a savepoint each, the statements'
        // cost per event. Should one fail, the whole transaction is rolled back and the batch is run again
        // the careful way below, so a failing request still never undoes the others.
        bool isolate =
            !std::all_of(batch.begin(), batch.end(), [](const Request* r) { return r->rerunnable; });
        if (!isolate) {
          try {
            for (auto* r : batch) r->body(ctx);
          } catch (...) {  // DbFailure or anything else: the careful way says which request and why
            isolate = true;
            rollback("ROLLBACK");
            try {
              exec("BEGIN IMMEDIATE");
            } catch (const DbFailure& f) {
              batch_error = db_error(f.rc, f.message, "begin");
            }
          }
        }
        // A savepoint per request (statements prepared once, not parsed per request): one failing request
        // does not undo the others in the same commit.
        if (isolate && !batch_error) {
          for (auto* r : batch) {
            try {
              Stmt(db_, cache_, kSavepoint).step();
              r->body(ctx);
              Stmt(db_, cache_, kRelease).step();
            } catch (const DbFailure& f) {
              r->error = db_error(f.rc, f.message, "write");
              rollback("ROLLBACK TO r; RELEASE r");
            } catch (const std::exception& e) {
              r->error = Error::permanent(ErrorCode::internal,
                                          fmt::format("outbox {}: {}", options_.path, e.what()));
              rollback("ROLLBACK TO r; RELEASE r");
            }
          }
        }
      }
      if (!batch_error) {
        prune_if_due();
        try {
          exec("COMMIT");
        } catch (const DbFailure& f) {
          // Nothing of this batch is stored: every caller hears so, none is told "stored".
          batch_error = db_error(f.rc, f.message, "commit");
          rollback("ROLLBACK");
        }
      }
      std::vector<Request*> owned;  // enqueue_async()'s, answered below
      {
        std::lock_guard lock(mu_);
        for (auto* r : batch) {
          if (batch_error) r->error = batch_error;
          if (r->finished) {
            owned.push_back(r);
          } else {
            r->done = true;  // from here on the waiting caller may destroy it
          }
        }
      }
      done_cv_.notify_all();
      for (auto* r : owned) {
        std::unique_ptr<Request> request(r);
        try {
          request->finished(request->error);
        } catch (const std::exception& e) {
          // A throwing callback must not end the writer thread (every later caller would wait forever).
          logger()->error("outbox {}: an enqueue_async() callback threw: {}", options_.path, e.what());
        } catch (...) {
          logger()->error("outbox {}: an enqueue_async() callback threw", options_.path);
        }
      }
      batch.clear();
    }
  }

  // Inside the writer's transaction: the event's jobs and the key, unless the key is used (then nothing).
  EnqueueOnceResult store_once(Ctx& c, const Event& event, const std::string& payload,
                               const std::vector<std::string>& hooks, const IdempotencyKey& key) {
    const auto now = now_ms();
    {
      Stmt q(c.db, c.cache, "SELECT answer FROM idempotency WHERE key = ?1 AND expires_at > ?2");
      q.bind(1, key.key).bind(2, now);
      if (q.step()) return EnqueueOnceResult{.replayed = true, .answer = q.col_text(0)};
    }
    Stmt q(c.db, c.cache, "INSERT OR REPLACE INTO idempotency (key, answer, expires_at) VALUES (?1, ?2, ?3)");
    q.bind(1, key.key).bind(2, key.answer).bind(3, now + key.ttl.count());
    q.step();
    insert_jobs(c, event, payload, hooks);
    return EnqueueOnceResult{.replayed = false, .answer = key.answer};
  }

  void insert_jobs(Ctx& c, const Event& event, const std::string& payload,
                   const std::vector<std::string>& hooks) {
    const auto now = now_ms();
    const auto created = to_ms(event.created_at);
    for (const auto& h : hooks) {
      const std::int64_t id = next_job_id(c);
      Stmt q(c.db, c.cache,
             "INSERT INTO jobs (id, event_id, event_name, realm, payload, created_at, hook, next_attempt_at,"
             " updated_at) VALUES (?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
      q.bind(1, event.id).bind(2, event.name).bind(3, event.realm).bind(4, payload).bind(5, created);
      q.bind(6, h).bind(7, now).bind(8, id);
      q.step();
    }
  }

  // Inside the writer's transaction. A job id is never handed out twice: not after the job with the highest
  // id is deleted (an ack, a purge), which would let a worker's stale ack (`WHERE id = ?`) hit a new job,
  // and not by two processes sharing the file. AUTOINCREMENT guaranteed that by rewriting its
  // sqlite_sequence row in every commit, one more WAL page each time (8 % of serve's ingest rate); a block
  // of ids reserved in id_blocks costs one such write per kIdBlock jobs. The reservation is part of the
  // transaction that uses it, and the block is forgotten on every rollback (rollback()), so a block whose
  // reservation was undone is never used.
  std::int64_t next_job_id(Ctx& c) {
    if (next_id_ == block_end_) {
      std::int64_t first = 0;
      {
        Stmt q(c.db, c.cache, "SELECT next FROM id_blocks");
        if (!q.step()) throw DbFailure{SQLITE_CORRUPT, "the id_blocks table is empty"};
        first = q.col_int(0);
      }
      Stmt u(c.db, c.cache, "UPDATE id_blocks SET next = ?1");
      u.bind(1, first + kIdBlock).step();
      next_id_ = first;
      block_end_ = first + kIdBlock;
    }
    return next_id_++;
  }

  // At close: the ids reserved and not used go back unless another writer has reserved after them, so
  // one-shot processes (`trigger --enqueue`) number their jobs one after another, not 1,024 apart.
  void return_unused_ids() {
    if (next_id_ == block_end_) return;
    try {
      exec("BEGIN IMMEDIATE");
      {
        Stmt u(db_, cache_, "UPDATE id_blocks SET next = ?1 WHERE next = ?2");
        u.bind(1, next_id_).bind(2, block_end_).step();
      }
      exec("COMMIT");
    } catch (const DbFailure&) {
      rollback("ROLLBACK");  // the ids stay reserved and unused, which is harmless
    }
  }

  // Undoes the open transaction or a savepoint of it, and forgets the block of job ids, whose reservation
  // may have been undone with it.
  void rollback(const char* sql) {
    sqlite().exec(db_, sql, nullptr, nullptr, nullptr);
    next_id_ = block_end_ = 0;
  }

  // Inside the writer's open transaction: delivered jobs past keep_delivered and expired idempotency keys
  // go, a bounded number at a time, in the same commit as the batch (no fsync of their own). A failure
  // here is not the batch's: it is rolled back alone and tried again next time.
  void prune_if_due() {
    const auto now = now_ms();
    if (now - last_prune_ms_ < kPruneEveryMs) return;
    last_prune_ms_ = now;
    Ctx ctx{db_, cache_};
    try {
      exec("SAVEPOINT prune");
      // Only an outbox that keeps delivered jobs prunes them: another process on the same file opened without
      // keep_delivered (an `outbox list`, a tool) must not delete what `serve` keeps for GET /v1/events/{id}.
      if (options_.keep_delivered.count() > 0) {
        Stmt q(ctx.db, ctx.cache,
               "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 2 AND next_attempt_at < ?1 "
               "LIMIT ?2)");
        q.bind(1, now - options_.keep_delivered.count()).bind(2, std::int64_t{kPruneAtMost});
        q.step();
      }
      {
        Stmt q(ctx.db, ctx.cache,
               "DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency WHERE expires_at <= ?1 "
               "LIMIT ?2)");
        q.bind(1, now).bind(2, std::int64_t{kPruneAtMost});
        q.step();
      }
      exec("RELEASE prune");
    } catch (const DbFailure& f) {
      rollback("ROLLBACK TO prune; RELEASE prune");
      logger()->warn("outbox {}: pruning delivered jobs failed: {}", options_.path, f.message);
    }
  }

  Job read_job(const Stmt& q, std::int64_t now) const {
    Job j;
    j.id = std::to_string(q.col_int(0));
    j.event.id = q.col_text(1);
    j.event.name = q.col_text(2);
    if (!q.col_null(3)) j.event.realm = q.col_text(3);
    try {
      j.event.payload = Payload::from_stored(nlohmann::ordered_json::parse(q.col_text(4)));
    } catch (const std::exception&) {
      j.event.payload = Payload(q.col_text(4));
    }
    j.event.created_at = from_ms(q.col_int(5));
    j.hook = q.col_text(6);
    j.attempts = static_cast<int>(q.col_int(7));
    const auto next = q.col_int(9);
    if (q.col_int(8) == 1) {
      j.state = Job::State::dead;
    } else if (q.col_int(8) == 2) {
      j.state = Job::State::delivered;
    } else if (!q.col_null(10) && next > now) {
      j.state = Job::State::in_flight;
    } else {
      j.state = Job::State::pending;
    }
    j.next_attempt_at = from_ms(next);
    if (!q.col_null(11)) j.last_error = q.col_text(11);
    if (!q.col_null(12)) j.dead_reason = q.col_text(12);
    j.updated_at = from_ms(q.col_int(13));
    return j;
  }

  SqliteOutboxOptions options_;
  std::string host_, owner_;
  sqlite3* db_ = nullptr;
  StatementCache cache_;  // writer thread only (and open() before it starts)
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Request*> queue_;
  bool stopping_ = false;
  std::int64_t last_prune_ms_ = 0;            // writer thread only
  std::int64_t next_id_ = 0, block_end_ = 0;  // writer thread only: the job ids reserved and not yet used
  std::thread writer_;
};

}  // namespace

Result<std::shared_ptr<Outbox>> open_sqlite_outbox(SqliteOutboxOptions options) {
  std::string why;
  if (detail::sqlite_api(&why) == nullptr) {
    return Error::permanent(ErrorCode::internal,
                            fmt::format("outbox {}: SQLite is not available: {}", options.path, why));
  }
  auto outbox = std::make_shared<SqliteOutbox>(std::move(options));
  if (auto r = outbox->open(); !r) return r.error();
  return std::shared_ptr<Outbox>(std::move(outbox));
}

}  // namespace eventhooks
