#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "eventhooks/event.hpp"
#include "eventhooks/hooks/file_hook.hpp"
#include "eventhooks/outcome.hpp"
#include "eventhooks/payload.hpp"
#include "eventhooks/realms.hpp"
#include "eventhooks/redact.hpp"

using eventhooks::Payload;
using eventhooks::Realms;

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
  EXPECT_FALSE(r.allows("Outside"));  // case-sensitive, as the seed
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

TEST(Redact, UrlPasswordAndQueryAreMasked) {
  EXPECT_EQ(eventhooks::redact_url("amqps://user:s3cret@host:5671/vh"), "amqps://user:***@host:5671/vh");
  EXPECT_EQ(eventhooks::redact_url("https://h/p?token=abc#f"), "https://h/p?***#f");
  EXPECT_EQ(eventhooks::redact_url("https://h/p"), "https://h/p");
}

TEST(Redact, ScrubRemovesEverySecretOccurrence) {
  EXPECT_EQ(eventhooks::scrub("a pw b pw", "pw"), "a *** b ***");
  EXPECT_EQ(eventhooks::mask("x"), "***");
  EXPECT_EQ(eventhooks::mask(""), "");
}

TEST(Hook, DeliverAsyncOnSynchronousHook_CallsBackOnceWithTheOutcome) {
  const auto path =
      std::filesystem::path(EVENTHOOKS_BINARY_DIR) / "test-tmp" / (eventhooks::new_event_id() + ".jsonl");
  eventhooks::FileHook hook({.name = "async-file", .path = path.string()});
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
