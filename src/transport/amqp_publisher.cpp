#include "transport/amqp_publisher.hpp"

#include "transport/amqp_connection.hpp"
#include "transport/amqp_io_thread.hpp"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "eventhooks/logger.hpp"
#include "eventhooks/redact.hpp"

namespace eventhooks::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr amqp_channel_t kChannel = 1;

amqp_bytes_t bytes_of(const std::string& s) {
  return amqp_bytes_of(s);
}

// One message handed to the I/O thread by a caller, and how the caller learns what became of it.
struct Pending {
  AmqpMessage message;
  std::function<void(Result<Receipt>)> done;  // runs once, on the I/O thread (or the caller's, if refused)
  bool finished = false;
  Clock::time_point deadline{};
  std::uint64_t tag = 0;
  std::optional<Error> returned;  // basic.return seen; the ack that follows reports this instead

  void finish(Result<Receipt> r) {
    if (finished) return;
    finished = true;
    done(std::move(r));
  }
};

}  // namespace

struct AmqpPublisher::State {
  AmqpPublisherOptions opt;
  std::string where;               // "amqp://user:***@host:5672/vhost" — safe to print
  std::size_t endpoint_index = 0;  // 0 = opt.endpoint, i = opt.alternates[i - 1]

  // Shared with callers.
  std::mutex mu;
  std::deque<std::shared_ptr<Pending>> queue;
  bool stopping = false;

  // Owned by the I/O thread only.
  amqp_connection_state_t conn = nullptr;
  std::map<std::uint64_t, std::shared_ptr<Pending>> inflight;
  std::uint64_t next_tag = 1;
  int failures = 0;
  Clock::time_point next_attempt{};
  std::optional<Error> last_connect_error;
  bool nacked = false;  // a basic.nack since the last recover_after_nack()
  Clock::time_point last_nack_reconnect{};
  std::mt19937 rng{std::random_device{}()};
  AmqpIoThread io;

  explicit State(AmqpPublisherOptions o) : opt(std::move(o)), where(opt.endpoint.redacted_url()) {}

  // A broker's text, safe to quote in an error or a log line.
  std::string reply_text(amqp_bytes_t text) const { return scrub(string_of(text), opt.endpoint.password); }
  std::optional<Error> rpc_error(const amqp_rpc_reply_t& reply, const std::string& what) const {
    return error_from_reply(reply, what, opt.endpoint.password);
  }

  void wake() const { io.wake(); }

  // --- connection ------------------------------------------------------------------------------------------

  // The endpoint to (re)connect to: the first, or after a failure the next of `alternates` in turn, so that
  // losing one node of a cluster moves the publisher to another.
  const AmqpEndpoint& endpoint() const {
    return endpoint_index == 0 ? opt.endpoint : opt.alternates[endpoint_index - 1];
  }
  void next_endpoint() {
    endpoint_index = (endpoint_index + 1) % (opt.alternates.size() + 1);
    where = endpoint().redacted_url();
  }

  std::optional<Error> connect() {
    const std::string what = "connect to " + where;
    auto opened = open_amqp_connection(
        endpoint(),
        {.heartbeat = opt.heartbeat, .connect_timeout = opt.connect_timeout, .network = &opt.network},
        kChannel);
    if (!opened) return fail_connect(opened.error());
    conn = opened.value();
    amqp_confirm_select(conn, kChannel);
    if (auto e = rpc_error(amqp_get_rpc_reply(conn), what + " (confirm.select)"))
      return fail_connect(std::move(*e));
    next_tag = 1;
    if (auto e = declare(what)) return fail_connect(std::move(*e));

    // From here on RPCs are rare (channel re-open); publishes have their own deadlines.
    timeval rpc_after = to_timeval(opt.timeout);
    amqp_set_rpc_timeout(conn, &rpc_after);
    failures = 0;
    last_connect_error.reset();
    logger()->info("{}: connected to {}", opt.log_name, where);
    return std::nullopt;
  }

  std::optional<Error> open_channel(const std::string& what) {
    amqp_channel_open(conn, kChannel);
    if (auto e = rpc_error(amqp_get_rpc_reply(conn), what + " (channel.open)")) return e;
    amqp_confirm_select(conn, kChannel);
    if (auto e = rpc_error(amqp_get_rpc_reply(conn), what + " (confirm.select)")) return e;
    next_tag = 1;
    return std::nullopt;
  }

