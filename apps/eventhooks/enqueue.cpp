#include "enqueue.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace eventhooks::cli {

Result<std::shared_ptr<Outbox>> open_outbox_creating_folder(const OutboxConfig& config,
                                                            std::uint16_t prefetch) {
  if (config.rabbitmq()) {
    return open_rabbitmq_outbox({.urls = config.urls,
                                 .queue = config.queue,
                                 .tls = config.tls,
                                 .delivery_limit = config.delivery_limit,
                                 .prefetch = prefetch});
  }
  const std::filesystem::path folder = std::filesystem::path(config.path).parent_path();
  if (!folder.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) {
      return Error::permanent(ErrorCode::config,
                              "cannot create the outbox's folder '" + folder.string() + "': " + ec.message());
    }
  }
  return open_sqlite_outbox({.path = config.path,
                             .synchronous_full = config.synchronous_full,
                             .keep_delivered = config.keep_delivered});
}

std::vector<std::string> select_hooks(const Config& config, const Event& event,
                                      const std::vector<std::string>& only_hooks) {
  std::optional<std::string_view> realm;
  if (event.realm) realm = *event.realm;
  std::vector<std::string> names;
  for (const auto& entry : config.hooks) {
    if (!entry.hook) continue;
    if (!only_hooks.empty() &&
        std::find(only_hooks.begin(), only_hooks.end(), entry.hook->name()) == only_hooks.end()) {
      continue;
    }
    if (entry.hook->allows(realm)) names.push_back(entry.hook->name());
  }
  return names;
}

Result<std::vector<std::string>> enqueue_event(Outbox& outbox, const Config& config, const Event& event,
                                               const std::vector<std::string>& only_hooks) {
  auto names = select_hooks(config, event, only_hooks);
  if (names.empty()) return names;
  if (auto stored = outbox.enqueue(event, names); !stored) return stored.error();
  return names;
}

}  // namespace eventhooks::cli
