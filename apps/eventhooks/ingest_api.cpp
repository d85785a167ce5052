#include "ingest_api.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>
#include "delivery.hpp"
#include "enqueue.hpp"
#include "eventhooks/prometheus.hpp"

#include "eventhooks/logger.hpp"

namespace eventhooks::cli {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::size_t kMaxIdempotencyKey = 255;
constexpr auto kIdempotencyTtl = std::chrono::hours(24);
// How often serve.max_pending's count of undelivered jobs is taken from the outbox, near the limit.
constexpr auto kBacklogEvery = std::chrono::seconds(1);

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

using Answer = HttpAnswer;

std::string error_body(std::string_view code, const std::string& message) {
  return dump(Json{{"error", {{"code", code}, {"message", message}}}});
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether a Content-Type ("application/json; charset=utf-8") is of the media type `type`.
bool is_media_type(std::string_view content_type, std::string_view type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return iequals(t, type);
}

// The charset parameter of a Content-Type ("text/plain; charset=UTF-8" -> "UTF-8"), empty when none.
std::string_view charset_of(std::string_view content_type) {
  for (std::size_t at = content_type.find(';'); at != std::string_view::npos;
       at = content_type.find(';', at + 1)) {
    std::string_view param = content_type.substr(at + 1, content_type.find(';', at + 1) - at - 1);
    while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
    if (param.size() > 8 && iequals(param.substr(0, 8), "charset=")) {
      std::string_view value = param.substr(8);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      return value;
    }
  }
  return {};
}

Json payload_json(const Payload& p) {
  if (p.is_text()) return p.text();
  if (p.is_json()) return p.json();
  return nullptr;
}

// The state a client sees: failed = pending again after a failed attempt (it will be retried).
const char* delivery_state(const Job& job) {
  switch (job.state) {
    case Job::State::delivered: return "delivered";
    case Job::State::dead: return "dead";
    case Job::State::in_flight: return "pending";
    case Job::State::pending: return job.attempts > 0 ? "failed" : "pending";
  }
  return "pending";
}

Answer error_answer(int status, std::string_view code, const std::string& message) {
  return {status, error_body(code, message), "application/json", {}};
}
Answer json_answer(int status, const Json& j) {
  return {status, dump(j), "application/json", {}};
}

// "/v1/events/ID" -> ID, "/v1/events/ID/retry" -> ID (with `retry` set); nullopt for any other path.
std::optional<std::string_view> event_path(std::string_view path, bool& retry) {
  constexpr std::string_view kPrefix = "/v1/events/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = path.substr(kPrefix.size());
  const auto slash = rest.find('/');
  retry = slash != std::string_view::npos;
  if (retry && rest.substr(slash) != "/retry") return std::nullopt;
  std::string_view id = rest.substr(0, slash);
  if (id.empty()) return std::nullopt;
  return id;
}

// Whether `header` is "Bearer <key>" with one of the API keys. The key is hashed and compared in constant
// time (ServeConfig::accepts_key); neither it nor the header is ever logged or echoed.
bool bearer_accepted(const ServeConfig& serve, std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || !iequals(header.substr(0, kBearer.size()), kBearer)) return false;
  return serve.accepts_key(header.substr(kBearer.size()));
}

}  // namespace

struct IngestApi::Responder {
  IngestApi* api;
  HttpReply reply;
  std::string method, path;  // for the access log, only at -v
  std::size_t loop = 0;      // the event loop serving the connection, in the access log
  // POST /v1/events: when the request was read, for the duration histogram.
  std::optional<std::chrono::steady_clock::time_point> post_started;

  void operator()(Answer a) const {
    if (post_started) {
      api->count(a.status, std::chrono::steady_clock::now() - *post_started);
    } else {
      api->count(a.status);
    }
    write(std::move(a));
  }
  // An answer counted already (/metrics counts its own 200 before rendering, so a scrape sees itself).
  void write(Answer a) const {
    if (!path.empty()) logger()->debug("serve: {} {} {} (loop {})", method, path, a.status, loop);
    reply(std::move(a));
  }
};