  std::optional<Error> declare(const std::string& what) {
    if (!opt.declare) return std::nullopt;
    const RabbitMqDeclare& d = *opt.declare;
    if (!d.exchange.empty()) {
      amqp_exchange_declare(conn, kChannel, bytes_of(d.exchange), bytes_of(d.exchange_type), 0,
                            d.durable ? 1 : 0, 0, 0, amqp_empty_table);
      if (auto e = rpc_error(amqp_get_rpc_reply(conn), what + " (declare exchange '" + d.exchange + "')"))
        return e;
    }
    if (!d.queue.empty()) {
      amqp_queue_declare(conn, kChannel, bytes_of(d.queue), 0, d.durable ? 1 : 0, 0, 0, amqp_empty_table);
      if (auto e = rpc_error(amqp_get_rpc_reply(conn), what + " (declare queue '" + d.queue + "')")) return e;
      if (d.bind && !d.exchange.empty()) {
        amqp_queue_bind(conn, kChannel, bytes_of(d.queue), bytes_of(d.exchange),
                        bytes_of(opt.declare_routing_key), amqp_empty_table);
        if (auto e = rpc_error(amqp_get_rpc_reply(conn), what + " (bind queue '" + d.queue + "')")) return e;
      }
    }
    return std::nullopt;
  }

  Error fail_connect(Error e) {
    drop_connection();
    next_endpoint();
    ++failures;
    next_attempt = Clock::now() + reconnect_backoff(failures, rng);
    last_connect_error = e;
    logger()->warn("{}: {}", opt.log_name, e.to_string());
    return e;
  }

  void drop_connection() {
    if (conn != nullptr) {
      amqp_destroy_connection(conn);
      conn = nullptr;
    }
  }

  void close_connection() {
    if (conn == nullptr) return;
    timeval tv = to_timeval(milliseconds(1000));
    amqp_set_rpc_timeout(conn, &tv);
    amqp_channel_close(conn, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    drop_connection();
  }

  // The connection is gone: nothing in flight can be confirmed any more.
  void lose_connection(const Error& cause) {
    logger()->warn("{}: connection lost: {}", opt.log_name, cause.to_string());
    drop_connection();
    const std::string lost_where = where;
    next_endpoint();
    const Error e =
        Error::of(ErrorCode::unavailable,
                  "connection to " + lost_where + " lost before the broker confirmed: " + cause.message, true,
                  cause.status);
    for (auto& [tag, p] : inflight) p->finish(e);
    inflight.clear();
    // The next trigger reconnects at once; repeated failures back off in fail_connect().
    failures = 0;
    next_attempt = Clock::now();
  }

  // --- publishing ------------------------------------------------------------------------------------------

  void publish_one(const std::shared_ptr<Pending>& p) {
    const AmqpMessage& m = p->message;
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = m.persistent ? 2 : 1;
    if (!m.content_type.empty()) {
      props._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
      props.content_type = bytes_of(m.content_type);
    }
    if (!m.message_id.empty()) {
      props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
      props.message_id = bytes_of(m.message_id);
    }
    if (!m.app_id.empty()) {
      props._flags |= AMQP_BASIC_APP_ID_FLAG;
      props.app_id = bytes_of(m.app_id);
    }
    if (!m.expiration.empty()) {
      props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
      props.expiration = bytes_of(m.expiration);
    }
    if (!m.type.empty()) {
      props._flags |= AMQP_BASIC_TYPE_FLAG;
      props.type = bytes_of(m.type);
    }
    if (m.timestamp != std::chrono::system_clock::time_point{}) {
      props._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
      props.timestamp = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(m.timestamp.time_since_epoch()).count());
    }
    std::vector<amqp_table_entry_t> entries;
    if (!m.headers.empty()) {
      entries.reserve(m.headers.size());
      for (const auto& [k, v] : m.headers) {
        amqp_table_entry_t e{};
        e.key = bytes_of(k);
        e.value.kind = AMQP_FIELD_KIND_UTF8;
        e.value.value.bytes = bytes_of(v);
        entries.push_back(e);
      }
      props._flags |= AMQP_BASIC_HEADERS_FLAG;
      props.headers.num_entries = static_cast<int>(entries.size());
      props.headers.entries = entries.data();
    }
    const int status = amqp_basic_publish(conn, kChannel, bytes_of(m.exchange), bytes_of(m.routing_key),
                                          m.mandatory ? 1 : 0, 0, &props, bytes_of(m.body));
    if (status != AMQP_STATUS_OK) {
      p->finish(
          Error::of(ErrorCode::unavailable, "publish to " + where + ": " + amqp_error_string2(status), true));
      lose_connection(error_from_status(status, "publish"));
      return;
    }
    p->tag = next_tag++;
    p->deadline = Clock::now() + opt.timeout;
    inflight.emplace(p->tag, p);
  }

