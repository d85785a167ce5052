// The body of config_yaml_fuzzer and config_json_fuzzer: parse_config() on arbitrary text with the built-in
// hook types. A ConfigError is the expected answer to bad input; any other exception escapes and libFuzzer
// reports it, as it does a crash, a sanitizer report, a leak or a hang.
// Checks, for a config that loads: every hook is built, has a unique name and describes itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

#include "eventhooks/config.hpp"
#include "fuzz_check.hpp"

namespace eventhooks::fuzz {

// A folder with the secret files the seed corpus names (relative *_file paths resolve against it), and
// the variables its ${VAR} references use. Fake values: nothing here is a real credential.
inline const std::string& config_base_dir() {
  static const std::string dir = [] {
    std::error_code ec;
    auto path = std::filesystem::temp_directory_path(ec) / "eventhooks-fuzz-config";
    std::filesystem::create_directories(path, ec);
    for (const char* name : {"password.txt", "token.txt", "secret.txt"}) {
      std::ofstream(path / name) << "fuzz-" << name << "\n";
    }
    setenv("EVENTHOOKS_FUZZ_HOST", "broker.example", 1);
    setenv("EVENTHOOKS_FUZZ_PORT", "5672", 1);
    setenv("EVENTHOOKS_FUZZ_URL", "https://hooks.example/notify", 1);
    setenv("EVENTHOOKS_FUZZ_PASSWORD", "fuzz-password", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fuzz-secret-key", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    unsetenv("EVENTHOOKS_FUZZ_UNSET");
    return path.string();
  }();
  return dir;
}

inline void config_fuzz_one(const std::uint8_t* data, std::size_t size) {
  static const HookRegistry registry = HookRegistry::with_builtins();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Config config;
  try {
    config = parse_config(text, "fuzz.yaml", registry, config_base_dir());
  } catch (const ConfigError&) {
    return;
  }
  std::set<std::string, std::less<>> names;
  for (const auto& entry : config.hooks) {
    check(entry.hook != nullptr, "a loaded config holds a null hook");
    check(names.insert(std::string(entry.hook->name())).second, "two hooks with one name");
    (void)entry.hook->describe();
    check(config.find(entry.hook->name()) != nullptr, "Config::find misses a hook");
  }
}

}  // namespace eventhooks::fuzz
