// Storing events in the config's outbox for `eventhooks worker`: what `trigger --enqueue` does. Part of the
// CLI, not of the library: an application that embeds the library hands events to its Dispatcher instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eventhooks/config.hpp"
#include "eventhooks/event.hpp"
#include "eventhooks/outbox.hpp"

namespace eventhooks::cli {

// Opens the config's outbox. RabbitMQ (`url:`): connects and declares its queues; `prefetch` is what a worker
// consumes with. SQLite (`path:`): creates its folder (and the folders above it) first, as FileHook does for
// its file: a fresh deployment's `trigger --enqueue` or `worker` must not fail for a missing folder.
Result<std::shared_ptr<Outbox>> open_outbox_creating_folder(const OutboxConfig& config,
                                                            std::uint16_t prefetch = 64);

// The config's hooks that `event` fires, by its realm (and only those in `only_hooks`, when given), in
// config order.
std::vector<std::string> select_hooks(const Config& config, const Event& event,
                                      const std::vector<std::string>& only_hooks = {});

// Selects the config's hooks by the event's realm (only those in `only_hooks`, when given) and stores one job
// per hook in `outbox`, all in one write. Returns the names of the hooks that got a job (none: nothing
// stored).
Result<std::vector<std::string>> enqueue_event(Outbox& outbox, const Config& config, const Event& event,
                                               const std::vector<std::string>& only_hooks = {});

}  // namespace eventhooks::cli
