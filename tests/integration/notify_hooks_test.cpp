// SlackWebHook, DiscordWebHook, TeamsWebHook, TelegramHook, NtfyHook, GotifyHook and PagerDutyHook, built
// from config keys as a user writes them, against in-process fakes of each service (tests/support/
// fake_services.cpp) that check the request against the service's documented API and answer with its
// documented success, error and rate-limit answers. No secret may appear in any outcome or description.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "eventhooks/hook_registry.hpp"
#include "eventhooks/hooks/notify.hpp"
#include "fake_services.hpp"
#include "http_test_server.hpp"

using namespace eventhooks;
using namespace std::chrono_literals;
using test::HttpTestServer;
using test::Scenario;

namespace {

constexpr const char* kSlackPath = "T0AAAAAAA/B0BBBBBBB/slackSecretXyZ123456789";
constexpr const char* kDiscordId = "1105240183584542770";
constexpr const char* kDiscordToken = "discordSecretTokenAbc987654321";
constexpr const char* kTeamsSig = "teamsSigSecret0123456789abcdef";
constexpr const char* kBotToken = "123456789:telegramSecretAAbbCCddEEff";
constexpr const char* kNtfyToken = "tk_ntfysecrettoken0123456789ab";
constexpr const char* kGotifyToken = "AgotifySecret.Tok3n";
constexpr const char* kRoutingKey = "pdRoutingKeySecret00000000000001";  // 32 characters

HookPtr build(nlohmann::json config) {
  config["timeout"] = 10;
  return eventhook_factory("alert", config);
}

Outcome fire(Hook& hook, Payload data = "disk full on db-1") {
  return hook.trigger(Event::make("disk_full", std::move(data)));
}

// What a user or a log could ever see of a hook and its outcome.
std::string everything_shown(const Hook& hook, const Outcome& out) {
  return hook.describe() + "\n" + out.detail() + "\n" + (out.error ? out.error->to_string() : "");
}

void expect_no_secret(const std::string& shown, const std::string& secret) {
  EXPECT_EQ(shown.find(secret), std::string::npos) << "secret shown in: " << shown;
}

nlohmann::json body_of(const HttpTestServer& server) {
  return nlohmann::json::parse(server.requests().at(0).body);
}

std::string teams_url(const HttpTestServer& server, const char* sig) {
  return server.url(
             "/workflows/wf01/triggers/manual/paths/"
             "invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=") +
         sig;
}

}  // namespace

// ------------------------------------------------------------------------------------------------- Slack

