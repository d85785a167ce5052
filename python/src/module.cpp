// eventhooks._eventhooks: the C++ library as a Python module that the Python eventhooks library's users can
// switch to without changing their code (python/eventhooks/ re-exports it under the old module names).
// Only conversions live here: every hook is built by the library's HookRegistry from the constructor's
// arguments, exactly as from a config file, and every delivery is the library's. Network calls run with the
// GIL released; the library's log lines reach logging.getLogger("EventHooks") through log_bridge.hpp.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "convert.hpp"
#include "eventhooks/eventhooks.hpp"
#include "gil.hpp"
#include "log_bridge.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace eventhooks::python {
namespace {

// Dispatcher::fire refused the event (queue full under `reject`, outbox error, stopped): Python's FireError.
class FireRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// logging.getLogger("EventHooks"), referenced once and never released: it is used until the interpreter
// stops, and a release at C++ exit would run after the interpreter is gone.
py::handle g_py_logger;
int g_synced_python_level = -1;  // read and written with the GIL held

// The C++ logger's level follows the Python logger's effective level, so that lines nobody would see are
// not even formatted.
void sync_log_level() {
  if (log_queue().closed()) return;
  const int level = g_py_logger.attr("getEffectiveLevel")().cast<int>();
  if (level == g_synced_python_level) return;
  g_synced_python_level = level;
  eventhooks::logger()->set_level(static_cast<spdlog::level::level_enum>(spdlog_level_for(level)));
}

void emit(const std::vector<LogLine>& lines) {
  if (lines.empty()) return;
  py::object log = g_py_logger.attr("log");
  for (const auto& line : lines) log(line.level, "%s", line.text);
}

const HookRegistry& registry() {
  static const HookRegistry builtins = HookRegistry::with_builtins();
  return builtins;
}

using Arguments = std::initializer_list<std::pair<const char*, py::handle>>;

// A hook of `type` from a constructor's arguments: the named ones first, then the keyword options, each under
// its config key; None means "not given" (the library's default applies). The registry checks every key and
// value as it does a config file's, so a mistake is a ConfigError (ValueError) naming the key.
template <typename T>
std::shared_ptr<T> build_hook(const char* type, const std::string& name, Arguments arguments,
                              const py::kwargs& options) {
  nlohmann::json config = nlohmann::json::object();
  for (const auto& [key, value] : arguments) {
    if (!value.is_none()) config[key] = to_json(value);
  }
  for (auto item : options) {
    const auto key = item.first.cast<std::string>();
    if (key == "type") throw py::type_error(std::string(type) + "() takes no 'type' argument");
    if (config.contains(key))
      throw py::type_error(std::string(type) + "() got multiple values for '" + key + "'");
    if (!item.second.is_none()) config[key] = to_json(item.second);
  }
  config["type"] = type;
  return std::dynamic_pointer_cast<T>(registry().build(name, config));  // the type's builder makes a T
}

// The trigger of every hook: data converted with the GIL, the delivery without it, the log lines it made
// emitted on the caller's thread before returning (so a handler sees them in order with the caller's own).
Outcome run_trigger(Hook& hook, py::handle data, std::optional<std::string> realm) {
  sync_log_level();
  Payload payload = to_payload(data);
  Outcome outcome;
  {
    GilRelease release;
    outcome = hook.trigger(std::move(payload), std::move(realm));
  }
  emit(log_queue().take());
  return outcome;
}

// `hook.email`: the Python library's email settings object; `subject` may be changed after construction.
struct EmailSettings {
  HookPtr hook;

