#include "transport/amqp_consumer.hpp"

#include <amqp.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "eventhooks/logger.hpp"
#include "eventhooks/redact.hpp"
#include "transport/amqp_connection.hpp"
#include "transport/amqp_io_thread.hpp"

namespace eventhooks::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr amqp_channel_t kChannel = 1;

std::optional<std::string> field_text(const amqp_field_value_t& v) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES: return string_of(v.value.bytes);
    case AMQP_FIELD_KIND_I8: return std::to_string(v.value.i8);
    case AMQP_FIELD_KIND_U8: return std::to_string(v.value.u8);
    case AMQP_FIELD_KIND_I16: return std::to_string(v.value.i16);
    case AMQP_FIELD_KIND_U16: return std::to_string(v.value.u16);
    case AMQP_FIELD_KIND_I32: return std::to_string(v.value.i32);
    case AMQP_FIELD_KIND_U32: return std::to_string(v.value.u32);
    case AMQP_FIELD_KIND_I64: return std::to_string(v.value.i64);
    case AMQP_FIELD_KIND_U64: return std::to_string(v.value.u64);
    default: return std::nullopt;
  }
}

// Properties and body of a received message into an AmqpDelivery (headers copied: rabbitmq-c's buffers are
// released after each frame batch).
AmqpDelivery delivery_of(const amqp_basic_properties_t& props, amqp_bytes_t body) {
  AmqpDelivery d;
  d.body = string_of(body);
  if (props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) d.message_id = string_of(props.message_id);
  if (props._flags & AMQP_BASIC_TYPE_FLAG) d.type = string_of(props.type);
  if (!(props._flags & AMQP_BASIC_HEADERS_FLAG)) return d;
  for (int i = 0; i < props.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = props.headers.entries[i];
    const std::string key = string_of(e.key);
    if (auto text = field_text(e.value)) {
      d.headers[key] = *text;
    } else if (key == "x-death" && e.value.kind == AMQP_FIELD_KIND_ARRAY &&
               e.value.value.array.num_entries > 0 &&
               e.value.value.array.entries[0].kind == AMQP_FIELD_KIND_TABLE) {
      const amqp_table_t& death = e.value.value.array.entries[0].value.table;
      for (int j = 0; j < death.num_entries; ++j) {
        const std::string k = string_of(death.entries[j].key);
        auto v = field_text(death.entries[j].value);
        if (!v) continue;
        if (k == "reason") d.death_reason = *v;
        if (k == "queue") d.death_queue = *v;
        if (k == "count") d.death_count = std::stoll(*v);
      }
    }
  }
  return d;
}

struct Settle {
  std::uint64_t connection;
  std::uint64_t tag;
  bool ack;
  bool requeue;
};

}  // namespace

struct AmqpConsumer::State {
  AmqpConsumerOptions opt;
  std::string where;
  std::size_t endpoint_index = 0;

  mutable std::mutex mu;
  std::condition_variable ready_cv;
  std::deque<AmqpDelivery> buffer;  // received, not handed out
  std::deque<Settle> settles;       // handed to the I/O thread
  std::size_t unsettled = 0;        // on the current connection: delivered, not acked/rejected
  std::uint64_t connection = 0;     // bumped on every connect; 0 = none yet
  bool connected = false;
  bool stopping = false;

  // I/O thread only.
  amqp_connection_state_t conn = nullptr;
  int failures = 0;
  Clock::time_point next_attempt{};
  std::mt19937 rng{std::random_device{}()};
  AmqpIoThread io;

  explicit State(AmqpConsumerOptions o) : opt(std::move(o)), where(opt.endpoint.redacted_url()) {}

  const AmqpEndpoint& endpoint() const {
    return endpoint_index == 0 ? opt.endpoint : opt.alternates[endpoint_index - 1];
  }
  void next_endpoint() {
    endpoint_index = (endpoint_index + 1) % (opt.alternates.size() + 1);
    where = endpoint().redacted_url();
  }

  void wake() const { io.wake(); }

  std::optional<Error> rpc_error(const std::string& what) const {
    return error_from_reply(amqp_get_rpc_reply(conn), what, endpoint().password);
  }