  void handle_batch(std::deque<std::shared_ptr<Pending>>& batch) {
    if (batch.empty()) return;
    if (conn == nullptr) {
      if (Clock::now() < next_attempt && last_connect_error) {
        // Within the backoff window: answer at once with the last reason instead of hammering the broker.
        Error e = *last_connect_error;
        const auto wait = std::chrono::duration_cast<milliseconds>(next_attempt - Clock::now()).count();
        e.message += " (next attempt in " + std::to_string(wait) + " ms)";
        for (auto& p : batch) p->finish(e);
        batch.clear();
        return;
      }
      if (auto e = connect()) {
        for (auto& p : batch) p->finish(*e);
        batch.clear();
        return;
      }
    }
    for (auto& p : batch) {
      if (conn == nullptr) {
        p->finish(Error::of(ErrorCode::unavailable, "connection to " + where + " lost", true));
        continue;
      }
      publish_one(p);
    }
    batch.clear();
  }

  // --- reading confirms ------------------------------------------------------------------------------------

  void complete_acked(std::uint64_t tag, bool multiple) {
    auto end = multiple ? inflight.upper_bound(tag) : inflight.find(tag);
    auto begin = multiple ? inflight.begin() : end;
    if (!multiple) {
      if (end == inflight.end()) return;  // a confirm for a message we already gave up on
      ++end;
    }
    for (auto it = begin; it != end; ++it) {
      auto& p = it->second;
      if (p->returned) {
        p->finish(*p->returned);
      } else {
        p->finish(Receipt{{}, {}, "basic.ack (delivery tag " + std::to_string(it->first) + ")"});
      }
    }
    inflight.erase(begin, end);
  }

  void complete_nacked(std::uint64_t tag, bool multiple) {
    auto end = multiple ? inflight.upper_bound(tag) : inflight.find(tag);
    auto begin = multiple ? inflight.begin() : end;
    if (!multiple) {
      if (end == inflight.end()) return;
      ++end;
    }
    for (auto it = begin; it != end; ++it) {
      it->second->finish(
          Error::of(ErrorCode::rejected, "broker refused the message (basic.nack) on " + where, true));
    }
    inflight.erase(begin, end);
    nacked = true;
  }

  // A nack means the queue could not take the message: full (reject-publish) or, with a quorum queue, its
  // process on this node failed. Seen with RabbitMQ 3.10 after a queue's leader node stopped: a channel
  // opened during the election nacked every later publish, minutes after a new leader was elected, while
  // fresh connections published fine (tests/integration/rabbitmq_scale_test.cpp). So after a nack the
  // publisher starts over on a new connection to the next node, at most once a second (what is in flight is
  // answered "retryable"; the caller's retry may duplicate a message the broker did take: at-least-once).
  void recover_after_nack() {
    if (!nacked || conn == nullptr) return;
    nacked = false;
    const auto now = Clock::now();
    if (now - last_nack_reconnect < std::chrono::seconds(1)) return;
    last_nack_reconnect = now;
    lose_connection(Error::of(ErrorCode::rejected,
                              "the broker refused a message (basic.nack); starting over on a new connection",
                              true));
  }