  template <typename F>
  auto visit(F&& f) const {
    if (auto* smtp = dynamic_cast<SimpleEmailHook*>(hook.get())) return f(*smtp);
    return f(dynamic_cast<AwsSesEmailHook&>(*hook));
  }
  template <typename F>
  auto content(F&& f) const {
    if (auto* smtp = dynamic_cast<SimpleEmailHook*>(hook.get())) return f(smtp->options().email);
    return f(dynamic_cast<AwsSesEmailHook&>(*hook).options().email);
  }
};

std::chrono::milliseconds to_ms(double seconds) {
  if (!(seconds >= 0)) throw py::value_error("timeout must be a number of seconds >= 0");
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

OverflowPolicy overflow_from(const std::string& name) {
  if (name == "block") return OverflowPolicy::block;
  if (name == "reject") return OverflowPolicy::reject;
  if (name == "drop_oldest") return OverflowPolicy::drop_oldest;
  throw ConfigError("Dispatcher", "overflow", "must be \"block\", \"reject\" or \"drop_oldest\"");
}

std::unique_ptr<Dispatcher> make_dispatcher(py::handle hooks, std::size_t workers, std::size_t max_in_flight,
                                            py::handle outbox, std::size_t queue_capacity,
                                            const std::string& overflow) {
  std::vector<HookEntry> entries;
  std::optional<std::string> outbox_path;
  std::optional<OutboxConfig> rabbitmq;  // a config's RabbitMQ outbox (docs/scale-out.md)
  if (py::isinstance<Config>(hooks)) {
    const auto& config = hooks.cast<const Config&>();
    entries = config.hooks;
    if (config.outbox && config.outbox->rabbitmq()) {
      rabbitmq = config.outbox;
    } else if (config.outbox) {
      outbox_path = config.outbox->path;
    }
  } else if (!hooks.is_none()) {
    for (auto item : hooks) {
      HookEntry entry;  // the default retry policy
      entry.hook = item.cast<HookPtr>();
      entries.push_back(std::move(entry));
    }
  }
  if (!outbox.is_none()) {
    outbox_path = outbox.cast<std::string>();
    rabbitmq.reset();
  }

  DispatcherOptions options;
  options.workers = workers;
  options.max_in_flight = max_in_flight;
  options.queue_capacity = queue_capacity;
  options.overflow = overflow_from(overflow);
  if (rabbitmq) {
    GilRelease connecting;
    auto opened = open_rabbitmq_outbox({.urls = rabbitmq->urls,
                                        .queue = rabbitmq->queue,
                                        .tls = rabbitmq->tls,
                                        .delivery_limit = rabbitmq->delivery_limit});
    if (!opened) throw std::runtime_error(opened.error().to_string());
    options.outbox = std::move(opened).value();
  } else if (outbox_path) {
    auto opened = open_sqlite_outbox({.path = *outbox_path});
    if (!opened) throw std::runtime_error(opened.error().to_string());
    options.outbox = std::move(opened).value();
  }
  GilRelease release;  // starting the threads takes no Python
  return std::make_unique<Dispatcher>(entries, std::move(options));
}

void bind_results(py::module_& m) {
  py::class_<Error>(m, "Error", "Why a delivery failed: a value, as the C++ library returns it.")
      .def_property_readonly("code", [](const Error& e) { return std::string(to_string(e.code)); })
      .def_readonly("message", &Error::message)
      .def_readonly("retryable", &Error::retryable)
      .def_readonly("status", &Error::status)
      .def_property_readonly("retry_after",
                             [](const Error& e) -> std::optional<double> {
                               if (!e.retry_after) return std::nullopt;
                               return static_cast<double>(e.retry_after->count());
                             })
      .def("__str__", &Error::to_string)
      .def("__repr__", [](const Error& e) { return "<Error " + e.to_string() + ">"; });

  py::class_<Receipt>(m, "Receipt", "What the server answered when it took the message.")
      .def_readonly("status", &Receipt::status)
      .def_readonly("id", &Receipt::id)
      .def_readonly("detail", &Receipt::detail)
      .def("__repr__", [](const Receipt& r) { return "<Receipt " + r.detail + ">"; });

  py::class_<Outcome>(m, "Outcome", "What one trigger of one hook did: delivered, skipped or failed.")
      .def_property_readonly("kind", [](const Outcome& o) { return std::string(o.kind_name()); })
      .def_property_readonly("delivered", &Outcome::delivered)
      .def_property_readonly("skipped", &Outcome::skipped)
      .def_property_readonly("failed", &Outcome::failed)
      .def_readonly("hook", &Outcome::hook)
      .def_readonly("event_id", &Outcome::event_id)
      .def_property_readonly("receipt",
                             [](const Outcome& o) -> std::optional<Receipt> {
                               if (!o.delivered()) return std::nullopt;
                               return o.receipt;
                             })
      .def_readonly("reason", &Outcome::reason)
      .def_readonly("error", &Outcome::error)
      .def_property_readonly("elapsed",
                             [](const Outcome& o) { return static_cast<double>(o.elapsed.count()) / 1e6; })
      .def_property_readonly("detail", &Outcome::detail)
      .def("__repr__", [](const Outcome& o) {
        return std::string("<Outcome ") + o.kind_name() + " hook='" + o.hook + "': " + o.detail() + ">";
      });
}

void bind_hooks(py::module_& m) {
  py::class_<Hook, HookPtr>(m, "Hook", "The base of every hook type. Safe to trigger from many threads.")
      .def_property_readonly("name", &Hook::name)
      .def_property_readonly("realms", [](const Hook& h) { return h.realms().names(); })
      .def_property_readonly("enabled", &Hook::enabled)
      .def_property_readonly("type", [](const Hook& h) { return std::string(h.type()); })
      .def("describe", &Hook::describe)
      .def("__repr__", [](const Hook& h) { return "<" + h.describe() + ">"; })
      .def(
          "trigger",
          [](Hook& hook, py::handle data, std::optional<std::string> realm) {
            (void)run_trigger(hook, data, std::move(realm));
          },
          "data"_a = py::none(), "realm"_a = py::none(),
          "Fires the hook (if the realm allows it) and returns None, as the Python eventhooks library does;\n"
          "a failure is logged to the 'EventHooks' logger. trigger_outcome() returns what happened.")
      .def("trigger_outcome", &run_trigger, "data"_a = py::none(), "realm"_a = py::none(),
           "Like trigger(), but returns the Outcome (delivered, skipped or failed, with the reason).");

  py::class_<WebHook, Hook, std::shared_ptr<WebHook>>(m, "WebHook", "POSTs the data as JSON to a URL.")
      .def(
          py::init([](const std::string& name, py::handle url, py::handle realms, const py::kwargs& options) {
            return build_hook<WebHook>("WebHook", name, {{"url", url}, {"realms", realms}}, options);
          }),
          "name"_a, "url"_a = py::none(), "realms"_a = py::none())
      .def_property_readonly("url", [](const WebHook& h) { return h.options().url; });

  py::class_<MattermostWebHook, Hook, std::shared_ptr<MattermostWebHook>>(
      m, "MattermostWebHook", "POSTs {\"text\": data} to <host>/hooks/<token>.")
      .def(py::init([](const std::string& name, py::handle host, py::handle token, py::handle realms,
                       const py::kwargs& options) {
             return build_hook<MattermostWebHook>(
                 "MattermostWebHook", name, {{"host", host}, {"token", token}, {"realms", realms}}, options);
           }),
           "name"_a, "host"_a = py::none(), "token"_a = py::none(), "realms"_a = py::none());

  py::class_<DockerCloudWebHook, Hook, std::shared_ptr<DockerCloudWebHook>>(
      m, "DockerCloudWebHook", "Triggers a Docker Hub build; the data is ignored.")
      .def(py::init([](const std::string& name, py::handle source_branch, py::handle source_type,
                       py::handle source, py::handle trigger, py::handle realms, const py::kwargs& options) {
             return build_hook<DockerCloudWebHook>("DockerCloudWebHook", name,
                                                   {{"source_branch", source_branch},
                                                    {"source_type", source_type},
                                                    {"source", source},
                                                    {"trigger", trigger},
                                                    {"realms", realms}},
                                                   options);
           }),
           "name"_a, "source_branch"_a = py::none(), "source_type"_a = py::none(), "source"_a = py::none(),
           "trigger"_a = py::none(), "realms"_a = py::none());

  py::class_<EmailSettings>(m, "EmailSettings", "hook.email: the message settings of an email hook.")
      .def_property(
          "subject", [](const EmailSettings& e) { return e.visit([](auto& h) { return h.subject(); }); },
          [](const EmailSettings& e, std::string subject) {
            e.visit([&](auto& h) { h.set_subject(std::move(subject)); });
          })
      .def_property_readonly(
          "sender", [](const EmailSettings& e) { return e.content([](auto& c) { return c.sender; }); })
      .def_property_readonly(
          "sender_name",
          [](const EmailSettings& e) { return e.content([](auto& c) { return c.sender_name; }); })
      .def_property_readonly("recipients", [](const EmailSettings& e) {
        return e.content([](auto& c) { return c.recipients; });
      });

  py::class_<SimpleEmailHook, Hook, std::shared_ptr<SimpleEmailHook>>(m, "SimpleEmailHook",
                                                                      "Sends the data as an email over SMTP.")
      .def(py::init([](const std::string& name, py::handle host, py::handle port, py::handle credentials,
                       py::handle sender, py::handle sender_name, py::handle recipients, py::handle tls,
                       py::handle realms, const py::kwargs& options) {
             return build_hook<SimpleEmailHook>("SimpleEmailHook", name,
                                                {{"host", host},
                                                 {"port", port},
                                                 {"credentials", credentials},
                                                 {"sender", sender},
                                                 {"sender_name", sender_name},
                                                 {"recipients", recipients},
                                                 {"tls", tls},
                                                 {"realms", realms}},
                                                options);
           }),
           "name"_a, "host"_a = py::none(), "port"_a = py::none(), "credentials"_a = py::none(),
           "sender"_a = py::none(), "sender_name"_a = py::none(), "recipients"_a = py::none(), "tls"_a = true,
           "realms"_a = py::none())
      .def_property_readonly("email",
                             [](const std::shared_ptr<SimpleEmailHook>& h) { return EmailSettings{h}; });

  py::class_<AwsSesEmailHook, Hook, std::shared_ptr<AwsSesEmailHook>>(
      m, "AwsSesEmailHook", "Sends the data as an email through SES.")
      .def(py::init([](const std::string& name, py::handle sender, py::handle sender_name,
                       py::handle recipients, py::handle region, py::handle realms,
                       const py::kwargs& options) {
             return build_hook<AwsSesEmailHook>("AwsSesEmailHook", name,
                                                {{"sender", sender},
                                                 {"sender_name", sender_name},
                                                 {"recipients", recipients},
                                                 {"region", region},
                                                 {"realms", realms}},
                                                options);
           }),
           "name"_a, "sender"_a = py::none(), "sender_name"_a = py::none(), "recipients"_a = py::none(),
           "region"_a = py::none(), "realms"_a = py::none())
      .def_property_readonly("email",
                             [](const std::shared_ptr<AwsSesEmailHook>& h) { return EmailSettings{h}; })
      .def_property_readonly("region", &AwsSesEmailHook::region);

  py::class_<RabbitMqHook, Hook, std::shared_ptr<RabbitMqHook>>(m, "RabbitMqHook",
                                                                "Publishes the data to a RabbitMQ exchange.")
      .def(py::init([](const std::string& name, py::handle host, py::handle vhost, py::handle exchange,
                       py::handle routing_key, py::handle user, py::handle password, py::handle realms,
                       const py::kwargs& options) {
             return build_hook<RabbitMqHook>("RabbitMqHook", name,
                                             {{"host", host},
                                              {"vhost", vhost},
                                              {"exchange", exchange},
                                              {"routing_key", routing_key},
                                              {"user", user},
                                              {"password", password},
                                              {"realms", realms}},
                                             options);
           }),
           "name"_a, "host"_a = py::none(), "vhost"_a = py::none(), "exchange"_a = py::none(),
           "routing_key"_a = py::none(), "user"_a = py::none(), "password"_a = py::none(),
           "realms"_a = py::none())
      .def_property_readonly("host", [](const RabbitMqHook& h) { return h.endpoint().host; })
      .def_property_readonly("port", [](const RabbitMqHook& h) { return h.endpoint().effective_port(); })
      .def_property_readonly("vhost", [](const RabbitMqHook& h) { return h.endpoint().vhost; })
      .def_property_readonly("user", [](const RabbitMqHook& h) { return h.endpoint().user; })
      .def_property_readonly("exchange", [](const RabbitMqHook& h) { return h.options().exchange; })
      .def_property_readonly("routing_key", [](const RabbitMqHook& h) { return h.options().routing_key; });

  py::class_<FileHook, Hook, std::shared_ptr<FileHook>>(m, "FileHook",
                                                        "Appends one JSON line per event to a file.")
      .def(py::init(
               [](const std::string& name, py::handle path, py::handle realms, const py::kwargs& options) {
                 return build_hook<FileHook>("FileHook", name, {{"path", path}, {"realms", realms}}, options);
               }),
           "name"_a, "path"_a = py::none(), "realms"_a = py::none());

  m.def(
      "eventhook_factory",
      [](const std::string& name, py::handle config) { return registry().build(name, to_json(config)); },
      "name"_a, "config"_a,
      "A hook from its dict ({'type': 'WebHook', 'url': ...}), as in a config file. Raises ConfigError\n"
      "(a ValueError) for an unknown type or key, or a bad value.");
}

void bind_delivery(py::module_& m) {
  py::class_<Config>(m, "Config", "A loaded config file: its hooks, in file order.")
      .def_readonly("source", &Config::source)
      .def_property_readonly("hooks",
                             [](const Config& c) {
                               std::vector<HookPtr> hooks;
                               for (const auto& entry : c.hooks) hooks.push_back(entry.hook);
                               return hooks;
                             })
      .def_property_readonly("outbox_path",
                             [](const Config& c) -> std::optional<std::string> {
                               if (!c.outbox) return std::nullopt;
                               return c.outbox->path;
                             })
      .def("find", &Config::find, "name"_a, "The hook of that name, or None.")
      .def("__len__", [](const Config& c) { return c.hooks.size(); })
      .def("__repr__", [](const Config& c) {
        return "<Config '" + c.source + "': " + std::to_string(c.hooks.size()) + " hook(s)>";
      });

  m.def(
      "load_config",
      [](const std::string& path) {
        GilRelease release;  // reads a file
        return load_config(path);
      },
      "path"_a,
      "Loads a YAML or JSON config file. Raises ConfigError (a ValueError) naming file, line and key.");
  m.def(
      "parse_config",
      [](const std::string& text, const std::string& source) { return parse_config(text, source); }, "text"_a,
      "source"_a = "<string>", "The same as load_config() from text.");

  py::class_<Dispatcher>(m, "Dispatcher",
                         "Fires events at every matching hook on worker threads, with retries and an outbox.")
      .def(py::init(&make_dispatcher), "hooks"_a = py::none(), py::kw_only(), "workers"_a = 4,
           "max_in_flight"_a = 256, "outbox"_a = py::none(), "queue_capacity"_a = 100'000,
           "overflow"_a = "block")
      .def(
          "fire",
          [](Dispatcher& d, py::handle data, std::optional<std::string> realm, std::string name) {
            sync_log_level();
            Payload payload = to_payload(data);
            std::optional<Result<std::string>> fired;
            {
              GilRelease release;  // may wait for room in the queue (overflow="block")
              fired.emplace(d.fire(std::move(payload), std::move(realm), std::move(name)));
            }
            emit(log_queue().take());
            if (!*fired) throw FireRefused(fired->error().to_string());
            return std::move(*fired).value();
          },
          "data"_a = py::none(), "realm"_a = py::none(), "name"_a = "event",
          "Queues the event for every hook its realm selects; returns the event id at once.")
      .def(
          "add_hook", [](Dispatcher& d, HookPtr hook) { d.add_hook(std::move(hook)); }, "hook"_a)
      .def("hook_names", &Dispatcher::hook_names)
      .def(
          "flush",
          [](Dispatcher& d, double timeout) {
            GilRelease release;
            return d.flush(to_ms(timeout));
          },
          "timeout"_a = 30.0, "Waits until every queued delivery is settled; False on timeout.")
      .def(
          "wait_idle",
          [](Dispatcher& d, double timeout) {
            GilRelease release;
            return d.wait_idle(to_ms(timeout));
          },
          "timeout"_a = 30.0)
      .def("shutdown", &Dispatcher::shutdown, py::call_guard<GilRelease>())
      .def("metrics", [](const Dispatcher& d) { return metrics_to_dict(d.metrics()); })
      .def("metrics_text", [](const Dispatcher& d) { return render_prometheus(d.metrics()); })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Dispatcher& d, py::args) {
        GilRelease release;
        d.flush(std::chrono::seconds(30));
        d.shutdown();
      });
}

}  // namespace
}  // namespace eventhooks::python

