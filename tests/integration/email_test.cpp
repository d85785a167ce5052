// SimpleEmailHook against a real SMTP server (scripts/servers/smtp.sh: aiosmtpd with plain, STARTTLS+AUTH,
// implicit TLS and no-STARTTLS listeners, recording what it receives) and AwsSesEmailHook against
// aws-ses-v2-local (scripts/servers/ses.sh) and an in-process server for SES's error answers.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "eventhooks/config.hpp"
#include "eventhooks/hooks/email.hpp"
#include "http_test_server.hpp"
#include "test_env.hpp"

namespace eventhooks {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::closed_port;
using test::require_env;
using test::require_port;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string smtp_password() {
  std::string pw = read_file(require_env("EVENTHOOKS_SMTP_PASSWORD_FILE"));
  while (!pw.empty() && pw.back() == '\n') pw.pop_back();
  return pw;
}

struct Received {
  nlohmann::json meta;
  std::string raw;  // the bytes after DATA, as the server received them
};

// Every message a listener recorded whose bytes contain `marker` (an event id: unique per test).
std::vector<Received> received(const std::string& listener, const std::string& marker) {
  std::vector<Received> out;
  const fs::path dir = fs::path(require_env("EVENTHOOKS_SMTP_SPOOL")) / listener;
  if (!fs::exists(dir)) return out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    fs::path eml = f;
    eml.replace_extension(".eml");
    std::string raw = read_file(eml);
    if (raw.find(marker) == std::string::npos) continue;
    out.push_back({nlohmann::json::parse(read_file(f)), std::move(raw)});
  }
  return out;
}

SimpleEmailOptions options_for(const char* port_var, SmtpSecurity security) {
  SimpleEmailOptions o;
  o.common.name = "disk_alarm";
  o.host = require_env("EVENTHOOKS_SMTP_HOST");
  o.port = require_port(port_var);
  o.security = security;
  if (security != SmtpSecurity::plain) {
    o.credentials = require_env("EVENTHOOKS_SMTP_USER") + ":" + smtp_password();
    o.tls.ca_file = require_env("EVENTHOOKS_SMTP_CA_FILE");
  }
  o.email = {.sender = "alerts@example.com",
             .sender_name = "Alert Bot",
             .recipients = {"ops@example.com", "dev@example.org"}};
  o.timeouts.total = 20s;
  o.timeouts.connect = 5s;
  return o;
}

TEST(SmtpPlain_Trigger, DeliversTheExactBytesToEveryRecipient) {
  SimpleEmailHook hook(options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain));
  const Event event =
      Event::make("disk_alarm", "Disk /var is 99% full.\n.\nFrom the checker: caf\xC3\xA9 = ok");
  auto expected = hook.render(event);
  ASSERT_TRUE(expected);
  const Outcome out = hook.trigger(event);
  ASSERT_TRUE(out.delivered()) << out.detail();
  EXPECT_EQ(out.receipt.status, 250);
  EXPECT_EQ(out.receipt.id, "<" + event.id + ".disk_alarm@example.com>");
  EXPECT_NE(out.receipt.detail.find("queued"), std::string::npos) << out.receipt.detail;
  auto got = received("plain", event.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].meta["mail_from"], "alerts@example.com");
  EXPECT_EQ(got[0].meta["rcpt_tos"], nlohmann::json::array({"ops@example.com", "dev@example.org"}));
  EXPECT_EQ(got[0].meta["tls"], false);
  EXPECT_EQ(got[0].raw, expected.value());
  EXPECT_NE(
      got[0].raw.find("\r\nFrom: Alert Bot <alerts@example.com>\r\nTo: ops@example.com, dev@example.org\r\n"
                      "Subject: disk_alarm\r\n"),
      std::string::npos);
  EXPECT_NE(got[0].raw.find("\r\n\r\nDisk /var is 99% full.\r\n=2E\r\n=46rom the checker: caf=C3=A9 =3D ok"),
            std::string::npos)
      << got[0].raw;
}

