#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "eventhooks/error.hpp"
#include "eventhooks/event.hpp"
#include "eventhooks/hooks/file_hook.hpp"
#include "eventhooks/outcome.hpp"
#include "eventhooks/payload.hpp"
#include "eventhooks/realms.hpp"
#include "eventhooks/redact.hpp"

using eventhooks::Error;
using eventhooks::ErrorCode;
using eventhooks::Payload;
using eventhooks::Realms;
using eventhooks::Result;

// A Result returned from a call and used at once: its value must outlive the statement's loop. With a T&&
// value() the loop below read a destroyed vector (the ASan build reports a stack-use-after-scope).
TEST(Result, ValueOfATemporaryResult_CanBeIteratedInARangeFor) {
  const auto make = [](int n) -> Result<std::vector<std::string>> {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i)
      v.push_back("a string too long for the small-string buffer #" + std::to_string(i));
    return v;
  };
  std::vector<std::string> seen;
  for (const auto& s : make(3).value()) seen.push_back(s);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], "a string too long for the small-string buffer #2");
  const auto failing = []() -> Result<std::vector<std::string>> {
    return Error::permanent(ErrorCode::config, "no value");
  };
  std::string message;
  for (const char c : failing().error().message) message.push_back(c);
  EXPECT_EQ(message, "no value");
}

TEST(Realms, NoRealms_FiresWhateverRealmIsPassed) {
  Realms none;
  EXPECT_TRUE(none.allows(std::nullopt));
  EXPECT_TRUE(none.allows("outside"));
}

TEST(Realms, HookWithRealmsAndMatchingRealm_Fires) {
  Realms r{"outside", "inside"};
  EXPECT_TRUE(r.allows("inside"));
}

TEST(Realms, HookWithRealmsAndOtherRealm_DoesNotFire) {
  Realms r{"outside"};
  EXPECT_FALSE(r.allows("garage"));
  EXPECT_FALSE(r.allows("Outside"));  // case-sensitive, as in the Python library
}

TEST(Realms, HookWithRealmsAndNoRealmPassed_DoesNotFire) {
  Realms r{"outside"};
  EXPECT_FALSE(r.allows(std::nullopt));
}

TEST(Payload, StringIsSentAsJsonStringInWebhookBody) {
  EXPECT_EQ(Payload("hello \"you\"").to_json_body(), R"("hello \"you\"")");
}

TEST(Payload, ObjectIsCompactJsonInWebhookBodyAndKeepsKeyOrder) {
  Payload p(nlohmann::ordered_json{{"z", 1}, {"a", "b"}});
  EXPECT_EQ(p.to_json_body(), R"({"z":1,"a":"b"})");
}

TEST(Payload, ObjectIsJsonIndentedByTwoAsText) {
  Payload p(nlohmann::ordered_json{{"a", 1}});
  EXPECT_EQ(p.to_text(), "{\n  \"a\": 1\n}");
  EXPECT_EQ(Payload("plain").to_text(), "plain");
}

TEST(Payload, EmptyMeansNothingEmptyStringOrEmptyObject) {
  EXPECT_TRUE(Payload().empty());
  EXPECT_TRUE(Payload("").empty());
  EXPECT_TRUE(Payload(nlohmann::json::object()).empty());
  EXPECT_FALSE(Payload("x").empty());
  EXPECT_FALSE(Payload(nlohmann::json{{"a", 1}}).empty());
}

TEST(Payload, CliTextThatParsesAsObjectIsObject) {
  auto p = Payload::from_cli_text(R"( {"b": 2, "a": 1})");
  ASSERT_TRUE(p.is_json());
  EXPECT_EQ(p.to_json_body(), R"({"b":2,"a":1})");
}

TEST(Payload, CliTextThatIsNotAnObjectIsText) {
  EXPECT_TRUE(Payload::from_cli_text("42").is_text());
  EXPECT_TRUE(Payload::from_cli_text("[1,2]").is_text());
  EXPECT_TRUE(Payload::from_cli_text("disk full").is_text());
  EXPECT_TRUE(Payload::from_cli_text("{not json").is_text());
}

TEST(Payload, StoredFormRoundTrips) {
  for (const Payload& p : {Payload(), Payload("t"), Payload(nlohmann::json{{"k", {1, 2}}})}) {
    EXPECT_EQ(Payload::from_stored(p.to_stored()), p);
  }
}

// to_stored_text() is what the SQLite outbox stores: the same text as to_stored().dump(), for every kind.
TEST(Payload, StoredTextIsTheStoredFormDumped) {
  nlohmann::ordered_json ordered = nlohmann::ordered_json::object();
  ordered["z"] = 1;
  ordered["a"] = {{"\"q\"", "line\nbreak \xc3\xa9"}};  // order kept, escapes, UTF-8
  for (const Payload& p : {Payload(), Payload(""), Payload("say \"hi\"\n\t\x01 \xe2\x82\xac"),
                           Payload(nlohmann::json{{"k", {1, 2.5, nullptr, true}}}), Payload(ordered),
                           Payload(nlohmann::json::array({1, "x"})), Payload(nlohmann::json(42))}) {
    EXPECT_EQ(p.to_stored_text(), p.to_stored().dump());
    EXPECT_EQ(Payload::from_stored(nlohmann::ordered_json::parse(p.to_stored_text())), p);
  }
}

