// SimpleEmailHook / AwsSesEmailHook without a server: rendering, construction errors, config keys, defaults.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "eventhooks/config.hpp"
#include "eventhooks/hooks/email.hpp"

namespace eventhooks {
namespace {

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

SimpleEmailOptions smtp_options() {
  return SimpleEmailOptions{
      .common = {.name = "disk_alarm"},
      .host = "127.0.0.1",
      .port = 2525,
      .credentials = "user:pa:ss:word",
      .email = {
          .sender = "bot@example.com", .sender_name = "Bot", .recipients = {"me@xyz.com", "you@xyz.com"}}};
}

TEST(SimpleEmailHook_Subject, DefaultsToTheHookName) {
  SimpleEmailHook hook(smtp_options());
  auto msg = hook.render(Event::make("disk_alarm", "full"));
  ASSERT_TRUE(msg);
  EXPECT_NE(msg.value().find("\r\nSubject: disk_alarm\r\n"), std::string::npos);
}

TEST(SimpleEmailHook_SetSubject, ChangesLaterMessages) {
  SimpleEmailHook hook(smtp_options());
  hook.set_subject("Disk is full");
  auto msg = hook.render(Event::make("disk_alarm", "full"));
  ASSERT_TRUE(msg);
  EXPECT_NE(msg.value().find("\r\nSubject: Disk is full\r\n"), std::string::npos);
}

TEST(SimpleEmailHook_SetSubjectWithLineBreak, Throws) {
  SimpleEmailHook hook(smtp_options());
  EXPECT_THROW(hook.set_subject("x\r\nBcc: a@b.c"), ConfigError);
}

TEST(SimpleEmailHook_ObjectData, BodyIsJsonIndentedByTwo) {
  SimpleEmailHook hook(smtp_options());
  auto msg = hook.render(Event::make("disk_alarm", nlohmann::json{{"disk", "/var"}}));
  ASSERT_TRUE(msg);
  EXPECT_NE(msg.value().find("\r\n\r\n{\r\n  \"disk\": \"/var\"\r\n}\r\n"), std::string::npos) << msg.value();
}

TEST(SimpleEmailHook_RenderTwice, DoesNotAccumulateParts) {
  SimpleEmailHook hook(smtp_options());
  auto event = Event::make("disk_alarm", "only once");
  auto first = hook.render(event);
  auto second = hook.render(event);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first.value(), second.value());
  const std::string& s = second.value();
  EXPECT_EQ(s.find("only once"), s.rfind("only once"));
}

TEST(SimpleEmailHook_MessageId, CarriesTheEventId) {
  SimpleEmailHook hook(smtp_options());
  auto event = Event::make("disk_alarm", "x");
  auto msg = hook.render(event);
  ASSERT_TRUE(msg);
  EXPECT_NE(msg.value().find("\r\nMessage-ID: <" + event.id + ".disk_alarm@example.com>\r\n"),
            std::string::npos);
}

TEST(SimpleEmailHook_Html, AddsEscapedAlternative) {
  auto o = smtp_options();
  o.email.html = "<pre>{{data}}</pre>";
  SimpleEmailHook hook(o);
  auto msg = hook.render(Event::make("disk_alarm", "a<b"));
  ASSERT_TRUE(msg);
  EXPECT_NE(msg.value().find("multipart/alternative"), std::string::npos);
  EXPECT_NE(msg.value().find("<pre>a&lt;b</pre>"), std::string::npos);
}

TEST(SimpleEmailHook_StartTlsWithoutCredentials, ThrowsConfigError) {
  auto o = smtp_options();
  o.credentials.clear();
  EXPECT_THROW(SimpleEmailHook{o}, ConfigError);
}

TEST(SimpleEmailHook_CredentialsWithoutColon, ThrowsConfigError) {
  auto o = smtp_options();
  o.credentials = "justuser";
  EXPECT_THROW(SimpleEmailHook{o}, ConfigError);
}

TEST(SimpleEmailHook_PlainWithoutCredentials, IsFine) {
  auto o = smtp_options();
  o.credentials.clear();
  o.security = SmtpSecurity::plain;
  EXPECT_NO_THROW(SimpleEmailHook{o});
}

TEST(SimpleEmailHook_BadRecipient, ThrowsConfigErrorNamingIt) {
  auto o = smtp_options();
  o.email.recipients = {"me@xyz.com", "not an address"};
  try {
    SimpleEmailHook hook(o);
    FAIL() << "constructed";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("recipients"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not an address"), std::string::npos) << e.what();
  }
}

TEST(SimpleEmailHook_EmptySender, ThrowsConfigError) {
  auto o = smtp_options();
  o.email.sender.clear();
  EXPECT_THROW(SimpleEmailHook{o}, ConfigError);
}

TEST(SimpleEmailHook_SubjectWithLineBreak, ThrowsConfigError) {
  auto o = smtp_options();
  o.email.subject = "a\nb";
  EXPECT_THROW(SimpleEmailHook{o}, ConfigError);
}

TEST(SimpleEmailHook_NoRecipients, ThrowsConfigError) {
  auto o = smtp_options();
  o.email.recipients.clear();
  EXPECT_THROW(SimpleEmailHook{o}, ConfigError);
}

TEST(SimpleEmailHook_Describe, MasksThePassword) {
  SimpleEmailHook hook(smtp_options());
  const std::string d = hook.describe();
  EXPECT_EQ(d.find("pa:ss:word"), std::string::npos) << d;
  EXPECT_NE(d.find("smtp://127.0.0.1:2525"), std::string::npos) << d;
}

TEST(SimpleEmailHook_NoHostOrPort, DefaultsFromEventMailEnvironment) {
  ScopedEnv host("EVENT_MAIL_HOST", "mail.internal");
  ScopedEnv port("EVENT_MAIL_PORT", "2587");
  auto o = smtp_options();
  o.host.clear();
  o.port = 0;
  SimpleEmailHook hook(o);
  EXPECT_EQ(hook.options().host, "mail.internal");
  EXPECT_EQ(hook.options().port, 2587);
}

TEST(SimpleEmailHook_NoHostOrPortNorEnvironment, DefaultsToTheSesSmtpEndpoint) {
  ScopedEnv host("EVENT_MAIL_HOST", nullptr);
  ScopedEnv port("EVENT_MAIL_PORT", nullptr);
  auto o = smtp_options();
  o.host.clear();
  o.port = 0;
  SimpleEmailHook hook(o);
  EXPECT_EQ(hook.options().host, "email-smtp.us-west-2.amazonaws.com");
  EXPECT_EQ(hook.options().port, 587);
}

TEST(SimpleEmailHook_BadEventMailPort, ThrowsConfigError) {
  ScopedEnv port("EVENT_MAIL_PORT", "twenty-five");
  auto o = smtp_options();
  o.port = 0;
  EXPECT_THROW(SimpleEmailHook{o}, ConfigError);
}

TEST(SimpleEmailHook_Port465, UsesImplicitTls) {
  auto o = smtp_options();
  o.port = 465;
  SimpleEmailHook hook(o);
  EXPECT_EQ(hook.options().security, SmtpSecurity::implicit);
}

// ---- config keys

nlohmann::json smtp_config() {
  return {{"type", "SimpleEmailHook"},
          {"host", "localhost"},
          {"port", 25},
          {"sender", "someone@somewhere.com"},
          {"sender_name", "someone"},
          {"recipients", "me@xyz.com, you@xyz.com"},
          {"tls", false}};
}

TEST(EmailConfig_PythonLibraryExample, BuildsAPlainSimpleEmailHook) {
  auto hook = eventhook_factory("failed_service_checker", smtp_config());
  auto* email = dynamic_cast<SimpleEmailHook*>(hook.get());
  ASSERT_NE(email, nullptr);
  EXPECT_EQ(email->options().security, SmtpSecurity::plain);
  EXPECT_EQ(email->options().email.recipients, (std::vector<std::string>{"me@xyz.com", "you@xyz.com"}));
  EXPECT_EQ(email->options().port, 25);
  EXPECT_EQ(email->type(), "SimpleEmailHook");
}

TEST(EmailConfig_TlsImplicit, SelectsSmtps) {
  auto c = smtp_config();
  c["tls"] = "implicit";
  c["credentials"] = "u:p";
  auto hook = eventhook_factory("x", c);
  EXPECT_EQ(dynamic_cast<SimpleEmailHook&>(*hook).options().security, SmtpSecurity::implicit);
}

TEST(EmailConfig_TlsDefault, IsStartTls) {
  auto c = smtp_config();
  c.erase("tls");
  c["credentials"] = "u:p:w";
  auto hook = eventhook_factory("x", c);
  EXPECT_EQ(dynamic_cast<SimpleEmailHook&>(*hook).options().security, SmtpSecurity::starttls);
}

TEST(EmailConfig_StartTlsWithoutCredentials, FailsNamingTheKey) {
  auto c = smtp_config();
  c["tls"] = true;
  try {
    (void)eventhook_factory("x", c);
    FAIL() << "built";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("credentials"), std::string::npos) << e.what();
  }
}

TEST(EmailConfig_BadTlsValue, FailsNamingTheKey) {
  auto c = smtp_config();
  c["tls"] = "sometimes";
  try {
    (void)eventhook_factory("x", c);
    FAIL() << "built";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'tls'"), std::string::npos) << e.what();
  }
}

TEST(EmailConfig_InvalidRecipient, FailsNamingTheKey) {
  auto c = smtp_config();
  c["recipients"] = nlohmann::json::array({"ok@xyz.com", "bad@@xyz"});
  try {
    (void)eventhook_factory("x", c);
    FAIL() << "built";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("recipients"), std::string::npos) << e.what();
  }
}