TEST(SmtpStartTls_WithAuth, DeliversOverTlsAsTheConfiguredUser) {
  SimpleEmailHook hook(options_for("EVENTHOOKS_SMTP_STARTTLS_PORT", SmtpSecurity::starttls));
  const Event event = Event::make("disk_alarm", nlohmann::json{{"disk", "/var"}, {"used", 99}});
  auto expected = hook.render(event);
  ASSERT_TRUE(expected);
  const Outcome out = hook.trigger(event);
  ASSERT_TRUE(out.delivered()) << out.detail();
  auto got = received("starttls", event.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].meta["tls"], true);
  // The password has ':' in it: the login only succeeds when everything after the first ':' is kept.
  EXPECT_EQ(got[0].meta["login"], require_env("EVENTHOOKS_SMTP_USER"));
  EXPECT_EQ(got[0].meta["rcpt_tos"], nlohmann::json::array({"ops@example.com", "dev@example.org"}));
  EXPECT_EQ(got[0].raw, expected.value());
  EXPECT_NE(got[0].raw.find("\r\n\r\n{\r\n  \"disk\": \"/var\",\r\n  \"used\": 99\r\n}"), std::string::npos);
}

TEST(SmtpImplicitTls_WithAuth, DeliversTheExactBytes) {
  auto o = options_for("EVENTHOOKS_SMTP_IMPLICIT_PORT", SmtpSecurity::implicit);
  o.email.html = "<p>{{data}}</p>";
  SimpleEmailHook hook(o);
  const Event event = Event::make("disk_alarm", "over smtps & <html>");
  auto expected = hook.render(event);
  ASSERT_TRUE(expected);
  const Outcome out = hook.trigger(event);
  ASSERT_TRUE(out.delivered()) << out.detail();
  auto got = received("implicit", event.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].meta["tls"], true);
  EXPECT_EQ(got[0].meta["login"], require_env("EVENTHOOKS_SMTP_USER"));
  EXPECT_EQ(got[0].meta["rcpt_tos"], nlohmann::json::array({"ops@example.com", "dev@example.org"}));
  EXPECT_EQ(got[0].raw, expected.value());
  EXPECT_NE(got[0].raw.find("<p>over smtps &amp; &lt;html&gt;</p>"), std::string::npos) << got[0].raw;
}

TEST(SmtpStartTls_WrongPassword, FailsAsAuthErrorNotRetryable) {
  auto o = options_for("EVENTHOOKS_SMTP_STARTTLS_PORT", SmtpSecurity::starttls);
  o.credentials = require_env("EVENTHOOKS_SMTP_USER") + ":wrong:Pa55word";
  SimpleEmailHook hook(o);
  const Event event = Event::make("disk_alarm", "never sent");
  const Outcome out = hook.trigger(event);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::auth) << out.detail();
  EXPECT_FALSE(out.error->retryable);
  EXPECT_EQ(out.error->status, 535);
  EXPECT_EQ(out.error->message.find("wrong:Pa55word"), std::string::npos);
  EXPECT_TRUE(received("starttls", event.id).empty());
}

TEST(SmtpStartTls_ServerWithoutStartTls, FailsAndSendsNothingInPlainText) {
  auto o = options_for("EVENTHOOKS_SMTP_NOSTARTTLS_PORT", SmtpSecurity::starttls);
  SimpleEmailHook hook(o);
  const Event event = Event::make("disk_alarm", "must not travel in clear");
  const Outcome out = hook.trigger(event);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::protocol) << out.detail();
  EXPECT_FALSE(out.error->retryable);
  EXPECT_NE(out.error->message.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(out.error->message.find(smtp_password()), std::string::npos);
  EXPECT_TRUE(received("nostarttls", event.id).empty());
}