IngestApi::IngestApi(const Config& config, const ServeConfig& serve, std::shared_ptr<Outbox> outbox,
                     Dispatcher* dispatcher, std::size_t loops)
    : config_(config),
      serve_(serve),
      outbox_(std::move(outbox)),
      dispatcher_(dispatcher),
      loops_(std::max<std::size_t>(loops, 1)) {
  for (const auto& e : config_.hooks) {
    if (e.hook) hook_json_.emplace(e.hook->name(), dump(Json(e.hook->name())));
  }
  if (serve_.max_pending > 0) {
    count_backlog();  // before the first request
    // Counting scans the undelivered jobs, on the outbox's writer: every second once the backlog is past
    // half the limit, where deliveries must be seen soon; every 10 s below it. Between counts the estimate
    // only grows, so a late count can refuse too early, never let too much in.
    backlog_thread_ = std::thread([this] {
      std::unique_lock lock(backlog_mu_);
      auto last = std::chrono::steady_clock::now();
      while (!backlog_cv_.wait_for(lock, kBacklogEvery, [this] { return backlog_stop_; })) {
        const auto backlog = backlog_base_.load() + reserved_.load();
        if (2 * backlog < static_cast<std::int64_t>(serve_.max_pending) &&
            std::chrono::steady_clock::now() - last < 10 * kBacklogEvery)
          continue;
        lock.unlock();
        count_backlog();
        last = std::chrono::steady_clock::now();
        lock.lock();
      }
    });
  }
}

void IngestApi::count_backlog() {
  const std::int64_t reserved = reserved_.load();
  auto stats = outbox_->stats();
  // An outbox that cannot count keeps the last count: /readyz and the stores' own 503s report it.
  if (!stats) return;
  backlog_base_ = static_cast<std::int64_t>(stats->pending + stats->in_flight) - reserved;
}

// {"id":"…","hooks":["…"]}: written directly (the id is a UUID, the names escaped once at start), the same
// text nlohmann would write.
std::string IngestApi::accepted_body(const std::string& id, const std::vector<std::string>& hooks) const {
  std::string body;
  body.reserve(64 + 24 * hooks.size());
  body.append(R"({"id":")").append(id).append(R"(","hooks":[)");
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    if (i > 0) body.push_back(',');
    auto it = hook_json_.find(hooks[i]);
    body.append(it != hook_json_.end() ? it->second : dump(Json(hooks[i])));
  }
  body.append("]}");
  return body;
}