  // basic.return is followed by a content header and body frames; the header's message_id says which
  // in-flight message came back (returns carry no delivery tag). Its ack follows and reports the failure.
  bool handle_return(const amqp_basic_return_t& r) {
    const std::string text = reply_text(r.reply_text);
    const int code = r.reply_code;
    amqp_frame_t frame;
    timeval tv = to_timeval(opt.timeout);
    if (amqp_simple_wait_frame_noblock(conn, &frame, &tv) != AMQP_STATUS_OK ||
        frame.frame_type != AMQP_FRAME_HEADER) {
      return false;
    }
    std::string message_id;
    const auto* props = static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
    if (props != nullptr && (props->_flags & AMQP_BASIC_MESSAGE_ID_FLAG))
      message_id = string_of(props->message_id);
    std::uint64_t remaining = frame.payload.properties.body_size;
    while (remaining > 0) {
      if (amqp_simple_wait_frame_noblock(conn, &frame, &tv) != AMQP_STATUS_OK ||
          frame.frame_type != AMQP_FRAME_BODY) {
        return false;
      }
      remaining -= std::min<std::uint64_t>(remaining, frame.payload.body_fragment.len);
    }
    for (auto& [tag, p] : inflight) {
      if (!p->returned && p->message.message_id == message_id) {
        p->returned = Error::of(ErrorCode::rejected,
                                "broker returned the message as unroutable (" + std::to_string(code) + " " +
                                    text + "): exchange '" + p->message.exchange + "', routing key '" +
                                    p->message.routing_key + "'",
                                false, code);
        break;
      }
    }
    return true;
  }

  // A channel error (e.g. 404 unknown exchange) closes the channel and drops everything in flight on it.
  // The message that caused it gets the broker's reason; the others were merely caught up in it and may be
  // retried. Then the channel is re-opened so that the hook keeps working.
  void handle_channel_close(const amqp_channel_close_t& c) {
    amqp_channel_close_ok_t ok{};
    amqp_send_method(conn, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    const std::string raw = string_of(c.reply_text);  // for matching only; `text` is what may be quoted
    const std::string text = reply_text(c.reply_text);
    const Error cause = error_from_close(c.reply_code, text, "publish to " + where, false);
    logger()->warn("{}: {}", opt.log_name, cause.to_string());
    bool blamed = false;
    for (auto& [tag, p] : inflight) {
      const bool culprit = !blamed && raw.find("'" + p->message.exchange + "'") != std::string::npos;
      if (culprit) {
        blamed = true;
        p->finish(cause);
      } else {
        p->finish(Error::of(ErrorCode::unavailable,
                            "channel closed by the broker before the confirm (" + text + ")", true));
      }
    }
    inflight.clear();
    if (auto e = open_channel("re-open channel on " + where)) lose_connection(*e);
  }

  void handle_frame(const amqp_frame_t& frame) {
    if (frame.frame_type != AMQP_FRAME_METHOD) return;  // stray content of a return we could not match
    const amqp_method_t& m = frame.payload.method;
    switch (m.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* a = static_cast<const amqp_basic_ack_t*>(m.decoded);
        complete_acked(a->delivery_tag, a->multiple != 0);
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        const auto* n = static_cast<const amqp_basic_nack_t*>(m.decoded);
        complete_nacked(n->delivery_tag, n->multiple != 0);
        break;
      }
      case AMQP_BASIC_RETURN_METHOD:
        if (!handle_return(*static_cast<const amqp_basic_return_t*>(m.decoded))) {
          lose_connection(Error::of(ErrorCode::protocol, "malformed basic.return", true));
        }
        break;
      case AMQP_CHANNEL_CLOSE_METHOD:
        handle_channel_close(*static_cast<const amqp_channel_close_t*>(m.decoded));
        break;
      case AMQP_CONNECTION_CLOSE_METHOD: {
        const auto* c = static_cast<const amqp_connection_close_t*>(m.decoded);
        amqp_connection_close_ok_t ok{};
        amqp_send_method(conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        lose_connection(error_from_close(c->reply_code, reply_text(c->reply_text), "broker", true));
        break;
      }
      case AMQP_CONNECTION_BLOCKED_METHOD:
        logger()->warn("{}: broker blocked publishing (resource alarm); confirms will wait", opt.log_name);
        break;
      case AMQP_CONNECTION_UNBLOCKED_METHOD:
        logger()->info("{}: broker unblocked publishing", opt.log_name);
        break;
      default: break;
    }
  }

  // Reads every frame already available without blocking.
  void read_frames() {
    while (conn != nullptr) {
      amqp_frame_t frame;
      timeval zero{0, 0};
      const int status = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
      if (status == AMQP_STATUS_TIMEOUT) break;
      if (status != AMQP_STATUS_OK) {
        lose_connection(error_from_status(status, "read from " + where));
        break;
      }
      handle_frame(frame);
    }
    if (conn != nullptr) amqp_maybe_release_buffers(conn);
  }

  void expire_deadlines() {
    const auto now = Clock::now();
    // In tag order deadlines only grow, so the expired ones are a prefix.
    while (!inflight.empty() && inflight.begin()->second->deadline <= now) {
      inflight.begin()->second->finish(Error::of(
          ErrorCode::timeout,
          "no confirm from " + where + " within " + std::to_string(opt.timeout.count()) + " ms", true));
      inflight.erase(inflight.begin());
    }
  }

  // --- the I/O thread --------------------------------------------------------------------------------------

  void run() {
    std::deque<std::shared_ptr<Pending>> batch;
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) break;
        batch.swap(queue);
      }
      handle_batch(batch);
      if (conn != nullptr) read_frames();
      recover_after_nack();
      expire_deadlines();

