// The reference for bench_amqp: a plain rabbitmq-c loop on one connection that publishes COUNT persistent
// messages (same properties as RabbitMqHook) to a durable queue with publisher confirms, keeping up to WINDOW
// (default 256) unconfirmed messages in flight. What a hand-written, single-threaded publisher achieves.
//   bench_amqp_reference QUEUE COUNT [WINDOW]       broker from EVENTHOOKS_AMQP_*
//   (scripts/servers/rabbitmq.sh)
#include <chrono>
#include <cstdio>
#include <string>

#include "amqp_bench_common.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s QUEUE COUNT [WINDOW]\n", argv[0]);
    return 2;
  }
  const std::string queue = argv[1];
  const long count = std::stol(argv[2]);
  const long window = argc > 3 ? std::stol(argv[3]) : 256;
  const auto broker = amqp_bench::broker_from_env();
  amqp_bench::reset_queue(broker, queue);

  amqp_connection_state_t conn = amqp_bench::connect(broker);
  amqp_confirm_select(conn, 1);
  amqp_bench::check(amqp_get_rpc_reply(conn), "confirm.select");

  // The hook sends the object indented by 2; send the same bytes.
  const std::string body = std::string(
      "{\n  \"event\": \"deploy_finished\",\n  \"service\": \"api\",\n  \"ok\": true,\n"
      "  \"host\": \"web-01\",\n  \"duration_ms\": 8123\n}");
  long published = 0, acked = 0, nacked = 0;
  const auto start = std::chrono::steady_clock::now();
  while (acked + nacked < count) {
    while (published < count && published - acked - nacked < window) {
      const std::string id = "ref-" + std::to_string(published);
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
                     AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_APP_ID_FLAG |
                     AMQP_BASIC_TYPE_FLAG;
      props.delivery_mode = 2;
      props.content_type = amqp_cstring_bytes("application/json");
      props.message_id = amqp_cstring_bytes(id.c_str());
      props.timestamp = static_cast<std::uint64_t>(std::time(nullptr));
      props.app_id = amqp_cstring_bytes("eventhooks");
      props.type = amqp_cstring_bytes("bench");
      const int st = amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0, 0,
                                        &props, amqp_bytes_t{body.size(), const_cast<char*>(body.data())});
      if (st != AMQP_STATUS_OK) {
        std::fprintf(stderr, "publish failed: %s\n", amqp_error_string2(st));
        return 1;
      }
      ++published;
    }
    amqp_frame_t frame;
    const int st = amqp_simple_wait_frame(conn, &frame);
    if (st != AMQP_STATUS_OK) {
      std::fprintf(stderr, "wait frame failed: %s\n", amqp_error_string2(st));
      return 1;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    // Delivery tags count from 1 in publish order, so an ack for tag T (multiple) confirms everything up to
    // T.
    if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
      const auto* a = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      const long tag = static_cast<long>(a->delivery_tag);
      if (a->multiple) {
        acked = tag - nacked;
      } else {
        ++acked;
      }
    } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
      ++nacked;
    }
    amqp_maybe_release_buffers(conn);
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  amqp_bench::close(conn);
  const auto depth = amqp_bench::queue_depth(broker, queue);
  std::printf("reference window=%ld messages=%ld acked=%ld nacked=%ld in_queue=%u seconds=%.3f rate=%.0f\n",
              window, count, acked, nacked, depth, elapsed, acked / elapsed);
  return nacked == 0 ? 0 : 1;
}
