// Shared by bench_amqp and bench_amqp_reference: the broker from the environment of
// scripts/servers/rabbitmq.sh, the message body, and a rabbitmq-c connection for setting up the queue. Header
// only (bench/*.cpp are programs).
#pragma once

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace amqp_bench {

struct Broker {
  std::string host, user, password;
  int port = 0;
};

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0')
    throw std::runtime_error(std::string(name) + " is not set (source the env file)");
  return v;
}

inline Broker broker_from_env() {
  return Broker{env("EVENTHOOKS_AMQP_HOST"), env("EVENTHOOKS_AMQP_USER"), env("EVENTHOOKS_AMQP_PASSWORD"),
                std::stoi(env("EVENTHOOKS_AMQP_PORT"))};
}

// The same ~100-byte JSON object both programs publish (the hook indents it by 2, the reference sends those
// bytes).
inline const char* kPayload =
    R"({"event": "deploy_finished", "service": "api", "ok": true, "host": "web-01", "duration_ms": 8123})";

inline void check(const amqp_rpc_reply_t& r, const char* what) {
  if (r.reply_type != AMQP_RESPONSE_NORMAL)
    throw std::runtime_error(std::string("rabbitmq-c: ") + what + " failed");
}

inline amqp_connection_state_t connect(const Broker& b) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  timeval tv{10, 0};
  if (amqp_socket_open_noblock(socket, b.host.c_str(), b.port, &tv) != AMQP_STATUS_OK) {
    throw std::runtime_error("cannot connect to the broker");
  }
  check(amqp_login(conn, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 30, AMQP_SASL_METHOD_PLAIN, b.user.c_str(),
                   b.password.c_str()),
        "login");
  amqp_channel_open(conn, 1);
  check(amqp_get_rpc_reply(conn), "channel.open");
  return conn;
}

inline void close(amqp_connection_state_t conn) {
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

// A fresh, empty durable queue: every run measures persistence into the same kind of queue.
inline void reset_queue(const Broker& b, const std::string& queue) {
  amqp_connection_state_t conn = connect(b);
  amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue.c_str()), 0, 0);
  check(amqp_get_rpc_reply(conn), "queue.delete");
  // EVENTHOOKS_BENCH_QUEUE_TYPE=quorum: the queue type the RabbitMQ outbox uses (scripts/bench-scale.sh
  // compares with it); unset: a classic durable queue, as RabbitMqHook's benchmarks always had.
  const char* type = std::getenv("EVENTHOOKS_BENCH_QUEUE_TYPE");
  amqp_table_entry_t entry{};
  entry.key = amqp_cstring_bytes("x-queue-type");
  entry.value.kind = AMQP_FIELD_KIND_UTF8;
  entry.value.value.bytes = amqp_cstring_bytes(type != nullptr ? type : "classic");
  amqp_table_t args{type != nullptr ? 1 : 0, &entry};
  amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue.c_str()), 0, 1, 0, 0, args);
  check(amqp_get_rpc_reply(conn), "queue.declare");
  close(conn);
}

inline std::uint32_t queue_depth(const Broker& b, const std::string& queue) {
  amqp_connection_state_t conn = connect(b);
  auto* ok = amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue.c_str()), 1, 0, 0, 0, amqp_empty_table);
  check(amqp_get_rpc_reply(conn), "queue.declare passive");
  const std::uint32_t n = ok->message_count;
  close(conn);
  return n;
}

}  // namespace amqp_bench
