// Outbox: where delivery jobs wait until their hook's transport confirmed them. In-memory, SQLite and
// RabbitMQ (quorum queues shared by many worker processes) backends. Every Outbox is safe to use from many
// threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eventhooks/error.hpp"
#include "eventhooks/event.hpp"
#include "eventhooks/export.hpp"
#include "eventhooks/tls.hpp"

namespace eventhooks {

// One delivery job: one event for one hook.
//
// Life of a job: enqueue -> pending -> claim (leased to one worker) -> ack (gone, or kept as delivered for a
// while when the backend keeps delivered jobs) | retry_at (pending again, later) | dead_letter (kept for a
// human) | release (pending again now). A claim that is never settled (the
// worker crashed) expires with its lease and the job is due again: that is what makes delivery at-least-once.
// The interface is shaped so a shared broker queue (RabbitMQ: claim = basic.get/consume, ack = basic.ack,
// release = nack+requeue, retry_at = publish to a delay queue + ack, dead_letter = publish to a DLX + ack)
// can implement it as well as a table.
struct Job {
  enum class State { pending, in_flight, dead, delivered };

  std::string id;    // backend's id for the job (SQLite row id as text); stable while the job exists
  Event event;       // re-rendered on every attempt; event.id is the idempotency key
  std::string hook;  // the hook's name
  int attempts = 0;  // attempts made so far
  State state = State::pending;
  std::chrono::system_clock::time_point next_attempt_at{};  // when pending: due time; in flight: lease end
  std::optional<std::string> last_error;                    // the last failed attempt's error, as text
  std::string dead_reason;                                  // when dead: why it was given up
  std::chrono::system_clock::time_point updated_at{};       // last change (when delivered: delivery time)
};

EVENTHOOKS_EXPORT const char* to_string(Job::State state) noexcept;

struct ClaimRequest {
  std::size_t max_jobs = 64;
  std::chrono::milliseconds lease{5 * 60 * 1000};  // the job is not handed out again before this elapses
  std::vector<std::string> skip_hooks;             // don't hand out jobs for these (their lanes are full)
};

struct OutboxStats {
  std::size_t pending = 0;    // waiting, due now or later
  std::size_t due = 0;        // pending and due now
  std::size_t in_flight = 0;  // claimed, not settled
  std::size_t dead = 0;
};

// What enqueue_once() did: stored the event, or found the key already used and stored nothing.
struct EnqueueOnceResult {
  bool replayed = false;  // the key was used before (within its time to live): nothing was stored
  std::string answer;     // the answer stored with the key the first time (this call's own when not replayed)
};

// The key of one enqueue_once() call and what to remember with it.
struct IdempotencyKey {
  std::string key;     // caller's key, scoped by the caller (e.g. per API key)
  std::string answer;  // remembered and handed back on every replay (e.g. the HTTP response body)
  std::chrono::milliseconds ttl{24 * 60 * 60 * 1000};  // after this the key may be used again
};

struct JobFilter {
  enum class Which { all, pending, dead };
  Which which = Which::all;
  std::string hook;         // empty = every hook
  std::size_t limit = 100;  // 0 = no limit
};

class EVENTHOOKS_EXPORT Outbox {
 public:
  virtual ~Outbox();

  // Stores one pending job per hook for `event`, all or none, due now. Returns only once stored (for a
  // durable backend: committed to disk). Fails loudly (io/unavailable) rather than accept what it cannot
  // keep.
  virtual Result<void> enqueue(const Event& event, const std::vector<std::string>& hooks) = 0;

  // Hands out up to max_jobs due jobs, each leased to the caller for `lease`. Empty when none is due.
  virtual Result<std::vector<Job>> claim(const ClaimRequest& request) = 0;
  // The transport confirmed: the job is gone.
  virtual Result<void> ack(const Job& job) = 0;
  // The attempt failed and will be tried again after `delay`; attempts is incremented, `error` recorded.
  virtual Result<void> retry_at(const Job& job, std::chrono::milliseconds delay,
                                const std::string& error) = 0;
  // Given up: kept as a dead letter with `reason` (attempts incremented when `attempted`).
  virtual Result<void> dead_letter(const Job& job, const std::string& reason, bool attempted = true) = 0;
  // Not attempted (shutdown): back to pending, due now, attempts unchanged.
  virtual Result<void> release(const Job& job) = 0;
  // Releases claims held by workers that no longer exist (after a crash), so their jobs are due again now
  // rather than when the lease runs out. Returns how many.
  virtual Result<std::size_t> recover() = 0;

  // How long until the next job not in `skip_hooks` is due: 0 when one is due now, nullopt when none is
  // pending.
  virtual Result<std::optional<std::chrono::milliseconds>> next_due(
      const std::vector<std::string>& skip_hooks = {}) = 0;
  virtual Result<OutboxStats> stats() = 0;

  // Administration (`eventhooks outbox ...`).
  virtual Result<std::vector<Job>> list(const JobFilter& filter) = 0;
  virtual Result<std::optional<Job>> get(const std::string& id) = 0;
  // A dead (or pending) job back to pending, due now, attempts reset to 0. False when no such job.
  virtual Result<bool> requeue(const std::string& id) = 0;
  // Removes one job (any state but in flight). False when no such job.
  virtual Result<bool> remove(const std::string& id) = 0;
  // Removes every dead letter; returns how many.
  virtual Result<std::size_t> purge_dead() = 0;

  // "sqlite:/var/lib/x/outbox.db", "memory"
  virtual std::string describe() const = 0;

  // Optional capabilities (the HTTP ingest API, `eventhooks serve`, uses them). A backend that lacks one
  // keeps the default, which fails with ErrorCode::config and a message saying this outbox cannot do it.

