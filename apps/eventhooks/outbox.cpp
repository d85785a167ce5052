// eventhooks outbox list|show|retry|purge: look at and fix what waits in the config's outbox (pending jobs
// and dead letters). Exit 1 when the job asked for does not exist.
#include <CLI/CLI.hpp>

#include <ctime>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "enqueue.hpp"
#include "eventhooks/outbox.hpp"
#include "output.hpp"

namespace eventhooks::cli {
namespace {

struct OutboxOptions {
  std::string config;
  bool json = false;
  std::string id;
  bool dead_only = false, pending_only = false;
  std::string hook;
  std::size_t limit = 100;
};

// Unset times (a job never attempted) print as nothing.
std::string rfc3339(std::chrono::system_clock::time_point t) {
  return t.time_since_epoch().count() == 0 ? std::string() : to_rfc3339(t);
}

nlohmann::ordered_json job_json(const Job& j, bool with_payload) {
  nlohmann::ordered_json o;
  o["id"] = j.id;
  o["state"] = to_string(j.state);
  o["hook"] = j.hook;
  o["attempts"] = j.attempts;
  o["event_id"] = j.event.id;
  o["event_name"] = j.event.name;
  o["realm"] = j.event.realm ? nlohmann::ordered_json(*j.event.realm) : nlohmann::ordered_json(nullptr);
  o["created_at"] = rfc3339(j.event.created_at);
  o["next_attempt_at"] = j.state == Job::State::dead ? nlohmann::ordered_json(nullptr)
                                                     : nlohmann::ordered_json(rfc3339(j.next_attempt_at));
  o["last_error"] = j.last_error ? nlohmann::ordered_json(*j.last_error) : nlohmann::ordered_json(nullptr);
  o["dead_reason"] =
      j.dead_reason.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(j.dead_reason);
  if (with_payload) {
    // The event's data as it was given: an object, a text, or null (not the outbox's storage wrapper).
    const Payload& data = j.event.payload;
    o["data"] = data.is_json()   ? data.json()
                : data.is_text() ? nlohmann::ordered_json(data.text())
                                 : nlohmann::ordered_json(nullptr);
  }
  return o;
}

std::string dump(const nlohmann::ordered_json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Loads the config and opens its outbox; prints the problem and sets `code` when it cannot.
std::shared_ptr<Outbox> open_from_config(const std::string& path, int& code) {
  auto config = load_config_or_report(path);
  if (!config) {
    code = exit_config;
    return nullptr;
  }
  if (!config->outbox) {
    print_error(path +
                ": no outbox configured (`outbox: {path: FILE}` or `outbox: {url: amqp://…, queue: NAME}`)");
    code = exit_config;
    return nullptr;
  }
  auto opened = open_outbox_creating_folder(*config->outbox);
  if (!opened) {
    print_error(opened.error().message);
    code = exit_internal;
    return nullptr;
  }
  return opened.value();
}

int fail(const Error& e) {
  print_error(e.message);
  return exit_internal;
}

int run_list(const OutboxOptions& o) {
  int code = 0;
  auto outbox = open_from_config(o.config, code);
  if (!outbox) return code;
  JobFilter filter{.which = o.dead_only      ? JobFilter::Which::dead
                            : o.pending_only ? JobFilter::Which::pending
                                             : JobFilter::Which::all,
                   .hook = o.hook,
                   .limit = o.limit};
  auto jobs = outbox->list(filter);
  if (!jobs) return fail(jobs.error());
  if (o.json) {
    for (const auto& j : jobs.value()) std::cout << dump(job_json(j, false)) << "\n";
  } else {
    auto stats = outbox->stats();
    if (stats) {
      std::cout << fmt::format("{}: {} pending ({} due now), {} in flight, {} dead\n", outbox->describe(),
                               stats->pending, stats->due, stats->in_flight, stats->dead);
    }
    for (const auto& j : jobs.value()) {
      std::string detail =
          j.state == Job::State::dead
              ? j.dead_reason
              : "next " + rfc3339(j.next_attempt_at) + (j.last_error ? "; last error: " + *j.last_error : "");
      std::cout << fmt::format("{:>8}  {:<9}  {:<20}  attempts={:<3} event={}  {}\n", j.id,
                               to_string(j.state), j.hook, j.attempts, j.event.id, detail);
    }
  }
  std::cout.flush();
  return exit_ok;
}

int run_show(const OutboxOptions& o) {
  int code = 0;
  auto outbox = open_from_config(o.config, code);
  if (!outbox) return code;
  auto job = outbox->get(o.id);
  if (!job) return fail(job.error());
  if (!job.value()) {
    print_error("no job with id " + o.id + " in " + outbox->describe());
    return exit_delivery_failed;
  }
  const auto json = job_json(*job.value(), true);
  if (o.json) {
    std::cout << dump(json) << "\n";
  } else {
    for (const auto& [key, value] : json.items()) {
      std::cout << fmt::format("{:<16} {}\n", key + ":",
                               value.is_string() ? value.get<std::string>() : dump(value));
    }
  }
  return exit_ok;
}

int run_retry(const OutboxOptions& o) {
  int code = 0;
  auto outbox = open_from_config(o.config, code);
  if (!outbox) return code;
  auto done = outbox->requeue(o.id);
  if (!done) return fail(done.error());
  if (!done.value()) {
    print_error("no job with id " + o.id + " that can be retried (missing, or being delivered right now)");
    return exit_delivery_failed;
  }
  if (o.json) {
    std::cout << dump({{"id", o.id}, {"state", "pending"}}) << "\n";
  } else {
    std::cout << "job " << o.id << " is pending again, due now (attempts reset)\n";
  }
  return exit_ok;
}

int run_purge(const OutboxOptions& o) {
  int code = 0;
  auto outbox = open_from_config(o.config, code);
  if (!outbox) return code;
  std::size_t removed = 0;
  if (!o.id.empty()) {
    auto r = outbox->remove(o.id);
    if (!r) return fail(r.error());
    if (!r.value()) {
      print_error("no job with id " + o.id + " in " + outbox->describe());
      return exit_delivery_failed;
    }
    removed = 1;
  } else {
    auto r = outbox->purge_dead();
    if (!r) return fail(r.error());
    removed = r.value();
  }
  if (o.json) {
    std::cout << dump({{"removed", removed}}) << "\n";
  } else {
    std::cout << "removed " << removed << (o.id.empty() ? " dead letter(s)\n" : " job\n");
  }
  return exit_ok;
}

}  // namespace

void add_outbox_command(CLI::App& app, GlobalOptions& /*global*/, CommandRunner& run) {
  auto options = std::make_shared<OutboxOptions>();
  CLI::App* cmd = app.add_subcommand("outbox", "Inspect and fix the jobs in the config's outbox");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  cmd->add_option("-c,--config", options->config, "Config file (YAML or JSON) with `outbox: {path: ...}`")
      ->required();
  cmd->add_flag("--json", options->json, "JSON output (one object per line)");

  CLI::App* list = cmd->add_subcommand("list", "List pending jobs and dead letters");
  list->fallthrough();
  list->add_flag("--dead", options->dead_only, "Dead letters only");
  list->add_flag("--pending", options->pending_only, "Pending (and in-flight) jobs only");
  list->add_option("--hook", options->hook, "Jobs of this hook only");
  list->add_option("--limit", options->limit, "At most this many (0 = all)");
  list->callback([options, &run] { run = [options] { return run_list(*options); }; });

  CLI::App* show = cmd->add_subcommand("show", "Show one job, its event data included");
  show->fallthrough();
  show->add_option("id", options->id, "Job id (from `outbox list`)")->required();
  show->callback([options, &run] { run = [options] { return run_show(*options); }; });

  CLI::App* retry = cmd->add_subcommand("retry", "Make a dead letter (or pending job) due again now");
  retry->fallthrough();
  retry->add_option("id", options->id, "Job id")->required();
  retry->callback([options, &run] { run = [options] { return run_retry(*options); }; });

  CLI::App* purge = cmd->add_subcommand("purge", "Remove every dead letter, or the one job given");
  purge->fallthrough();
  purge->add_option("id", options->id, "Job id (default: all dead letters)");
  purge->callback([options, &run] { run = [options] { return run_purge(*options); }; });
}

}  // namespace eventhooks::cli
