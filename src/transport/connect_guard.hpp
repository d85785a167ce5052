// ConnectGuard: the SSRF check at connect time (docs/network.md). libcurl transports install it as the
// open-socket callback, so every socket libcurl opens (each address happy eyeballs tries, each redirect, the
// proxy) is judged with the address it is about to connect to, after DNS; the AMQP transport judges its
// connected socket's peer before it sends a byte. One guard per transfer, touched by one thread at a time.
#pragma once

#include <curl/curl.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

#include "eventhooks/error.hpp"
#include "eventhooks/network.hpp"

namespace eventhooks::detail {

// The IP address of a socket address, or nothing for a family that is not IPv4 or IPv6.
std::optional<IpAddress> ip_of(const sockaddr* address);

struct ConnectGuard {
  // null: every connection is refused (a handle used outside a transfer)
  const NetworkPolicy* policy = nullptr;
  std::string refused;  // the latest refusal of this transfer ("127.0.0.1 (loopback ...)")
  // Whether the latest address judged was refused. A transfer that failed after an allowed address was
  // tried (happy eyeballs' other family refused, the allowed one down) fails for that address's reason.
  bool last_refused = false;

  // Judges one address; on refusal records it and returns false.
  bool admit(const sockaddr* address);
  // Judges the peer of a connected socket (getpeername); refused when the peer cannot be read.
  bool admit_peer(int fd);
  // The error of a failed transfer whose latest connection attempt was refused: permanent, `forbidden`,
  // naming the address.
  std::optional<Error> forbidden(std::string_view what) const;
  void reset() {
    refused.clear();
    last_refused = false;
  }
};

// Sets CURLOPT_OPENSOCKETFUNCTION on `curl`; `guard` (CURLOPT_OPENSOCKETDATA) may be changed per transfer
// with point_at().
void guard_connections(CURL* curl, ConnectGuard* guard);
void point_at(CURL* curl, ConnectGuard* guard);

}  // namespace eventhooks::detail