TEST(EmailConfig_SubjectWithLineBreak, FailsAsHeaderInjection) {
  auto c = smtp_config();
  c["subject"] = "x\nBcc: a@b.c";
  EXPECT_THROW((void)eventhook_factory("x", c), ConfigError);
}

TEST(EmailConfig_UnknownKey, Fails) {
  auto c = smtp_config();
  c["recipient"] = "a@b.c";
  EXPECT_THROW((void)eventhook_factory("x", c), ConfigError);
}

TEST(EmailConfig_SesWithRegion, BuildsAwsSesEmailHook) {
  nlohmann::json c{{"type", "AwsSesEmailHook"}, {"sender", "a@example.com"},
                   {"sender_name", "A"},        {"recipients", {"b@example.com"}},
                   {"region", "eu-central-1"},  {"configuration_set", "cs"}};
  ScopedEnv e1("AWS_ENDPOINT_URL_SES", nullptr);
  ScopedEnv e2("AWS_ENDPOINT_URL", nullptr);
  auto hook = eventhook_factory("ses", c);
  auto& ses = dynamic_cast<AwsSesEmailHook&>(*hook);
  EXPECT_EQ(ses.region(), "eu-central-1");
  EXPECT_EQ(ses.endpoint(), "https://email.eu-central-1.amazonaws.com");
  EXPECT_EQ(ses.options().configuration_set, "cs");
}

