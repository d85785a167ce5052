"""AWS SES email, as in the Python eventhooks library's eventhooks.mail.aws_ses."""
from eventhooks._eventhooks import AwsSesEmailHook, EmailSettings  # noqa: F401
