// NetworkPolicy: which IP addresses a hook may connect to (the SSRF guard, docs/network.md). Transports ask
// it about every connection they open, after DNS, with the address actually being connected to. Value types;
// a NetworkPolicy is immutable and cheap to copy (its rules are shared), so any number of threads may use it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventhooks/error.hpp"
#include "eventhooks/export.hpp"

namespace eventhooks {

// An IPv4 or IPv6 address. IPv4 is kept in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so that one rule
// table covers both families and a mapped address is the same address as the IPv4 one.
struct EVENTHOOKS_EXPORT IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  // "127.0.0.1", "::1", "::ffff:10.0.0.1"; no zone ("%eth0"), no brackets, no port.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(std::uint32_t host_order);
  bool is_v4() const noexcept;    // an IPv4 address (or its mapped form)
  std::string to_string() const;  // IPv4 as a.b.c.d, IPv6 in RFC 5952 form
  bool operator==(const IpAddress&) const = default;
};

// An address block: "10.0.0.0/8", "fd00::/8", or one address ("192.0.2.7" = /32, "2001:db8::1" = /128).
struct EVENTHOOKS_EXPORT Cidr {
  IpAddress base;
  int prefix = 128;  // in the 128-bit space: an IPv4 /8 is stored as 96 + 8

  // A config error (code `config`) says what is wrong: not an address, prefix out of range, host bits set
  // ("10.0.0.1/8: host bits are set; did you mean 10.0.0.0/8?").
  static Result<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& address) const noexcept;
  std::string to_string() const;  // as written in the usual form: "10.0.0.0/8", "fd00::/8"
};

// What a config's `network:` block says (docs/network.md). Value type.
struct NetworkRules {
  std::vector<std::string> deny;   // CIDRs or addresses refused, in addition to the built-in lists
  std::vector<std::string> allow;  // CIDRs or addresses let through: allow wins over every deny
  // Also refuse loopback, RFC 1918, link-local, unique local, CGNAT, 0.0.0.0/8 (and their NAT64 forms).
  bool deny_private = false;
};

class EVENTHOOKS_EXPORT NetworkPolicy {
 public:
  // The default every hook gets: cloud metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200)
  // refused, everything else allowed.
  NetworkPolicy();
  // Throws ConfigError(context "network", key "deny" or "allow", problem) for a bad CIDR.
  explicit NetworkPolicy(const NetworkRules& rules);

  // Why a connection to `address` is refused ("loopback 127.0.0.0/8, denied by deny_private"), or nothing
  // when it is allowed. An address in NAT64's 64:ff9b::/96 is also judged as the IPv4 address it carries.
  std::optional<std::string> refusal(const IpAddress& address) const;
  bool allows(const IpAddress& address) const { return !refusal(address).has_value(); }

  const NetworkRules& rules() const noexcept;

  // The blocks deny_private adds and those refused by default, as "label: cidr, ..." (docs, --help).
  static const std::vector<std::pair<std::string, std::string>>& metadata_blocks();
  static const std::vector<std::pair<std::string, std::string>>& private_blocks();

 private:
  struct Rules;
  std::shared_ptr<const Rules> rules_;
};

}  // namespace eventhooks