TEST(EmailConfig_SesWithoutAnyRegion, FailsNamingRegion) {
  ScopedEnv r1("AWS_REGION", nullptr);
  ScopedEnv r2("AWS_DEFAULT_REGION", nullptr);
  nlohmann::json c{{"type", "AwsSesEmailHook"}, {"sender", "a@example.com"}, {"recipients", "b@example.com"}};
  try {
    (void)eventhook_factory("ses", c);
    FAIL() << "built";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("region"), std::string::npos) << e.what();
  }
}

// ---- SES rendering

AwsSesOptions ses_options() {
  return AwsSesOptions{.common = {.name = "ses_alarm"},
                       .email = {.sender = "bot@example.com",
                                 .sender_name = "B\xC3\xB6t",
                                 .recipients = {"me@xyz.com", "you@xyz.com"}},
                       .region = "eu-west-1",
                       .endpoint_url = "https://email.eu-west-1.amazonaws.com",
                       .access_key_id = "AKIDEXAMPLE",
                       .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
}

TEST(AwsSesEmailHook_RegionFromEnvironment, IsUsedWhenTheHookHasNone) {
  ScopedEnv r1("AWS_REGION", nullptr);
  ScopedEnv r2("AWS_DEFAULT_REGION", "ap-south-1");
  auto o = ses_options();
  o.region.clear();
  o.endpoint_url.clear();
  ScopedEnv e1("AWS_ENDPOINT_URL_SES", nullptr);
  ScopedEnv e2("AWS_ENDPOINT_URL", "http://127.0.0.1:9/");
  AwsSesEmailHook hook(o);
  EXPECT_EQ(hook.region(), "ap-south-1");
  EXPECT_EQ(hook.endpoint(), "http://127.0.0.1:9");
}

// Text that is not UTF-8 goes out with U+FFFD for the bad byte, as every JSON-writing hook sends it;
// rendering threw (and the delivery failed) before.
TEST(AwsSesEmailHook_Render, TextNotUtf8_IsSentWithAReplacementCharacter) {
  AwsSesEmailHook hook(ses_options());
  auto event = Event::make("ses_alarm", Payload("caf\xe9"));
  auto req = hook.render(event, std::chrono::system_clock::time_point(std::chrono::seconds(1440938160)));
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(nlohmann::json::parse(req->body)["Content"]["Simple"]["Body"]["Text"]["Data"], "caf\xef\xbf\xbd");
}

TEST(AwsSesEmailHook_Render, IsASignedSesV2SendEmail) {
  AwsSesEmailHook hook(ses_options());
  auto event = Event::make("ses_alarm", nlohmann::json{{"k", 1}});
  auto req = hook.render(event, std::chrono::system_clock::time_point(std::chrono::seconds(1440938160)));
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->url, "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails");
  const auto body = nlohmann::json::parse(req->body);
  EXPECT_EQ(body["FromEmailAddress"], "=?UTF-8?B?QsO2dA==?= <bot@example.com>");
  EXPECT_EQ(body["Destination"]["ToAddresses"], nlohmann::json::array({"me@xyz.com", "you@xyz.com"}));
  EXPECT_EQ(body["Content"]["Simple"]["Subject"]["Data"], "ses_alarm");
  EXPECT_EQ(body["Content"]["Simple"]["Body"]["Text"]["Data"], "{\n  \"k\": 1\n}");
  EXPECT_EQ(body["Content"]["Simple"]["Headers"][0]["Value"], event.id);
  bool auth = false;
  for (const auto& [n, v] : req->headers) {
    if (n == "Authorization") {
      auth = true;
      EXPECT_EQ(v.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/ses/aws4_request, "
                        "SignedHeaders=content-type;host;x-amz-date, Signature=",
                        0),
                0u)
          << v;
    }
  }
  EXPECT_TRUE(auth);
}

