// parse_amqp_url() on arbitrary text.
// Checks: no crash or sanitizer report; redacted_url() does not change with the password, and parses back to
// the same endpoint (password masked); an error message does not change with the password. For the last, an
// input holding a NUL byte is also parsed as "<before>:<password>@<after>" with two different passwords.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventhooks/hooks/rabbitmq.hpp"
#include "fuzz_check.hpp"

namespace {

using eventhooks::fuzz::check;

constexpr std::string_view kPassword1 = "Pw7marker";
constexpr std::string_view kPassword2 = "Qx3secret";

// Hosts the redacted form can print unchanged (it does not percent-encode the host).
bool plain_host(std::string_view host) {
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

void check_parsed(const eventhooks::AmqpEndpoint& ep) {
  const std::string redacted = ep.redacted_url();
  eventhooks::AmqpEndpoint other = ep;
  other.password = ep.password.empty() ? "" : "x";
  check(other.redacted_url() == redacted, "redacted_url() depends on the password", redacted);
  if (!plain_host(ep.host)) return;
  auto again = eventhooks::parse_amqp_url(redacted);
  check(again.ok(), "redacted_url() does not parse", redacted);
  check(again->user == ep.user && again->host == ep.host && again->vhost == ep.vhost &&
            again->tls == ep.tls && again->effective_port() == ep.effective_port() &&
            // "user:***@" is shown only with a user: a password alone (a config error later) is left out.
            again->password.empty() == (ep.password.empty() || ep.user.empty()),
        "redacted_url() does not parse back to the same endpoint", redacted);
}

// Parses and checks a URL; returns the error message ("" when it parsed).
std::string run(std::string_view url) {
  auto parsed = eventhooks::parse_amqp_url(url);
  if (!parsed) return parsed.error().message;
  check_parsed(parsed.value());
  return {};
}

std::string with_password(std::string_view input, std::size_t nul, std::string_view password) {
  std::string url(input.substr(0, nul));
  url.append(":").append(password).append("@").append(input.substr(nul + 1));
  return url;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)run(input);
  if (const auto nul = input.find('\0'); nul != std::string_view::npos) {
    // The same URL with two passwords: an error message must not change with the password.
    const std::string first = run(with_password(input, nul, kPassword1));
    const std::string second = run(with_password(input, nul, kPassword2));
    check(first == second, "the error message depends on the password", first);
  }
  return 0;
}
