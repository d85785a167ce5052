// Config files: load_config() reads a YAML or JSON file into hooks (through a HookRegistry), their retry
// policies and the outbox settings. Config is a value; loading is safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "eventhooks/export.hpp"
#include "eventhooks/hook_entry.hpp"
#include "eventhooks/hook_registry.hpp"
#include "eventhooks/network.hpp"
#include "eventhooks/tls.hpp"

namespace eventhooks {

// `outbox: {path: FILE}` (SQLite, one machine) or `outbox: {url: amqp://…, queue: NAME}` (RabbitMQ, many
// workers on many machines: docs/scale-out.md).
struct OutboxConfig {
  std::string path;               // SQLite file; empty with the RabbitMQ backend
  std::vector<std::string> urls;  // RabbitMQ: one amqp(s):// URL per cluster node (secrets: never printed)
  std::string queue;              // RabbitMQ: the jobs' queue
  int delivery_limit = 20;        // RabbitMQ: x-delivery-limit of the queue
  TlsOptions tls;                 // RabbitMQ over amqps://
  // How long delivered jobs are kept (so `eventhooks serve` can report them); 0 = deleted at once.
  // Default: 24 h when the file has a `serve:` section, else 0.
  std::chrono::milliseconds keep_delivered{0};
  // `synchronous: full` (default): every commit is fsynced, so what was acknowledged survives a power loss.
  // `normal`: commits survive the process being killed but not the machine losing power (SQLite WAL
  // synchronous=NORMAL), for disks whose fsync is slow.
  bool synchronous_full = true;

  bool rabbitmq() const noexcept { return !urls.empty(); }
};

// The `serve:` section: the HTTP ingest API of `eventhooks serve` (docs/serve.md).
struct ServeConfig {
  struct Address {
    std::string host;  // "127.0.0.1", "::1", "0.0.0.0"
    int port = 0;
  };
  Address listen{"127.0.0.1", 8642};
  // SHA-256 of every accepted API key (32 bytes each). The keys themselves are never kept.
  std::vector<std::string> api_key_hashes;
  std::size_t max_body = std::size_t{1} << 20;  // request bodies larger than this are answered 413
  std::string cert_file, key_file;              // both set: HTTPS
  // Event loops reading and answering requests (each serves any number of connections); 0: one per CPU.
  std::size_t threads = 0;
  // A kept-alive connection with no request for this long is closed (1 s to a day).
  std::chrono::seconds idle_timeout{60};
  // POST /v1/events answers 503 `outbox_full` while the outbox holds this many undelivered jobs (pending or
  // being delivered; counted every second past half the limit, every 10 s below, plus what serve stored
  // since); 0: no limit.
  std::uint64_t max_pending = 0;

  // Whether `key` is one of the API keys: its SHA-256 compared with every stored hash in constant time
  // (CRYPTO_memcmp), so neither the answer's timing nor a log line says anything about the keys.
  EVENTHOOKS_EXPORT bool accepts_key(std::string_view key) const;
  // "HOST:PORT", "[V6]:PORT"; nullopt when it is not one.
  EVENTHOOKS_EXPORT static std::optional<Address> parse_address(std::string_view text);
};

struct Config {
  std::string source;            // the file's path, or "<string>"
  std::vector<HookEntry> hooks;  // in file order; disabled hooks included (they never fire)
  std::optional<OutboxConfig> outbox;
  std::optional<ServeConfig> serve;
  nlohmann::json defaults;  // the `defaults:` block as read
  NetworkRules network;     // the `network:` block: every hook's network policy starts from it

  // The hook of that name, or nullptr.
  EVENTHOOKS_EXPORT HookPtr find(std::string_view name) const;
};

// Loads a YAML or JSON file: ${VAR} / ${VAR:-default} interpolation, <key>_file secrets, validation.
// Throws ConfigError naming file, line, hook and key; nothing is built unless everything is valid.
EVENTHOOKS_EXPORT Config load_config(const std::string& path,
                                     const HookRegistry& registry = HookRegistry::with_builtins());
// The same from text; `source` names it in errors. `base_dir` resolves relative *_file paths.
EVENTHOOKS_EXPORT Config parse_config(std::string_view text, const std::string& source,
                                      const HookRegistry& registry = HookRegistry::with_builtins(),
                                      const std::string& base_dir = ".");

}  // namespace eventhooks