  // enqueue() unless `key.key` was used within its ttl: then nothing is stored and the first call's answer
  // is returned. The check and the store are one transaction, so two concurrent calls with one key store
  // the event once.
  virtual Result<EnqueueOnceResult> enqueue_once(const Event& event, const std::vector<std::string>& hooks,
                                                 const IdempotencyKey& key);
  // enqueue() (no key) or enqueue_once() (a key) without blocking the caller: `done` is called exactly once
  // with what the blocking call would have returned (a plain enqueue: `replayed` false, `answer` empty). For
  // an event loop that must not wait for a commit. The SQLite outbox calls `done` on its writer thread right
  // after the commit that made the event durable, in the same group commit as other callers' events: `done`
  // must be quick and must not call this outbox. The default (other backends) makes the blocking call and
  // calls `done` on the caller's thread before returning.
  using EnqueueCallback = std::function<void(Result<EnqueueOnceResult>)>;
  virtual void enqueue_async(const Event& event, const std::vector<std::string>& hooks,
                             const std::optional<IdempotencyKey>& key, EnqueueCallback done);
  // True when enqueue_async() is the default, blocking one: an event loop should call it from a thread that
  // may wait. False for the SQLite outbox, whose enqueue_async() returns before the commit.
  virtual bool enqueue_async_blocks() const { return true; }
  // Every job of one event (delivered ones too while the backend keeps them), oldest first. Empty when
  // the event is unknown (or all of its jobs are gone).
  virtual Result<std::vector<Job>> event_jobs(const std::string& event_id);
  // The event's dead jobs, and its pending ones waiting to retry after a failed attempt, due now with
  // attempts reset to 0 (what requeue() does for one job). Returns how many.
  virtual Result<std::size_t> requeue_event(const std::string& event_id);

 protected:
  // The error of a capability this backend lacks.
  Error unsupported(const char* what) const;
};

using OutboxPtr = std::shared_ptr<Outbox>;

// What a full in-memory queue does with one more job. Default: block (nothing is lost silently).
enum class OverflowPolicy {
  block,        // the caller of enqueue waits for room (up to block_timeout, then fails like reject)
  reject,       // enqueue fails at once with ErrorCode::unavailable (retryable)
  drop_oldest,  // the oldest pending job is dropped (reported to on_drop) to make room
};

struct MemoryOutboxOptions {
  std::size_t capacity = 100'000;  // pending + in-flight jobs held at most
  OverflowPolicy overflow = OverflowPolicy::block;
  std::chrono::milliseconds block_timeout{30'000};
  std::size_t dead_capacity = 10'000;       // dead letters kept (the oldest are forgotten beyond this)
  std::function<void(const Job&)> on_drop;  // drop_oldest: told about each job dropped (called under a lock)
};

// Not durable: a crash loses what it holds. Uses the monotonic clock for every wait.
EVENTHOOKS_EXPORT std::shared_ptr<Outbox> make_memory_outbox(MemoryOutboxOptions options = {});

struct SqliteOutboxOptions {
  std::string path;                               // one file (plus SQLite's -wal and -shm beside it)
  std::chrono::milliseconds busy_timeout{5'000};  // wait this long for another writer before "locked"
  bool synchronous_full = true;                   // fsync every commit (power-loss safe); false = NORMAL
  std::size_t max_batch = 512;                    // writes grouped into one transaction at most
  // 0: ack() deletes the job. Otherwise a delivered job is kept, as Job::State::delivered, this long (so
  // the state of an event can be asked after its delivery, `eventhooks serve`), then pruned. Idempotency
  // keys (enqueue_once) are pruned with their own ttl either way.
  std::chrono::milliseconds keep_delivered{0};
};

// Opens (creating if missing) a SQLite outbox in WAL mode. Errors name the file and say what is wrong:
// cannot be created/written, not an outbox or corrupt, locked by another process, schema too new.
EVENTHOOKS_EXPORT Result<std::shared_ptr<Outbox>> open_sqlite_outbox(SqliteOutboxOptions options);

struct RabbitMqOutboxOptions {
  // amqp://user:password@host:port/vhost or amqps://…, one per node of the cluster: connections start at the
  // first and move to the next when a node is lost. The password never appears in logs, errors or describe().
  std::vector<std::string> urls;
  std::string queue = "eventhooks";  // the jobs' quorum queue; NAME.dead and NAME.delay.<ms> beside it
  TlsOptions tls;                    // for amqps:// (ca_file, cert_file, key_file, verify)
  // Deliveries of one message without a settlement (worker crashes, releases) before the broker moves it to
  // NAME.dead with reason delivery_limit: a poison message cannot crash workers forever.
  int delivery_limit = 20;
  // Unacked deliveries the broker hands this process at most (claim() starts consuming; enqueue() and the
  // administration calls never do). Duplicates after a crash are bounded by it.
  std::uint16_t prefetch = 64;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds confirm_timeout{10'000};  // per publish, from the socket to the broker's confirm
  // enqueue() tries a publish that failed for a retryable reason (a node lost) again until this has passed.
  std::chrono::milliseconds enqueue_timeout{30'000};
  // claim() waits this long for a delivery when none is buffered (the dispatcher's fetcher long-polls).
  std::chrono::milliseconds claim_wait{200};
};

// The outbox as RabbitMQ quorum queues: enqueue publishes with publisher confirms, claim consumes with manual
// acks, retries wait in delay queues (per-message TTL, dead-lettered back to the queue), dead letters go to
// NAME.dead. Declares the queues (checking that existing ones have the same arguments). Fails when no node
// can be reached or the queues cannot be declared. Design and guarantees: docs/scale-out.md.
EVENTHOOKS_EXPORT Result<std::shared_ptr<Outbox>> open_rabbitmq_outbox(RabbitMqOutboxOptions options);

}  // namespace eventhooks
