#include "fire.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "output.hpp"

namespace eventhooks::cli {

// The --data argument as text: literal, @FILE or - (stdin). nullopt after printing a usage error.
std::optional<std::string> read_data_text(const std::string& arg) {
  if (arg == "-") {
    std::ostringstream in;
    in << std::cin.rdbuf();
    std::string text = in.str();
    // `echo '{...}' | eventhooks trigger --data -` means the object, not the object and a line break: one
    // trailing line break (the shell's) is dropped; more are the data's own.
    if (text.ends_with("\r\n")) {
      text.resize(text.size() - 2);
    } else if (text.ends_with('\n')) {
      text.pop_back();
    }
    return text;
  }
  if (!arg.empty() && arg.front() == '@') {
    const std::string path = arg.substr(1);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      print_error("--data: cannot read '" + path + "': " + std::strerror(errno));
      return std::nullopt;
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return arg;
}

// DESIGN.md: text that parses as a JSON object is an object, anything else a string. Text that starts like
// an object but does not parse is almost always a quoting mistake, so it is refused rather than sent as text.
std::optional<Payload> parse_data(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    try {
      auto parsed = nlohmann::ordered_json::parse(text);
      if (parsed.is_object()) return Payload(std::move(parsed));
    } catch (const nlohmann::json::parse_error& e) {
      print_error("--data looks like a JSON object but is not valid JSON (at byte " + std::to_string(e.byte) +
                  "): " + e.what());
      return std::nullopt;
    } catch (const nlohmann::json::exception& e) {  // a number beyond a double ("1e999")
      print_error(std::string("--data looks like a JSON object but cannot be read: ") + e.what());
      return std::nullopt;
    }
  }
  return Payload::from_cli_text(text);
}

namespace {

std::string skip_reason(const Hook& hook, const std::optional<std::string>& realm) {
  if (!hook.enabled()) return "hook is disabled";
  if (!realm) return "hook has realms [" + hook.realms().to_string() + "] and no realm was given";
  return "realm '" + *realm + "' not in [" + hook.realms().to_string() + "]";
}

}  // namespace

int report_dry_run(const std::vector<HookPtr>& hooks, const std::optional<std::string>& realm, bool json) {
  std::size_t width = 0;
  for (const auto& hook : hooks) width = std::max(width, hook->name().size());

  for (const auto& hook : hooks) {
    const bool fires = hook->allows(realm ? std::optional<std::string_view>(*realm) : std::nullopt);
    const std::string word = fires ? "would-fire" : "skipped";
    const std::string detail = fires ? hook->describe() : skip_reason(*hook, realm);
    if (json) {
      nlohmann::ordered_json line{{"hook", hook->name()}, {"type", std::string(hook->type())},
                                  {"outcome", word},      {"detail", detail},
                                  {"event_id", nullptr},  {"status", nullptr},
                                  {"error", nullptr}};
      std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << outcome_line(hook->name(), width, word, detail) << "\n";
    }
  }
  std::cout.flush();
  return exit_ok;
}

int fire_and_report(const std::vector<HookPtr>& hooks, const Event& event, bool json) {
  std::size_t width = 0;
  for (const auto& hook : hooks) width = std::max(width, hook->name().size());
  // Hooks run side by side: a slow or unreachable hook must not hold back the others. The first runs on this
  // thread and each other one on a thread of its own, so the usual one-hook run starts no thread (and no
  // malloc arena) at all. Printing waits for all, so the output keeps the config's order.
  std::vector<Outcome> outcomes(hooks.size());
  std::vector<std::thread> threads;
  threads.reserve(hooks.size() > 1 ? hooks.size() - 1 : 0);
  for (std::size_t i = 1; i < hooks.size(); ++i) {
    threads.emplace_back([&, i] { outcomes[i] = hooks[i]->trigger(event); });
  }
  if (!hooks.empty()) outcomes[0] = hooks[0]->trigger(event);
  for (auto& t : threads) t.join();

  bool any_failed = false;
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    any_failed = any_failed || outcomes[i].failed();
    if (json) {
      std::cout << outcome_json(*hooks[i], outcomes[i])
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    } else {
      std::cout << outcome_line(hooks[i]->name(), width, outcomes[i].kind_name(), outcomes[i].detail())
                << "\n";
    }
  }
  std::cout.flush();
  return any_failed ? exit_delivery_failed : exit_ok;
}

}  // namespace eventhooks::cli
