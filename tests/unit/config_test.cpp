// Config loading, the registry and the factory: every user mistake gives a ConfigError naming file, line,
// hook and key; interpolation, *_file secrets, realms/enabled, retry and defaults.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>

#include "eventhooks/config.hpp"
#include "eventhooks/hooks/file_hook.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "test_env.hpp"

namespace eventhooks {
namespace {

using std::chrono::milliseconds;

// What a "Probe" hook's builder read, so that tests can look at the values after loading.
struct ProbeValues {
  std::string text;
  std::string secret;
  std::int64_t number = 0;
  milliseconds timeout{0};
};

class ProbeHook : public Hook {
 public:
  ProbeHook(HookCommon common, ProbeValues values) : Hook(std::move(common)), values(std::move(values)) {}
  std::string_view type() const noexcept override { return "Probe"; }
  std::string describe() const override { return "Probe '" + name() + "'"; }
  ProbeValues values;

 protected:
  Result<Receipt> send(const Event&) override { return Receipt{.status = {}, .id = {}, .detail = "probed"}; }
};

// An application's own hook type, registered next to the built-ins.
HookRegistry registry_with_probe() {
  HookRegistry registry = HookRegistry::with_builtins();
  registry.add("Probe", [](HookCommon common, ConfigReader& keys) -> HookPtr {
    ProbeValues v;
    v.text = keys.optional_string("text");
    v.secret = keys.secret("secret", false);
    v.number = keys.optional_int("number", 0, 0, 65535);
    v.timeout = keys.optional_seconds("timeout", milliseconds(30'000));
    return std::make_shared<ProbeHook>(std::move(common), std::move(v));
  });
  return registry;
}

const ProbeValues& probe(const Config& config, const std::string& name) {
  auto hook = std::dynamic_pointer_cast<ProbeHook>(config.find(name));
  if (!hook) throw std::runtime_error("no probe hook " + name);
  return hook->values;
}

Config parse(const std::string& text, const std::string& base_dir = ".") {
  return parse_config(text, "hooks.yaml", registry_with_probe(), base_dir);
}

// The error message of parsing `text`, which must fail.
std::string error_of(const std::string& text, const std::string& base_dir = ".") {
  try {
    parse(text, base_dir);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string parse_error_of_bool(const std::string& value) {
  return error_of("hooks:\n  p:\n    type: Probe\n    enabled: " + value + "\n");
}

void expect_contains_all(const std::string& message, std::initializer_list<std::string> parts) {
  for (const auto& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// --- loading ---------------------------------------------------------------------------------------------

TEST(ConfigLoad, YamlHooks_KeepFileOrderAndTypes) {
  const Config config = parse(
      "hooks:\n"
      "  zeta:\n"
      "    type: WebHook\n"
      "    url: https://example.com/z\n"
      "  alpha:\n"
      "    type: FileHook\n"
      "    path: /tmp/x.jsonl\n");
  ASSERT_EQ(config.hooks.size(), 2u);
  EXPECT_EQ(config.hooks[0].hook->name(), "zeta");
  EXPECT_EQ(config.hooks[0].hook->type(), "WebHook");
  EXPECT_EQ(config.hooks[0].location.line, 2);
  EXPECT_EQ(config.hooks[1].hook->name(), "alpha");
  EXPECT_EQ(config.hooks[1].hook->type(), "FileHook");
  EXPECT_EQ(config.hooks[1].location.file, "hooks.yaml");
}

TEST(ConfigLoad, JsonFile_LoadsLikeYaml) {
  test::TempDir dir;
  write_file(dir / "hooks.json",
             R"({"hooks": {"b": {"type": "FileHook", "path": "/tmp/b.jsonl", "realms": ["r1", "r2"]},
                           "a": {"type": "WebHook", "url": "https://example.com/a"}}})");
  const Config config = load_config((dir / "hooks.json").string());
  ASSERT_EQ(config.hooks.size(), 2u);
  EXPECT_EQ(config.hooks[0].hook->name(), "b");
  EXPECT_EQ(config.hooks[0].hook->realms().names(), (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(config.hooks[1].hook->type(), "WebHook");
}

TEST(ConfigLoad, JsonFileError_NamesJsonLine) {
  test::TempDir dir;
  write_file(dir / "hooks.json",
             "{\n  \"hooks\": {\n    \"a\": {\n      \"type\": \"WebHook\",\n      \"url\": \"nourl\"\n    "
             "}\n  }\n}\n");
  try {
    load_config((dir / "hooks.json").string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    expect_contains_all(e.what(), {"hooks.json:5:", "hook 'a'", "key 'url'", "not a URL"});
  }
}

TEST(ConfigLoad, MissingFile_IsConfigError) {
  EXPECT_THROW(load_config("/nonexistent/eventhooks.yaml"), ConfigError);
}

TEST(ConfigLoad, YamlSyntaxError_NamesLine) {
  expect_contains_all(error_of("hooks:\n  a: [\n"), {"hooks.yaml:", "not valid YAML"});
}

TEST(ConfigLoad, NotAMapping_IsError) {
  expect_contains_all(error_of("- a\n- b\n"), {"hooks.yaml:1", "mapping"});
}

TEST(ConfigLoad, MissingHooks_IsError) {
  expect_contains_all(error_of("outbox: {path: x.db}\n"), {"key 'hooks'", "required"});
}

TEST(ConfigLoad, HooksNotAMapping_IsError) {
  expect_contains_all(error_of("hooks: [a, b]\n"), {"hooks.yaml:1", "key 'hooks'", "mapping"});
}

TEST(ConfigLoad, UnknownTopLevelKey_SuggestsNearest) {
  expect_contains_all(error_of("hooks: {}\ndefault:\n  timeout: 3\n"),
                      {"hooks.yaml:2", "key 'default'", "unknown key", "did you mean 'defaults'?"});
}

TEST(ConfigLoad, EmptyHooks_IsValid) {
  EXPECT_TRUE(parse("hooks: {}\n").hooks.empty());
}

TEST(ConfigLoad, DuplicateHookName_IsError) {
  expect_contains_all(error_of("hooks:\n  a: {type: Probe}\n  a: {type: Probe}\n"),
                      {"hooks.yaml:3", "hook 'a'", "duplicate key"});
}

// Found while fuzzing the loader (fuzz/config_yaml): an alias inside its own anchor overflowed the stack.
TEST(ConfigLoad, SelfReferencingAlias_IsErrorNotStackOverflow) {
  expect_contains_all(error_of("loop: &a [*a]\nhooks: {}\n"), {"hooks.yaml:1", "key 'loop'", "levels deep"});
  expect_contains_all(error_of("hooks:\n  a: &x {type: Probe, nested: *x}\n"), {"hook 'a'", "levels deep"});
}

// Nested aliases ("billion laughs"): 10^7 values from a few hundred bytes ran out of time and memory.
TEST(ConfigLoad, AliasExpansion_IsBounded) {
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 6; ++i) {
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *l" : "*l") + std::to_string(i - 1);
    text += "]\n";
  }
  expect_contains_all(error_of(text + "hooks: {}\n"), {"hooks.yaml:", "more than 100000 values"});
}

// Aliases within the limits still work.
TEST(ConfigLoad, Aliases_StillResolved) {
  auto config = parse("defaults:\n  retry: &r {max_attempts: 3}\nhooks:\n  a: {type: Probe, retry: *r}\n");
  ASSERT_EQ(config.hooks.size(), 1u);
  EXPECT_EQ(config.hooks[0].retry.max_attempts, 3);
}

TEST(ConfigLoad, OutboxPath_RelativeToConfigFolder) {
  const Config config = parse("outbox:\n  path: state/outbox.db\nhooks: {}\n", "/etc/eventhooks");
  ASSERT_TRUE(config.outbox.has_value());
  EXPECT_EQ(config.outbox->path, "/etc/eventhooks/state/outbox.db");
}

TEST(ConfigLoad, OutboxWithoutPath_IsError) {
  expect_contains_all(error_of("outbox: {}\nhooks: {}\n"), {"key 'outbox.path'", "required"});
}

// --- serve: -----------------------------------------------------------------------------------------------

TEST(ConfigServe, ApiKeys_AreKeptOnlyAsHashesAndAcceptedByValue) {
  // The second entry is sha256("ehk_cfg_other_Kz2"), so that a file need not hold the key itself.
  const Config config = parse(
      "serve:\n  api_keys: [ehk_cfg_first_Kz1, "
      "'sha256:c10597045313c42289eeac9a3e4443af30c63cd2265623d48b7090daba4a2e9c']\nhooks: {}\n");
  ASSERT_TRUE(config.serve.has_value());
  ASSERT_EQ(config.serve->api_key_hashes.size(), 2u);
  for (const auto& h : config.serve->api_key_hashes) {
    EXPECT_EQ(h.size(), 32u);
    EXPECT_EQ(h.find("ehk_cfg_first_Kz1"), std::string::npos);
  }
  EXPECT_TRUE(config.serve->accepts_key("ehk_cfg_first_Kz1"));
  EXPECT_TRUE(config.serve->accepts_key("ehk_cfg_other_Kz2"));
  EXPECT_FALSE(config.serve->accepts_key("ehk_cfg_first_Kz1 "));
  EXPECT_FALSE(config.serve->accepts_key(""));
  EXPECT_EQ(config.serve->listen.host, "127.0.0.1");
  EXPECT_EQ(config.serve->listen.port, 8642);
  EXPECT_EQ(config.serve->max_body, std::size_t{1} << 20);
}

TEST(ConfigServe, Threads_DefaultsToOneEventLoopPerCpu_AndIsBounded) {
  EXPECT_EQ(parse("serve: {api_keys: [k]}\nhooks: {}\n").serve->threads, 0u);  // 0: one per CPU
  EXPECT_EQ(parse("serve: {api_keys: [k], threads: 3}\nhooks: {}\n").serve->threads, 3u);
  expect_contains_all(error_of("serve: {api_keys: [k], threads: 1000}\nhooks: {}\n"), {"serve.threads"});
}

TEST(ConfigServe, IdleTimeout_DefaultsToAMinute_AndIsBounded) {
  EXPECT_EQ(parse("serve: {api_keys: [k]}\nhooks: {}\n").serve->idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(parse("serve: {api_keys: [k], idle_timeout: 5}\nhooks: {}\n").serve->idle_timeout,
            std::chrono::seconds(5));
  expect_contains_all(error_of("serve: {api_keys: [k], idle_timeout: 0}\nhooks: {}\n"),
                      {"serve.idle_timeout"});
}

TEST(ConfigServe, MaxPending_DefaultsToNoLimit_AndIsNotNegative) {
  EXPECT_EQ(parse("serve: {api_keys: [k]}\nhooks: {}\n").serve->max_pending, 0u);
  EXPECT_EQ(parse("serve: {api_keys: [k], max_pending: 100000}\nhooks: {}\n").serve->max_pending, 100000u);
  expect_contains_all(error_of("serve: {api_keys: [k], max_pending: -1}\nhooks: {}\n"),
                      {"serve.max_pending"});
}

TEST(ConfigServe, MalformedHashEntry_IsError) {
  expect_contains_all(error_of("serve:\n  api_keys: ['sha256:abc']\nhooks: {}\n"),
                      {"key 'serve.api_keys'", "64 hex digits"});
}

TEST(ConfigServe, WithoutApiKeys_IsError) {
  expect_contains_all(error_of("serve:\n  listen: 127.0.0.1:9000\nhooks: {}\n"),
                      {"key 'serve.api_keys'", "required"});
}

TEST(ConfigServe, BadListenAddress_IsErrorAtItsKey) {
  expect_contains_all(error_of("serve:\n  listen: localhost\n  api_keys: [k]\nhooks: {}\n"),
                      {"hooks.yaml:2:", "key 'serve.listen'", "HOST:PORT"});
}

TEST(ConfigServe, KeepDelivered_DefaultsToADayWithServeAndZeroWithout) {
  EXPECT_EQ(parse("serve: {api_keys: [k]}\noutbox: {path: o.db}\nhooks: {}\n").outbox->keep_delivered,
            std::chrono::hours(24));
  EXPECT_EQ(parse("outbox: {path: o.db}\nhooks: {}\n").outbox->keep_delivered, std::chrono::milliseconds(0));
  EXPECT_EQ(parse("outbox: {path: o.db, keep_delivered: 60}\nhooks: {}\n").outbox->keep_delivered,
            std::chrono::seconds(60));
}

TEST(ConfigServe, ParseAddress_AcceptsV4AndBracketedV6) {
  EXPECT_EQ(ServeConfig::parse_address("0.0.0.0:80")->port, 80);
  EXPECT_EQ(ServeConfig::parse_address("[::1]:8642")->host, "::1");
  EXPECT_FALSE(ServeConfig::parse_address("::1:8642").has_value());
  EXPECT_FALSE(ServeConfig::parse_address("host:99999").has_value());
  EXPECT_FALSE(ServeConfig::parse_address("host:").has_value());
}

TEST(ConfigLoad, OutboxUrl_SelectsRabbitMqWithEveryNode) {
  const Config config = parse(
      "outbox:\n  url: [amqp://u:cfgPwSecret@a:5672/, amqp://u:cfgPwSecret@b:5672/]\n  queue: jobs\n"
      "  delivery_limit: 5\nhooks: {}\n");
  ASSERT_TRUE(config.outbox.has_value());
  EXPECT_TRUE(config.outbox->rabbitmq());
  EXPECT_EQ(config.outbox->urls.size(), 2u);
  EXPECT_EQ(config.outbox->queue, "jobs");
  EXPECT_EQ(config.outbox->delivery_limit, 5);
  EXPECT_TRUE(config.outbox->path.empty());
}

TEST(ConfigLoad, OutboxUrlWithoutQueue_IsError) {
  expect_contains_all(error_of("outbox:\n  url: amqp://u:p@a/\nhooks: {}\n"),
                      {"key 'outbox.queue'", "required"});
}

TEST(ConfigLoad, OutboxUrlWithoutPassword_IsErrorThatDoesNotQuoteTheUrl) {
  const std::string e = error_of("outbox:\n  url: amqp://justuser@a/\n  queue: q\nhooks: {}\n");
  expect_contains_all(e, {"key 'outbox.url'", "user and a password"});
  const std::string bad = error_of("outbox:\n  url: http://u:cfgPwSecret@a/\n  queue: q\nhooks: {}\n");
  expect_contains_all(bad, {"key 'outbox.url'"});
  EXPECT_EQ(bad.find("cfgPwSecret"), std::string::npos) << bad;
}

// --- errors in one hook ----------------------------------------------------------------------------------

TEST(ConfigErrors, UnknownType_SuggestsNearestName) {
  expect_contains_all(error_of("hooks:\n  alarm:\n    type: WebHok\n    url: https://x.example\n"),
                      {"hooks.yaml:3:", "hook 'alarm'", "key 'type'", "unknown hook type 'WebHok'",
                       "did you mean 'WebHook'?"});
}

TEST(ConfigErrors, UnknownTypeFarFromAll_ListsKnownTypes) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: Pigeon\n"),
                      {"unknown hook type 'Pigeon'", "known types:", "FileHook"});
}

TEST(ConfigErrors, MissingType_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    url: https://x.example\n"),
                      {"hooks.yaml:2:", "hook 'a'", "key 'type'", "required"});
}

TEST(ConfigErrors, UnknownKey_SuggestsNearestKey) {
  expect_contains_all(
      error_of("hooks:\n  a:\n    type: WebHook\n    url: https://x.example\n    realm: [x]\n"),
      {"hooks.yaml:5:", "hook 'a'", "key 'realm'", "unknown key", "did you mean 'realms'?"});
}

TEST(ConfigErrors, MissingRequiredKey_NamesIt) {
  expect_contains_all(error_of("hooks:\n  sink:\n    type: FileHook\n"),
                      {"hooks.yaml:2:", "hook 'sink'", "key 'path'"});
}

TEST(ConfigErrors, RealmsNotAList_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: Probe\n    realms: 5\n"),
                      {"hooks.yaml:4:", "hook 'a'", "key 'realms'", "list of strings"});
}

TEST(ConfigErrors, RealmsItemNotAString_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: Probe\n    realms: [ok, {x: 1}]\n"),
                      {"hooks.yaml:4:", "key 'realms'", "item 2"});
}

TEST(ConfigErrors, EnabledNotABool_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: Probe\n    enabled: maybe\n"),
                      {"hooks.yaml:4:", "hook 'a'", "key 'enabled'", "true or false"});
}

TEST(ConfigErrors, NumberGivenText_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: Probe\n    number: \"abc\"\n"),
                      {"hooks.yaml:4:", "hook 'a'", "key 'number'", "whole number", "got a string"});
}

TEST(ConfigErrors, NumberOutOfRange_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: Probe\n    number: 70000\n"),
                      {"hooks.yaml:4:", "key 'number'", "between 0 and 65535"});
}