TEST(SmtpStartTls_WithoutTheTestCa, IsRefusedAsTlsFailure) {
  auto o = options_for("EVENTHOOKS_SMTP_STARTTLS_PORT", SmtpSecurity::starttls);
  o.tls.ca_file.clear();  // the system store does not know the test CA
  SimpleEmailHook hook(o);
  const Event event = Event::make("disk_alarm", "x");
  const Outcome out = hook.trigger(event);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::tls) << out.detail();
  EXPECT_FALSE(out.error->retryable);
  EXPECT_TRUE(received("starttls", event.id).empty());
}

TEST(SmtpImplicitTls_WithoutTheTestCa, IsRefusedAsTlsFailure) {
  auto o = options_for("EVENTHOOKS_SMTP_IMPLICIT_PORT", SmtpSecurity::implicit);
  o.tls.ca_file.clear();
  SimpleEmailHook hook(o);
  const Outcome out = hook.trigger("x");
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::tls) << out.detail();
}

TEST(Smtp_RepeatedTriggers, EachMessageCarriesOnlyItsOwnBody) {
  SimpleEmailHook hook(options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain));
  std::vector<Event> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(Event::make("disk_alarm", "body number " + std::to_string(i)));
    ASSERT_TRUE(hook.trigger(events.back()).delivered());
  }
  for (int i = 0; i < 3; ++i) {
    auto got = received("plain", events[static_cast<std::size_t>(i)].id);
    ASSERT_EQ(got.size(), 1u);
    for (int j = 0; j < 3; ++j) {
      const bool has = got[0].raw.find("body number " + std::to_string(j)) != std::string::npos;
      EXPECT_EQ(has, i == j) << "message " << i << " body " << j;
    }
    EXPECT_EQ(got[0].raw.find("Content-Type:"), got[0].raw.rfind("Content-Type:"));
  }
}

TEST(Smtp_ConsecutiveSends, ReuseOneSmtpSession) {
  SimpleEmailHook hook(options_for("EVENTHOOKS_SMTP_STARTTLS_PORT", SmtpSecurity::starttls));
  const Event first = Event::make("disk_alarm", "one");
  const Event second = Event::make("disk_alarm", "two");
  ASSERT_TRUE(hook.trigger(first).delivered());
  ASSERT_TRUE(hook.trigger(second).delivered());
  auto a = received("starttls", first.id);
  auto b = received("starttls", second.id);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].meta["peer"], b[0].meta["peer"]);  // same client port: same TCP connection
  EXPECT_EQ(b[0].meta["session_message"].get<int>(), a[0].meta["session_message"].get<int>() + 1);
}

TEST(Smtp_RecipientTemporarilyRefused, IsRetryableAndNothingIsSent) {
  auto o = options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain);
  o.email.recipients = {"ops@example.com", "tempfail@example.com"};
  SimpleEmailHook hook(o);
  const Event event = Event::make("disk_alarm", "x");
  const Outcome out = hook.trigger(event);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::unavailable) << out.detail();
  EXPECT_TRUE(out.error->retryable);
  EXPECT_EQ(out.error->status, 451);
  EXPECT_NE(out.error->message.find("try again later"), std::string::npos) << out.error->message;
  EXPECT_TRUE(received("plain", event.id).empty());
}

TEST(Smtp_RecipientPermanentlyRefused, IsNotRetryable) {
  auto o = options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain);
  o.email.recipients = {"reject@example.com"};
  SimpleEmailHook hook(o);
  const Outcome out = hook.trigger("x");
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::rejected) << out.detail();
  EXPECT_FALSE(out.error->retryable);
  EXPECT_EQ(out.error->status, 550);
}

TEST(Smtp_MessageRefusedAfterData, IsNotRetryable) {
  auto o = options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain);
  o.email.sender = "datafail@example.com";
  SimpleEmailHook hook(o);
  const Outcome out = hook.trigger("x");
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::rejected) << out.detail();
  EXPECT_FALSE(out.error->retryable);
  EXPECT_EQ(out.error->status, 554);
}