TEST(Event, IdsAreUuidV7AndUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = eventhooks::new_event_id();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '7');
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

// Ids come from a per-thread pool of kernel randomness: a forked child must not hand out its parent's ids.
TEST(Event, ForkedChildDoesNotRepeatTheParentsIds) {
  (void)eventhooks::new_event_id();  // the pool now holds randomness the child would inherit
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    std::string ids;
    for (int i = 0; i < 40; ++i) ids += eventhooks::new_event_id();
    const bool ok = write(fds[1], ids.data(), ids.size()) == static_cast<ssize_t>(ids.size());
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  std::string parent;
  for (int i = 0; i < 40; ++i) parent += eventhooks::new_event_id();
  std::string from_child;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) from_child.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(from_child.size(), 40u * 36u);
  // Only the random part counts (after the 48-bit millisecond clock, "xxxxxxxx-xxxx-"): the two processes
  // may well run in the same millisecond.
  std::set<std::string> seen;
  for (std::size_t i = 0; i < parent.size(); i += 36) seen.insert(parent.substr(i + 14, 22));
  for (std::size_t i = 0; i < from_child.size(); i += 36) {
    EXPECT_EQ(seen.count(from_child.substr(i + 14, 22)), 0u) << from_child.substr(i, 36);
    seen.insert(from_child.substr(i + 14, 22));
  }
  EXPECT_EQ(seen.size(), 80u);
}

TEST(Redact, UrlPasswordAndQueryAreMasked) {
  EXPECT_EQ(eventhooks::redact_url("amqps://user:s3cret@host:5671/vh"), "amqps://user:***@host:5671/vh");
  EXPECT_EQ(eventhooks::redact_url("https://h/p?token=abc#f"), "https://h/p?***#f");
  EXPECT_EQ(eventhooks::redact_url("https://h/p"), "https://h/p");
}

TEST(Redact, ScrubMasksEveryOccurrenceThatStandsAsAValue) {
  EXPECT_EQ(eventhooks::scrub("a pw b pw", "pw"), "a *** b ***");
  EXPECT_EQ(eventhooks::scrub("login 'pw' refused, password=pw.", "pw"),
            "login '***' refused, password=***.");
  EXPECT_EQ(eventhooks::scrub("amqp://u:pw@host", "pw"), "amqp://u:***@host");
}

// A short secret inside a longer word is left alone: masking it would garble the message, not protect it.
TEST(Redact, ScrubShortSecretInsideAWord_LeftAsItIs) {
  EXPECT_EQ(eventhooks::scrub("connect to 127.0.0.1 refused", "1"), "connect to 127.0.0.1 refused");
  EXPECT_EQ(eventhooks::scrub("amqp://host", "p"), "amqp://host");
  EXPECT_EQ(eventhooks::scrub("SMTP 535 auth failed for bob", "bo"), "SMTP 535 auth failed for bob");
}

// A long secret is masked wherever it stands: in free text nothing tells where a value starts.
TEST(Redact, ScrubLongSecret_MaskedEvenInsideAWord) {
  EXPECT_EQ(eventhooks::scrub("user:hunter2-xyz rejected", "hunter2-xyz"), "user:*** rejected");
  EXPECT_EQ(eventhooks::scrub("tokenAKIAEXAMPLE1234", "AKIAEXAMPLE1234"), "token***");
  EXPECT_EQ(eventhooks::mask("x"), "***");
  EXPECT_EQ(eventhooks::mask(""), "");
}

TEST(Hook, DeliverAsyncOnSynchronousHook_CallsBackOnceWithTheOutcome) {
  const auto path =
      std::filesystem::path(EVENTHOOKS_BINARY_DIR) / "test-tmp" / (eventhooks::new_event_id() + ".jsonl");
  eventhooks::FileHook hook({.common = {.name = "async-file"}, .path = path.string()});
  const auto event = eventhooks::Event::make("e", "line");
  int calls = 0;
  eventhooks::Outcome got;
  hook.deliver_async(event, [&](eventhooks::Outcome out) {
    ++calls;
    got = std::move(out);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(got.delivered()) << got.detail();
  EXPECT_EQ(got.event_id, event.id);
  EXPECT_EQ(got.hook, "async-file");
  std::filesystem::remove(path);
}

TEST(Payload, CopiesShareTheJsonValueAndEqualityComparesValues) {
  const Payload a(nlohmann::json{{"service", "api"}, {"ok", true}});
  const Payload copy = a;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the point
  EXPECT_EQ(&copy.json(), &a.json()) << "copying a payload copied the JSON tree";
  EXPECT_EQ(copy, a);
  EXPECT_EQ(Payload(nlohmann::json{{"service", "api"}, {"ok", true}}), a) << "equal values, separate trees";
  EXPECT_NE(Payload(nlohmann::json{{"service", "db"}, {"ok", true}}), a);
  EXPECT_NE(Payload(std::string(R"({"service":"api","ok":true})")), a) << "text is not JSON";
  EXPECT_EQ(Payload(), Payload());
  EXPECT_EQ(Payload("x"), Payload(std::string("x")));
}