  bool connect() {
    auto opened = open_amqp_connection(
        endpoint(), {.heartbeat = opt.heartbeat, .connect_timeout = opt.connect_timeout}, kChannel);
    std::optional<Error> failed;
    if (!opened) {
      failed = opened.error();
    } else {
      conn = opened.value();
      const std::string what = "consume from queue '" + opt.queue + "' on " + where;
      amqp_basic_qos(conn, kChannel, 0, opt.prefetch, 0);
      failed = rpc_error(what + " (basic.qos)");
      if (!failed) {
        amqp_basic_consume(conn, kChannel, amqp_bytes_of(opt.queue), amqp_empty_bytes, 0, 0, 0,
                           amqp_empty_table);
        failed = rpc_error(what + " (basic.consume)");
      }
    }
    if (failed) {
      drop();
      next_endpoint();
      ++failures;
      next_attempt = Clock::now() + reconnect_backoff(failures, rng);
      logger()->warn("{}: {}", opt.log_name, failed->to_string());
      return false;
    }
    failures = 0;
    {
      std::lock_guard lock(mu);
      ++connection;
      connected = true;
      unsettled = 0;
    }
    logger()->info("{}: consuming from queue '{}' on {} (prefetch {})", opt.log_name, opt.queue, where,
                   opt.prefetch);
    return true;
  }

  void drop() {
    if (conn != nullptr) {
      amqp_destroy_connection(conn);
      conn = nullptr;
    }
  }

  // Everything delivered on the lost connection is back in the queue (the broker requeues unacked messages of
  // a closed channel): the buffered copies are dropped, and acks for them fail.
  void lose(const Error& cause) {
    logger()->warn("{}: connection lost: {}", opt.log_name, cause.to_string());
    drop();
    next_endpoint();
    std::lock_guard lock(mu);
    connected = false;
    buffer.clear();
    settles.clear();
    unsettled = 0;
    next_attempt = Clock::now();
  }

  void send_settles(std::deque<Settle>& batch, std::uint64_t current) {
    for (const auto& s : batch) {
      if (conn == nullptr || s.connection != current) continue;
      const int status = s.ack ? amqp_basic_ack(conn, kChannel, s.tag, 0)
                               : amqp_basic_reject(conn, kChannel, s.tag, s.requeue ? 1 : 0);
      if (status != AMQP_STATUS_OK) {
        lose(error_from_status(status, "ack on " + where));
        break;
      }
    }
    batch.clear();
  }

  void handle_other_frame() {
    amqp_frame_t frame;
    const int status = amqp_simple_wait_frame(conn, &frame);
    if (status != AMQP_STATUS_OK) {
      lose(error_from_status(status, "read from " + where));
      return;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) return;
    switch (frame.payload.method.id) {
      case AMQP_CHANNEL_CLOSE_METHOD: {
        const auto* c = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
        amqp_channel_close_ok_t ok{};
        amqp_send_method(conn, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        // Simplest recovery: a fresh connection (and consumer); what we held is requeued by the broker.
        lose(error_from_close(c->reply_code, scrub(string_of(c->reply_text), endpoint().password),
                              "queue '" + opt.queue + "'", false));
        break;
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        const auto* c = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
        amqp_connection_close_ok_t ok{};
        amqp_send_method(conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        lose(error_from_close(c->reply_code, scrub(string_of(c->reply_text), endpoint().password), "broker",
                              true));
        break;
      }
      case AMQP_BASIC_CANCEL_METHOD:
        // The queue was deleted or its leader moved away with the consumer: consume again from scratch.
        lose(Error::of(ErrorCode::unavailable,
                       "the broker cancelled the consumer of queue '" + opt.queue + "'", true));
        break;
      default: break;
    }
  }

  void read_messages() {
    std::vector<AmqpDelivery> got;
    // Called on every turn of the loop, data or not: rabbitmq-c sends the heartbeats that keep an idle
    // connection alive only from inside its frame reads.
    while (conn != nullptr) {
      amqp_maybe_release_buffers(conn);
      amqp_envelope_t envelope;
      timeval tv = to_timeval(milliseconds(0));
      const amqp_rpc_reply_t r = amqp_consume_message(conn, &envelope, &tv, 0);
      if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        AmqpDelivery d = delivery_of(envelope.message.properties, envelope.message.body);
        d.tag = envelope.delivery_tag;
        d.redelivered = envelope.redelivered != 0;
        amqp_destroy_envelope(&envelope);
        got.push_back(std::move(d));
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) break;
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        handle_other_frame();
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
        lose(error_from_status(r.library_error, "read from " + where));
      } else {
        lose(Error::of(ErrorCode::protocol, "unexpected reply while consuming from " + where, true));
      }
      break;
    }
    if (got.empty()) return;
    {
      std::lock_guard lock(mu);
      if (!connected) return;
      for (auto& d : got) {
        d.connection = connection;
        buffer.push_back(std::move(d));
      }
      unsettled += got.size();
    }
    ready_cv.notify_all();
  }

