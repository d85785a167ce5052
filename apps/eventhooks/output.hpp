// Pieces every subcommand shares: logging to stderr, loading the config with the CLI's error handling, and
// printing outcomes. Single-threaded use (the CLI's main thread), except outcome formatting, which is pure.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "eventhooks/config.hpp"
#include "eventhooks/outcome.hpp"

namespace eventhooks::cli {

// stderr only (stdout carries results), text or one JSON object per line; -v debug, -vv trace.
void configure_logging(const GlobalOptions& global);

// Loads the file; on a config error prints it to stderr and returns nullopt (the caller exits exit_config).
std::optional<Config> load_config_or_report(const std::string& path);

// "eventhooks: <message>" on stderr.
void print_error(const std::string& message);

// The --json record of one hook's outcome:
// {"hook","type","outcome","detail","event_id","status","error":{"code","message","retryable","retry_after"}}
nlohmann::ordered_json outcome_json(const Hook& hook, const Outcome& outcome);

// One text line: the name padded to `name_width`, the outcome word, the detail.
std::string outcome_line(const std::string& name, std::size_t name_width, const std::string& word,
                         const std::string& detail);

}  // namespace eventhooks::cli