TEST(AwsSesEmailHook_NoCredentialsAnywhere, FailsAsConfigNotRetryable) {
  ScopedEnv a("AWS_ACCESS_KEY_ID", nullptr);
  ScopedEnv s("AWS_SECRET_ACCESS_KEY", nullptr);
  ScopedEnv f("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
  auto o = ses_options();
  o.access_key_id.clear();
  o.secret_access_key.clear();
  AwsSesEmailHook hook(o);
  auto out = hook.trigger("x");
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::config);
  EXPECT_FALSE(out.error->retryable);
}

TEST(AwsSesEmailHook_CredentialsFromProfileFile, AreUsed) {
  ScopedEnv a("AWS_ACCESS_KEY_ID", nullptr);
  ScopedEnv s("AWS_SECRET_ACCESS_KEY", nullptr);
  ScopedEnv p("AWS_PROFILE", "ops");
  const std::string path = std::string(EVENTHOOKS_BINARY_DIR) + "/test-aws-credentials";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n"
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = y\n",
        f);
    std::fclose(f);
  }
  ScopedEnv file("AWS_SHARED_CREDENTIALS_FILE", path.c_str());
  auto o = ses_options();
  o.access_key_id.clear();
  o.secret_access_key.clear();
  AwsSesEmailHook hook(o);
  auto req = hook.render(Event::make("x", "y"), std::chrono::system_clock::now());
  ASSERT_TRUE(req) << req.error().message;
  bool ops = false;
  for (const auto& [n, v] : req->headers)
    ops |= n == "Authorization" && v.find("Credential=AKIDOPS/") != std::string::npos;
  EXPECT_TRUE(ops);
}

TEST(AwsSesEmailHook_EmptyData, IsInvalidInput) {
  AwsSesEmailHook hook(ses_options());
  auto req = hook.render(Event::make("x", ""), std::chrono::system_clock::now());
  ASSERT_FALSE(req);
  EXPECT_EQ(req.error().code, ErrorCode::invalid_input);
}

TEST(AwsSesEmailHook_Describe, HasNoSecret) {
  AwsSesEmailHook hook(ses_options());
  EXPECT_EQ(hook.describe().find("wJalr"), std::string::npos);
  EXPECT_EQ(hook.describe().find("AKIDEXAMPLE"), std::string::npos);
}

}  // namespace
}  // namespace eventhooks
