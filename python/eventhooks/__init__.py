"""eventhooks: the eventhooks C++ library, importable like the Python eventhooks library.

    from eventhooks.eventhooks import WebHook            # the hook types, same arguments as before
    from eventhooks import event_helper                  # event_helper.eventhook_factory(name, dict)
    import eventhooks; eventhooks.load_config(path)      # config files and the Dispatcher (delivery engine)

The library's log lines go to logging.getLogger("EventHooks"). See docs/python.md.
"""
from eventhooks._eventhooks import (
    AwsSesEmailHook,
    Config,
    ConfigError,
    Dispatcher,
    DockerCloudWebHook,
    EmailSettings,
    Error,
    FileHook,
    FireError,
    Hook,
    MattermostWebHook,
    Outcome,
    RabbitMqHook,
    Receipt,
    SimpleEmailHook,
    WebHook,
    __version__,
    eventhook_factory,
    load_config,
    parse_config,
)
from eventhooks import _logbridge

_logbridge.start()

# The Python eventhooks library's modules, so that `from eventhooks import eventhooks, event_helper` works.
from eventhooks import event_helper, eventhooks  # noqa: E402

__all__ = [
    "AwsSesEmailHook",
    "Config",
    "ConfigError",
    "Dispatcher",
    "DockerCloudWebHook",
    "EmailSettings",
    "Error",
    "FileHook",
    "FireError",
    "Hook",
    "MattermostWebHook",
    "Outcome",
    "RabbitMqHook",
    "Receipt",
    "SimpleEmailHook",
    "WebHook",
    "event_helper",
    "eventhook_factory",
    "eventhooks",
    "load_config",
    "parse_config",
]