TEST(Smtp_AfterARefusal, TheNextSendStillWorks) {
  auto o = options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain);
  o.email.recipients = {"reject@example.com"};
  SimpleEmailHook bad(o);
  ASSERT_TRUE(bad.trigger("x").failed());
  SimpleEmailHook good(options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain));
  ASSERT_TRUE(good.trigger("y").delivered());
  ASSERT_TRUE(bad.trigger("z").failed());
}

TEST(Smtp_ConcurrentTriggers, AllDeliveredEachOnce) {
  SimpleEmailHook hook(options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain));
  const std::string batch = Event::make("x", "").id;  // a marker shared by this test's messages only
  std::vector<std::thread> threads;
  std::atomic<int> delivered{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (hook.trigger(batch + " thread " + std::to_string(t) + " message " + std::to_string(i))
                .delivered()) {
          ++delivered;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(delivered.load(), 20);
  EXPECT_EQ(received("plain", batch).size(), 20u);
}

// Runs deliver_async for every event and waits (bounded) for all outcomes, in completion order.
std::vector<Outcome> deliver_all_async(Hook& hook, const std::vector<Event>& events) {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Outcome> outcomes;
  for (const auto& e : events) {
    hook.deliver_async(e, [&](Outcome out) {
      std::lock_guard lock(mutex);
      outcomes.push_back(std::move(out));
      changed.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  changed.wait_for(lock, 30s, [&] { return outcomes.size() >= events.size(); });
  return outcomes;
}

TEST(SmtpStartTls_DeliverAsync, ManyInFlightEachArrivesOnceWithItsOwnBodyOverReusedSessions) {
  SimpleEmailHook hook(options_for("EVENTHOOKS_SMTP_STARTTLS_PORT", SmtpSecurity::starttls));
  // Two rounds of six in flight at once: the second round must run over the first round's sessions.
  std::vector<std::set<std::string>> peers(2);
  for (int round = 0; round < 2; ++round) {
    std::vector<Event> events;
    for (int i = 0; i < 6; ++i) {
      events.push_back(
          Event::make("disk_alarm", "async body " + std::to_string(round) + "." + std::to_string(i)));
    }
    const auto outcomes = deliver_all_async(hook, events);
    ASSERT_EQ(outcomes.size(), events.size());
    std::set<std::string> ids;
    for (const auto& out : outcomes) {
      ASSERT_TRUE(out.delivered()) << out.detail();
      EXPECT_EQ(out.receipt.status, 250);
      EXPECT_EQ(out.receipt.id, "<" + out.event_id + ".disk_alarm@example.com>");
      ids.insert(out.event_id);
    }
    EXPECT_EQ(ids.size(), events.size()) << "an outcome came twice or for the wrong event";
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto got = received("starttls", events[i].id);
      ASSERT_EQ(got.size(), 1u) << "message " << i;
      EXPECT_EQ(got[0].meta["tls"], true);
      EXPECT_EQ(got[0].raw, hook.render(events[i]).value()) << "message " << i << " not byte for byte";
      peers[static_cast<std::size_t>(round)].insert(got[0].meta["peer"].dump());
    }
  }
  for (const auto& peer : peers[1]) {
    EXPECT_TRUE(peers[0].contains(peer)) << "round 2 opened a new session " << peer;
  }
}

TEST(Smtp_DeliverAsync, FailuresAreClassifiedAsInTrigger) {
  auto o = options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain);
  o.email.recipients = {"ops@example.com", "tempfail@example.com"};
  SimpleEmailHook tempfail(o);
  auto c = options_for("EVENTHOOKS_SMTP_STARTTLS_PORT", SmtpSecurity::starttls);
  c.credentials = require_env("EVENTHOOKS_SMTP_USER") + ":wrong-password";
  SimpleEmailHook wrong_password(c);
  auto t = deliver_all_async(tempfail, {Event::make("disk_alarm", "x")});
  auto w = deliver_all_async(wrong_password, {Event::make("disk_alarm", "y")});
  ASSERT_EQ(t.size(), 1u);
  ASSERT_EQ(w.size(), 1u);
  ASSERT_TRUE(t[0].failed());
  EXPECT_EQ(t[0].error->code, ErrorCode::unavailable) << t[0].detail();
  EXPECT_TRUE(t[0].error->retryable);
  ASSERT_TRUE(w[0].failed());
  EXPECT_EQ(w[0].error->code, ErrorCode::auth) << w[0].detail();
  EXPECT_FALSE(w[0].error->retryable);
  EXPECT_EQ(w[0].detail().find("wrong-password"), std::string::npos) << "the password leaked";
}

TEST(Smtp_NothingListening, IsARetryableConnectError) {
  auto o = options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain);
  o.port = closed_port();
  SimpleEmailHook hook(o);
  const Outcome out = hook.trigger("x");
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::connect) << out.detail();
  EXPECT_TRUE(out.error->retryable);
}