TEST(ConfigErrors, TimeoutNotANumber_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: Probe\n    timeout: soon\n"),
                      {"hooks.yaml:4:", "hook 'a'", "key 'timeout'", "seconds"});
}

TEST(ConfigErrors, TimeoutZero_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: FileHook\n    path: /tmp/x\n    timeout: 0\n"),
                      {"hooks.yaml:5:", "hook 'a'", "key 'timeout'", "more than 0"});
}

TEST(ConfigErrors, HookNotAMapping_IsError) {
  expect_contains_all(error_of("hooks:\n  a: just text\n"), {"hooks.yaml:2:", "hook 'a'", "mapping"});
}

TEST(ConfigErrors, UrlWithoutScheme_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: WebHook\n    url: example.com/x\n"),
                      {"hooks.yaml:4:", "hook 'a'", "key 'url'", "not a URL"});
}

TEST(ConfigErrors, UrlWithOtherScheme_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: WebHook\n    url: ftp://example.com/x\n"),
                      {"hooks.yaml:4:", "key 'url'", "http or https"});
}

TEST(ConfigErrors, UrlWithoutHost_IsError) {
  expect_contains_all(error_of("hooks:\n  a:\n    type: WebHook\n    url: https:///x\n"),
                      {"hooks.yaml:4:", "key 'url'", "no host"});
}

