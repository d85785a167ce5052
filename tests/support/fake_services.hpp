// Fakes of the chat, push and paging services, each installed on an in-process HttpTestServer. A fake checks
// every request against the service's documented API (method, path, headers, body schema) and answers as
// the service documents: its success answer, or, for a request the real service would refuse, that
// service's own error answer (so a malformed request fails the test with the service's words). A scenario
// makes a well-formed request meet the service's documented rejection or rate limit instead.
// Thread-safe: the server calls a fake from its threads.
#pragma once

#include <string>

#include "http_test_server.hpp"

namespace eventhooks::test {

enum class Scenario {
  accept,  // the documented success answer
  reject,  // the documented answer to a valid request the service refuses (unknown chat, archived channel)
  rate_limit,  // the documented 429, with the delay where the service puts it
};

// Slack incoming webhook at /services/{path}; `path` is "T…/B…/X…". Answers 200 "ok" / 4xx words.
void fake_slack(HttpTestServer& server, std::string path, Scenario scenario = Scenario::accept);
// Discord webhook at /api/webhooks/{id}/{token}; 200 message JSON with ?wait=true, else 204.
void fake_discord(HttpTestServer& server, std::string id, std::string token,
                  Scenario scenario = Scenario::accept);
// Power Automate "When a Teams webhook request is received" trigger at /workflows/{id}/triggers/manual/
// paths/invoke?…&sig={sig}; 202 Accepted.
void fake_teams(HttpTestServer& server, std::string id, std::string sig,
                Scenario scenario = Scenario::accept);
// Telegram Bot API sendMessage at /bot{token}/sendMessage.
void fake_telegram(HttpTestServer& server, std::string token, Scenario scenario = Scenario::accept);
// ntfy publish as JSON at /; `authorization` is the Authorization header it requires ("" = open server).
void fake_ntfy(HttpTestServer& server, std::string authorization, Scenario scenario = Scenario::accept);
// Gotify POST /message with X-Gotify-Key (or ?token=) = `token`.
void fake_gotify(HttpTestServer& server, std::string token, Scenario scenario = Scenario::accept);
// PagerDuty Events API v2 at /v2/enqueue for `routing_key`.
void fake_pagerduty(HttpTestServer& server, std::string routing_key, Scenario scenario = Scenario::accept);

}  // namespace eventhooks::test
