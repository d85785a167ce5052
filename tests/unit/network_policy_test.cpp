// NetworkPolicy (the SSRF guard's rules): CIDR parsing with its errors, the default and deny_private lists,
// IPv4-mapped and NAT64 forms, allow over deny; the `network:` config block and its errors at file:line.
#include <gtest/gtest.h>

#include <netinet/in.h>

#include <cstring>
#include <string>

#include "eventhooks/config.hpp"
#include "eventhooks/hooks/email.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"
#include "eventhooks/hooks/webhook.hpp"
#include "eventhooks/network.hpp"
#include "transport/connect_guard.hpp"

namespace eventhooks {
namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

std::string cidr_error(const char* text) {
  auto c = Cidr::parse(text);
  EXPECT_FALSE(c.ok()) << text << " parsed as " << (c ? c->to_string() : "");
  return c ? "" : c.error().message;
}

NetworkPolicy private_denied() {
  return NetworkPolicy(NetworkRules{.deny = {}, .allow = {}, .deny_private = true});
}

// --- addresses and CIDRs -----------------------------------------------------------------------------------

TEST(IpAddress, Ipv4AndItsMappedFormAreTheSameAddress) {
  EXPECT_EQ(ip("10.1.2.3"), ip("::ffff:10.1.2.3"));
  EXPECT_TRUE(ip("10.1.2.3").is_v4());
  EXPECT_EQ(ip("::ffff:10.1.2.3").to_string(), "10.1.2.3");
  EXPECT_FALSE(ip("2001:db8::1").is_v4());
  EXPECT_EQ(ip("2001:0db8:0:0::1").to_string(), "2001:db8::1");
}

TEST(IpAddress, RefusesWhatIsNotAnAddress) {
  for (const char* bad : {"", "localhost", "10.0.0", "10.0.0.256", "010.0.0.1", "fe80::1%eth0", "[::1]",
                          "1.2.3.4:80", " 1.2.3.4"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
  }
}

TEST(Cidr, ParsesIpv4Ipv6AndSingleAddresses) {
  auto v4 = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->to_string(), "10.0.0.0/8");
  EXPECT_TRUE(v4->contains(ip("10.255.0.1")));
  EXPECT_FALSE(v4->contains(ip("11.0.0.1")));
  EXPECT_TRUE(v4->contains(ip("::ffff:10.9.9.9")));  // the mapped form of an address inside

  auto v6 = Cidr::parse("fd00::/8");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->to_string(), "fd00::/8");
  EXPECT_TRUE(v6->contains(ip("fd12:3456::1")));
  EXPECT_FALSE(v6->contains(ip("fe80::1")));

  auto one = Cidr::parse("192.0.2.7");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->to_string(), "192.0.2.7/32");
  EXPECT_TRUE(one->contains(ip("192.0.2.7")));
  EXPECT_FALSE(one->contains(ip("192.0.2.8")));

  auto all = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->contains(ip("203.0.113.1")));
  EXPECT_FALSE(all->contains(ip("2001:db8::1")));  // IPv4's /0 is all of IPv4, not IPv6

  auto mapped = Cidr::parse("::ffff:127.0.0.0/104");  // written in the mapped form
  ASSERT_TRUE(mapped.ok());
  EXPECT_TRUE(mapped->contains(ip("127.0.0.1")));
}

TEST(Cidr, BadCidrsSayWhatIsWrong) {
  EXPECT_NE(cidr_error("10.0.0.0/33").find("from 0 to 32"), std::string::npos);
  EXPECT_NE(cidr_error("fd00::/129").find("from 0 to 128"), std::string::npos);
  EXPECT_NE(cidr_error("10.0.0.0/").find("prefix length"), std::string::npos);
  EXPECT_NE(cidr_error("10.0.0.0/8x").find("prefix length"), std::string::npos);
  EXPECT_NE(cidr_error("10.0.0.0/-1").find("prefix length"), std::string::npos);
  EXPECT_NE(cidr_error("intranet/8").find("not an IPv4 or IPv6 address"), std::string::npos);
  EXPECT_NE(cidr_error("").find("not an IPv4 or IPv6 address"), std::string::npos);
  const std::string host_bits = cidr_error("10.1.2.3/8");
  EXPECT_NE(host_bits.find("host bits are set"), std::string::npos) << host_bits;
  EXPECT_NE(host_bits.find("did you mean 10.0.0.0/8?"), std::string::npos) << host_bits;
  EXPECT_NE(cidr_error("fd00::1/8").find("did you mean fd00::/8?"), std::string::npos);
}

// --- the policy --------------------------------------------------------------------------------------------

TEST(NetworkPolicy, DefaultRefusesCloudMetadataOnly) {
  const NetworkPolicy policy;
  for (const char* denied :
       {"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"}) {
    const auto why = policy.refusal(ip(denied));
    ASSERT_TRUE(why.has_value()) << denied;
    EXPECT_NE(why->find("cloud metadata"), std::string::npos) << *why;
  }
  for (const char* allowed : {"127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.253", "::1", "8.8.8.8"}) {
    EXPECT_TRUE(policy.allows(ip(allowed))) << allowed;
  }
}