TEST(Smtp_ServerThatNeverGreets, TimesOutRetryably) {
  // A listening socket that never accepts: the kernel completes the handshake, nobody ever says 220.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto o = options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain);
  o.port = ntohs(a.sin_port);
  o.timeouts.total = 1s;
  SimpleEmailHook hook(o);
  const Outcome out = hook.trigger("x");
  ::close(fd);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::timeout) << out.detail();
  EXPECT_TRUE(out.error->retryable);
}

TEST(Smtp_NonAsciiNameAndSubject, ArriveRfc2047Encoded) {
  auto o = options_for("EVENTHOOKS_SMTP_PLAIN_PORT", SmtpSecurity::plain);
  o.email.sender_name = "J\xC3\xB6rg";
  o.email.subject =
      "Pr\xC3\xBC"
      "fung";
  SimpleEmailHook hook(o);
  const Event event = Event::make("disk_alarm", "x");
  ASSERT_TRUE(hook.trigger(event).delivered());
  auto got = received("plain", event.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].raw.find("\r\nFrom: =?UTF-8?B?SsO2cmc=?= <alerts@example.com>\r\n"), std::string::npos);
  EXPECT_NE(got[0].raw.find("\r\nSubject: =?UTF-8?B?UHLDvGZ1bmc=?=\r\n"), std::string::npos) << got[0].raw;
}

TEST(SmtpConfig_PythonLibraryStyleDict, DeliversThroughTheFactory) {
  nlohmann::json c{{"type", "SimpleEmailHook"},
                   {"host", require_env("EVENTHOOKS_SMTP_HOST")},
                   {"port", require_port("EVENTHOOKS_SMTP_STARTTLS_PORT")},
                   {"credentials", require_env("EVENTHOOKS_SMTP_USER") + ":" + smtp_password()},
                   {"sender", "someone@somewhere.com"},
                   {"sender_name", "someone"},
                   {"recipients", "me@xyz.com, you@xyz.com"},
                   {"ca_file", require_env("EVENTHOOKS_SMTP_CA_FILE")},
                   {"subject", "from config"}};
  auto hook = eventhook_factory("failed_service_checker", c);
  const Event event = Event::make("failed_service_checker", "service down");
  const Outcome out = hook->trigger(event);
  ASSERT_TRUE(out.delivered()) << out.detail();
  auto got = received("starttls", event.id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].meta["rcpt_tos"], nlohmann::json::array({"me@xyz.com", "you@xyz.com"}));
  EXPECT_NE(got[0].raw.find("\r\nSubject: from config\r\n"), std::string::npos);
  EXPECT_NE(got[0].raw.find("\r\nFrom: someone <someone@somewhere.com>\r\n"), std::string::npos);
}

// ---- SES

