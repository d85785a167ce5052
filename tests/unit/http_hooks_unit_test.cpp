// Unit tests of the HTTP hooks' pure parts: signing, rendering, masking. No I/O.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eventhooks/hooks/file_hook.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "transport/signing.hpp"

using namespace eventhooks;

namespace {

// The published example of the Standard Webhooks specification (its reference libraries test with it).
constexpr const char* kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kSpecTimestamp = 1614265330;
constexpr const char* kSpecBody = R"({"test": 2432232314})";
constexpr const char* kSpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

Event event_with(Payload payload, std::string id = "0190b1c2-0000-7000-8000-000000000001") {
  Event e = Event::make("test", std::move(payload));
  e.id = std::move(id);
  return e;
}

std::string header_of(const HttpRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

}  // namespace

TEST(Signing, StandardWebhooksPublishedVector_Matches) {
  auto key = detail::decode_webhook_secret(kSpecSecret);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(detail::sign_webhook(*key, kSpecId, kSpecTimestamp, kSpecBody), kSpecSignature);
}

TEST(Signing, OneByteOfBodyChanged_SignatureDiffers) {
  auto key = detail::decode_webhook_secret(kSpecSecret);
  ASSERT_TRUE(key.has_value());
  EXPECT_NE(detail::sign_webhook(*key, kSpecId, kSpecTimestamp, R"({"test": 2432232315})"), kSpecSignature);
}

TEST(Signing, Base64RoundTrip_KeepsBytes) {
  const std::string bytes("\x00\xff\x10 abc", 7);
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const auto encoded = detail::base64_encode(bytes.substr(0, n));
    if (n == 0) {
      EXPECT_EQ(encoded, "");
      continue;
    }
    auto decoded = detail::base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes.substr(0, n));
  }
}

TEST(Signing, SecretThatIsNotBase64_IsRejected) {
  EXPECT_FALSE(detail::decode_webhook_secret("whsec_not base64!").has_value());
  EXPECT_FALSE(detail::decode_webhook_secret("whsec_").has_value());
  EXPECT_FALSE(detail::decode_webhook_secret("whsec_abc").has_value());  // length not a multiple of 4
}

TEST(WebHook, BadSecret_ThrowsConfigErrorWithoutTheSecret) {
  try {
    WebHook hook({.common = {.name = "w"}, .url = "http://127.0.0.1:1/x", .secret = "whsec_sup3r-s3cret!!"});
    FAIL() << "accepted a secret that is not base64";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("secret"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("sup3r"), std::string::npos) << e.what();
  }
}

TEST(WebHook, HeaderValueWithLineBreak_ThrowsConfigError) {
  EXPECT_THROW(WebHook({.common = {.name = "w"},
                        .url = "http://127.0.0.1:1/x",
                        .headers = {{"X-Token", "abc\r\nX-Injected: yes"}}}),
               ConfigError);
}

TEST(WebHook, HeaderNameWithColon_ThrowsConfigError) {
  EXPECT_THROW(
      WebHook({.common = {.name = "w"}, .url = "http://127.0.0.1:1/x", .headers = {{"X-A: b", "c"}}}),
      ConfigError);
}

TEST(WebHook, UrlWithoutHttpScheme_ThrowsConfigError) {
  EXPECT_THROW(WebHook({.common = {.name = "w"}, .url = "ftp://example.com/x"}), ConfigError);
}

