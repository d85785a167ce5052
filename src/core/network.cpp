// NetworkPolicy: CIDR parsing and the allow/deny decision. Every address lives in one 128-bit space (IPv4 as
// ::ffff:a.b.c.d), so a rule is two 64-bit masks and a check is a few compares per rule: cheap enough to run
// on every connection (bench/bench_network.cpp).
#include "eventhooks/network.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace eventhooks {
namespace {

struct Bits {
  std::uint64_t hi = 0, lo = 0;
};

Bits bits_of(const IpAddress& a) {
  Bits b;
  for (int i = 0; i < 8; ++i) b.hi = (b.hi << 8) | a.bytes[static_cast<std::size_t>(i)];
  for (int i = 8; i < 16; ++i) b.lo = (b.lo << 8) | a.bytes[static_cast<std::size_t>(i)];
  return b;
}

Bits mask_of(int prefix) {
  auto part = [](int n) -> std::uint64_t { return n <= 0 ? 0 : n >= 64 ? ~0ULL : ~0ULL << (64 - n); };
  return Bits{part(prefix), part(prefix - 64)};
}

constexpr std::uint64_t kMappedLo = 0x0000'ffff'0000'0000ULL;  // ::ffff:0:0/96, low half
constexpr std::uint64_t kNat64Hi = 0x0064'ff9b'0000'0000ULL;   // 64:ff9b::/96 (RFC 6052), high half

struct Rule {
  Bits base, mask;
  std::string label;  // "loopback 127.0.0.0/8, denied by deny_private"
  bool matches(Bits a) const noexcept {
    return ((a.hi ^ base.hi) & mask.hi) == 0 && ((a.lo ^ base.lo) & mask.lo) == 0;
  }
};

Rule rule_of(const Cidr& c, std::string label) {
  return Rule{bits_of(c.base), mask_of(c.prefix), std::move(label)};
}

Cidr must_parse(std::string_view text) {
  auto c = Cidr::parse(text);
  if (!c) throw std::logic_error("built-in CIDR does not parse: " + std::string(text));
  return c.value();
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {0};
  std::memcpy(buf, text.data(), text.size());
  IpAddress a;
  in_addr v4{};
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) return a;
  return std::nullopt;
}

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress a;
  a.bytes[10] = a.bytes[11] = 0xff;
  for (std::size_t i = 0; i < 4; ++i) a.bytes[12 + i] = (host_order >> (24 - 8 * i)) & 0xff;
  return a;
}

bool IpAddress::is_v4() const noexcept {
  const Bits b = bits_of(*this);
  return b.hi == 0 && (b.lo >> 32) == (kMappedLo >> 32);
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (is_v4()) {
    inet_ntop(AF_INET, &bytes[12], buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Error::permanent(ErrorCode::config, fmt::format("'{}': {}", text, why));
  };
  const auto slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  const auto address = IpAddress::parse(address_text);
  if (!address) {
    return bad("not an IPv4 or IPv6 address (write 10.0.0.0/8, 192.0.2.7, fd00::/8 or 2001:db8::1)");
  }
  const int width = address->is_v4() && address_text.find(':') == std::string_view::npos ? 32 : 128;
  int prefix = width;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > width) {
      return bad("the prefix length after '/' must be a number from 0 to " + std::to_string(width));
    }
  }
  Cidr c{*address, prefix + (128 - width)};
  const Bits b = bits_of(c.base), m = mask_of(c.prefix);
  if ((b.hi & ~m.hi) != 0 || (b.lo & ~m.lo) != 0) {
    Cidr fixed = c;
    const Bits masked{b.hi & m.hi, b.lo & m.lo};
    for (std::size_t i = 0; i < 8; ++i) {
      fixed.base.bytes[i] = (masked.hi >> (56 - 8 * i)) & 0xff;
      fixed.base.bytes[8 + i] = (masked.lo >> (56 - 8 * i)) & 0xff;
    }
    return bad("host bits are set after the prefix; did you mean " + fixed.to_string() + "?");
  }
  return c;
}

