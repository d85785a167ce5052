// amqp:// and amqps:// URLs (RabbitMQ's URI spec): parsing, and the masked form used in logs and describe().
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>

#include "core/text.hpp"
#include "eventhooks/hooks/rabbitmq.hpp"
#include "eventhooks/redact.hpp"

namespace eventhooks {
namespace {

// False on a malformed escape; the caller names the part, never quotes it (it may be the password).
bool percent_decode(std::string_view in, std::string& out) {
  auto decoded = detail::percent_decode(in);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

using detail::percent_encode;

bool is_scheme(std::string_view s) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (s.empty() || !alpha(s.front())) return false;
  for (char c : s) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

Error bad_url(std::string what) {
  return Error::permanent(ErrorCode::config, "invalid AMQP url: " + std::move(what));
}

}  // namespace

std::string AmqpEndpoint::redacted_url() const {
  std::string out = tls ? "amqps://" : "amqp://";
  if (!user.empty()) {
    out += percent_encode(user);
    if (!password.empty()) out += ":***";
    out += '@';
  }
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ':' + std::to_string(effective_port());
  out += '/' + percent_encode(vhost);
  return out;
}

Result<AmqpEndpoint> parse_amqp_url(std::string_view url, AmqpEndpoint base) {
  AmqpEndpoint ep = std::move(base);
  std::string_view rest;
  if (url.substr(0, 8) == "amqps://") {
    ep.tls = true;
    rest = url.substr(8);
  } else if (url.substr(0, 7) == "amqp://") {
    ep.tls = false;
    rest = url.substr(7);
  } else {
    // Only the scheme is quoted, and only when it is one: the rest may hold a password.
    const auto colon = url.find("://");
    const std::string_view scheme = url.substr(0, colon);
    return bad_url("scheme must be amqp:// or amqps://" +
                   (colon == std::string_view::npos || !is_scheme(scheme)
                        ? std::string()
                        : " (got '" + std::string(scheme) + "')"));
  }
  ep.port = 0;
  if (rest.find_first_of("?#") != std::string_view::npos)
    return bad_url("query strings and fragments are not supported");

  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

  // userinfo: the last '@' ends it, so that a password with an unescaped '@' still parses.
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    std::string decoded;
    if (!percent_decode(userinfo.substr(0, colon), decoded))
      return bad_url("malformed %-escape in the user name");
    ep.user = decoded;
    if (colon != std::string_view::npos) {
      if (!percent_decode(userinfo.substr(colon + 1), decoded))
        return bad_url("malformed %-escape in the password");
      ep.password = decoded;
    }
  }

  std::string_view host_port = authority;
  std::string_view port_text;
  if (!host_port.empty() && host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos) return bad_url("unterminated '[' in the host");
    ep.host = std::string(host_port.substr(1, close - 1));
    std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("unexpected text after ']'");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = host_port.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = host_port.substr(colon + 1);
      host_port = host_port.substr(0, colon);
    }
    std::string decoded;
    if (!percent_decode(host_port, decoded)) return bad_url("malformed %-escape in the host");
    ep.host = decoded;
  }
  if (ep.host.empty()) return bad_url("no host");
  if (!port_text.empty()) {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
      return bad_url("port must be a number from 1 to 65535");
    }
    ep.port = port;
  }

  // RabbitMQ's rule is that an empty path is the vhost "" — which no broker has. "/" is what every user
  // means, so both no path and an empty one select "/", and "/%2F" says it explicitly.
  if (path.find('/') != std::string_view::npos)
    return bad_url("the vhost must be one path segment (write '/' as %2F)");
  std::string vhost;
  if (!percent_decode(path, vhost)) return bad_url("malformed %-escape in the vhost");
  ep.vhost = vhost.empty() ? "/" : vhost;
  return ep;
}

}  // namespace eventhooks