TEST(WebHook, Render_PostsJsonBodyWithContentType) {
  WebHook hook({.common = {.name = "w"}, .url = "http://127.0.0.1:1/alarm", .headers = {{"X-Env", "test"}}});
  auto r = hook.render(event_with(nlohmann::json{{"a", 1}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url, "http://127.0.0.1:1/alarm");
  EXPECT_EQ(r->body, R"({"a":1})");
  EXPECT_EQ(header_of(r.value(), "Content-Type"), "application/json");
  EXPECT_EQ(header_of(r.value(), "X-Env"), "test");
  EXPECT_EQ(header_of(r.value(), "webhook-signature"), "<absent>");
}

TEST(WebHook, OwnContentType_ReplacesTheDefault) {
  WebHook hook({.common = {.name = "w"},
                .url = "http://127.0.0.1:1/alarm",
                .headers = {{"content-type", "application/cloudevents+json"}}});
  auto r = hook.render(event_with("x"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(header_of(r.value(), "Content-Type"), "<absent>");
  EXPECT_EQ(header_of(r.value(), "content-type"), "application/cloudevents+json");
}

TEST(WebHook, RenderWithSecret_AddsStandardWebhooksHeaders) {
  WebHook hook({.common = {.name = "w"}, .url = "http://127.0.0.1:1/alarm", .secret = kSpecSecret});
  const Event e = event_with("hello", "evt-123");
  auto r = hook.render(e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(header_of(r.value(), "webhook-id"), "evt-123");
  const std::string ts = header_of(r.value(), "webhook-timestamp");
  auto key = detail::decode_webhook_secret(kSpecSecret);
  EXPECT_EQ(header_of(r.value(), "webhook-signature"),
            detail::sign_webhook(*key, "evt-123", std::stoll(ts), r->body));
}

TEST(WebHook, Describe_MasksQueryAndPassword) {
  WebHook hook({.common = {.name = "w"},
                .url = "https://user:hunter2@hooks.example.com/in?token=abcd1234",
                .headers = {{"Authorization", "Bearer zzz-secret"}},
                .secret = kSpecSecret});
  const std::string d = hook.describe();
  EXPECT_EQ(d.find("hunter2"), std::string::npos) << d;
  EXPECT_EQ(d.find("abcd1234"), std::string::npos) << d;
  EXPECT_EQ(d.find("zzz-secret"), std::string::npos) << d;
  EXPECT_EQ(d.find("MfKQ9r8"), std::string::npos) << d;
  EXPECT_NE(d.find("hooks.example.com"), std::string::npos) << d;
}

TEST(MattermostWebHook, Render_PostsTextToHooksToken) {
  MattermostWebHook hook({.common = {.name = "mm"},
                          .host = "https://chat.example.com/",
                          .token = "tok3n-xyz",
                          .username = "bot",
                          .channel = "alerts"});
  auto r = hook.render(event_with("disk full"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "https://chat.example.com/hooks/tok3n-xyz");
  EXPECT_EQ(r->redacted_url, "https://chat.example.com/hooks/***");
  EXPECT_EQ(r->body, R"({"text":"disk full","username":"bot","channel":"alerts"})");
}

TEST(MattermostWebHook, RenderObject_TextIsJsonIndentedBy2) {
  MattermostWebHook hook({.common = {.name = "mm"}, .host = "https://chat.example.com", .token = "t0ken"});
  auto r = hook.render(event_with(nlohmann::json{{"a", 1}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(nlohmann::json::parse(r->body)["text"], "{\n  \"a\": 1\n}");
}

TEST(MattermostWebHook, EmptyData_IsInvalidInput) {
  MattermostWebHook hook({.common = {.name = "mm"}, .host = "https://chat.example.com", .token = "t0ken"});
  auto r = hook.render(event_with(""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_input);
  EXPECT_FALSE(r.error().retryable);
}

TEST(MattermostWebHook, Describe_MasksToken) {
  MattermostWebHook hook(
      {.common = {.name = "mm"}, .host = "https://chat.example.com", .token = "tok3n-xyz"});
  const std::string d = hook.describe();
  EXPECT_EQ(d.find("tok3n-xyz"), std::string::npos) << d;
  EXPECT_NE(d.find("/hooks/***"), std::string::npos) << d;
}

TEST(MattermostWebHook, MissingToken_ThrowsConfigError) {
  EXPECT_THROW(MattermostWebHook({.common = {.name = "mm"}, .host = "https://chat.example.com"}),
               ConfigError);
}

TEST(DockerCloudWebHook, Render_PythonLibrarysPathAndBodyIgnoringData) {
  DockerCloudWebHook hook({.common = {.name = "d"}, .source = "src-uuid", .trigger = "trg-uuid"});
  auto r = hook.render(event_with("ignored"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "https://hub.docker.com/api/build/v1/source/src-uuid/trigger/trg-uuid/call/");
  EXPECT_EQ(r->body, R"({"source_type":"Branch","source_name":"master"})");
  EXPECT_EQ(r->redacted_url.find("src-uuid"), std::string::npos);
  EXPECT_EQ(r->redacted_url.find("trg-uuid"), std::string::npos);
}

// Every HTTP hook's request carries the event id as webhook-id, the idempotency key a receiver dedups on.
TEST(MattermostWebHook, Render_SendsTheEventIdAsWebhookId) {
  MattermostWebHook hook({.common = {.name = "mm"}, .host = "https://chat.example.com", .token = "t0ken"});
  auto r = hook.render(event_with("disk full", "01a2-event-id"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(header_of(r.value(), "webhook-id"), "01a2-event-id");
}

TEST(DockerCloudWebHook, Render_SendsTheEventIdAsWebhookId) {
  DockerCloudWebHook hook({.common = {.name = "d"}, .source = "src-uuid", .trigger = "trg-uuid"});
  auto r = hook.render(event_with("ignored", "01a2-event-id"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(header_of(r.value(), "webhook-id"), "01a2-event-id");
}

TEST(DockerCloudWebHook, Describe_MasksSourceAndTrigger) {
  DockerCloudWebHook hook({.common = {.name = "d"}, .source = "src-uuid", .trigger = "trg-uuid"});
  const std::string d = hook.describe();
  EXPECT_EQ(d.find("src-uuid"), std::string::npos) << d;
  EXPECT_EQ(d.find("trg-uuid"), std::string::npos) << d;
}

TEST(FileHook, RenderLine_IsOneJsonObjectWithNewline) {
  Event e = event_with(nlohmann::json{{"k", "v"}}, "id-1");
  e.realm = "outside";
  e.created_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(1614265330123));
  const std::string line = FileHook::render_line(e);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["id"], "id-1");
  EXPECT_EQ(j["name"], "test");
  EXPECT_EQ(j["realm"], "outside");
  EXPECT_EQ(j["time"], "2021-02-25T15:02:10.123Z");
  EXPECT_EQ(j["data"]["k"], "v");
}