TEST(SlackWebHook, Accepted_PostsTextAndBlocks) {
  HttpTestServer server;
  test::fake_slack(server, kSlackPath);
  auto hook = build({{"type", "SlackWebHook"},
                     {"url", server.url("/services/") + kSlackPath},
                     {"blocks", nlohmann::json::array({{{"type", "divider"}}})},
                     {"icon_emoji", ":fire:"}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.status, 200);
  const auto body = body_of(server);
  EXPECT_EQ(body["text"], "disk full on db-1");
  EXPECT_EQ(body["blocks"][0]["type"], "divider");
  EXPECT_EQ(body["icon_emoji"], ":fire:");
  expect_no_secret(everything_shown(*hook, out), "slackSecretXyZ123456789");
}

TEST(SlackWebHook, ArchivedChannel_FailsPermanentlyWithSlacksWord) {
  HttpTestServer server;
  test::fake_slack(server, kSlackPath, Scenario::reject);
  auto hook = build({{"type", "SlackWebHook"}, {"url", server.url("/services/") + kSlackPath}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_FALSE(out.error->retryable);
  EXPECT_EQ(out.error->status, 410);
  EXPECT_NE(out.error->message.find("channel_is_archived"), std::string::npos) << out.error->message;
  expect_no_secret(everything_shown(*hook, out), "slackSecretXyZ123456789");
}

TEST(SlackWebHook, RateLimited_RetryableAfterSlacksDelay) {
  HttpTestServer server;
  test::fake_slack(server, kSlackPath, Scenario::rate_limit);
  auto hook = build({{"type", "SlackWebHook"}, {"url", server.url("/services/") + kSlackPath}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_TRUE(out.error->retryable);
  EXPECT_EQ(out.error->code, ErrorCode::throttled);
  EXPECT_EQ(out.error->retry_after, 30s);
}

// ----------------------------------------------------------------------------------------------- Discord

TEST(DiscordWebHook, Accepted_WaitsForTheMessageAndKeepsItsId) {
  HttpTestServer server;
  test::fake_discord(server, kDiscordId, kDiscordToken);
  auto hook = build({{"type", "DiscordWebHook"},
                     {"url", server.url("/api/webhooks/") + kDiscordId + "/" + kDiscordToken},
                     {"username", "ops-bot"}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.id, "1227318574463090789");
  EXPECT_EQ(server.requests().at(0).target.substr(server.requests().at(0).path.size()), "?wait=true");
  const auto body = body_of(server);
  EXPECT_EQ(body["content"], "disk full on db-1");
  EXPECT_EQ(body["username"], "ops-bot");
  expect_no_secret(everything_shown(*hook, out), kDiscordToken);
}

TEST(DiscordWebHook, Title_SendsOneEmbed) {
  HttpTestServer server;
  test::fake_discord(server, kDiscordId, kDiscordToken);
  auto hook = build({{"type", "DiscordWebHook"},
                     {"url", server.url("/api/webhooks/") + kDiscordId + "/" + kDiscordToken},
                     {"title", "Disk"}});
  ASSERT_TRUE(fire(*hook).delivered());
  const auto body = body_of(server);
  EXPECT_FALSE(body.contains("content"));
  EXPECT_EQ(body["embeds"][0]["title"], "Disk");
  EXPECT_EQ(body["embeds"][0]["description"], "disk full on db-1");
}

TEST(DiscordWebHook, Embeds_SentAsGivenAfterTheTitlesEmbed) {
  HttpTestServer server;
  test::fake_discord(server, kDiscordId, kDiscordToken);
  auto hook =
      build({{"type", "DiscordWebHook"},
             {"url", server.url("/api/webhooks/") + kDiscordId + "/" + kDiscordToken},
             {"title", "Disk"},
             {"embeds",
              nlohmann::json::array(
                  {{{"title", "Runbook"}, {"url", "https://runbooks.example/disk"}, {"color", 15158332}}})}});
  ASSERT_TRUE(fire(*hook).delivered());
  const auto body = body_of(server);
  ASSERT_EQ(body["embeds"].size(), 2U);
  EXPECT_EQ(body["embeds"][0]["title"], "Disk");
  EXPECT_EQ(body["embeds"][1]["title"], "Runbook");
  EXPECT_EQ(body["embeds"][1]["color"], 15158332);
}

TEST(DiscordWebHook, Embeds_NotAListOrMoreThanTen_ConfigError) {
  const std::string url = "https://discord.com/api/webhooks/1/" + std::string(kDiscordToken);
  EXPECT_THROW(build({{"type", "DiscordWebHook"}, {"url", url}, {"embeds", "{\"title\": \"x\"}"}}),
               ConfigError);
  EXPECT_THROW(build({{"type", "DiscordWebHook"}, {"url", url}, {"embeds", nlohmann::json::array({1, 2})}}),
               ConfigError);
  nlohmann::json eleven = nlohmann::json::array();
  for (int i = 0; i < 11; ++i) eleven.push_back({{"title", "e" + std::to_string(i)}});
  EXPECT_THROW(build({{"type", "DiscordWebHook"}, {"url", url}, {"embeds", eleven}}), ConfigError);
}

TEST(DiscordWebHook, RateLimited_RetryAfterFromTheBodyRoundedUp) {
  HttpTestServer server;
  test::fake_discord(server, kDiscordId, kDiscordToken, Scenario::rate_limit);
  auto hook = build(
      {{"type", "DiscordWebHook"}, {"url", server.url("/api/webhooks/") + kDiscordId + "/" + kDiscordToken}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_TRUE(out.error->retryable);
  EXPECT_EQ(out.error->retry_after, 2s);  // 1.5 s, rounded up: never earlier than Discord asked
}

TEST(DiscordWebHook, WrongToken_FailsWithDiscordsMessageAndNoToken) {
  HttpTestServer server;
  test::fake_discord(server, kDiscordId, "theRightTokenIsAnotherOne0000");
  auto hook = build(
      {{"type", "DiscordWebHook"}, {"url", server.url("/api/webhooks/") + kDiscordId + "/" + kDiscordToken}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_FALSE(out.error->retryable);
  EXPECT_NE(out.error->message.find("Invalid Webhook Token"), std::string::npos) << out.error->message;
  expect_no_secret(everything_shown(*hook, out), kDiscordToken);
}

// ------------------------------------------------------------------------------------------------- Teams

TEST(TeamsWebHook, Accepted_PostsAnAdaptiveCard) {
  HttpTestServer server;
  test::fake_teams(server, "wf01", kTeamsSig);
  auto hook = build({{"type", "TeamsWebHook"}, {"url", teams_url(server, kTeamsSig)}, {"title", "Disk"}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.status, 202);
  const auto card = body_of(server)["attachments"][0]["content"];
  EXPECT_EQ(card["body"][0]["text"], "Disk");
  EXPECT_EQ(card["body"][1]["text"], "disk full on db-1");
  expect_no_secret(everything_shown(*hook, out), kTeamsSig);
}

TEST(TeamsWebHook, BadSignature_FailsWithTheWorkflowsErrorAndNoSig) {
  HttpTestServer server;
  test::fake_teams(server, "wf01", "anotherSignatureAltogether000");
  auto hook = build({{"type", "TeamsWebHook"}, {"url", teams_url(server, kTeamsSig)}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->status, 401);
  EXPECT_NE(out.error->message.find("DirectApiInvalidAuthorizationSignature"), std::string::npos);
  expect_no_secret(everything_shown(*hook, out), kTeamsSig);
}

TEST(TeamsWebHook, RateLimited_RetryableWithRetryAfter) {
  HttpTestServer server;
  test::fake_teams(server, "wf01", kTeamsSig, Scenario::rate_limit);
  auto hook = build({{"type", "TeamsWebHook"}, {"url", teams_url(server, kTeamsSig)}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_TRUE(out.error->retryable);
  EXPECT_EQ(out.error->retry_after, 12s);
}

// ---------------------------------------------------------------------------------------------- Telegram

TEST(TelegramHook, Accepted_SendsMessageToTheChatAndKeepsMessageId) {
  HttpTestServer server;
  test::fake_telegram(server, kBotToken);
  auto hook = build({{"type", "TelegramHook"},
                     {"token", kBotToken},
                     {"chat_id", -1001234567890},
                     {"parse_mode", "HTML"},
                     {"base_url", server.url("")}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.id, "4242");
  const auto body = body_of(server);
  EXPECT_EQ(body["chat_id"], -1001234567890);
  EXPECT_EQ(body["parse_mode"], "HTML");
  expect_no_secret(everything_shown(*hook, out), kBotToken);
}

TEST(TelegramHook, RateLimited_RetryAfterFromParameters) {
  HttpTestServer server;
  test::fake_telegram(server, kBotToken, Scenario::rate_limit);
  auto hook = build(
      {{"type", "TelegramHook"}, {"token", kBotToken}, {"chat_id", "@ops"}, {"base_url", server.url("")}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_TRUE(out.error->retryable);
  EXPECT_EQ(out.error->retry_after, 7s);
}

TEST(TelegramHook, WrongToken_UnauthorizedWithoutTheToken) {
  HttpTestServer server;
  test::fake_telegram(server, "987654321:theBotTokenTheServerKnows");
  auto hook = build(
      {{"type", "TelegramHook"}, {"token", kBotToken}, {"chat_id", "42"}, {"base_url", server.url("")}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->status, 401);
  EXPECT_NE(out.error->message.find("Unauthorized"), std::string::npos) << out.error->message;
  expect_no_secret(everything_shown(*hook, out), "telegramSecretAAbbCCddEEff");
}

// -------------------------------------------------------------------------------------------------- ntfy

TEST(NtfyHook, Accepted_PublishesJsonWithBearerToken) {
  HttpTestServer server;
  test::fake_ntfy(server, std::string("Bearer ") + kNtfyToken);
  auto hook = build({{"type", "NtfyHook"},
                     {"server", server.url("")},
                     {"topic", "ops_alerts"},
                     {"title", "Disk"},
                     {"priority", "high"},
                     {"tags", "warning,skull"},
                     {"click", "https://grafana.example/d/1"},
                     {"token", kNtfyToken}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.id, "sPs71M8A2T");
  const auto body = body_of(server);
  EXPECT_EQ(body["topic"], "ops_alerts");
  EXPECT_EQ(body["message"], "disk full on db-1");
  EXPECT_EQ(body["priority"], 4);
  EXPECT_EQ(body["tags"], nlohmann::json::array({"warning", "skull"}));
  expect_no_secret(everything_shown(*hook, out), kNtfyToken);
}

TEST(NtfyHook, UserAndPassword_SentAsBasicAuth) {
  HttpTestServer server;
  test::fake_ntfy(server, "Basic cGhpbDpteXBhc3N3b3JkMTIz");  // phil:mypassword123
  auto hook = build({{"type", "NtfyHook"},
                     {"server", server.url("")},
                     {"topic", "ops"},
                     {"user", "phil"},
                     {"password", "mypassword123"}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  expect_no_secret(everything_shown(*hook, out), "mypassword123");
}

TEST(NtfyHook, WrongToken_UnauthorizedWithNtfysError) {
  HttpTestServer server;
  test::fake_ntfy(server, "Bearer tk_theServersOwnToken000000000");
  auto hook =
      build({{"type", "NtfyHook"}, {"server", server.url("")}, {"topic", "ops"}, {"token", kNtfyToken}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->status, 401);
  EXPECT_NE(out.error->message.find("40101"), std::string::npos) << out.error->message;
  expect_no_secret(everything_shown(*hook, out), kNtfyToken);
}

TEST(NtfyHook, RateLimited_Retryable) {
  HttpTestServer server;
  test::fake_ntfy(server, "", Scenario::rate_limit);
  auto hook = build({{"type", "NtfyHook"}, {"server", server.url("")}, {"topic", "ops"}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_TRUE(out.error->retryable);
  EXPECT_EQ(out.error->code, ErrorCode::throttled);
  EXPECT_NE(out.error->message.find("limit reached"), std::string::npos) << out.error->message;
}

// ------------------------------------------------------------------------------------------------ Gotify

TEST(GotifyHook, Accepted_PostsMessageWithAppTokenHeader) {
  HttpTestServer server;
  test::fake_gotify(server, kGotifyToken);
  auto hook = build({{"type", "GotifyHook"},
                     {"server", server.url("")},
                     {"token", kGotifyToken},
                     {"title", "Disk"},
                     {"priority", 8}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.id, "25");
  const auto body = body_of(server);
  EXPECT_EQ(body["title"], "Disk");
  EXPECT_EQ(body["priority"], 8);
  expect_no_secret(everything_shown(*hook, out), kGotifyToken);
}

TEST(GotifyHook, WrongToken_FailsWithGotifysDescription) {
  HttpTestServer server;
  test::fake_gotify(server, "AtheServersToken");
  auto hook = build({{"type", "GotifyHook"}, {"server", server.url("")}, {"token", kGotifyToken}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->status, 401);
  EXPECT_NE(out.error->message.find("valid access token"), std::string::npos) << out.error->message;
  expect_no_secret(everything_shown(*hook, out), kGotifyToken);
}

// --------------------------------------------------------------------------------------------- PagerDuty

TEST(PagerDutyHook, Trigger_DedupKeyIsTheEventId) {
  HttpTestServer server;
  test::fake_pagerduty(server, kRoutingKey);
  auto hook = build({{"type", "PagerDutyHook"},
                     {"routing_key", kRoutingKey},
                     {"severity", "critical"},
                     {"source", "db-1"},
                     {"base_url", server.url("")}});
  const Event event = Event::make("disk_full", nlohmann::json{{"used", 99}});
  const Outcome out = hook->trigger(event);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.status, 202);
  EXPECT_EQ(out.receipt.id, event.id);
  const auto body = body_of(server);
  EXPECT_EQ(body["event_action"], "trigger");
  EXPECT_EQ(body["dedup_key"], event.id);
  EXPECT_EQ(body["payload"]["severity"], "critical");
  EXPECT_EQ(body["payload"]["source"], "db-1");
  EXPECT_EQ(body["payload"]["custom_details"]["used"], 99);
  expect_no_secret(everything_shown(*hook, out), kRoutingKey);
}

TEST(PagerDutyHook, Resolve_SendsOnlyTheKeyOfTheAlert) {
  HttpTestServer server;
  test::fake_pagerduty(server, kRoutingKey);
  auto hook = build({{"type", "PagerDutyHook"},
                     {"routing_key", kRoutingKey},
                     {"event_action", "resolve"},
                     {"dedup_key", "disk-db-1"},
                     {"base_url", server.url("")}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.id, "disk-db-1");
  EXPECT_FALSE(body_of(server).contains("payload"));
}

TEST(PagerDutyHook, UnknownRoutingKey_EchoedByTheServiceButScrubbed) {
  HttpTestServer server;
  test::fake_pagerduty(server, "pdAnotherRoutingKey0000000000002");
  auto hook = build({{"type", "PagerDutyHook"}, {"routing_key", kRoutingKey}, {"base_url", server.url("")}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_FALSE(out.error->retryable);
  EXPECT_NE(out.error->message.find("invalid event"), std::string::npos) << out.error->message;
  expect_no_secret(everything_shown(*hook, out), kRoutingKey);
}

TEST(PagerDutyHook, RateLimited_Retryable) {
  HttpTestServer server;
  test::fake_pagerduty(server, kRoutingKey, Scenario::rate_limit);
  auto hook = build({{"type", "PagerDutyHook"}, {"routing_key", kRoutingKey}, {"base_url", server.url("")}});
  const Outcome out = fire(*hook);
  ASSERT_TRUE(out.failed());
  EXPECT_TRUE(out.error->retryable);
  EXPECT_EQ(out.error->code, ErrorCode::throttled);
}

// ------------------------------------------------------------------------------------------ the fakes say no

// A fake that accepted anything would prove nothing: a request not in the service's documented shape (a plain
// WebHook's JSON) gets the service's own refusal.
TEST(FakeServices, RequestNotInTheDocumentedShape_GetsTheServicesRefusal) {
  struct Case {
    void (*install)(HttpTestServer&);
    const char* path;
    int status;
    const char* words;
  } cases[] = {
      {[](HttpTestServer& s) { test::fake_slack(s, "T1/B1/shape"); }, "/services/T1/B1/shape", 400,
       "no_text"},
      {[](HttpTestServer& s) { test::fake_telegram(s, "1:shape"); }, "/bot1:shape/sendMessage", 400,
       "chat_id is empty"},
      {[](HttpTestServer& s) { test::fake_pagerduty(s, kRoutingKey); }, "/v2/enqueue", 400, "routing_key"},
      {[](HttpTestServer& s) { test::fake_gotify(s, kGotifyToken); }, "/message", 401, "valid access token"},
  };
  // A WebHook does not know that a path holds a credential and logs it: these paths hold none, so no test
  // output ever shows a real-looking secret.
  for (const auto& c : cases) {
    HttpTestServer server;
    c.install(server);
    auto hook = build({{"type", "WebHook"}, {"url", server.url(c.path)}});
    const Outcome out = fire(*hook, nlohmann::json{{"temperature", 42}});
    ASSERT_TRUE(out.failed()) << c.path;
    EXPECT_EQ(out.error->status, c.status) << c.path;
    EXPECT_NE(out.error->message.find(c.words), std::string::npos) << out.error->message;
  }
}
