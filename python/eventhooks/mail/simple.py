"""SMTP email, as in the Python eventhooks library's eventhooks.mail.simple."""
from eventhooks._eventhooks import EmailSettings, SimpleEmailHook  # noqa: F401
