// A program that uses the installed eventhooks: fires a FileHook and prints the outcome.
#include <eventhooks/eventhooks.hpp>

#include <cstdio>
#include <filesystem>

int main() {
  auto path = std::filesystem::temp_directory_path() / "eventhooks-consumer.jsonl";
  eventhooks::FileHook hook({.common = {.name = "consumer"}, .path = path.string()});
  auto outcome = hook.trigger(nlohmann::json{{"hello", "installed package"}});
  std::printf("%s %s\n", outcome.kind_name(), outcome.detail().c_str());
  std::filesystem::remove(path);
  return outcome.delivered() ? 0 : 1;
}
