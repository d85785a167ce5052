// The chat, push and paging hook types without I/O: built from config files (every secret through
// `<key>_file` too), their descriptions masked, their refusals placed at file:line, their rendering limits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eventhooks/config.hpp"
#include "eventhooks/hooks/notify.hpp"
#include "test_env.hpp"

using namespace eventhooks;

namespace {

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "hooks.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

struct SecretCase {
  const char* type;
  const char* secret_key;  // read from <key>_file in the test
  const char* secret;
  const char* other_keys;  // YAML lines (6-space indent) the type needs besides the secret
  const char* described;   // what describe() must say (masked)
};

const SecretCase kSecretCases[] = {
    {"SlackWebHook", "url", "https://hooks.slack.com/services/T0/B0/slackSecretXyZ1234", "",
     "SlackWebHook 'h' -> https://hooks.slack.com/services/T0/B0/***"},
    {"DiscordWebHook", "url", "https://discord.com/api/webhooks/11/discordSecretTok123", "",
     "DiscordWebHook 'h' -> https://discord.com/api/webhooks/11/***"},
    {"TeamsWebHook", "url",
     "https://prod.example.logic.azure.com/workflows/w/triggers/manual/paths/invoke?sig=teamsSig1234", "",
     "TeamsWebHook 'h' -> https://prod.example.logic.azure.com/workflows/w/triggers/manual/paths/invoke?***"},
    {"TelegramHook", "token", "123:telegramSecretToken", "    chat_id: -100123\n",
     "TelegramHook 'h' -> https://api.telegram.org/bot***/sendMessage chat -100123"},
    {"NtfyHook", "token", "tk_ntfySecretToken99", "    topic: ops\n",
     "NtfyHook 'h' -> https://ntfy.sh/ops (token ***)"},
    {"NtfyHook", "password", "ntfyPassword99", "    topic: ops\n    user: phil\n",
     "NtfyHook 'h' -> https://ntfy.sh/ops (user phil:***)"},
    {"GotifyHook", "token", "AgotifySecretTok", "    server: https://gotify.example\n",
     "GotifyHook 'h' -> https://gotify.example/message (token ***)"},
    {"PagerDutyHook", "routing_key", "pdRoutingKeySecret00000000000001", "    source: db-1\n",
     "PagerDutyHook 'h' -> https://events.pagerduty.com/v2/enqueue trigger (routing key ***) severity error"},
};

}  // namespace

TEST(NotifyHookConfig, EverySecretFromItsFile_WorksAndIsMasked) {
  test::TempDir dir;
  for (const auto& c : kSecretCases) {
    SCOPED_TRACE(std::string(c.type) + " " + c.secret_key);
    write_file(dir / "secret", std::string(c.secret) + "\n");
    write_file(dir / "hooks.yaml", std::string("hooks:\n  h:\n    type: ") + c.type + "\n    " +
                                       c.secret_key + "_file: secret\n" + c.other_keys);
    const Config config = load_config((dir / "hooks.yaml").string());
    const std::string described = config.find("h")->describe();
    EXPECT_EQ(described, c.described);
    EXPECT_EQ(described.find(c.secret), std::string::npos);
  }
}

TEST(NotifyHookConfig, SecretUrlNotHttp_RefusedWithoutQuotingIt) {
  const std::string message =
      error_of("hooks:\n  h:\n    type: SlackWebHook\n    url: slack://T0/B0/slackSecretXyZ1234\n");
  EXPECT_NE(message.find("hooks.yaml:4"), std::string::npos) << message;
  EXPECT_NE(message.find("must use http or https"), std::string::npos) << message;
  EXPECT_EQ(message.find("slackSecretXyZ1234"), std::string::npos) << message;
}

TEST(NotifyHookConfig, ConstructorRefusals_LandAtTheirKeysLine) {
  struct Case {
    const char* yaml;
    const char* expected;
  } cases[] = {
      {"hooks:\n  h:\n    type: TelegramHook\n    token: 1:a\n    chat_id: 42\n    parse_mode: md\n",
       "hooks.yaml:6"},
      {"hooks:\n  h:\n    type: TelegramHook\n    token: 1:a\n    chat_id: ops channel\n", "hooks.yaml:5"},
      {"hooks:\n  h:\n    type: NtfyHook\n    topic: a/b\n", "hooks.yaml:4"},
      {"hooks:\n  h:\n    type: NtfyHook\n    topic: ops\n    priority: loud\n", "hooks.yaml:5"},
      {"hooks:\n  h:\n    type: PagerDutyHook\n    routing_key: k\n    event_action: resolve\n", "dedup_key"},
      {"hooks:\n  h:\n    type: PagerDutyHook\n    routing_key: k\n    severity: bad\n", "hooks.yaml:5"},
      {"hooks:\n  h:\n    type: GotifyHook\n    server: https://g.example\n    token: t\n    priority: 11\n",
       "hooks.yaml:6"},
      {"hooks:\n  h:\n    type: SlackWebHook\n    url: https://h.example/x\n    blocks: '{\"a\":1}'\n",
       "hooks.yaml:5"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.yaml);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.yaml << "\n-> " << message;
  }
}

TEST(NotifyHookConfig, TypoInKey_SuggestsTheKey) {
  const std::string message = error_of("hooks:\n  h:\n    type: NtfyHook\n    topic: ops\n    titel: Disk\n");
  EXPECT_NE(message.find("did you mean 'title'"), std::string::npos) << message;
}

TEST(NotifyHookRender, EmptyData_RefusedBeforeSending) {
  SlackWebHook hook({.common = {.name = "s"}, .url = "https://hooks.example/services/x"});
  auto request = hook.render(Event::make("e", Payload()));
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().code, ErrorCode::invalid_input);
}

TEST(NotifyHookRender, PagerDutySummary_CutAt1024BytesOnACharacterBoundary) {
  PagerDutyHook hook({.common = {.name = "p"}, .routing_key = "k", .source = "db-1"});
  const std::string text = std::string(1023, 'a') + "é";  // é is 2 bytes: byte 1024 is inside it
  auto request = hook.render(Event::make("e", text));
  ASSERT_TRUE(request.ok());
  const auto body = nlohmann::json::parse(request.value().body);
  EXPECT_EQ(body["payload"]["summary"].get<std::string>(), std::string(1023, 'a'));
}

TEST(NotifyHookRender, PagerDutyWithoutData_SummaryIsTheEventName) {
  PagerDutyHook hook({.common = {.name = "p"}, .routing_key = "k"});
  auto request = hook.render(Event::make("backup_failed", Payload()));
  ASSERT_TRUE(request.ok());
  const auto body = nlohmann::json::parse(request.value().body);
  EXPECT_EQ(body["payload"]["summary"], "backup_failed");
  EXPECT_FALSE(body["payload"]["source"].get<std::string>().empty());
}