TEST(ConfigErrors, BadUrl_MessageDoesNotShowItsQueryToken) {
  const std::string message =
      error_of("hooks:\n  a:\n    type: WebHook\n    url: ftp://example.com/x?token=s3cr3tvalue\n");
  EXPECT_NE(message.find("key 'url'"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cr3tvalue"), std::string::npos) << message;
}

TEST(ConfigErrors, WrongTypeOfSecret_MessageDoesNotShowTheValue) {
  const std::string message = error_of("hooks:\n  a:\n    type: Probe\n    secret: [hunter2secret]\n");
  expect_contains_all(message, {"hooks.yaml:4:", "key 'secret'", "got a list"});
  EXPECT_EQ(message.find("hunter2secret"), std::string::npos) << message;
}

TEST(ConfigErrors, SeveralBadHooks_AllReported) {
  const std::string message = error_of(
      "hooks:\n"
      "  first:\n    type: WebHok\n"
      "  good:\n    type: Probe\n"
      "  second:\n    type: FileHook\n");
  expect_contains_all(message, {"hook 'first'", "hooks.yaml:3:", "hook 'second'", "hooks.yaml:6:"});
  EXPECT_EQ(message.find("hook 'good'"), std::string::npos);
}

TEST(ConfigErrors, MisspeltRequiredKey_ReportedAsUnknownKeyFirst) {
  const std::string message = error_of("hooks:\n  alarm:\n    type: WebHook\n    urll: https://x.example/\n");
  const std::string typo = "hooks.yaml:4: hook 'alarm': unknown key 'urll'; did you mean 'url'?";
  EXPECT_EQ(message.rfind(typo, 0), 0u) << message;  // the first line
}

TEST(ConfigErrors, MisspeltRequiredKeyByTransposition_ReportedAsUnknownKey) {
  expect_contains_all(error_of("hooks:\n  sink:\n    type: FileHook\n    paht: out.jsonl\n"),
                      {"hooks.yaml:4: hook 'sink': unknown key 'paht'; did you mean 'path'?"});
}

TEST(ConfigErrors, OtherKeyPresent_NotTakenForTheMissingOne) {
  // `fsync` is FileHook's own key, read after `path`: it is not a misspelt `path`.
  const std::string message = error_of("hooks:\n  sink:\n    type: FileHook\n    fsync: true\n");
  EXPECT_EQ(message.find("unknown key"), std::string::npos) << message;
  expect_contains_all(message, {"hook 'sink'", "key 'path'"});
}

TEST(ConfigErrors, SeveralUnknownKeysInOneHook_AllReported) {
  expect_contains_all(error_of("hooks:\n  p:\n    type: Probe\n    txt: a\n    numbr: 1\n"),
                      {"hooks.yaml:4: hook 'p': unknown key 'txt'; did you mean 'text'?",
                       "hooks.yaml:5: hook 'p': unknown key 'numbr'; did you mean 'number'?"});
}

TEST(ConfigErrors, UnsetVariableTopLevelAndHookErrors_AllReportedInOneRun) {
  ::unsetenv("EVENTHOOKS_TEST_UNSET");
  const std::string message = error_of(
      "defautls: {}\n"
      "hooks:\n"
      "  a:\n    type: Probe\n    text: ${EVENTHOOKS_TEST_UNSET}\n"
      "  b:\n    type: WebHok\n");
  expect_contains_all(message, {"hooks.yaml:1: unknown key 'defautls'; did you mean 'defaults'?",
                                "hooks.yaml:5: hook 'a': key 'text':", "EVENTHOOKS_TEST_UNSET",
                                "hooks.yaml:7: hook 'b': key 'type': unknown hook type 'WebHok'"});
  // One line per problem: the unset variable is not reported a second time by the hook's builder.
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 2) << message;
}

TEST(ConfigErrors, HookConstructorError_NamesTheHookOnce) {
  HookRegistry registry = HookRegistry::with_builtins();
  registry.add("Picky", [](HookCommon common, ConfigReader&) -> HookPtr {
    throw ConfigError("hook '" + common.name + "': EVENT_MAIL_PORT='x' is not a port");
  });
  try {
    (void)parse_config("hooks:\n  mail:\n    type: Picky\n", "hooks.yaml", registry);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message, "hooks.yaml:2: hook 'mail': EVENT_MAIL_PORT='x' is not a port");
  }
}