TEST(NetworkPolicy, DenyPrivateRefusesEveryPrivateBlock) {
  const NetworkPolicy policy = private_denied();
  for (const char* denied :
       {"127.0.0.1", "127.255.0.9", "10.2.3.4", "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.1.1",
        "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3", "::1", "::", "fe80::1", "fc00::1", "fd12::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1"}) {
    EXPECT_FALSE(policy.allows(ip(denied))) << denied;
  }
  for (const char* allowed : {"8.8.8.8", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2001:db8::1", "1.1.1.1",
                              "64:ff9b::808:808"}) {
    EXPECT_TRUE(policy.allows(ip(allowed))) << allowed;
  }
  const auto why = policy.refusal(ip("127.0.0.1"));
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, "loopback 127.0.0.0/8, denied by deny_private");
}

TEST(NetworkPolicy, Nat64FormsAreJudgedAsTheIpv4AddressTheyCarry) {
  const auto loopback = private_denied().refusal(ip("64:ff9b::7f00:1"));  // 64:ff9b::127.0.0.1
  ASSERT_TRUE(loopback.has_value());
  EXPECT_NE(loopback->find("loopback"), std::string::npos) << *loopback;
  EXPECT_NE(loopback->find("NAT64"), std::string::npos) << *loopback;
  EXPECT_FALSE(NetworkPolicy().allows(ip("64:ff9b::169.254.169.254")));  // metadata, by default
  EXPECT_FALSE(private_denied().allows(ip("64:ff9b::10.0.0.1")));
}

TEST(NetworkPolicy, AllowWinsOverEveryDeny) {
  const NetworkPolicy policy(NetworkRules{.deny = {"203.0.113.0/24"},
                                          .allow = {"127.0.0.1/32", "203.0.113.9", "169.254.169.254"},
                                          .deny_private = true});
  EXPECT_TRUE(policy.allows(ip("127.0.0.1")));
  EXPECT_TRUE(policy.allows(ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(policy.allows(ip("127.0.0.2")));
  EXPECT_TRUE(policy.allows(ip("203.0.113.9")));
  EXPECT_FALSE(policy.allows(ip("203.0.113.10")));
  EXPECT_TRUE(policy.allows(ip("169.254.169.254")));  // the metadata default, lifted on purpose
}

TEST(NetworkPolicy, OwnDenyListNamesTheRule) {
  const NetworkPolicy policy(NetworkRules{.deny = {"2001:db8::/32"}, .allow = {}, .deny_private = false});
  const auto why = policy.refusal(ip("2001:db8:1::5"));
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, "2001:db8::/32, denied by deny");
  EXPECT_TRUE(policy.allows(ip("2001:db9::1")));
}

TEST(NetworkPolicy, BadCidrIsAConfigErrorAtItsKey) {
  try {
    NetworkPolicy(NetworkRules{.deny = {}, .allow = {"10.0.0.0/40"}, .deny_private = false});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "allow");
    EXPECT_NE(e.problem().find("from 0 to 32"), std::string::npos) << e.what();
  }
}

// --- the transports' guard: libcurl's open-socket callback judges each address it tries --------------------

sockaddr_in v4_sockaddr(const char* text) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  std::memcpy(&a.sin_addr, &ip(text).bytes[12], 4);
  return a;
}

bool admit(detail::ConnectGuard& guard, const char* text) {
  const sockaddr_in a = v4_sockaddr(text);
  return guard.admit(reinterpret_cast<const sockaddr*>(&a));
}

TEST(ConnectGuard, LastAddressRefused_TheFailureIsForbiddenNamingIt) {
  const NetworkPolicy policy = private_denied();
  detail::ConnectGuard guard{.policy = &policy, .refused = {}, .last_refused = false};
  EXPECT_TRUE(admit(guard, "93.184.216.34"));  // a redirect's first hop, allowed
  EXPECT_FALSE(admit(guard, "10.0.0.7"));      // the next hop, refused
  const auto e = guard.forbidden("POST https://example.com/");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, ErrorCode::forbidden);
  EXPECT_FALSE(e->retryable);
  EXPECT_NE(
      e->message.find("POST https://example.com/: connection to 10.0.0.7 (private (RFC 1918) 10.0.0.0/8"),
      std::string::npos)
      << e->message;
}

TEST(ConnectGuard, AllowedAddressTriedLast_TheFailureKeepsItsOwnReason) {
  // Happy eyeballs: one address refused, the next allowed (and then, say, down): not `forbidden`.
  const NetworkPolicy policy = private_denied();
  detail::ConnectGuard guard{.policy = &policy, .refused = {}, .last_refused = false};
  EXPECT_FALSE(admit(guard, "127.0.0.1"));
  EXPECT_TRUE(admit(guard, "93.184.216.34"));
  EXPECT_FALSE(guard.forbidden("POST https://example.com/").has_value());
}

