// A program that uses the installed eventhooks: fires a FileHook and prints the outcome; renders an empty
// metrics snapshot as Prometheus text (the writer and renderer are exported).
#include <eventhooks/eventhooks.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

int main() {
  auto path = std::filesystem::temp_directory_path() / "eventhooks-consumer.jsonl";
  eventhooks::FileHook hook({.common = {.name = "consumer"}, .path = path.string()});
  auto outcome = hook.trigger(nlohmann::json{{"hello", "installed package"}});
  std::printf("%s %s\n", outcome.kind_name(), outcome.detail().c_str());
  std::filesystem::remove(path);
  eventhooks::PrometheusWriter metrics;
  eventhooks::write_prometheus(metrics, eventhooks::MetricsSnapshot{});
  metrics.gauge("consumer_up", "The consumer ran.").sample({}, 1);
  const bool rendered = metrics.text().find("\neventhooks_events_fired_total 0\n") != std::string::npos &&
                        metrics.text().ends_with("consumer_up 1\n");
  return outcome.delivered() && rendered ? 0 : 1;
}