bool Cidr::contains(const IpAddress& address) const noexcept {
  const Bits a = bits_of(address), b = bits_of(base), m = mask_of(prefix);
  return ((a.hi ^ b.hi) & m.hi) == 0 && ((a.lo ^ b.lo) & m.lo) == 0;
}

std::string Cidr::to_string() const {
  const bool v4 = base.is_v4() && prefix >= 96;
  return base.to_string() + "/" + std::to_string(v4 ? prefix - 96 : prefix);
}

// The lists of docs/network.md. Metadata first: under deny_private 169.254.169.254 is link-local too, and
// the more telling label should win.
const std::vector<std::pair<std::string, std::string>>& NetworkPolicy::metadata_blocks() {
  static const std::vector<std::pair<std::string, std::string>> blocks = {
      {"cloud metadata", "169.254.169.254/32"},
      {"cloud metadata", "fd00:ec2::254/128"},
      {"cloud metadata", "100.100.100.200/32"},
  };
  return blocks;
}

const std::vector<std::pair<std::string, std::string>>& NetworkPolicy::private_blocks() {
  static const std::vector<std::pair<std::string, std::string>> blocks = {
      {"loopback", "127.0.0.0/8"},
      {"private (RFC 1918)", "10.0.0.0/8"},
      {"private (RFC 1918)", "172.16.0.0/12"},
      {"private (RFC 1918)", "192.168.0.0/16"},
      {"link-local", "169.254.0.0/16"},
      {"shared address space (CGNAT, RFC 6598)", "100.64.0.0/10"},
      {"'this network'", "0.0.0.0/8"},
      {"loopback", "::1/128"},
      {"unspecified", "::/128"},
      {"link-local", "fe80::/10"},
      {"unique local (ULA)", "fc00::/7"},
  };
  return blocks;
}

struct NetworkPolicy::Rules {
  NetworkRules written;
  std::vector<Rule> allow;
  std::vector<Rule> deny;
};

NetworkPolicy::NetworkPolicy() : NetworkPolicy(NetworkRules{}) {}

NetworkPolicy::NetworkPolicy(const NetworkRules& rules) {
  auto r = std::make_shared<Rules>();
  r->written = rules;
  auto add = [](std::vector<Rule>& to, const std::vector<std::string>& cidrs, const char* key,
                const std::string& why) {
    for (const auto& text : cidrs) {
      auto c = Cidr::parse(text);
      if (!c) throw ConfigError("network", key, c.error().message);
      to.push_back(rule_of(c.value(), c->to_string() + ", " + why));
    }
  };
  add(r->allow, rules.allow, "allow", "allowed by allow");
  for (const auto& [label, cidr] : metadata_blocks()) {
    r->deny.push_back(rule_of(must_parse(cidr), fmt::format("{} {}, denied by default", label, cidr)));
  }
  add(r->deny, rules.deny, "deny", "denied by deny");
  if (rules.deny_private) {
    for (const auto& [label, cidr] : private_blocks()) {
      r->deny.push_back(rule_of(must_parse(cidr), fmt::format("{} {}, denied by deny_private", label, cidr)));
    }
  }
  rules_ = std::move(r);
}

const NetworkRules& NetworkPolicy::rules() const noexcept {
  return rules_->written;
}

std::optional<std::string> NetworkPolicy::refusal(const IpAddress& address) const {
  const Bits a = bits_of(address);
  // NAT64 (RFC 6052's well-known prefix): the IPv4 address in the low 32 bits is where the packets end up.
  const bool nat64 = a.hi == kNat64Hi && (a.lo >> 32) == 0;
  const Bits embedded{0, kMappedLo | (a.lo & 0xffff'ffffULL)};
  for (const Rule& r : rules_->allow) {
    if (r.matches(a) || (nat64 && r.matches(embedded))) return std::nullopt;
  }
  for (const Rule& r : rules_->deny) {
    if (r.matches(a)) return r.label;
    if (nat64 && r.matches(embedded)) return r.label + " (reached through NAT64 64:ff9b::/96)";
  }
  return std::nullopt;
}

}  // namespace eventhooks