AwsSesOptions ses_options(const std::string& endpoint) {
  AwsSesOptions o;
  o.common.name = "ses_alarm";
  o.email = {.sender = "alerts@example.com",
             .sender_name = "Alert Bot",
             .recipients = {"ops@example.com", "dev@example.org"}};
  o.region = "eu-west-1";
  o.endpoint_url = endpoint;
  o.access_key_id = "AKIDEXAMPLE";
  o.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  o.http.timeouts.total = 10s;
  return o;
}

nlohmann::json ses_store() {
  httplib::Client client(require_env("EVENTHOOKS_SES_URL"));
  auto res = client.Get("/store");
  if (!res || res->status != 200) throw std::runtime_error("GET /store failed");
  return nlohmann::json::parse(res->body);
}

TEST(Ses_Trigger, DeliversWithMessageIdAndTheStoreHoldsTheMail) {
  auto o = ses_options(require_env("EVENTHOOKS_SES_URL"));
  o.email.subject = "SES subject \xC3\xA9";
  o.email.html = "<b>{{data}}</b>";
  AwsSesEmailHook hook(o);
  const Event event = Event::make("ses_alarm", nlohmann::json{{"disk", "/var"}});
  const Outcome out = hook.trigger(event);
  ASSERT_TRUE(out.delivered()) << out.detail();
  ASSERT_FALSE(out.receipt.id.empty());
  EXPECT_EQ(out.receipt.status, 200);
  const auto store = ses_store();
  const nlohmann::json* mail = nullptr;
  for (const auto& e : store["emails"]) {
    if (e["messageId"] == out.receipt.id) mail = &e;
  }
  ASSERT_NE(mail, nullptr) << store.dump();
  EXPECT_EQ((*mail)["from"], "Alert Bot <alerts@example.com>");
  EXPECT_EQ((*mail)["destination"]["to"], nlohmann::json::array({"ops@example.com", "dev@example.org"}));
  EXPECT_EQ((*mail)["subject"], "SES subject \xC3\xA9");
  EXPECT_EQ((*mail)["body"]["text"], "{\n  \"disk\": \"/var\"\n}");
  EXPECT_EQ((*mail)["body"]["html"], "<b>{\n  &quot;disk&quot;: &quot;/var&quot;\n}</b>");
}

TEST(Ses_RepeatedTriggers, EachGetsItsOwnMessageId) {
  AwsSesEmailHook hook(ses_options(require_env("EVENTHOOKS_SES_URL")));
  const Outcome a = hook.trigger("first");
  const Outcome b = hook.trigger("second");
  ASSERT_TRUE(a.delivered() && b.delivered());
  EXPECT_NE(a.receipt.id, b.receipt.id);
}

