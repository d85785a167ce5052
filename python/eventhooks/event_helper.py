"""The Python eventhooks library's factory module: `event_helper.eventhook_factory("name", {"type": ...})`.

Unlike the Python eventhooks library, an unknown type or key raises ConfigError (a ValueError) instead of
returning None or being ignored (docs/python.md, "Differences on purpose").
"""
from eventhooks._eventhooks import eventhook_factory  # noqa: F401