  void run() {
    std::deque<Settle> batch;
    for (;;) {
      std::uint64_t current = 0;
      {
        std::lock_guard lock(mu);
        if (stopping) break;
        batch.swap(settles);
        current = connection;
      }
      if (conn == nullptr && Clock::now() >= next_attempt) {
        batch.clear();  // acks for a connection that is gone: their messages are back in the queue
        if (!connect()) continue;
        std::lock_guard lock(mu);
        current = connection;
      }
      send_settles(batch, current);
      if (conn != nullptr && resubscribe_now()) {
        lose(Error::of(ErrorCode::unavailable,
                       "no deliveries while the queue has jobs ready: consuming again", true));
        continue;
      }
      if (conn != nullptr) read_messages();

      milliseconds wait(1000);
      if (opt.heartbeat.count() > 0) wait = std::min<milliseconds>(wait, opt.heartbeat / 2);
      if (conn == nullptr) {
        wait = std::clamp(std::chrono::duration_cast<milliseconds>(next_attempt - Clock::now()),
                          milliseconds(0), wait);
      }
      if (conn != nullptr && (amqp_frames_enqueued(conn) || amqp_data_in_buffer(conn))) continue;
      io.sleep(
          mu, [&] { return !settles.empty() || stopping; }, conn != nullptr ? amqp_get_sockfd(conn) : -1,
          wait);
    }
    // Acks handed over before the stop are sent; the rest is requeued by the broker when the connection
    // closes.
    {
      std::lock_guard lock(mu);
      batch.swap(settles);
    }
    send_settles(batch, connection);
    if (conn != nullptr) {
      timeval tv = to_timeval(milliseconds(1000));
      amqp_set_rpc_timeout(conn, &tv);
      amqp_channel_close(conn, kChannel, AMQP_REPLY_SUCCESS);
      amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
      drop();
    }
  }

  bool resubscribe_requested = false;  // set by resubscribe(), read by the I/O thread only through the lock
  bool resubscribe_now() {
    std::lock_guard lock(mu);
    const bool r = resubscribe_requested;
    resubscribe_requested = false;
    return r;
  }

  Result<void> settle(std::uint64_t conn_id, std::uint64_t tag, bool ack, bool requeue) {
    bool need_wake = false;
    {
      std::lock_guard lock(mu);
      if (conn_id != connection || !connected) {
        return Error::of(ErrorCode::unavailable,
                         "the connection that delivered this job is gone; the broker delivers it again",
                         true);
      }
      settles.push_back({conn_id, tag, ack, requeue});
      if (unsettled > 0) --unsettled;
      need_wake = io.asleep();
    }
    if (need_wake) wake();
    return {};
  }
};

AmqpConsumer::AmqpConsumer(AmqpConsumerOptions options)
    : state_(std::make_unique<State>(std::move(options))) {
  state_->io.start(state_->opt.batch_scheduling, "RabbitMQ consumer thread",
                   [s = state_.get()] { s->run(); });
}

AmqpConsumer::~AmqpConsumer() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake();
  state_->io.join();
}