// --- quoted values -----------------------------------------------------------------------------------------

TEST(ConfigQuotes, UnterminatedDoubleQuote_BeforeMoreHooks_IsErrorWithLine) {
  const std::string message = error_of(
      "hooks:\n"
      "  p:\n    type: Probe\n    secret: \"abc\n"
      "  q:\n    type: Probe\n    text: b\n");
  expect_contains_all(message, {"hooks.yaml:4: hook 'p': key 'secret':", "double-quoted value", "no closing",
                                "before line 5"});
  EXPECT_EQ(message.find("abc"), std::string::npos) << message;  // the value may be a secret
}

TEST(ConfigQuotes, UnterminatedSingleQuote_BeforeMoreKeys_IsErrorWithLine) {
  expect_contains_all(error_of("hooks:\n  p:\n    type: Probe\n    text: 'abc\n    number: 3\n"),
                      {"hooks.yaml:4: hook 'p': key 'text':", "single-quoted value", "before line 5"});
}

TEST(ConfigQuotes, UnterminatedQuote_AtEndOfFile_IsError) {
  expect_contains_all(error_of("hooks:\n  p:\n    type: Probe\n    text: \"abc\n"),
                      {"hooks.yaml:4: hook 'p': key 'text':", "no closing"});
}

TEST(ConfigQuotes, UnterminatedQuote_AfterByteOrderMarkAndUtf8_IsError) {
  expect_contains_all(error_of("\xEF\xBB\xBF# caf\xC3\xA9\nhooks:\n  p:\n    type: Probe\n    text: \"abc\n  "
                               "q:\n    type: Probe\n"),
                      {"hooks.yaml:5: hook 'p': key 'text':", "no closing"});
}