IngestApi::~IngestApi() {
  {
    std::lock_guard lock(backlog_mu_);
    backlog_stop_ = true;
  }
  backlog_cv_.notify_all();
  if (backlog_thread_.joinable()) backlog_thread_.join();
  {
    std::lock_guard lock(work_mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void IngestApi::run_blocking(std::function<void()> work, std::shared_ptr<Responder> respond) {
  std::lock_guard lock(work_mu_);
  work_.push_back({std::move(work), std::move(respond)});
  if (idle_threads_ > 0 || threads_.size() >= kMaxThreads) {
    work_cv_.notify_one();
    return;
  }
  threads_.emplace_back([this] {
    std::unique_lock lock(work_mu_);
    for (;;) {
      ++idle_threads_;
      work_cv_.wait(lock, [this] { return stopping_ || !work_.empty(); });
      --idle_threads_;
      if (work_.empty()) return;  // stopping, nothing left
      auto job = std::move(work_.front());
      work_.pop_front();
      lock.unlock();
      try {
        job.work();
      } catch (const std::exception& e) {
        // The request is still answered: a connection waiting for it must not wait forever.
        logger()->error("serve: request failed: {}", e.what());
        (*job.respond)(error_answer(500, "internal", "internal error"));
      }
      lock.lock();
    }
  });
}

void IngestApi::handle(HttpRequest&& request, HttpReply reply) {
  const auto started = std::chrono::steady_clock::now();
  auto respond = std::make_shared<Responder>(Responder{this, std::move(reply), {}, {}, request.loop});
  if (logger()->should_log(spdlog::level::debug)) {
    // The path is the client's (decoded): no control character reaches the log, so no line can be forged.
    auto printable = [](std::string_view text) {
      std::string out(text);
      std::replace_if(
          out.begin(), out.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }, '?');
      return out;
    };
    respond->method = printable(request.method);
    respond->path = printable(request.path);
  }
  const std::string_view method = request.method;
  const std::string_view path = request.path;
  if (method == "POST" && path == "/v1/events") respond->post_started = started;
  if (request.too_large) {
    (*respond)(error_answer(413, "too_large", "the request body is larger than serve.max_body"));
    return;
  }
  if (method == "GET" && path == "/healthz") {
    (*respond)(json_answer(200, Json{{"status", "ok"}}));
    return;
  }
  if (method == "GET" && (path == "/readyz" || path == "/metrics")) {
    run_blocking(
        [this, respond, metrics = path == "/metrics"] {
          if (!metrics) {
            (*respond)(ready());
            return;
          }
          count(200);
          respond->write(Answer{200, metrics_text(), "text/plain; version=0.0.4; charset=utf-8", {}});
        },
        respond);
    return;
  }
  bool retry = false;
  const auto id = event_path(path, retry);
  const bool events = path == "/v1/events" && method == "POST";
  const bool status = id && ((method == "GET" && !retry) || (method == "POST" && retry));
  if (!events && !status) {
    // A known path asked with another method is 405 with the method it takes (RFC 9110 15.5.6), not 404.
    const char* allowed = nullptr;
    if (path == "/healthz" || path == "/readyz" || path == "/metrics" || (id && !retry)) {
      allowed = "GET";
    } else if (path == "/v1/events" || (id && retry)) {
      allowed = "POST";
    }
    if (allowed == nullptr) {
      (*respond)(error_answer(404, "not_found", fmt::format("no route for {} {}", method, path)));
      return;
    }
    Answer a =
        error_answer(405, "method_not_allowed", fmt::format("{} takes {}, not {}", path, allowed, method));
    a.headers.emplace_back("Allow", allowed);
    (*respond)(std::move(a));
    return;
  }
  // Every /v1 route asks for the key first.
  if (!bearer_accepted(serve_, request.authorization)) {
    Answer a = error_answer(401, "unauthorized",
                            request.authorization.empty() ? "missing 'Authorization: Bearer <API key>'"
                                                          : "the API key is not valid");
    a.headers.emplace_back("WWW-Authenticate", "Bearer");
    (*respond)(std::move(a));
    return;
  }
  if (events) {
    post_event(std::move(request), respond);
    return;
  }
  run_blocking(
      [this, respond, id = std::string(*id), retry] { (*respond)(retry ? retry_event(id) : get_event(id)); },
      respond);
}

void IngestApi::post_event(HttpRequest&& request, const std::shared_ptr<Responder>& respond) {
  std::string name = "event";
  std::optional<std::string> realm;
  Payload data;
  std::vector<std::string> only_hooks;
  auto fail = [&](int status, std::string_view code, const std::string& message) {
    (*respond)(error_answer(status, code, message));
  };
  // The data travels as JSON text and in UTF-8 messages, and JSON is UTF-8 (RFC 8259): a body declared in
  // another encoding is refused, not altered or misread.
  const bool text = is_media_type(request.content_type, "text/plain");
  if (text || is_media_type(request.content_type, "application/json")) {
    const std::string_view charset = charset_of(request.content_type);
    if (!charset.empty() && !iequals(charset, "utf-8") && !iequals(charset, "us-ascii"))
      return fail(
          415, "unsupported_media_type",
          fmt::format("a {} body must be UTF-8, not charset '{}'", text ? "text/plain" : "JSON", charset));
  }
  if (text) {
    if (const auto at = first_invalid_utf8(request.body))
      return fail(400, "bad_text", fmt::format("the text/plain body is not valid UTF-8 (byte {})", *at));
    data = Payload(std::move(request.body));
  } else if (is_media_type(request.content_type, "application/json")) {
    Json doc;
    try {
      doc = Json::parse(request.body);
    } catch (const Json::parse_error& e) {
      // nlohmann's message names the byte ("parse error at line 1, column 9: ...").
      return fail(400, "bad_json", fmt::format("the body is not valid JSON (byte {}): {}", e.byte, e.what()));
    } catch (const Json::exception& e) {
      // Well-formed but not representable: a number beyond a double ("1e999", out_of_range.406).
      return fail(400, "bad_json", fmt::format("the body is not valid JSON: {}", e.what()));
    }
    if (!doc.is_object()) return fail(400, "invalid_event", "the body must be a JSON object");
    for (auto& [key, value] : doc.items()) {
      if (key == "data") {
        data = value.is_string() ? Payload(value.get<std::string>()) : Payload(std::move(value));
      } else if (key == "name" || key == "realm") {
        if (!value.is_string() || value.get<std::string>().empty())
          return fail(400, "invalid_event", "'" + key + "' must be a non-empty string");
        (key == "name" ? name : realm.emplace()) = value.get<std::string>();
      } else if (key == "hooks") {
        if (!value.is_array()) return fail(400, "invalid_event", "'hooks' must be a list of hook names");
        for (const auto& h : value) {
          if (!h.is_string()) return fail(400, "invalid_event", "'hooks' must be a list of hook names");
          only_hooks.push_back(h.get<std::string>());
        }
        // "Only these hooks" with none named would read as "every hook": said explicitly or not at all.
        if (only_hooks.empty())
          return fail(400, "invalid_event",
                      "'hooks' is empty: name at least one hook, or leave it out for all");
      } else {
        return fail(400, "invalid_event", "unknown key '" + key + "' (known: name, realm, data, hooks)");
      }
    }
    if (!doc.contains("data")) return fail(400, "invalid_event", "'data' is required");
  } else {
    return fail(
        415, "unsupported_media_type",
        fmt::format("Content-Type must be application/json or text/plain, not '{}'", request.content_type));
  }
  const std::string_view idempotency_key = request.idempotency_key;
  if (idempotency_key.size() > kMaxIdempotencyKey)
    return fail(400, "invalid_idempotency_key", "Idempotency-Key is longer than 255 characters");

  std::vector<std::string> unknown;
  for (const auto& h : only_hooks) {
    if (!config_.find(h)) unknown.push_back(h);
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& h : unknown) list += (list.empty() ? "'" : ", '") + h + "'";
    return fail(422, "unknown_hook", "no hook named " + list + " in the config");
  }
  if (realm) {
    const bool known = std::any_of(config_.hooks.begin(), config_.hooks.end(), [&](const HookEntry& e) {
      return e.hook && e.hook->allows(std::string_view(*realm));
    });
    if (!known) return fail(422, "unknown_realm", "no hook in the config fires for realm '" + *realm + "'");
  }
  Event event = Event::make(std::move(name), std::move(data), realm);
  auto hooks = select_hooks(config_, event, only_hooks);
  Answer ok{202, accepted_body(event.id, hooks), "application/json", {}};
  if (idempotency_key.empty() && hooks.empty()) {  // nothing to store: no hook fires for it
    ++accepted_;
    return (*respond)(std::move(ok));
  }
  if (serve_.max_pending > 0 && !hooks.empty()) {
    // Taken first and given back when refused: two loops cannot both let in the last free place.
    const auto jobs = static_cast<std::int64_t>(hooks.size());
    const std::int64_t backlog = backlog_base_.load() + reserved_.fetch_add(jobs);
    if (backlog + jobs > static_cast<std::int64_t>(serve_.max_pending)) {
      reserved_ -= jobs;
      Answer full = error_answer(
          503, "outbox_full",
          fmt::format("the outbox holds {} undelivered jobs and this event has {} (serve.max_pending is {}); "
                      "nothing was stored",
                      std::max<std::int64_t>(backlog, 0), jobs, serve_.max_pending));
      full.headers.emplace_back("Retry-After", "10");
      return (*respond)(std::move(full));
    }
  }

  auto store = std::make_shared<StoreRequest>(
      StoreRequest{std::move(event), std::move(hooks), std::nullopt, std::move(ok), respond, request.loop});
  if (!idempotency_key.empty())
    store->key =
        IdempotencyKey{.key = std::string(idempotency_key), .answer = store->ok.body, .ttl = kIdempotencyTtl};
  // Handed to the outbox with the other events of this loop's pass by after_pass().
  loops_.at(request.loop).accepted.push_back(std::move(store));
}

void IngestApi::set_wake(std::function<void(std::size_t loop)> wake) {
  wake_ = std::move(wake);
}

void IngestApi::after_pass(std::size_t loop) {
  Loop& l = loops_[loop];
  // First answer what the outbox has stored (or refused) since the last pass: here, on the loop's own
  // thread, every connection of the batch is resumed in one go.
  std::vector<std::pair<std::shared_ptr<StoreRequest>, Result<EnqueueOnceResult>>> stored;
  {
    std::lock_guard lock(l.mu);
    stored.swap(l.stored);
  }
  bool wake_dispatcher = false;
  for (auto& [request, result] : stored) wake_dispatcher |= answer_stored(*request, std::move(result));
  if (dispatcher_ && wake_dispatcher) dispatcher_->wake();

  if (l.accepted.empty()) return;
  std::vector<std::shared_ptr<StoreRequest>> accepted;
  accepted.swap(l.accepted);
  for (auto& request : accepted) {
    // Called on the outbox's writer thread right after the commit (SQLite), or on an API thread (other
    // backends): only queues the result for this loop and wakes it.
    auto done = [this, request](Result<EnqueueOnceResult> r) {
      Loop& owner = loops_[request->loop];
      // The wake-up under the lock: the loop cannot answer this request (and the server cannot finish
      // stopping) before it is sent.
      std::lock_guard lock(owner.mu);
      const bool first = owner.stored.empty();
      owner.stored.emplace_back(request, std::move(r));
      if (first && wake_) wake_(request->loop);
    };
    if (outbox_->enqueue_async_blocks()) {
      // A store that waits for something remote (a broker's confirm) waits on one of the API's threads.
      run_blocking(
          [this, request, done = std::move(done)]() mutable {
            outbox_->enqueue_async(request->event, request->hooks, request->key, std::move(done));
          },
          request->respond);
    } else {
      try {
        outbox_->enqueue_async(request->event, request->hooks, request->key, std::move(done));
      } catch (const std::exception& e) {
        // An outbox must report through `done`; one that throws instead still gets this request an
        // answer, and the loop (every other connection on it) goes on.
        logger()->error("serve: storing event {} failed: {}", request->event.id, e.what());
        (*request->respond)(error_answer(500, "internal", "internal error"));
      }
    }
  }
}

bool IngestApi::answer_stored(StoreRequest& r, Result<EnqueueOnceResult> result) {
  if (!result) {
    const Error& e = result.error();
    logger()->error("serve: event not stored: {}", e.to_string());
    if (e.code == ErrorCode::config) {
      (*r.respond)(error_answer(501, "unsupported", e.message));
      return false;
    }
    Answer a = error_answer(503, "outbox_unavailable", "the event was not stored: " + e.message);
    a.headers.emplace_back("Retry-After", "1");
    (*r.respond)(std::move(a));
    return false;
  }
  if (result->replayed) {
    ++replayed_;
    (*r.respond)(
        Answer{202, std::move(result->answer), "application/json", {{"Idempotent-Replayed", "true"}}});
    return false;
  }
  ++accepted_;
  (*r.respond)(std::move(r.ok));
  return !r.hooks.empty();
}

IngestApi::Answer IngestApi::get_event(const std::string& id) {
  auto jobs = outbox_->event_jobs(id);
  if (!jobs) {
    if (jobs.error().code == ErrorCode::config) return error_answer(501, "unsupported", jobs.error().message);
    return error_answer(503, "outbox_unavailable", jobs.error().message);
  }
  if (jobs->empty())
    return error_answer(404, "not_found", "no event with id '" + id + "' (or it was pruned)");
  const Event& e = jobs->front().event;
  Json deliveries = Json::array();
  for (const auto& job : jobs.value()) {
    Json d{{"hook", job.hook}, {"state", delivery_state(job)}, {"attempts", job.attempts}};
    if (job.state == Job::State::in_flight) d["in_flight"] = true;
    if (job.state == Job::State::pending || job.state == Job::State::in_flight)
      d["next_attempt_at"] = to_rfc3339(job.next_attempt_at);
    if (job.state == Job::State::delivered) d["delivered_at"] = to_rfc3339(job.updated_at);
    if (job.last_error) d["last_error"] = *job.last_error;
    if (job.state == Job::State::dead) d["dead_reason"] = job.dead_reason;
    deliveries.push_back(std::move(d));
  }
  Json out{{"id", e.id},
           {"name", e.name},
           {"realm", e.realm ? Json(*e.realm) : Json(nullptr)},
           {"created_at", to_rfc3339(e.created_at)},
           {"data", payload_json(e.payload)},
           {"deliveries", std::move(deliveries)}};
  return json_answer(200, out);
}

IngestApi::Answer IngestApi::retry_event(const std::string& id) {
  auto requeued = outbox_->requeue_event(id);
  if (!requeued) {
    if (requeued.error().code == ErrorCode::config)
      return error_answer(501, "unsupported", requeued.error().message);
    return error_answer(503, "outbox_unavailable", requeued.error().message);
  }
  if (requeued.value() == 0) {
    auto jobs = outbox_->event_jobs(id);
    if (jobs && jobs->empty()) return error_answer(404, "not_found", "no event with id '" + id + "'");
  }
  if (dispatcher_ && requeued.value() > 0) dispatcher_->wake();
  return json_answer(200, Json{{"id", id}, {"requeued", requeued.value()}});
}

IngestApi::Answer IngestApi::ready() const {
  Json reasons = Json::array();
  if (draining_) reasons.push_back("shutting down");
  if (auto s = outbox_->stats(); !s) reasons.push_back("outbox: " + s.error().message);
  if (!reasons.empty()) return json_answer(503, Json{{"status", "not ready"}, {"reasons", reasons}});
  return json_answer(
      200, Json{{"status", "ready"}, {"delivery", dispatcher_ ? "in process" : "external workers"}});
}

void IngestApi::count(int status, std::optional<std::chrono::steady_clock::duration> post_duration) {
  std::lock_guard lock(counts_mu_);
  ++requests_by_status_[status];
  if (!post_duration) return;
  const double seconds = std::chrono::duration<double>(*post_duration).count();
  Durations& d = post_durations_[status];
  const auto bucket =
      std::lower_bound(kPostBuckets.begin(), kPostBuckets.end(), seconds) - kPostBuckets.begin();
  ++d.counts[static_cast<std::size_t>(bucket)];
  d.sum += seconds;
}

std::string IngestApi::metrics_text() const {
  PrometheusWriter out;
  write_delivery_metrics(out, dispatcher_, *outbox_);
  out.counter("eventhooks_ingest_events_accepted_total",
              "Events stored by POST /v1/events and answered 202 (idempotent replays excluded).")
      .sample({}, accepted_.load());
  out.counter("eventhooks_ingest_idempotent_replays_total",
              "POST /v1/events answered with the stored answer of an earlier Idempotency-Key.")
      .sample({}, replayed_.load());
  out.counter("eventhooks_ingest_http_requests_total",
              "HTTP requests answered by eventhooks serve, by status.");
  std::lock_guard lock(counts_mu_);
  for (const auto& [status, n] : requests_by_status_) {
    const std::string code = std::to_string(status);
    out.sample({{"status", code}}, n);
  }
  out.histogram("eventhooks_ingest_event_duration_seconds",
                "POST /v1/events, by status: from the request read to its answer (for a 202, the commit of "
                "the event to the outbox included).");
  for (const auto& [status, d] : post_durations_) {
    const std::string code = std::to_string(status);
    out.observations({{"status", code}}, kPostBuckets, d.counts, d.sum);
  }
  return std::move(out).text();
}

}  // namespace eventhooks::cli
