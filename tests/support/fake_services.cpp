// The answers here are the services' documented ones (their API references' examples and error lists):
// Slack's plain-text error words, Discord's JSON errors and 429 `retry_after` in seconds, Telegram's
// {"ok": false, "error_code", "description", "parameters": {"retry_after"}}, ntfy's {"code", "http",
// "error", "link"}, Gotify's {"error", "errorCode", "errorDescription"}, PagerDuty's {"status", "message",
// "errors"} and 202 {"status": "success", "dedup_key"}.
#include "fake_services.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

namespace eventhooks::test {
namespace {

using nlohmann::json;

CannedResponse text(int status, std::string body) {
  return CannedResponse{
      .status = status, .headers = {}, .body = std::move(body), .content_type = "text/html"};
}

CannedResponse json_answer(int status, const json& body,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
  return CannedResponse{.status = status,
                        .headers = std::move(headers),
                        .body = body.dump(),
                        .content_type = "application/json"};
}

bool is_json_post(const RecordedRequest& r) {
  return r.method == "POST" && r.header("content-type").rfind("application/json", 0) == 0;
}

std::optional<json> body_object(const RecordedRequest& r) {
  auto parsed = json::parse(r.body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

std::string query_of(const RecordedRequest& r) {
  const auto q = r.target.find('?');
  return q == std::string::npos ? std::string() : r.target.substr(q + 1);
}

bool query_has(const RecordedRequest& r, const std::string& pair) {
  const std::string q = "&" + query_of(r) + "&";
  return q.find("&" + pair + "&") != std::string::npos;
}

bool non_empty_string(const json& o, const char* key) {
  return o.contains(key) && o[key].is_string() && !o[key].get<std::string>().empty();
}

}  // namespace

void fake_slack(HttpTestServer& server, std::string path, Scenario scenario) {
  server.answer_with([path = std::move(path), scenario](const RecordedRequest& r) {
    if (r.path != "/services/" + path) return text(403, "invalid_token");
    if (!is_json_post(r)) return text(400, "invalid_payload");
    auto body = body_object(r);
    if (!body) return text(400, "invalid_payload");
    const bool has_blocks = body->contains("blocks");
    if (has_blocks && !(*body)["blocks"].is_array()) return text(400, "invalid_blocks");
    if (!non_empty_string(*body, "text") && !has_blocks) return text(400, "no_text");
    for (const char* key : {"username", "icon_url", "icon_emoji", "channel"}) {
      if (body->contains(key) && !(*body)[key].is_string()) return text(400, "invalid_payload");
    }
    if (scenario == Scenario::reject) return text(410, "channel_is_archived");
    if (scenario == Scenario::rate_limit) {
      auto limited = text(429, "rate_limited");
      limited.headers = {{"Retry-After", "30"}};
      return limited;
    }
    return text(200, "ok");
  });
}

void fake_discord(HttpTestServer& server, std::string id, std::string token, Scenario scenario) {
  server.answer_with([id = std::move(id), token = std::move(token), scenario](const RecordedRequest& r) {
    if (r.path != "/api/webhooks/" + id + "/" + token) {
      return json_answer(401, {{"message", "Invalid Webhook Token"}, {"code", 50027}});
    }
    auto body = is_json_post(r) ? body_object(r) : std::nullopt;
    if (!body) return json_answer(400, {{"message", "Cannot send an empty message"}, {"code", 50006}});
    const bool has_content = non_empty_string(*body, "content");
    const bool has_embeds =
        body->contains("embeds") && (*body)["embeds"].is_array() && !(*body)["embeds"].empty();
    if (!has_content && !has_embeds) {
      return json_answer(400, {{"message", "Cannot send an empty message"}, {"code", 50006}});
    }
    if (has_content && (*body)["content"].get<std::string>().size() > 2000) {
      return json_answer(
          400,
          {{"message", "Invalid Form Body"},
           {"code", 50035},
           {"errors",
            {{"content",
              {{"_errors",
                {{{"code", "BASE_TYPE_MAX_LENGTH"}, {"message", "Must be 2000 or fewer in length."}}}}}}}}});
    }
    if (has_embeds) {
      for (const auto& embed : (*body)["embeds"]) {
        if (!embed.is_object() ||
            (!non_empty_string(embed, "title") && !non_empty_string(embed, "description"))) {
          return json_answer(400, {{"message", "Invalid Form Body"}, {"code", 50035}});
        }
      }
    }
    if (scenario == Scenario::reject)
      return json_answer(404, {{"message", "Unknown Webhook"}, {"code", 10015}});
    if (scenario == Scenario::rate_limit) {
      // The body's retry_after, in seconds with a fraction; the fake leaves out the Retry-After header so the
      // body is what a client must read.
      return json_answer(
          429, {{"message", "You are being rate limited."}, {"retry_after", 1.5}, {"global", false}});
    }
    if (!query_has(r, "wait=true"))
      return CannedResponse{.status = 204, .headers = {}, .body = "", .content_type = "text/plain"};
    json message{{"id", "1227318574463090789"},
                 {"type", 0},
                 {"channel_id", "1105240183584542770"},
                 {"webhook_id", id},
                 {"content", body->value("content", "")}};
    return json_answer(200, message);
  });
}

void fake_teams(HttpTestServer& server, std::string id, std::string sig, Scenario scenario) {
  server.answer_with([id = std::move(id), sig = std::move(sig), scenario](const RecordedRequest& r) {
    if (r.path != "/workflows/" + id + "/triggers/manual/paths/invoke") {
      return json_answer(
          404, {{"error", {{"code", "WorkflowNotFound"}, {"message", "The workflow was not found."}}}});
    }
    if (!query_has(r, "sig=" + sig)) {
      return json_answer(401, {{"error",
                                {{"code", "DirectApiInvalidAuthorizationSignature"},
                                 {"message", "The provided authorization signature is invalid."}}}});
    }
    auto body = is_json_post(r) ? body_object(r) : std::nullopt;
    auto mismatch = [] {
      return json_answer(400, {{"error",
                                {{"code", "TriggerInputSchemaMismatch"},
                                 {"message",
                                  "The input body for trigger 'manual' of type 'Request' did not match its "
                                  "schema definition."}}}});
    };
    if (!body || body->value("type", "") != "message" || !(*body)["attachments"].is_array() ||
        (*body)["attachments"].empty()) {
      return mismatch();
    }
    for (const auto& attachment : (*body)["attachments"]) {
      if (attachment.value("contentType", "") != "application/vnd.microsoft.card.adaptive") return mismatch();
      const auto& card = attachment["content"];
      if (!card.is_object() || card.value("type", "") != "AdaptiveCard" || !card["body"].is_array() ||
          !card.contains("version")) {
        return mismatch();
      }
      for (const auto& element : card["body"]) {
        if (element.value("type", "") != "TextBlock" || !non_empty_string(element, "text")) return mismatch();
      }
    }
    if (scenario == Scenario::reject) {
      return json_answer(403, {{"error",
                                {{"code", "WorkflowTriggerIsNotEnabled"},
                                 {"message", "Cannot run the workflow because it is disabled."}}}});
    }
    if (scenario == Scenario::rate_limit) {
      return json_answer(
          429, {{"error", {{"code", "WorkflowRequestsThrottled"}, {"message", "Rate limit is exceeded."}}}},
          {{"Retry-After", "12"}});
    }
    return CannedResponse{.status = 202, .headers = {}, .body = "", .content_type = "text/plain"};
  });
}

void fake_telegram(HttpTestServer& server, std::string token, Scenario scenario) {
  server.answer_with([token = std::move(token), scenario](const RecordedRequest& r) {
    auto error = [](int code, const std::string& description) {
      return json_answer(code, {{"ok", false}, {"error_code", code}, {"description", description}});
    };
    if (r.path.rfind("/bot", 0) != 0) return error(404, "Not Found");
    if (r.path != "/bot" + token + "/sendMessage") return error(401, "Unauthorized");
    auto body = is_json_post(r) ? body_object(r) : std::nullopt;
    if (!body || !body->contains("chat_id")) return error(400, "Bad Request: chat_id is empty");
    const auto& chat = (*body)["chat_id"];
    if (!chat.is_number_integer() && !(chat.is_string() && chat.get<std::string>().rfind('@', 0) == 0)) {
      return error(400, "Bad Request: chat not found");
    }
    if (!non_empty_string(*body, "text")) return error(400, "Bad Request: message text is empty");
    if (body->contains("parse_mode")) {
      const auto mode = (*body)["parse_mode"].get<std::string>();
      if (mode != "MarkdownV2" && mode != "HTML" && mode != "Markdown") {
        return error(400, "Bad Request: unsupported parse_mode");
      }
    }
    if (scenario == Scenario::reject) return error(403, "Forbidden: bot was blocked by the user");
    if (scenario == Scenario::rate_limit) {
      return json_answer(429, {{"ok", false},
                               {"error_code", 429},
                               {"description", "Too Many Requests: retry after 7"},
                               {"parameters", {{"retry_after", 7}}}});
    }
    return json_answer(200, {{"ok", true},
                             {"result",
                              {{"message_id", 4242},
                               {"chat", {{"id", chat}, {"type", "private"}}},
                               {"date", 1700000000},
                               {"text", (*body)["text"]}}}});
  });
}

void fake_ntfy(HttpTestServer& server, std::string authorization, Scenario scenario) {
  server.answer_with([authorization = std::move(authorization), scenario](const RecordedRequest& r) {
    auto error = [](int http, int code, const std::string& what, const std::string& link = "") {
      json body{{"code", code}, {"http", http}, {"error", what}};
      if (!link.empty()) body["link"] = link;
      return json_answer(http, body);
    };
    if (!authorization.empty() && r.header("authorization") != authorization) {
      return r.has_header("authorization")
                 ? error(401, 40101, "unauthorized", "https://ntfy.sh/docs/publish/#authentication")
                 : error(403, 40301, "forbidden", "https://ntfy.sh/docs/publish/#authentication");
    }
    if (r.method != "POST" || r.path != "/") return error(404, 40401, "page not found");
    auto body = body_object(r);
    if (!body || !non_empty_string(*body, "topic")) {
      return error(400, 40024, "invalid request: topic missing or invalid");
    }
    if (body->contains("priority")) {
      const auto& p = (*body)["priority"];
      if (!p.is_number_integer() || p.get<int>() < 1 || p.get<int>() > 5) {
        return error(400, 40007, "invalid priority", "https://ntfy.sh/docs/publish/#message-priority");
      }
    }
    if (body->contains("tags") && !(*body)["tags"].is_array())
      return error(400, 40024, "invalid request: tags");
    if (scenario == Scenario::reject) {
      return error(413, 41301, "too large for the JSON payload, please use the raw body");
    }
    if (scenario == Scenario::rate_limit) {
      return error(429, 42901, "limit reached: too many requests",
                   "https://ntfy.sh/docs/publish/#limitations");
    }
    json message{{"id", "sPs71M8A2T"},        {"time", 1700000000},
                 {"expires", 1700043200},     {"event", "message"},
                 {"topic", (*body)["topic"]}, {"message", body->value("message", "triggered")}};
    for (const char* key : {"title", "priority", "tags", "click"}) {
      if (body->contains(key)) message[key] = (*body)[key];
    }
    return json_answer(200, message);
  });
}

void fake_gotify(HttpTestServer& server, std::string token, Scenario scenario) {
  server.answer_with([token = std::move(token), scenario](const RecordedRequest& r) {
    auto error = [](int code, const std::string& name, const std::string& description) {
      return json_answer(code, {{"error", name}, {"errorCode", code}, {"errorDescription", description}});
    };
    if (r.method != "POST" || r.path != "/message") return error(404, "Not Found", "page not found");
    if (r.header("x-gotify-key") != token && !query_has(r, "token=" + token)) {
      return error(401, "Unauthorized",
                   "you need to provide a valid access token or user credentials to access this api");
    }
    auto body = is_json_post(r) ? body_object(r) : std::nullopt;
    if (!body || !non_empty_string(*body, "message")) {
      return error(400, "Bad Request", "Field 'message' is required");
    }
    if (body->contains("priority") && !(*body)["priority"].is_number_integer()) {
      return error(400, "Bad Request", "Field 'priority' must be a number");
    }
    if (scenario == Scenario::reject) {
      return error(403, "Forbidden", "you are not allowed to access this api");
    }
    if (scenario == Scenario::rate_limit) {
      // Gotify has no rate limit of its own; a proxy in front of it answers like this.
      auto limited = text(429, "Too Many Requests");
      limited.headers = {{"Retry-After", "5"}};
      return limited;
    }
    return json_answer(200, {{"id", 25},
                             {"appid", 5},
                             {"message", (*body)["message"]},
                             {"title", body->value("title", "")},
                             {"priority", body->value("priority", 0)},
                             {"date", "2018-02-27T19:36:10.5045044+01:00"}});
  });
}

void fake_pagerduty(HttpTestServer& server, std::string routing_key, Scenario scenario) {
  server.answer_with([routing_key = std::move(routing_key), scenario](const RecordedRequest& r) {
    auto invalid = [](const std::string& why) {
      return json_answer(
          400, {{"status", "invalid event"}, {"message", "Event object is invalid"}, {"errors", {why}}});
    };
    if (r.method != "POST" || r.path != "/v2/enqueue") return text(404, "Not Found");
    auto body = is_json_post(r) ? body_object(r) : std::nullopt;
    if (!body) return invalid("Event object must be a JSON object");
    if (!non_empty_string(*body, "routing_key")) return invalid("'routing_key' is missing or blank");
    if ((*body)["routing_key"].get<std::string>().size() != 32) {
      return invalid("Length of 'routing_key' is incorrect (should be 32 characters)");
    }
    if ((*body)["routing_key"] != routing_key) {
      // The service echoes the key it could not route: the client must scrub it from its error.
      return invalid("No integration found for routing key " + (*body)["routing_key"].get<std::string>());
    }
    const std::string action = body->value("event_action", "");
    if (action != "trigger" && action != "acknowledge" && action != "resolve") {
      return invalid("'event_action' is missing or blank");
    }
    if (body->contains("dedup_key") && (*body)["dedup_key"].get<std::string>().size() > 255) {
      return invalid("'dedup_key' is too long");
    }
    if (action == "trigger") {
      if (!body->contains("payload")) return invalid("'payload' is missing or blank");
      const auto& p = (*body)["payload"];
      if (!non_empty_string(p, "summary")) return invalid("'payload.summary' is missing or blank");
      if (p["summary"].get<std::string>().size() > 1024) return invalid("'payload.summary' is too long");
      if (!non_empty_string(p, "source")) return invalid("'payload.source' is missing or blank");
      const std::string severity = p.value("severity", "");
      if (severity != "critical" && severity != "error" && severity != "warning" && severity != "info") {
        return invalid(
            "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or "
            "'info')");
      }
    } else if (!non_empty_string(*body, "dedup_key")) {
      return invalid("'dedup_key' is missing or blank");
    }
    if (scenario == Scenario::reject) return invalid("'payload.custom_details' is too large");
    if (scenario == Scenario::rate_limit) return text(429, "Too Many Requests");
    return json_answer(202, {{"status", "success"},
                             {"message", "Event processed"},
                             {"dedup_key", body->value("dedup_key", "generated-dedup-key")}});
  });
}

}  // namespace eventhooks::test
