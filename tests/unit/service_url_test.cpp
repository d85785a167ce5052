// Service URLs (docs/urls.md): every scheme round-trips URL -> hook -> description with its secrets
// masked; the config's `url:` key builds the typed hook with explicit keys overriding the URL's; malformed
// URLs are config errors that never quote the URL.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eventhooks/config.hpp"
#include "eventhooks/service_url.hpp"

using namespace eventhooks;

namespace {

struct RoundTrip {
  const char* url;
  const char* described;
  const char* secret;  // must not appear in the description ("" = none in this URL)
};

const RoundTrip kRoundTrips[] = {
    {"slack://T0AAA/B0BBB/slackSecretXyz123",
     "SlackWebHook 'h' -> https://hooks.slack.com/services/T0AAA/B0BBB/***", "slackSecretXyz123"},
    {"discord://1105/discordTokenSecret?username=ops",
     "DiscordWebHook 'h' -> https://discord.com/api/webhooks/1105/***", "discordTokenSecret"},
    {"tgram://123456:ABCsecretTok/-100123?parse_mode=HTML",
     "TelegramHook 'h' -> https://api.telegram.org/bot***/sendMessage chat -100123", "ABCsecretTok"},
    {"ntfy://phil:pw123secret@localhost:8080/alerts?priority=high&tags=a,b",
     "NtfyHook 'h' -> http://localhost:8080/alerts (user phil:***)", "pw123secret"},
    {"ntfys://ntfy.example.com/ops?token=tk_secretabc",
     "NtfyHook 'h' -> https://ntfy.example.com/ops (token ***)", "tk_secretabc"},
    {"ntfy://mytopic", "NtfyHook 'h' -> https://ntfy.sh/mytopic", ""},
    {"gotify://gotify.local/AppTokSecret?priority=8",
     "GotifyHook 'h' -> http://gotify.local/message (token ***)", "AppTokSecret"},
    {"gotifys://g.example/sub/AppTok2Secret", "GotifyHook 'h' -> https://g.example/sub/message (token ***)",
     "AppTok2Secret"},
    {"mmost://bot@chat.example.com/mmTokenSecret?channel=ops",
     "MattermostWebHook 'h' -> http://chat.example.com/hooks/*** channel ops", "mmTokenSecret"},
    {"mmosts://chat.example.com:8443/mmTokenSecret",
     "MattermostWebHook 'h' -> https://chat.example.com:8443/hooks/***", "mmTokenSecret"},
    {"json://localhost:9000/hook?+X-Api-Key=keySecret123",
     "WebHook 'h' -> http://localhost:9000/hook headers: X-Api-Key", "keySecret123"},
    {"jsons://u:pwSecret99@example.com/in", "WebHook 'h' -> https://u:***@example.com/in", "pwSecret99"},
    {"mailto://me:mailPwSecret@smtp.example.com?to=a@x.com,b@y.com&subject=Hi",
     "SimpleEmailHook 'h' -> smtp://smtp.example.com:587 (STARTTLS) as me:***, from me@smtp.example.com to 2 "
     "recipient(s)",
     "mailPwSecret"},
    {"mailtos://me%40example.com:pw2Secret@smtp.example.com",
     "SimpleEmailHook 'h' -> smtps://smtp.example.com:465 (implicit TLS) as me@example.com:***, from "
     "me@example.com "
     "to 1 recipient(s)",
     "pw2Secret"},
    {"mailto://relay.example.com:2525?from=app@example.com&to=ops@example.com",
     "SimpleEmailHook 'h' -> smtp://relay.example.com:2525 (plain), from app@example.com to 1 recipient(s)",
     ""},
    {"amqp://guest:amqpPwSecret@localhost/events?routing_key=alerts",
     "RabbitMqHook 'h' -> amqp://guest:***@localhost:5672/%2F exchange 'events' routing key 'alerts'",
     "amqpPwSecret"},
    {"amqps://u:amqpPw2Secret@rabbit.example:5671/prod/events",
     "RabbitMqHook 'h' -> amqps://u:***@rabbit.example:5671/prod exchange 'events' routing key "
     "'example_queue'",
     "amqpPw2Secret"},
    {"pagerduty://pdRoutingKeySecret00000000000001?severity=critical&source=db-1",
     "PagerDutyHook 'h' -> https://events.pagerduty.com/v2/enqueue trigger (routing key ***) severity "
     "critical",
     "pdRoutingKeySecret"},
};

std::string url_error(const std::string& url) {
  try {
    hook_from_url("h", url);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(ServiceUrl, EveryScheme_RoundTripsToAMaskedDescription) {
  for (const auto& c : kRoundTrips) {
    SCOPED_TRACE(c.described);
    const HookPtr hook = hook_from_url("h", c.url);
    ASSERT_TRUE(hook);
    EXPECT_EQ(hook->describe(), c.described);
    if (*c.secret != '\0') {
      EXPECT_EQ(hook->describe().find(c.secret), std::string::npos);
    }
  }
}

TEST(ServiceUrl, EveryKnownScheme_HasARoundTripCase) {
  for (const auto& scheme : service_url_schemes()) {
    const bool covered = std::any_of(std::begin(kRoundTrips), std::end(kRoundTrips), [&](const RoundTrip& c) {
      return std::string(c.url).rfind(scheme + "://", 0) == 0;
    });
    EXPECT_TRUE(covered) << scheme;
  }
}

TEST(ServiceUrl, MalformedUrls_RefusedWithoutQuotingThem) {
  for (const char* url :
       {"slack://T0/onlyTwoSecretParts", "discord://idOnlySecretX", "tgram://tokSecretPart/",
        "ntfy://user@host/topic", "gotify://hostonly", "pagerduty://k/extraSecretSeg",
        "mailto://user@smtp.example.com", "amqp://u:p@h/a/b/c", "nope://x"}) {
    const std::string message = url_error(url);
    EXPECT_NE(message, "<no error>") << url;
    EXPECT_EQ(message.find("Secret"), std::string::npos) << message;
  }
}

TEST(ServiceUrl, UnknownParameter_NamesTheKnownOnes) {
  const std::string message = url_error("ntfy://host/topic?titel=x");
  EXPECT_NE(message.find("unknown parameter 'titel'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'title'"), std::string::npos) << message;
}

TEST(ServiceUrl, ConfigUrlKey_BuildsTheTypedHookAndExplicitKeysOverride) {
  const Config config = parse_config(
      "hooks:\n"
      "  phone:\n"
      "    url: ntfy://ntfy.example.com/ops?title=FromUrl\n"
      "    title: Explicit\n"
      "    topic: other\n"
      "    realms: [prod]\n",
      "hooks.yaml");
  const auto hook = config.find("phone");
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->type(), "NtfyHook");
  EXPECT_EQ(hook->describe(), "NtfyHook 'phone' -> http://ntfy.example.com/other");
  EXPECT_TRUE(hook->allows("prod"));
  EXPECT_FALSE(hook->allows("dev"));
}

TEST(ServiceUrl, ConfigUrlKey_ProblemOfAUrlPartReportedAtTheUrlsLine) {
  try {
    parse_config("hooks:\n  t:\n    realms: [x]\n    url: tgram://1:tokSecret/not_a_chat\n", "hooks.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("hooks.yaml:4"), std::string::npos) << message;
    EXPECT_NE(message.find("chat_id"), std::string::npos) << message;
    EXPECT_EQ(message.find("tokSecret"), std::string::npos) << message;
  }
}

TEST(ServiceUrl, ConfigWithTypeAndHttpUrl_IsStillAWebHook) {
  const Config config =
      parse_config("hooks:\n  w:\n    type: WebHook\n    url: https://x.example/in\n", "hooks.yaml");
  EXPECT_EQ(config.find("w")->type(), "WebHook");
}