TEST(ConfigQuotes, MultiLineQuotedValues_IndentedFurther_AreAccepted) {
  const Config config = parse(
      "hooks:\n"
      "  p:\n    type: Probe\n"
      "    text: \"first\n      second \\\"q\\\"\n\n      third\"\n"
      "    secret: 'it''s\n      two'\n"
      "  q: {type: Probe, text: \"a\n     b\"}\n");
  EXPECT_EQ(probe(config, "p").text, "first second \"q\"\nthird");
  EXPECT_EQ(probe(config, "p").secret, "it's two");
  EXPECT_EQ(probe(config, "q").text, "a b");
}

TEST(ConfigQuotes, JsonFile_StringsWithQuotesAndEscapes_AreAccepted) {
  const Config config = parse("{\"hooks\": {\"p\": {\"type\": \"Probe\", \"text\": \"a \\\" b ' c\"}}}\n");
  EXPECT_EQ(probe(config, "p").text, "a \" b ' c");
}

// --- paths -------------------------------------------------------------------------------------------------

TEST(ConfigPaths, FileHookPath_RelativeToConfigFolder) {
  const Config config =
      parse("hooks:\n  sink:\n    type: FileHook\n    path: logs/out.jsonl\n", "/etc/eventhooks");
  expect_contains_all(config.find("sink")->describe(), {"/etc/eventhooks/logs/out.jsonl"});
}

TEST(ConfigPaths, AbsolutePath_KeptAsWritten) {
  const Config config =
      parse("hooks:\n  sink:\n    type: FileHook\n    path: /var/log/out.jsonl\n", "/etc/eventhooks");
  expect_contains_all(config.find("sink")->describe(), {"-> /var/log/out.jsonl"});
}

// --- interpolation ---------------------------------------------------------------------------------------

TEST(ConfigInterpolation, SetVariable_IsSubstituted) {
  ScopedEnv env("EVENTHOOKS_TEST_HOST", "hooks.example.com");
  const Config config =
      parse("hooks:\n  p:\n    type: Probe\n    text: https://${EVENTHOOKS_TEST_HOST}/in\n");
  EXPECT_EQ(probe(config, "p").text, "https://hooks.example.com/in");
}

TEST(ConfigInterpolation, UnsetVariableWithDefault_UsesDefault) {
  ::unsetenv("EVENTHOOKS_TEST_UNSET");
  const Config config =
      parse("hooks:\n  p:\n    type: Probe\n    text: \"a-${EVENTHOOKS_TEST_UNSET:-fallback}-b\"\n");
  EXPECT_EQ(probe(config, "p").text, "a-fallback-b");
}

TEST(ConfigInterpolation, UnsetVariableWithoutDefault_NamesFileLineHookKey) {
  ::unsetenv("EVENTHOOKS_TEST_UNSET");
  expect_contains_all(error_of("hooks:\n  p:\n    type: Probe\n    text: ${EVENTHOOKS_TEST_UNSET}\n"),
                      {"hooks.yaml:4:", "hook 'p'", "key 'text'", "EVENTHOOKS_TEST_UNSET", "not set"});
}

TEST(ConfigInterpolation, DoubleDollar_IsLiteral) {
  const Config config = parse("hooks:\n  p:\n    type: Probe\n    text: \"cost $${PRICE}\"\n");
  EXPECT_EQ(probe(config, "p").text, "cost ${PRICE}");
}

