#include "eventhooks/event.hpp"

#include <pthread.h>
#include <sys/random.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>

namespace eventhooks {
namespace {

// The kernel's CSPRNG, straight: ids need unpredictable bits, not a user-space DRBG. OpenSSL's RAND_bytes
// gave the same bits but its first call in a process set up the default provider and a DRBG (about 1.5 ms
// and 1 MiB of a one-shot `eventhooks trigger`).
bool fill_random(unsigned char* out, std::size_t n) {
  while (n > 0) {
    const ssize_t got = getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

// One getrandom(2) per 16 ids instead of one per id: each thread keeps a small pool of kernel randomness and
// wipes each id's bytes from it as they are handed out. A forked child must not reuse its parent's pool (two
// processes would hand out the same ids), so a fork moves the generation on and every pool refills.
std::atomic<unsigned> fork_generation{0};

void after_fork_in_child() {
  fork_generation.fetch_add(1, std::memory_order_relaxed);
}

bool take_random(unsigned char* out, std::size_t n) {
  static const bool registered = [] { return pthread_atfork(nullptr, nullptr, &after_fork_in_child) == 0; }();
  (void)registered;
  struct Pool {
    std::array<unsigned char, 256> bytes{};
    std::size_t used = 256;
    unsigned generation = 0;
  };
  thread_local Pool pool;
  const unsigned generation = fork_generation.load(std::memory_order_relaxed);
  if (pool.generation != generation) {
    pool.used = pool.bytes.size();
    pool.generation = generation;
  }
  if (n > pool.bytes.size()) return fill_random(out, n);
  if (pool.used + n > pool.bytes.size()) {
    if (!fill_random(pool.bytes.data(), pool.bytes.size())) return false;
    pool.used = 0;
  }
  std::memcpy(out, pool.bytes.data() + pool.used, n);
  std::memset(pool.bytes.data() + pool.used, 0, n);
  pool.used += n;
  return true;
}

}  // namespace

std::string new_event_id() {
  // UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version, 74 random bits. Time-ordered, so outbox rows
  // and logs sort by creation.
  std::array<unsigned char, 16> b{};
  if (!take_random(b.data(), b.size())) {
    // getrandom failing (ENOSYS under an old seccomp filter) is near impossible; fall back rather than hand
    // out a fixed id.
    std::random_device rd;
    for (auto& x : b) x = static_cast<unsigned char>(rd());
  }
  auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x70);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 0xF]);
  }
  return out;
}

Event Event::make(std::string name, Payload payload, std::optional<std::string> realm) {
  return Event{new_event_id(), std::move(name), std::move(realm), std::move(payload),
               std::chrono::system_clock::now()};
}

}  // namespace eventhooks
