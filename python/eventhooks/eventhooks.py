"""The hook types under the Python eventhooks library's module name: `from eventhooks.eventhooks import WebHook`."""
from eventhooks._eventhooks import (  # noqa: F401
    AwsSesEmailHook,
    DockerCloudWebHook,
    FileHook,
    Hook,
    MattermostWebHook,
    RabbitMqHook,
    SimpleEmailHook,
    WebHook,
)

# The Python eventhooks library's base class name.
EventHook = Hook