TEST(ConfigInterpolation, UnterminatedReference_IsError) {
  expect_contains_all(error_of("hooks:\n  p:\n    type: Probe\n    text: \"${OOPS\"\n"),
                      {"hooks.yaml:4:", "hook 'p'", "key 'text'", "unterminated"});
}

TEST(ConfigInterpolation, InvalidVariableName_IsError) {
  expect_contains_all(error_of("hooks:\n  p:\n    type: Probe\n    text: \"${1ST-HOST}\"\n"),
                      {"hooks.yaml:4:", "key 'text'", "'${1ST-HOST}' is not a valid variable reference"});
}

TEST(ConfigInterpolation, PlainScalarVariable_BecomesNumber) {
  ScopedEnv env("EVENTHOOKS_TEST_PORT", "8025");
  const Config config = parse("hooks:\n  p:\n    type: Probe\n    number: ${EVENTHOOKS_TEST_PORT}\n");
  EXPECT_EQ(probe(config, "p").number, 8025);
}

TEST(ConfigInterpolation, QuotedNumberFromJsonStyleVariable_IsAccepted) {
  ScopedEnv env("EVENTHOOKS_TEST_PORT", "8025");
  const Config config = parse(R"({"hooks": {"p": {"type": "Probe", "number": "${EVENTHOOKS_TEST_PORT}"}}})");
  EXPECT_EQ(probe(config, "p").number, 8025);
}

TEST(ConfigInterpolation, VariableInsideList_IsSubstituted) {
  ScopedEnv env("EVENTHOOKS_TEST_REALM", "prod");
  const Config config =
      parse("hooks:\n  p:\n    type: Probe\n    realms: [\"${EVENTHOOKS_TEST_REALM}\", dev]\n");
  EXPECT_EQ(config.find("p")->realms().names(), (std::vector<std::string>{"prod", "dev"}));
}

// --- *_file secrets --------------------------------------------------------------------------------------

TEST(ConfigSecrets, SecretFile_RelativeToConfigFolder_TrailingNewlineDropped) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "secrets");
  write_file(dir / "secrets" / "probe", "s3cret-value\n");
  write_file(dir / "hooks.yaml", "hooks:\n  p:\n    type: Probe\n    secret_file: secrets/probe\n");
  const Config config = load_config((dir / "hooks.yaml").string(), registry_with_probe());
  EXPECT_EQ(probe(config, "p").secret, "s3cret-value");
}

TEST(ConfigSecrets, UnreadableSecretFile_NamesFileLineHookKey) {
  test::TempDir dir;
  const std::string message =
      error_of("hooks:\n  p:\n    type: Probe\n    secret_file: missing.txt\n", dir.path().string());
  expect_contains_all(message,
                      {"hooks.yaml:4:", "hook 'p'", "key 'secret_file'", "cannot read", "missing.txt"});
}

TEST(ConfigSecrets, SecretAndSecretFile_IsError) {
  test::TempDir dir;
  write_file(dir / "s", "x");
  expect_contains_all(
      error_of("hooks:\n  p:\n    type: Probe\n    secret: a\n    secret_file: s\n", dir.path().string()),
      {"hook 'p'", "key 'secret'", "not both"});
}