std::vector<AmqpDelivery> AmqpConsumer::take(std::size_t max, std::chrono::milliseconds wait,
                                             const std::function<bool(const AmqpDelivery&)>& accept) {
  std::vector<AmqpDelivery> out;
  std::unique_lock lock(state_->mu);
  const auto any = [&] {
    return std::any_of(state_->buffer.begin(), state_->buffer.end(), accept) || state_->stopping;
  };
  if (!any()) state_->ready_cv.wait_for(lock, wait, any);
  for (auto it = state_->buffer.begin(); it != state_->buffer.end() && out.size() < max;) {
    if (accept(*it)) {
      out.push_back(std::move(*it));
      it = state_->buffer.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

bool AmqpConsumer::has_ready(const std::function<bool(const AmqpDelivery&)>& accept) {
  std::lock_guard lock(state_->mu);
  return std::any_of(state_->buffer.begin(), state_->buffer.end(), accept);
}

Result<void> AmqpConsumer::ack(std::uint64_t connection, std::uint64_t tag) {
  return state_->settle(connection, tag, true, false);
}

Result<void> AmqpConsumer::reject(std::uint64_t connection, std::uint64_t tag, bool requeue) {
  return state_->settle(connection, tag, false, requeue);
}

std::size_t AmqpConsumer::unsettled() const {
  std::lock_guard lock(state_->mu);
  return state_->unsettled;
}

void AmqpConsumer::resubscribe() {
  {
    std::lock_guard lock(state_->mu);
    state_->resubscribe_requested = true;
  }
  state_->wake();
}

bool AmqpConsumer::consuming() const {
  std::lock_guard lock(state_->mu);
  return state_->connected;
}

// --- AmqpQueueAdmin ----------------------------------------------------------------------------------------

struct AmqpQueueAdmin::State {
  std::vector<AmqpEndpoint> endpoints;
  std::size_t index = 0;
  std::chrono::milliseconds timeout;
  std::mutex mu;
  amqp_connection_state_t conn = nullptr;
  bool channel_open = false;

  const AmqpEndpoint& endpoint() const { return endpoints[index]; }
  std::string where() const { return endpoint().redacted_url(); }

  void drop() {
    if (conn != nullptr) amqp_destroy_connection(conn);
    conn = nullptr;
    channel_open = false;
  }

  std::optional<Error> ensure() {
    if (conn != nullptr && channel_open) return std::nullopt;
    if (conn != nullptr) {
      amqp_channel_open(conn, kChannel);
      if (!error_from_reply(amqp_get_rpc_reply(conn), "channel.open", endpoint().password)) {
        channel_open = true;
        return std::nullopt;
      }
      drop();
    }
    // No heartbeats: this connection sits idle between commands, and rabbitmq-c answers heartbeats only
    // while it reads. A connection found dead is replaced on the next command.
    auto opened = open_amqp_connection(
        endpoint(), {.heartbeat = std::chrono::seconds(0), .connect_timeout = timeout}, kChannel);
    if (!opened) return opened.error();
    conn = opened.value();
    channel_open = true;
    return std::nullopt;
  }

  // The reply of the last RPC; a channel error closes only the channel, anything else the connection.
  std::optional<Error> check(const amqp_rpc_reply_t& reply, const std::string& what) {
    auto e = error_from_reply(reply, what + " on " + where(), endpoint().password);
    if (!e) return std::nullopt;
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      amqp_channel_close_ok_t ok{};
      amqp_send_method(conn, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      channel_open = false;
    } else {
      drop();
    }
    return e;
  }

  // Runs `op` once, and once more on the next node when the connection (not the request) failed.
  template <typename T>
  Result<T> run(const std::function<Result<T>()>& op) {
    std::lock_guard lock(mu);
    for (std::size_t attempt = 0;; ++attempt) {
      std::optional<Error> failed = ensure();
      if (!failed) {
        auto r = op();
        if (r || conn != nullptr) return r;
        failed = r.error();
      }
      drop();
      if (attempt + 1 >= endpoints.size() + 1) return *failed;
      index = (index + 1) % endpoints.size();
    }
  }
};

AmqpQueueAdmin::AmqpQueueAdmin(AmqpEndpoint endpoint, std::vector<AmqpEndpoint> alternates,
                               std::chrono::milliseconds timeout)
    : state_(std::make_unique<State>()) {
  state_->endpoints.push_back(std::move(endpoint));
  for (auto& a : alternates) state_->endpoints.push_back(std::move(a));
  state_->timeout = timeout;
}

AmqpQueueAdmin::~AmqpQueueAdmin() {
  std::lock_guard lock(state_->mu);
  if (state_->conn != nullptr) {
    amqp_connection_close(state_->conn, AMQP_REPLY_SUCCESS);
    state_->drop();
  }
}

std::string AmqpQueueAdmin::where() const {
  std::lock_guard lock(state_->mu);
  return state_->where();
}

Result<std::uint32_t> AmqpQueueAdmin::declare(const std::string& queue,
                                              const std::vector<AmqpQueueArgument>& arguments) {
  return state_->run<std::uint32_t>([&]() -> Result<std::uint32_t> {
    std::vector<amqp_table_entry_t> entries(arguments.size());
    for (std::size_t i = 0; i < arguments.size(); ++i) {
      entries[i].key = amqp_bytes_of(arguments[i].key);
      if (const auto* n = std::get_if<std::int64_t>(&arguments[i].value)) {
        entries[i].value.kind = AMQP_FIELD_KIND_I64;
        entries[i].value.value.i64 = *n;
      } else {
        entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[i].value.value.bytes = amqp_bytes_of(std::get<std::string>(arguments[i].value));
      }
    }
    amqp_table_t table{static_cast<int>(entries.size()), entries.data()};
    const auto* ok = amqp_queue_declare(state_->conn, kChannel, amqp_bytes_of(queue), 0, 1, 0, 0, table);
    if (auto e = state_->check(amqp_get_rpc_reply(state_->conn), "declare queue '" + queue + "'")) return *e;
    return ok->message_count;
  });
}

Result<std::uint32_t> AmqpQueueAdmin::count(const std::string& queue) {
  return state_->run<std::uint32_t>([&]() -> Result<std::uint32_t> {
    const auto* ok =
        amqp_queue_declare(state_->conn, kChannel, amqp_bytes_of(queue), 1, 0, 0, 0, amqp_empty_table);
    if (auto e = state_->check(amqp_get_rpc_reply(state_->conn), "look up queue '" + queue + "'")) return *e;
    return ok->message_count;
  });
}

Result<std::uint32_t> AmqpQueueAdmin::purge(const std::string& queue) {
  return state_->run<std::uint32_t>([&]() -> Result<std::uint32_t> {
    const auto* ok = amqp_queue_purge(state_->conn, kChannel, amqp_bytes_of(queue));
    if (auto e = state_->check(amqp_get_rpc_reply(state_->conn), "purge queue '" + queue + "'")) return *e;
    return ok->message_count;
  });
}

Result<void> AmqpQueueAdmin::browse(const std::string& queue, std::size_t max,
                                    const std::function<bool(const AmqpDelivery&)>& visit) {
  auto r = state_->run<bool>([&]() -> Result<bool> {
    amqp_connection_state_t conn = state_->conn;
    for (std::size_t n = 0; max == 0 || n < max; ++n) {
      amqp_maybe_release_buffers(conn);
      const amqp_rpc_reply_t got = amqp_basic_get(conn, kChannel, amqp_bytes_of(queue), 0);
      if (auto e = state_->check(got, "read queue '" + queue + "'")) return *e;
      if (got.reply.id != AMQP_BASIC_GET_OK_METHOD) break;  // get-empty
      const std::uint64_t tag = static_cast<const amqp_basic_get_ok_t*>(got.reply.decoded)->delivery_tag;
      amqp_message_t message;
      const amqp_rpc_reply_t read = amqp_read_message(conn, kChannel, &message, 0);
      if (auto e = state_->check(read, "read queue '" + queue + "'")) return *e;
      AmqpDelivery d = delivery_of(message.properties, message.body);
      d.tag = tag;
      amqp_destroy_message(&message);
      if (visit(d) && amqp_basic_ack(conn, kChannel, tag, 0) != AMQP_STATUS_OK) {
        state_->drop();
        return Error::of(ErrorCode::unavailable,
                         "connection lost while removing a message from '" + queue + "'", true);
      }
    }
    // Closing the channel hands every message read and not acked back to the queue.
    amqp_channel_close(conn, kChannel, AMQP_REPLY_SUCCESS);
    state_->channel_open = false;
    return true;
  });
  if (!r) return r.error();
  return {};
}

}  // namespace eventhooks::detail
