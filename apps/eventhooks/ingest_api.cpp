#include "ingest_api.hpp"

#include <httplib.h>

#include <algorithm>
#include <set>

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

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_body(std::string_view code, const std::string& message) {
  return dump(Json{{"error", {{"code", code}, {"message", message}}}});
}

// "application/json; charset=utf-8" -> "application/json"
std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
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

}  // namespace

struct IngestApi::Answer {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Answer error(int status, std::string_view code, const std::string& message) {
    return {status, error_body(code, message), {}};
  }
  static Answer json(int status, const Json& j) { return {status, dump(j), {}}; }
};

IngestApi::IngestApi(const Config& config, const ServeConfig& serve, std::shared_ptr<Outbox> outbox,
                     Dispatcher* dispatcher)
    : config_(config), serve_(serve), outbox_(std::move(outbox)), dispatcher_(dispatcher) {}

void IngestApi::install(httplib::Server& server) {
  // Every answer is counted before it is written, so a client that reads /metrics after its own request
  // was answered always finds it counted.
  auto send = [this](httplib::Response& res, const Answer& a) {
    count(a.status);
    res.status = a.status;
    for (const auto& [k, v] : a.headers) res.set_header(k, v);
    res.set_content(a.body, "application/json");
  };
  // Every /v1 route asks for the key first. It is hashed and compared in constant time
  // (ServeConfig::accepts_key); neither it nor the Authorization header is ever logged or echoed.
  auto authorized = [this, send](const httplib::Request& req, httplib::Response& res) {
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    std::string_view presented;
    if (header.size() > kBearer.size() &&
        std::equal(kBearer.begin(), kBearer.end(), header.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      presented = std::string_view(header).substr(kBearer.size());
    }
    if (!presented.empty() && serve_.accepts_key(presented)) return true;
    Answer a = Answer::error(
        401, "unauthorized",
        header.empty() ? "missing 'Authorization: Bearer <API key>'" : "the API key is not valid");
    a.headers.emplace_back("WWW-Authenticate", "Bearer");
    send(res, a);
    return false;
  };

  server.Post("/v1/events", [this, send, authorized](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    send(res,
         post_event(req.get_header_value("Content-Type"), req.body, req.get_header_value("Idempotency-Key")));
  });
  server.Get(R"(/v1/events/([^/]+))",
             [this, send, authorized](const httplib::Request& req, httplib::Response& res) {
               if (!authorized(req, res)) return;
               send(res, get_event(req.matches[1]));
             });
  server.Post(R"(/v1/events/([^/]+)/retry)",
              [this, send, authorized](const httplib::Request& req, httplib::Response& res) {
                if (!authorized(req, res)) return;
                send(res, retry_event(req.matches[1]));
              });
  server.Get("/healthz", [send](const httplib::Request&, httplib::Response& res) {
    send(res, Answer::json(200, Json{{"status", "ok"}}));
  });
  server.Get("/readyz",
             [this, send](const httplib::Request&, httplib::Response& res) { send(res, ready()); });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    count(200);
    res.set_content(metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
  });

  // Answers the library makes itself (413 over max_body, 404 for no route) get the same JSON shape.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours, counted
        count(res.status);
        std::string_view code = "error";
        std::string message = "HTTP " + std::to_string(res.status);
        if (res.status == 413) {
          code = "too_large";
          message = "the request body is larger than serve.max_body";
        } else if (res.status == 400) {
          code = "bad_request";
          message = "malformed HTTP request (a POST needs a Content-Length, 0 for no body)";
        } else if (res.status == 404) {
          code = "not_found";
          message = "no route for " + req.method + " " + req.path;
        }
        res.set_content(error_body(code, message), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        logger()->error("serve: request failed: {}", what);
        res.status = 500;
        count(500);
        res.set_content(error_body("internal", "internal error"), "application/json");
      });
  // The access log (at -v): method, path and status, never a header.
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    if (logger()->should_log(spdlog::level::debug))
      logger()->debug("serve: {} {} {}", req.method, req.path, res.status);
  });
}