      // Sleep until the broker sends something, a caller hands a message over, the earliest confirm
      // deadline passes, or it is time to look at heartbeats again.
      milliseconds wait(1000);
      if (opt.heartbeat.count() > 0) wait = std::min<milliseconds>(wait, opt.heartbeat / 2);
      if (!inflight.empty()) {
        // Deadlines grow with delivery tags (same timeout, published in order): the first is the earliest.
        const auto& first = inflight.begin()->second;
        wait = std::min(
            wait, std::chrono::duration_cast<milliseconds>(first->deadline - Clock::now()) + milliseconds(1));
      }
      wait = std::max(wait, milliseconds(0));
      if (conn != nullptr && (amqp_frames_enqueued(conn) || amqp_data_in_buffer(conn))) continue;
      io.sleep(
          mu, [&] { return !queue.empty() || stopping; }, conn != nullptr ? amqp_get_sockfd(conn) : -1, wait);
    }
    // Shutting down: whatever is still waiting gets an answer.
    std::deque<std::shared_ptr<Pending>> rest;
    {
      std::lock_guard lock(mu);
      rest.swap(queue);
    }
    const Error closed = Error::of(ErrorCode::unavailable, "publisher to " + where + " was closed", true);
    for (auto& p : rest) p->finish(closed);
    for (auto& [tag, p] : inflight) p->finish(closed);
    inflight.clear();
    close_connection();
  }
};

AmqpPublisher::AmqpPublisher(AmqpPublisherOptions options)
    : state_(std::make_unique<State>(std::move(options))) {
  state_->io.start(state_->opt.batch_scheduling, "RabbitMQ I/O thread", [s = state_.get()] { s->run(); });
}

AmqpPublisher::~AmqpPublisher() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake();
  state_->io.join();
}

void AmqpPublisher::publish_async(const AmqpMessage& message, std::function<void(Result<Receipt>)> done) {
  auto p = std::make_shared<Pending>();
  p->message = message;
  p->done = std::move(done);
  bool need_wake = false;
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopping) {
      p->finish(Error::of(ErrorCode::unavailable, "publisher is closing", true));
      return;
    }
    state_->queue.push_back(p);
    need_wake = state_->io.asleep();
  }
  if (need_wake) state_->wake();
}

Result<Receipt> AmqpPublisher::publish(const AmqpMessage& message) {
  auto promise = std::make_shared<std::promise<Result<Receipt>>>();
  auto future = promise->get_future();
  publish_async(message, [promise](Result<Receipt> r) { promise->set_value(std::move(r)); });
  // The I/O thread answers every message within connect + confirm timeouts; this bound only guards
  // against a bug there, so that a caller never hangs.
  const auto bound = state_->opt.connect_timeout * 3 + state_->opt.timeout + milliseconds(5'000);
  if (future.wait_for(bound) != std::future_status::ready) {
    return Error::of(ErrorCode::timeout, "no answer from the AMQP publisher for " + state_->where, true);
  }
  return future.get();
}

}  // namespace eventhooks::detail