PYBIND11_MODULE(_eventhooks, m) {
  namespace ep = eventhooks::python;
  m.doc() = "The eventhooks C++ library for Python; import it as `eventhooks`.";
  m.attr("__version__") = EVENTHOOKS_VERSION;

  py::register_exception<eventhooks::ConfigError>(m, "ConfigError", PyExc_ValueError);
  py::register_exception<ep::FireRefused>(m, "FireError", PyExc_RuntimeError);

  ep::install_exit_guard();
  ep::g_py_logger = py::module_::import("logging").attr("getLogger")("EventHooks").release();
  ep::install_log_sink();

  ep::bind_results(m);
  ep::bind_hooks(m);
  ep::bind_delivery(m);

  // The log pump: python/eventhooks/_logbridge.py runs it on a daemon thread and closes it at exit.
  m.def("_pump_logs", [](double timeout) {
    std::vector<ep::LogLine> lines;
    {
      ep::GilRelease release;
      lines = ep::log_queue().wait(ep::to_ms(timeout));
    }
    ep::sync_log_level();
    ep::emit(lines);
    return !ep::log_queue().closed();
  });
  m.def("_sync_log_level", &ep::sync_log_level);
  m.def("_close_logs", [] {
    ep::log_queue().close();
    ep::emit(ep::log_queue().take());
  });
}