TEST(ConfigSecrets, WebHookSecretFile_SignsWithItsKey) {
  test::TempDir dir;
  write_file(dir / "whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
  write_file(dir / "hooks.yaml",
             "hooks:\n  w:\n    type: WebHook\n    url: https://x.example/in\n    secret_file: whsec\n");
  const Config config = load_config((dir / "hooks.yaml").string());
  auto hook = std::dynamic_pointer_cast<WebHook>(config.find("w"));
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->options().secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(hook->describe().find("MfKQ9r8G"), std::string::npos);
}

// --- realms and enabled ----------------------------------------------------------------------------------

TEST(ConfigRealms, ListOfRealms_AppliesThePythonLibrarysRule) {
  const Config config = parse("hooks:\n  p:\n    type: Probe\n    realms: [outside, lab]\n");
  const HookPtr hook = config.find("p");
  EXPECT_TRUE(hook->allows(std::string_view("lab")));
  EXPECT_FALSE(hook->allows(std::string_view("inside")));
  EXPECT_FALSE(hook->allows(std::nullopt));
}

TEST(ConfigRealms, NoRealms_FiresForAnyRealm) {
  const Config config = parse("hooks:\n  p:\n    type: Probe\n");
  EXPECT_TRUE(config.find("p")->allows(std::string_view("anything")));
  EXPECT_TRUE(config.find("p")->allows(std::nullopt));
}

TEST(ConfigRealms, DisabledHook_IsLoadedButNeverFires) {
  const Config config = parse("hooks:\n  p:\n    type: Probe\n    enabled: false\n");
  ASSERT_EQ(config.hooks.size(), 1u);
  const HookPtr hook = config.find("p");
  EXPECT_FALSE(hook->enabled());
  const Outcome outcome = hook->trigger(Payload("x"));
  EXPECT_TRUE(outcome.skipped());
  EXPECT_EQ(outcome.reason, "hook is disabled");
}

TEST(ConfigRealms, DisabledHook_IsStillValidated) {
  expect_contains_all(error_of("hooks:\n  p:\n    type: WebHook\n    enabled: false\n    url: nope\n"),
                      {"hooks.yaml:5:", "hook 'p'", "key 'url'"});
}

// --- retry and defaults ----------------------------------------------------------------------------------

TEST(ConfigRetry, NoRetryBlock_GivesDefaultPolicy) {
  const Config config = parse("hooks:\n  p:\n    type: Probe\n");
  const RetryPolicy expected;
  EXPECT_EQ(config.hooks[0].retry.max_attempts, expected.max_attempts);
  EXPECT_EQ(config.hooks[0].retry.initial_delay, expected.initial_delay);
}

TEST(ConfigRetry, RetryBlock_ReadsEveryKey) {
  const Config config = parse(
      "hooks:\n  p:\n    type: Probe\n    retry:\n      max_attempts: 4\n      max_age: 3600\n"
      "      initial_delay: 0.25\n      multiplier: 3\n      max_delay: 60\n      jitter: false\n");
  const RetryPolicy& r = config.hooks[0].retry;
  EXPECT_EQ(r.max_attempts, 4);
  EXPECT_EQ(r.max_age, std::chrono::seconds(3600));
  EXPECT_EQ(r.initial_delay, milliseconds(250));
  EXPECT_DOUBLE_EQ(r.multiplier, 3.0);
  EXPECT_EQ(r.max_delay, milliseconds(60'000));
  EXPECT_FALSE(r.jitter);
}

TEST(ConfigRetry, DefaultsRetry_AppliesKeyByKeyUnderHooksOwn) {
  const Config config = parse(
      "defaults:\n  retry:\n    max_attempts: 5\n    jitter: false\n"
      "hooks:\n  p:\n    type: Probe\n    retry:\n      max_attempts: 2\n  q:\n    type: Probe\n");
  EXPECT_EQ(config.hooks[0].retry.max_attempts, 2);
  EXPECT_FALSE(config.hooks[0].retry.jitter);
  EXPECT_EQ(config.hooks[1].retry.max_attempts, 5);
}

TEST(ConfigRetry, UnknownRetryKey_SuggestsNearest) {
  expect_contains_all(
      error_of("hooks:\n  p:\n    type: Probe\n    retry:\n      max_atempts: 3\n"),
      {"hooks.yaml:5:", "hook 'p'", "key 'retry.max_atempts'", "did you mean 'max_attempts'?"});
}

TEST(ConfigRetry, ZeroAttempts_IsError) {
  expect_contains_all(error_of("hooks:\n  p:\n    type: Probe\n    retry:\n      max_attempts: 0\n"),
                      {"hooks.yaml:5:", "hook 'p'", "key 'retry.max_attempts'", "between 1 and 1000"});
}

TEST(ConfigRetry, RetryNotAMapping_IsError) {
  expect_contains_all(error_of("hooks:\n  p:\n    type: Probe\n    retry: 3\n"),
                      {"hooks.yaml:4:", "hook 'p'", "key 'retry'", "mapping"});
}

TEST(ConfigRetry, MaxDelayBelowInitialDelay_IsError) {
  expect_contains_all(
      error_of("hooks:\n  p:\n    type: Probe\n    retry: {initial_delay: 10, max_delay: 1}\n"),
      {"hook 'p'", "key 'retry.max_delay'"});
}

TEST(ConfigDefaults, Timeout_AppliesWhenHookHasNone) {
  const Config config = parse(
      "defaults:\n  timeout: 2.5\nhooks:\n  p:\n    type: Probe\n  q:\n    type: Probe\n    timeout: 7\n");
  EXPECT_EQ(probe(config, "p").timeout, milliseconds(2500));
  EXPECT_EQ(probe(config, "q").timeout, milliseconds(7000));
}

TEST(ConfigDefaults, Timeout_ReachesWebHooksHttpOptions) {
  const Config config = parse(
      "defaults:\n  timeout: 4\nhooks:\n  w:\n    type: WebHook\n    url: https://x.example/in\n"
      "  v:\n    type: WebHook\n    url: https://x.example/in\n    timeout: 0.5\n");
  EXPECT_EQ(std::dynamic_pointer_cast<WebHook>(config.find("w"))->options().http.timeouts.total,
            milliseconds(4000));
  EXPECT_EQ(std::dynamic_pointer_cast<WebHook>(config.find("v"))->options().http.timeouts.total,
            milliseconds(500));
}

TEST(ConfigDefaults, BadDefaultRetry_NamesDefaultsKey) {
  expect_contains_all(error_of("defaults:\n  retry:\n    multiplier: fast\nhooks: {}\n"),
                      {"hooks.yaml:3:", "key 'defaults.retry.multiplier'", "number"});
}

TEST(ConfigDefaults, UnknownDefaultsKey_IsError) {
  expect_contains_all(error_of("defaults:\n  timout: 3\nhooks: {}\n"),
                      {"hooks.yaml:2:", "key 'defaults.timout'", "did you mean 'timeout'?"});
}

// --- ConfigReader accessors (what other hook types' builders rely on)
// ---------------------------------------

std::string reader_error(const nlohmann::json& object, const std::function<void(ConfigReader&)>& read) {
  ConfigReader keys("h", object, [](std::string_view) { return SourceLocation{"f.yaml", 7}; });
  try {
    read(keys);
    keys.finish();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ConfigReader, StringList_CommaSeparatedString_IsSplitAndTrimmed) {
  const nlohmann::json object = {{"recipients", "me@xyz.com, you@xyz.com ,"}};
  ConfigReader keys("h", object);
  EXPECT_EQ(keys.string_list("recipients"), (std::vector<std::string>{"me@xyz.com", "you@xyz.com"}));
}

TEST(ConfigReader, StringList_Number_IsError) {
  expect_contains_all(
      reader_error({{"recipients", 5}}, [](ConfigReader& k) { (void)k.string_list("recipients"); }),
      {"f.yaml:7: hook 'h': key 'recipients':", "list of strings"});
}

TEST(ConfigReader, StringMap_NonScalarValue_NamesTheEntry) {
  expect_contains_all(
      reader_error({{"headers", {{"X-A", {1, 2}}}}}, [](ConfigReader& k) { (void)k.string_map("headers"); }),
      {"key 'headers.X-A'", "must be a string"});
}

TEST(ConfigReader, Url_BadPort_IsError) {
  expect_contains_all(
      reader_error({{"url", "http://host:99999/x"}}, [](ConfigReader& k) { (void)k.url("url", true); }),
      {"key 'url'", "invalid port"});
}

TEST(ConfigReader, Url_HttpsWithPortAndUserinfo_IsAccepted) {
  const nlohmann::json object = {{"url", "https://user:pw@[::1]:8443/x?q=1"}};
  ConfigReader keys("h", object);
  EXPECT_EQ(keys.url("url", true), "https://user:pw@[::1]:8443/x?q=1");
}

TEST(ConfigReader, Tls_KeyWithoutCert_IsError) {
  expect_contains_all(reader_error({{"key_file", "k.pem"}}, [](ConfigReader& k) { (void)k.tls(); }),
                      {"key 'key_file'", "cert_file"});
}

TEST(ConfigReader, OptionalBool_YamlYes_IsNotABoolean) {
  expect_contains_all(parse_error_of_bool("yes"), {"hooks.yaml:4:", "key 'enabled'", "true or false"});
}

TEST(ConfigReader, UnknownKeyFarFromAll_ListsKnownKeys) {
  expect_contains_all(
      reader_error({{"zzzzzz", 1}}, [](ConfigReader& k) { (void)k.optional_string("alpha"); }),
      {"key 'zzzzzz'", "unknown key", "known keys: alpha"});
}

TEST(ConfigValues, LeadingZeros_StayText) {
  const Config config = parse("hooks:\n  p:\n    type: Probe\n    text: 0123\n");
  EXPECT_EQ(probe(config, "p").text, "0123");
}

TEST(ConfigValues, PlainScalars_NumbersFollowYamlCoreSchema_RestStaysText) {
  // {plain scalar, what a string key reads back}: numbers come back as JSON renders them.
  const std::pair<const char*, const char*> cases[] = {
      {"+7", "7"},   {"-12", "-12"},       {"0", "0"},         {"1e3", "1000.0"}, {".5", "0.5"},
      {"5.", "5.0"}, {"-2.5E-1", "-0.25"}, {"1.2.3", "1.2.3"}, {"1e", "1e"},      {"e5", "e5"},
      {".", "."},    {"0x1F", "0x1F"},     {"1_000", "1_000"}, {"12a", "12a"},
  };
  for (const auto& [yaml, text] : cases) {
    const Config config = parse(std::string("hooks:\n  p:\n    type: Probe\n    text: ") + yaml + "\n");
    EXPECT_EQ(probe(config, "p").text, text) << yaml;
  }
}

TEST(ConfigValues, EmptyValue_CountsAsNotSet) {
  const Config config = parse("hooks:\n  p:\n    type: Probe\n    text:\n");
  EXPECT_EQ(probe(config, "p").text, "");
}

// --- registry and factory --------------------------------------------------------------------------------

TEST(HookRegistry, WithBuiltins_HasThePythonLibrarysHttpTypesAndFileHook) {
  const HookRegistry registry = HookRegistry::with_builtins();
  for (const char* type : {"WebHook", "MattermostWebHook", "DockerCloudWebHook", "FileHook"}) {
    EXPECT_TRUE(registry.contains(type)) << type;
  }
}

TEST(HookRegistry, ApplicationType_IsBuiltFromConfig) {
  const Config config = parse("hooks:\n  mine:\n    type: Probe\n    text: hello\n    realms: [x]\n");
  ASSERT_EQ(config.hooks.size(), 1u);
  EXPECT_EQ(config.hooks[0].hook->type(), "Probe");
  EXPECT_EQ(probe(config, "mine").text, "hello");
  EXPECT_TRUE(config.hooks[0].hook->trigger(Payload("x"), "x").delivered());
}

TEST(HookRegistry, BuildWithoutLocator_NamesHookAndKey) {
  const HookRegistry registry = registry_with_probe();
  try {
    registry.build("p", {{"type", "Probe"}, {"number", "x"}});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    expect_contains_all(e.what(), {"hook 'p'", "key 'number'"});
  }
}

TEST(EventhookFactory, PythonLibrarysWebhookKey_MakesWebHook) {
  const HookPtr hook =
      eventhook_factory("alarm", {{"type", "WebHook"}, {"webhook", "https://some.server.com/alarm"}});
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->type(), "WebHook");
  EXPECT_EQ(std::dynamic_pointer_cast<WebHook>(hook)->options().url, "https://some.server.com/alarm");
}

TEST(EventhookFactory, UrlKey_MakesWebHookWithRealms) {
  const HookPtr hook = eventhook_factory(
      "alarm", {{"type", "WebHook"}, {"url", "https://some.server.com/alarm"}, {"realms", {"outside"}}});
  EXPECT_EQ(hook->realms().names(), std::vector<std::string>{"outside"});
}

TEST(EventhookFactory, UnknownType_ThrowsWithSuggestion) {
  try {
    eventhook_factory("x", {{"type", "MattermostWebhook"}});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    expect_contains_all(e.what(), {"hook 'x'", "key 'type'", "did you mean 'MattermostWebHook'?"});
  }
}

TEST(EventhookFactory, PythonLibrarysEnabledFlag_IsAccepted) {
  const HookPtr hook = eventhook_factory("x", {{"type", "FileHook"}, {"path", "/tmp/x"}, {"enabled", false}});
  EXPECT_FALSE(hook->enabled());
}

}  // namespace
}  // namespace eventhooks
