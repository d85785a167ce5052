// The network policy's cost per connection (docs/network.md, docs/benchmarks.md), next to references measured
// in the same run: the socket()+close() pair every new connection costs anyway, and a whole loopback webhook
// round trip on a new connection (Connection: close, so each request opens one and passes the check).
//   bench_network [google benchmark flags]
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "eventhooks/http.hpp"
#include "eventhooks/network.hpp"
#include "transport/connect_guard.hpp"

namespace {

using eventhooks::IpAddress;
using eventhooks::NetworkPolicy;
using eventhooks::NetworkRules;

NetworkPolicy strict() {
  return NetworkPolicy(NetworkRules{
      .deny = {"203.0.113.0/24", "2001:db8::/32"}, .allow = {"10.20.0.5/32"}, .deny_private = true});
}

sockaddr_in v4_address(const char* text) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(443);
  const auto ip = IpAddress::parse(text).value();
  std::memcpy(&a.sin_addr, &ip.bytes[12], 4);
  return a;
}

sockaddr_in6 v6_address(const char* text) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(443);
  const auto ip = IpAddress::parse(text).value();
  std::memcpy(&a.sin6_addr, ip.bytes.data(), 16);
  return a;
}

// What libcurl's open-socket callback does per address: sockaddr to address, the policy's verdict.
template <typename Sockaddr>
void judge(benchmark::State& state, const NetworkPolicy& policy, const Sockaddr& address) {
  eventhooks::detail::ConnectGuard guard{.policy = &policy, .refused = {}, .last_refused = false};
  for (auto _ : state) {
    guard.reset();
    benchmark::DoNotOptimize(guard.admit(reinterpret_cast<const sockaddr*>(&address)));
  }
}

void BM_Check_Default_PublicIpv4(benchmark::State& state) {
  const NetworkPolicy policy;
  judge(state, policy, v4_address("93.184.216.34"));
}
BENCHMARK(BM_Check_Default_PublicIpv4);

void BM_Check_DenyPrivate_PublicIpv4(benchmark::State& state) {
  const NetworkPolicy policy = strict();
  judge(state, policy, v4_address("93.184.216.34"));
}
BENCHMARK(BM_Check_DenyPrivate_PublicIpv4);

void BM_Check_DenyPrivate_PublicIpv6(benchmark::State& state) {
  const NetworkPolicy policy = strict();
  judge(state, policy, v6_address("2606:2800:220:1:248:1893:25c8:1946"));
}
BENCHMARK(BM_Check_DenyPrivate_PublicIpv6);

void BM_Check_DenyPrivate_Nat64(benchmark::State& state) {
  const NetworkPolicy policy = strict();
  judge(state, policy, v6_address("64:ff9b::5db8:d822"));
}
BENCHMARK(BM_Check_DenyPrivate_Nat64);

// A refusal also writes its reason (one string): the rare path.
void BM_Check_DenyPrivate_RefusedLoopback(benchmark::State& state) {
  const NetworkPolicy policy = strict();
  judge(state, policy, v4_address("127.0.0.1"));
}
BENCHMARK(BM_Check_DenyPrivate_RefusedLoopback);

// Reference: the socket() and close() every new connection makes anyway (no connect).
void BM_Reference_SocketAndClose(benchmark::State& state) {
  for (auto _ : state) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    benchmark::DoNotOptimize(fd);
    ::close(fd);
  }
}
BENCHMARK(BM_Reference_SocketAndClose);

// Reference: a whole webhook POST on a new loopback connection (to an in-process cpp-httplib server), the
// check included; arg 0 = default policy, 1 = deny_private with 127.0.0.1 allowed (the longest rule walk).
void BM_RoundTrip_NewConnection(benchmark::State& state) {
  httplib::Server server;
  server.Post("/hook",
              [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  eventhooks::HttpOptions options;
  if (state.range(0) == 1) {
    options.network =
        NetworkPolicy(NetworkRules{.deny = {}, .allow = {"127.0.0.1/32"}, .deny_private = true});
  }
  eventhooks::HttpClient client(options);
  const eventhooks::HttpRequest request{.method = "POST",
                                        .url = "http://127.0.0.1:" + std::to_string(port) + "/hook",
                                        .headers = {{"Connection", "close"}},
                                        .body = R"({"event":"bench"})"};
  for (auto _ : state) {
    auto r = client.send(request);
    if (!r.ok()) {
      state.SkipWithError(r.error().to_string().c_str());
      break;
    }
  }
  server.stop();
  serving.join();
}
BENCHMARK(BM_RoundTrip_NewConnection)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
