// What `trigger` and `send` share: reading --data, firing hooks side by side, printing their outcomes with
// the exit code. Used from the CLI's main thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eventhooks/event.hpp"
#include "eventhooks/hook.hpp"

namespace eventhooks::cli {

// The --data argument as text: literal, @FILE or - (stdin). nullopt after printing a usage error.
std::optional<std::string> read_data_text(const std::string& arg);
// The --data rule (docs/cli.md): a JSON object, or text. nullopt after printing a usage error.
std::optional<Payload> parse_data(const std::string& text);

// --dry-run: one line (or JSON object) per hook, "would-fire" with its masked description or "skipped"
// with why; sends nothing; returns exit_ok.
int report_dry_run(const std::vector<HookPtr>& hooks, const std::optional<std::string>& realm, bool json);
// Fires every hook with `event` (each on a thread of its own but the first), prints one line (or one JSON
// object) per hook in their order, and returns exit_ok, or exit_delivery_failed when any failed.
int fire_and_report(const std::vector<HookPtr>& hooks, const Event& event, bool json);

}  // namespace eventhooks::cli
