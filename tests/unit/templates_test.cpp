// Mustache templates (docs/hooks.md, "Templates"): what the context holds, where HTML is escaped and where
// it is not, that a WebHook body stays JSON whatever the data holds, and that a bad template is a config
// error at its file and line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eventhooks/config.hpp"
#include "eventhooks/hooks/email.hpp"
#include "eventhooks/hooks/notify.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "hooks/message_template.hpp"

using namespace eventhooks;
using detail::MessageTemplate;

namespace {

Event disk_event() {
  Event e = Event::make(
      "disk_full", nlohmann::ordered_json{{"host", "db-1"}, {"used", 97}, {"note", "a \"b\" <c>\n"}}, "prod");
  e.id = "0190b1c2-0000-7000-8000-000000000001";
  return e;
}

std::string config_error(const std::string& yaml) {
  try {
    parse_config(yaml, "hooks.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(Templates, Context_HoldsNameRealmIdTimeAndDataFields) {
  const Event e = disk_event();
  const MessageTemplate t("t", "message", "{{name}} {{realm}} {{id}} {{data.host}} {{data.used}}% {{time}}");
  EXPECT_EQ(t.render(e),
            "disk_full prod 0190b1c2-0000-7000-8000-000000000001 db-1 97% " + to_rfc3339(e.created_at));
}

TEST(Templates, DataAlone_IsTheWholeDataAsText) {
  const Event text_event = Event::make("e", "backup done");
  EXPECT_EQ(MessageTemplate("t", "message", "[{{data}}]").render(text_event), "[backup done]");
  EXPECT_EQ(MessageTemplate("t", "message", "[{{text}}]").render(text_event), "[backup done]");
  const Event object_event = Event::make("e", nlohmann::ordered_json{{"a", 1}});
  EXPECT_EQ(MessageTemplate("t", "message", "{{data}}").render(object_event), "{\n  \"a\": 1\n}");
}

TEST(Templates, ChatText_IsNotHtmlEscaped_EmailHtmlIs) {
  const Event e = disk_event();
  EXPECT_EQ(MessageTemplate("t", "message", "{{data.note}}").render(e), "a \"b\" <c>\n");
  EXPECT_EQ(MessageTemplate("t", "html", "<p>{{data.note}}</p>", MessageTemplate::Escape::html).render(e),
            "<p>a &quot;b&quot; &lt;c&gt;\n</p>");
}

TEST(Templates, SectionsAndInvertedSections_FollowTheData) {
  const MessageTemplate t("t", "message",
                          "{{#realm}}[{{realm}}] {{/realm}}{{^realm}}(no realm) {{/realm}}{{name}}");
  EXPECT_EQ(t.render(disk_event()), "[prod] disk_full");
  EXPECT_EQ(t.render(Event::make("x", "y")), "(no realm) x");
}

TEST(Templates, NtfyMessageAndTitle_RenderedFromTheEvent) {
  NtfyHook hook({.common = {.name = "n"},
                 .topic = "ops",
                 .title = "{{data.host}} disk",
                 .message = "{{data.used}}% used on {{data.host}}"});
  auto request = hook.render(disk_event());
  ASSERT_TRUE(request.ok()) << request.error().message;
  const auto body = nlohmann::json::parse(request.value().body);
  EXPECT_EQ(body["title"], "db-1 disk");
  EXPECT_EQ(body["message"], "97% used on db-1");
}

TEST(Templates, MessageRenderingEmpty_IsRefusedBeforeSending) {
  SlackWebHook hook(
      {.common = {.name = "s"}, .url = "https://hooks.example/services/x", .message = "{{data.nope}}"});
  auto request = hook.render(disk_event());
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().code, ErrorCode::invalid_input);
}

TEST(Templates, PagerDutyDedupKey_FromTheData) {
  PagerDutyHook hook({.common = {.name = "p"},
                      .routing_key = "k",
                      .event_action = "resolve",
                      .dedup_key = "disk-{{data.host}}"});
  auto request = hook.render(disk_event());
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(nlohmann::json::parse(request.value().body)["dedup_key"], "disk-db-1");
}

TEST(Templates, WebHookBody_RenderedValueByValue_AlwaysValidJson) {
  WebHook hook({.common = {.name = "w"},
                .url = "https://x.example/in",
                .body = {{"summary", "{{name}} on {{data.host}}"},
                         {"note", "{{data.note}}"},
                         {"fixed", 3},
                         {"tags", {"disk", "{{realm}}"}}}});
  auto request = hook.render(disk_event());
  ASSERT_TRUE(request.ok());
  const auto body = nlohmann::json::parse(request.value().body);  // throws if the quotes broke the JSON
  EXPECT_EQ(body["summary"], "disk_full on db-1");
  EXPECT_EQ(body["note"], "a \"b\" <c>\n");
  EXPECT_EQ(body["fixed"], 3);
  EXPECT_EQ(body["tags"][1], "prod");
}

TEST(Templates, EmailSubjectFromData_WithALineBreak_IsRefused) {
  SimpleEmailHook hook(
      {.common = {.name = "m"},
       .host = "localhost",
       .port = 25,
       .security = SmtpSecurity::plain,
       .email = {
           .sender = "a@example.com", .recipients = {"b@example.com"}, .subject = "Disk: {{data.note}}"}});
  auto rendered = hook.render(disk_event());
  ASSERT_FALSE(rendered.ok());
  EXPECT_EQ(rendered.error().code, ErrorCode::invalid_input);
}

TEST(Templates, EmailMessageSubjectAndHtml_Rendered) {
  SimpleEmailHook hook({.common = {.name = "m"},
                        .host = "localhost",
                        .port = 25,
                        .security = SmtpSecurity::plain,
                        .email = {.sender = "a@example.com",
                                  .recipients = {"b@example.com"},
                                  .subject = "Disk full on {{data.host}}",
                                  .message = "{{data.used}}% used",
                                  .html = "<b>{{data.host}}</b>"}});
  auto rendered = hook.render(disk_event());
  ASSERT_TRUE(rendered.ok()) << rendered.error().message;
  EXPECT_NE(rendered.value().find("Subject: Disk full on db-1"), std::string::npos) << rendered.value();
  EXPECT_NE(rendered.value().find("97% used"), std::string::npos);
  EXPECT_NE(rendered.value().find("<b>db-1</b>"), std::string::npos);
}

TEST(Templates, BadTemplate_IsAConfigErrorAtItsLine) {
  const std::string slack = config_error(
      "hooks:\n  s:\n    type: SlackWebHook\n    url: https://h.example/x\n    message: \"{{#data}}open\"\n");
  EXPECT_NE(slack.find("hooks.yaml:5"), std::string::npos) << slack;
  EXPECT_NE(slack.find("key 'message'"), std::string::npos) << slack;
  EXPECT_NE(slack.find("Mustache"), std::string::npos) << slack;
  const std::string body = config_error(
      "hooks:\n  w:\n    type: WebHook\n    url: https://h.example/x\n    body:\n      alert:\n        text: "
      "\"{{name\"\n");
  EXPECT_NE(body.find("hooks.yaml:7"), std::string::npos) << body;
  EXPECT_NE(body.find("body.alert.text"), std::string::npos) << body;
}
