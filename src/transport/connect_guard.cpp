// The SSRF check wired into libcurl: CURLOPT_OPENSOCKETFUNCTION is called for every socket libcurl is about
// to open, with the resolved address it will connect to. Refusing means returning CURL_SOCKET_BAD before
// socket() is even called: no connection is attempted, no byte is sent, and libcurl tries the next address
// (happy eyeballs) or fails the transfer with CURLE_COULDNT_CONNECT, which the transports turn into
// forbidden(). A connection libcurl reuses from its cache was judged when it was opened, under the same
// client's policy.
#include "transport/connect_guard.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace eventhooks::detail {
namespace {

curl_socket_t open_guarded(void* clientp, curlsocktype /*purpose*/, curl_sockaddr* address) {
  auto* guard = static_cast<ConnectGuard*>(clientp);
  if (guard == nullptr || !guard->admit(&address->addr)) return CURL_SOCKET_BAD;
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace

std::optional<IpAddress> ip_of(const sockaddr* address) {
  IpAddress ip;
  if (address->sa_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, address, sizeof v4);
    ip.bytes[10] = ip.bytes[11] = 0xff;
    std::memcpy(&ip.bytes[12], &v4.sin_addr, 4);
    return ip;
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, address, sizeof v6);
    std::memcpy(ip.bytes.data(), &v6.sin6_addr, 16);
    return ip;
  }
  return std::nullopt;
}

bool ConnectGuard::admit(const sockaddr* address) {
  const auto ip = ip_of(address);
  std::optional<std::string> why;
  if (!ip) {
    why = "a socket family that is not IPv4 or IPv6";
  } else if (policy == nullptr) {
    why = "no network policy in force";
  } else {
    why = policy->refusal(*ip);
  }
  last_refused = why.has_value();
  if (!why) return true;
  refused = (ip ? ip->to_string() : std::string("the address")) + " (" + *why + ")";
  return false;
}

bool ConnectGuard::admit_peer(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) {
    refused = "the peer (its address cannot be read, so it cannot be judged)";
    last_refused = true;
    return false;
  }
  return admit(reinterpret_cast<const sockaddr*>(&peer));
}

std::optional<Error> ConnectGuard::forbidden(std::string_view what) const {
  if (!last_refused) return std::nullopt;
  return Error::permanent(ErrorCode::forbidden,
                          std::string(what) + ": connection to " + refused +
                              " refused by the network policy; nothing was sent (docs/network.md: "
                              "network.allow lets an address through)");
}

void guard_connections(CURL* curl, ConnectGuard* guard) {
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &open_guarded);
  point_at(curl, guard);
}

void point_at(CURL* curl, ConnectGuard* guard) {
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, guard);
}

}  // namespace eventhooks::detail
