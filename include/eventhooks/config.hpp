// Config files: load_config() reads a YAML or JSON file into hooks (through a HookRegistry), their retry
// policies and the outbox settings. Config is a value; loading is safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "eventhooks/export.hpp"
#include "eventhooks/hook_entry.hpp"
#include "eventhooks/hook_registry.hpp"
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

  bool rabbitmq() const noexcept { return !urls.empty(); }
};

struct Config {
  std::string source;            // the file's path, or "<string>"
  std::vector<HookEntry> hooks;  // in file order; disabled hooks included (they never fire)
  std::optional<OutboxConfig> outbox;
  nlohmann::json defaults;  // the `defaults:` block as read

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
