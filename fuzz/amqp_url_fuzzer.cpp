// parse_amqp_url() on arbitrary text.
// Checks: no crash or sanitizer report; the password never shows in an error message nor in redacted_url();
// a parsed endpoint's redacted_url() parses back to the same endpoint (password masked).
// The input is used as is and, when it holds a NUL byte, once more with "<before>:<marker>@<after>" so that
// a known password sits in the URL's userinfo.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventhooks/hooks/rabbitmq.hpp"
#include "fuzz_check.hpp"

namespace {

using eventhooks::fuzz::check;

constexpr std::string_view kMarker = "Pw7marker";

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
            again->password.empty() == ep.password.empty(),
        "redacted_url() does not parse back to the same endpoint", redacted);
}

void run(std::string_view url, std::string_view password) {
  auto parsed = eventhooks::parse_amqp_url(url);
  if (parsed) {
    check_parsed(parsed.value());
    if (!password.empty() && parsed->password.find(password) != std::string::npos) {
      check(parsed->redacted_url().find(password) == std::string::npos, "redacted_url() shows the password");
    }
    return;
  }
  if (!password.empty()) {
    check(parsed.error().message.find(password) == std::string::npos, "the error message shows the password",
          parsed.error().message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  run(input, {});
  if (const auto nul = input.find('\0'); nul != std::string_view::npos) {
    std::string url(input.substr(0, nul));
    url.append(":").append(kMarker).append("@").append(input.substr(nul + 1));
    run(url, kMarker);
  }
  return 0;
}