IngestApi::Answer IngestApi::post_event(const std::string& content_type, const std::string& body,
                                        const std::string& idempotency_key) {
  const std::string type = media_type(content_type);
  std::string name = "event";
  std::optional<std::string> realm;
  Payload data;
  std::vector<std::string> only_hooks;
  if (type == "text/plain") {
    data = Payload(body);
  } else if (type == "application/json") {
    Json doc;
    try {
      doc = Json::parse(body);
    } catch (const Json::parse_error& e) {
      // nlohmann's message names the byte ("parse error at line 1, column 9: ...").
      return Answer::error(400, "bad_json",
                           fmt::format("the body is not valid JSON (byte {}): {}", e.byte, e.what()));
    }
    if (!doc.is_object()) return Answer::error(400, "invalid_event", "the body must be a JSON object");
    for (const auto& [key, value] : doc.items()) {
      if (key == "data") {
        data = value.is_string() ? Payload(value.get<std::string>()) : Payload(value);
      } else if (key == "name" || key == "realm") {
        if (!value.is_string() || value.get<std::string>().empty())
          return Answer::error(400, "invalid_event", "'" + key + "' must be a non-empty string");
        (key == "name" ? name : realm.emplace()) = value.get<std::string>();
      } else if (key == "hooks") {
        if (!value.is_array())
          return Answer::error(400, "invalid_event", "'hooks' must be a list of hook names");
        for (const auto& h : value) {
          if (!h.is_string())
            return Answer::error(400, "invalid_event", "'hooks' must be a list of hook names");
          only_hooks.push_back(h.get<std::string>());
        }
      } else {
        return Answer::error(400, "invalid_event",
                             "unknown key '" + key + "' (known: name, realm, data, hooks)");
      }
    }
    if (!doc.contains("data")) return Answer::error(400, "invalid_event", "'data' is required");
  } else {
    return Answer::error(415, "unsupported_media_type",
                         "Content-Type must be application/json or text/plain, not '" + content_type + "'");
  }
  if (idempotency_key.size() > kMaxIdempotencyKey)
    return Answer::error(400, "invalid_idempotency_key", "Idempotency-Key is longer than 255 characters");

  std::vector<std::string> unknown;
  for (const auto& h : only_hooks) {
    if (!config_.find(h)) unknown.push_back(h);
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& h : unknown) list += (list.empty() ? "'" : ", '") + h + "'";
    return Answer::error(422, "unknown_hook", "no hook named " + list + " in the config");
  }
  Event event = Event::make(std::move(name), std::move(data), realm);
  if (realm) {
    const bool known = std::any_of(config_.hooks.begin(), config_.hooks.end(), [&](const HookEntry& e) {
      return e.hook && e.hook->allows(std::string_view(*realm));
    });
    if (!known)
      return Answer::error(422, "unknown_realm", "no hook in the config fires for realm '" + *realm + "'");
  }
  const auto hooks = select_hooks(config_, event, only_hooks);
  Json answer{{"id", event.id}, {"hooks", hooks}};
  Answer ok = Answer::json(202, answer);

  Result<void> stored;
  if (!idempotency_key.empty()) {
    auto once = outbox_->enqueue_once(event, hooks,
                                      {.key = idempotency_key, .answer = ok.body, .ttl = kIdempotencyTtl});
    if (once && once->replayed) {
      ++replayed_;
      Answer replay{202, once->answer, {{"Idempotent-Replayed", "true"}}};
      return replay;
    }
    if (!once) stored = once.error();
  } else if (!hooks.empty()) {
    stored = outbox_->enqueue(event, hooks);
  }
  if (!stored) {
    const Error& e = stored.error();
    logger()->error("serve: event not stored: {}", e.to_string());
    if (e.code == ErrorCode::config) return Answer::error(501, "unsupported", e.message);
    Answer a = Answer::error(503, "outbox_unavailable", "the event was not stored: " + e.message);
    a.headers.emplace_back("Retry-After", "1");
    return a;
  }
  ++accepted_;
  if (dispatcher_ && !hooks.empty()) dispatcher_->wake();
  return ok;
}

IngestApi::Answer IngestApi::get_event(const std::string& id) {
  auto jobs = outbox_->event_jobs(id);
  if (!jobs) {
    if (jobs.error().code == ErrorCode::config)
      return Answer::error(501, "unsupported", jobs.error().message);
    return Answer::error(503, "outbox_unavailable", jobs.error().message);
  }
  if (jobs->empty())
    return Answer::error(404, "not_found", "no event with id '" + id + "' (or it was pruned)");
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
  return Answer::json(200, out);
}

IngestApi::Answer IngestApi::retry_event(const std::string& id) {
  auto requeued = outbox_->requeue_event(id);
  if (!requeued) {
    if (requeued.error().code == ErrorCode::config)
      return Answer::error(501, "unsupported", requeued.error().message);
    return Answer::error(503, "outbox_unavailable", requeued.error().message);
  }
  if (requeued.value() == 0) {
    auto jobs = outbox_->event_jobs(id);
    if (jobs && jobs->empty()) return Answer::error(404, "not_found", "no event with id '" + id + "'");
  }
  if (dispatcher_ && requeued.value() > 0) dispatcher_->wake();
  return Answer::json(200, Json{{"id", id}, {"requeued", requeued.value()}});
}

IngestApi::Answer IngestApi::ready() const {
  Json reasons = Json::array();
  if (draining_) reasons.push_back("shutting down");
  if (auto s = outbox_->stats(); !s) reasons.push_back("outbox: " + s.error().message);
  if (!reasons.empty()) return Answer::json(503, Json{{"status", "not ready"}, {"reasons", reasons}});
  return Answer::json(
      200, Json{{"status", "ready"}, {"delivery", dispatcher_ ? "in process" : "external workers"}});
}

void IngestApi::count(int status) {
  std::lock_guard lock(counts_mu_);
  ++requests_by_status_[status];
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
  return std::move(out).text();
}

}  // namespace eventhooks::cli
