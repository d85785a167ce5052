"""The Python eventhooks library's email package: `from eventhooks.mail import simple, aws_ses` keeps working."""
