#include "transport/amqp_connection.hpp"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>

#include "eventhooks/redact.hpp"
#include "transport/connect_guard.hpp"

namespace eventhooks::detail {

amqp_bytes_t amqp_bytes_of(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
std::string string_of(amqp_bytes_t b) {
  return std::string(static_cast<const char*>(b.bytes), b.len);
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

std::chrono::milliseconds reconnect_backoff(int failures, std::mt19937& rng) {
  const long base = std::min<long>(5'000, 100L << std::clamp(failures - 1, 0, 6));
  std::uniform_int_distribution<long> jitter(base * 8 / 10, base * 12 / 10);
  return std::chrono::milliseconds(jitter(rng));
}

Error error_from_status(int status, const std::string& what) {
  std::string text = what + ": " + amqp_error_string2(status);
  switch (status) {
    case AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED: return Error::of(ErrorCode::dns, text, true);
    case AMQP_STATUS_TIMEOUT: return Error::of(ErrorCode::timeout, text, true);
    case AMQP_STATUS_SOCKET_ERROR:
    case AMQP_STATUS_TCP_ERROR: return Error::of(ErrorCode::connect, text, true);
    case AMQP_STATUS_CONNECTION_CLOSED:
    case AMQP_STATUS_HEARTBEAT_TIMEOUT:
    case AMQP_STATUS_SOCKET_CLOSED: return Error::of(ErrorCode::unavailable, text, true);
    case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
    case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
    case AMQP_STATUS_SSL_CONNECTION_FAILED:
    case AMQP_STATUS_SSL_SET_ENGINE_FAILED:
    case AMQP_STATUS_SSL_ERROR: return Error::of(ErrorCode::tls, text, false);
    default: return Error::of(ErrorCode::protocol, text, true);
  }
}

Error error_from_close(int code, const std::string& text, const std::string& what, bool connection) {
  std::string message = what + ": broker closed the " + (connection ? "connection" : "channel") + " with " +
                        std::to_string(code) + " " + text;
  switch (code) {
    case 403: return Error::of(ErrorCode::auth, std::move(message), false, code);  // ACCESS_REFUSED
    case 404:                                                                      // NOT_FOUND (exchange)
    case 530:                                                                      // NOT_ALLOWED (vhost)
      return Error::of(ErrorCode::config, std::move(message), false, code);
    case 320: return Error::of(ErrorCode::unavailable, std::move(message), true, code);  // CONNECTION_FORCED
    case 311:                                                                            // CONTENT_TOO_LARGE
    case 406: return Error::of(ErrorCode::rejected, std::move(message), false, code);  // PRECONDITION_FAILED
    default: return Error::of(ErrorCode::protocol, std::move(message), code < 500, code);
  }
}

std::optional<Error> error_from_reply(const amqp_rpc_reply_t& reply, const std::string& what,
                                      std::string_view password) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return std::nullopt;
    case AMQP_RESPONSE_NONE: return Error::of(ErrorCode::protocol, what + ": no reply from the broker", true);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: {
      Error e = error_from_status(reply.library_error, what);
      return e;
    }
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return error_from_close(m->reply_code, scrub(string_of(m->reply_text), password), what, true);
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return error_from_close(m->reply_code, scrub(string_of(m->reply_text), password), what, false);
      }
      return Error::of(ErrorCode::protocol, what + ": unexpected reply from the broker", true);
  }
  return Error::of(ErrorCode::internal, what + ": unknown rpc reply", false);
}

namespace {

Result<amqp_connection_state_t> fail(amqp_connection_state_t conn, Error e) {
  amqp_destroy_connection(conn);
  return e;
}

}  // namespace

namespace {

// What OpenSSL's info callback needs while one connection is being opened (SSL_CTX app data).
struct PeerCheck {
  ConnectGuard* guard;
  amqp_connection_state_t conn;
};

// At the start of the TLS handshake, before the ClientHello is written, a refused peer gets its socket shut
// down, so the handshake fails without sending anything.
void judge_tls_peer(const SSL* ssl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) return;
  auto* check = static_cast<PeerCheck*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (check == nullptr) return;
  int fd = SSL_get_fd(ssl);
  if (fd < 0) fd = amqp_get_sockfd(check->conn);
  if (!check->guard->admit_peer(fd) && fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace

Result<amqp_connection_state_t> open_amqp_connection(const AmqpEndpoint& ep,
                                                     const AmqpConnectOptions& options,
                                                     amqp_channel_t channel) {
  const std::string what = "connect to " + ep.redacted_url();
  amqp_connection_state_t conn = amqp_new_connection();
  if (conn == nullptr) return Error::of(ErrorCode::internal, what + ": out of memory", true);
  amqp_socket_t* socket = ep.tls ? amqp_ssl_socket_new(conn) : amqp_tcp_socket_new(conn);
  if (socket == nullptr)
    return fail(conn, Error::of(ErrorCode::internal, what + ": cannot make a socket", false));
  if (ep.tls) {
    // TLS 1.2 or later, peer and host name verified unless the user turned verification off.
    amqp_ssl_socket_set_ssl_versions(socket, AMQP_TLSv1_2, AMQP_TLSvLATEST);
    amqp_ssl_socket_set_verify_peer(socket, ep.tls_options.verify ? 1 : 0);
    amqp_ssl_socket_set_verify_hostname(socket, ep.tls_options.verify ? 1 : 0);
    if (!ep.tls_options.ca_file.empty() &&
        amqp_ssl_socket_set_cacert(socket, ep.tls_options.ca_file.c_str()) != AMQP_STATUS_OK) {
      return fail(conn,
                  Error::of(ErrorCode::tls, what + ": cannot read ca_file " + ep.tls_options.ca_file, false));
    }
    if (!ep.tls_options.cert_file.empty()) {
      const std::string& key =
          ep.tls_options.key_file.empty() ? ep.tls_options.cert_file : ep.tls_options.key_file;
      if (amqp_ssl_socket_set_key(socket, ep.tls_options.cert_file.c_str(), key.c_str()) != AMQP_STATUS_OK) {
        return fail(conn, Error::of(ErrorCode::tls, what + ": cannot read cert_file/key_file", false));
      }
    }
  }
  timeval handshake = to_timeval(options.connect_timeout);
  amqp_set_handshake_timeout(conn, &handshake);
  timeval rpc = to_timeval(options.connect_timeout);
  amqp_set_rpc_timeout(conn, &rpc);

  // rabbitmq-c has no open-socket hook: it resolves and connects inside amqp_socket_open. The connected
  // socket's peer is judged before anything is written: for TLS at the start of the handshake (before the
  // ClientHello), otherwise right after the connect (before the AMQP header and login). docs/network.md.
  static const NetworkPolicy default_policy;
  ConnectGuard guard;
  guard.policy = options.network != nullptr ? options.network : &default_policy;
  PeerCheck check{&guard, conn};
  SSL_CTX* ctx = nullptr;
  if (ep.tls) {
    ctx = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
    SSL_CTX_set_app_data(ctx, &check);
    SSL_CTX_set_info_callback(ctx, &judge_tls_peer);
  }
  timeval tv = to_timeval(options.connect_timeout);
  const int status = amqp_socket_open_noblock(socket, ep.host.c_str(), ep.effective_port(), &tv);
  if (ctx != nullptr) {  // `check` ends with this call; later handshakes (none) would not be judged
    SSL_CTX_set_info_callback(ctx, nullptr);
    SSL_CTX_set_app_data(ctx, nullptr);
  }
  if (auto refused = guard.forbidden(what)) return fail(conn, *std::move(refused));
  if (status == AMQP_STATUS_OK && !guard.admit_peer(amqp_get_sockfd(conn))) {
    return fail(conn, *guard.forbidden(what));
  }
  if (status != AMQP_STATUS_OK) {
    Error e = error_from_status(status, what);
    // rabbitmq-c keeps the reason (refused, unreachable) to itself; errno is stale after its non-blocking
    // connect, so say what the user can check rather than quote it.
    if (status == AMQP_STATUS_SOCKET_ERROR) e.message += " (is the broker running and listening there?)";
    return fail(conn, std::move(e));
  }

  const amqp_rpc_reply_t login = amqp_login(conn, ep.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE,
                                            static_cast<int>(options.heartbeat.count()),
                                            AMQP_SASL_METHOD_PLAIN, ep.user.c_str(), ep.password.c_str());
  if (auto e = error_from_reply(login, what + " (AMQP handshake and login)", ep.password)) {
    // RabbitMQ refuses a login by closing the socket unless the client advertises
    // authentication_failure_close; rabbitmq-c does, but a closed socket during login still means "refused".
    if (login.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        login.library_error == AMQP_STATUS_CONNECTION_CLOSED) {
      e = Error::of(ErrorCode::auth,
                    what + ": the broker closed the connection during login (wrong user or password?)",
                    false);
    }
    return fail(conn, std::move(*e));
  }
  amqp_channel_open(conn, channel);
  if (auto e = error_from_reply(amqp_get_rpc_reply(conn), what + " (channel.open)", ep.password))
    return fail(conn, std::move(*e));
  return conn;
}

}  // namespace eventhooks::detail