TEST(ConnectGuard, WithoutAPolicyEverythingIsRefused) {
  detail::ConnectGuard guard;  // an idle handle's: no transfer, no connection
  EXPECT_FALSE(admit(guard, "93.184.216.34"));
  EXPECT_TRUE(guard.forbidden("x").has_value());
}

// --- config ------------------------------------------------------------------------------------------------

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "hooks.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(NetworkConfig, TopLevelBlockReachesEveryNetworkHook) {
  const Config config = parse_config(
      "network:\n"
      "  deny_private: true\n"
      "  allow: [127.0.0.1/32]\n"
      "  deny: '203.0.113.0/24, 2001:db8::/32'\n"
      "hooks:\n"
      "  web:\n"
      "    type: WebHook\n"
      "    url: http://localhost:1/x\n"
      "  mail:\n"
      "    type: SimpleEmailHook\n"
      "    host: localhost\n"
      "    tls: false\n"
      "    sender: a@example.com\n"
      "    recipients: b@example.com\n"
      "  mq:\n"
      "    type: RabbitMqHook\n"
      "    user: u\n"
      "    password: p\n",
      "hooks.yaml");
  EXPECT_TRUE(config.network.deny_private);
  EXPECT_EQ(config.network.deny, (std::vector<std::string>{"203.0.113.0/24", "2001:db8::/32"}));
  const auto& web = dynamic_cast<const WebHook&>(*config.find("web")).options().http.network;
  EXPECT_TRUE(web.allows(ip("127.0.0.1")));
  EXPECT_FALSE(web.allows(ip("10.0.0.1")));
  EXPECT_FALSE(web.allows(ip("203.0.113.5")));
  const auto& mail = dynamic_cast<const SimpleEmailHook&>(*config.find("mail")).options().network;
  EXPECT_FALSE(mail.allows(ip("192.168.0.1")));
  const auto& mq = dynamic_cast<const RabbitMqHook&>(*config.find("mq")).options().network;
  EXPECT_FALSE(mq.allows(ip("::1")));
  EXPECT_TRUE(mq.allows(ip("127.0.0.1")));
}

TEST(NetworkConfig, HookBlockExtendsTheFilesRules) {
  const Config config = parse_config(
      "network:\n"
      "  deny_private: true\n"
      "hooks:\n"
      "  relay:\n"
      "    type: WebHook\n"
      "    url: http://10.1.2.3/x\n"
      "    follow_redirects: true\n"
      "    network:\n"
      "      allow: [10.1.2.3]\n"
      "  other:\n"
      "    type: WebHook\n"
      "    url: http://example.com/x\n",
      "hooks.yaml");
  const auto& relay = dynamic_cast<const WebHook&>(*config.find("relay")).options().http;
  EXPECT_TRUE(relay.follow_redirects);
  EXPECT_TRUE(relay.network.allows(ip("10.1.2.3")));
  EXPECT_FALSE(relay.network.allows(ip("10.1.2.4")));  // the file's deny_private still holds
  const auto& other = dynamic_cast<const WebHook&>(*config.find("other")).options().http;
  EXPECT_FALSE(other.follow_redirects);
  EXPECT_FALSE(other.network.allows(ip("10.1.2.3")));  // one hook's allow is its own
}

TEST(NetworkConfig, BadCidrIsReportedAtItsLine) {
  const std::string e = error_of(
      "network:\n"
      "  deny:\n"
      "    - 10.0.0.0/8\n"
      "  allow: [10.1.2.3/8]\n"
      "hooks:\n"
      "  web:\n"
      "    type: WebHook\n"
      "    url: http://example.com/\n");
  EXPECT_NE(e.find("hooks.yaml:4: key 'network.allow': item 1: '10.1.2.3/8': host bits are set"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("did you mean 10.0.0.0/8?"), std::string::npos) << e;
}

TEST(NetworkConfig, BadCidrInAHookIsReportedAtTheHooksKey) {
  const std::string e = error_of(
      "hooks:\n"
      "  web:\n"
      "    type: WebHook\n"
      "    url: http://example.com/\n"
      "    network:\n"
      "      deny: [not-an-address]\n");
  EXPECT_NE(e.find("hooks.yaml:6: hook 'web': key 'network.deny': item 1: 'not-an-address'"),
            std::string::npos)
      << e;
}

TEST(NetworkConfig, UnknownKeySuggestsTheNearest) {
  const std::string e = error_of(
      "network:\n"
      "  deny_privat: true\n"
      "hooks:\n"
      "  web:\n"
      "    type: WebHook\n"
      "    url: http://example.com/\n");
  EXPECT_NE(e.find("hooks.yaml:2"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'deny_private'?"), std::string::npos) << e;
}

TEST(NetworkConfig, HookWithoutNetworkHasNoNetworkKey) {
  const std::string e = error_of(
      "hooks:\n"
      "  file:\n"
      "    type: FileHook\n"
      "    path: out.jsonl\n"
      "    network:\n"
      "      deny_private: true\n");
  EXPECT_NE(e.find("hooks.yaml:5: hook 'file': unknown key 'network'"), std::string::npos) << e;
}

}  // namespace
}  // namespace eventhooks