TEST(Ses_DeliverAsync, ManyInFlight_EachHasItsOwnMessageIdInTheStore) {
  AwsSesEmailHook hook(ses_options(require_env("EVENTHOOKS_SES_URL")));
  constexpr std::size_t kEvents = 8;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Outcome> outcomes;
  for (std::size_t i = 0; i < kEvents; ++i) {
    hook.deliver_async(Event::make("ses_alarm", "async " + std::to_string(i)), [&](Outcome out) {
      std::lock_guard lock(mutex);
      outcomes.push_back(std::move(out));
      changed.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  changed.wait_for(lock, 20s, [&] { return outcomes.size() >= kEvents; });
  ASSERT_EQ(outcomes.size(), kEvents);
  std::set<std::string> ids;
  for (const auto& out : outcomes) {
    ASSERT_TRUE(out.delivered()) << out.detail();
    ids.insert(out.receipt.id);
  }
  EXPECT_EQ(ids.size(), kEvents) << "two deliveries share a MessageId";
  std::set<std::string> stored;
  const auto store = ses_store();  // kept: a range-for over a member of a temporary would dangle
  for (const auto& e : store["emails"]) stored.insert(e["messageId"].get<std::string>());
  for (const auto& id : ids) EXPECT_TRUE(stored.contains(id)) << id << " is not in the SES store";
}

TEST(Ses_EndpointFromEnvironment, IsUsedWhenTheHookHasNone) {
  test::ScopedEnv e("AWS_ENDPOINT_URL_SES", require_env("EVENTHOOKS_SES_URL").c_str());
  auto o = ses_options("");
  AwsSesEmailHook hook(o);
  EXPECT_TRUE(hook.trigger("via env").delivered());
}

struct SesErrorCase {
  int status;
  std::string error_type;
  std::string body;
  ErrorCode code;
  bool retryable;
};

Outcome trigger_against(const SesErrorCase& c, test::HttpTestServer& server) {
  test::CannedResponse r;
  r.status = c.status;
  r.content_type = "application/json";
  r.body = c.body;
  if (!c.error_type.empty()) r.headers.emplace_back("x-amzn-ErrorType", c.error_type);
  if (c.status == 429) r.headers.emplace_back("Retry-After", "7");
  server.respond(r);
  AwsSesEmailHook hook(ses_options(server.url("")));
  return hook.trigger("x");
}

TEST(Ses_MessageRejected, IsNotRetryableAndQuotesSes) {
  test::HttpTestServer server;
  const Outcome out =
      trigger_against({400, "MessageRejected:http://internal.amazon.com/coral/com.amazonaws.ses/",
                       R"({"message":"Email address is not verified."})", ErrorCode::rejected, false},
                      server);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::rejected);
  EXPECT_FALSE(out.error->retryable);
  EXPECT_EQ(out.error->status, 400);
  EXPECT_NE(out.error->message.find("MessageRejected"), std::string::npos) << out.error->message;
  EXPECT_NE(out.error->message.find("Email address is not verified."), std::string::npos);
  // The request reached the server signed, with the secret nowhere in it.
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/v2/email/outbound-emails");
  EXPECT_EQ(reqs[0].header("authorization").rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u);
  EXPECT_EQ(reqs[0].body.find("wJalrXUtnFEMI"), std::string::npos);
}

TEST(Ses_Throttled, IsRetryableWithRetryAfter) {
  test::HttpTestServer server;
  const Outcome out =
      trigger_against({429, "TooManyRequestsException", R"({"message":"Maximum sending rate exceeded."})",
                       ErrorCode::throttled, true},
                      server);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::throttled);
  EXPECT_TRUE(out.error->retryable);
  ASSERT_TRUE(out.error->retry_after.has_value());
  EXPECT_EQ(*out.error->retry_after, 7s);
  EXPECT_NE(out.error->message.find("Maximum sending rate exceeded."), std::string::npos);
}

TEST(Ses_BadSignature, IsAnAuthErrorWithoutTheSecret) {
  test::HttpTestServer server;
  const Outcome out = trigger_against(
      {403, "",
       R"({"__type":"SignatureDoesNotMatch","message":"The request signature we calculated does not match"})",
       ErrorCode::auth, false},
      server);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::auth);
  EXPECT_FALSE(out.error->retryable);
  EXPECT_EQ(out.error->message.find("wJalrXUtnFEMI"), std::string::npos);
}

TEST(Ses_ServerError, IsRetryable) {
  test::HttpTestServer server;
  const Outcome out = trigger_against(
      {503, "", R"({"message":"Service Unavailable"})", ErrorCode::unavailable, true}, server);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::unavailable);
  EXPECT_TRUE(out.error->retryable);
}

TEST(Ses_SuccessWithoutMessageId, IsAProtocolError) {
  test::HttpTestServer server;
  const Outcome out = trigger_against({200, "", R"({"nothing":"here"})", ErrorCode::protocol, false}, server);
  ASSERT_TRUE(out.failed());
  EXPECT_EQ(out.error->code, ErrorCode::protocol);
}

}  // namespace
}  // namespace eventhooks
