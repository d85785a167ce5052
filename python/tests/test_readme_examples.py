"""Every code example of the Python eventhooks library's README, as written there, against real servers.

What had to change, and nothing else: server addresses (hosts, ports, URLs, credentials, test CA) point at the
local test servers; placeholders (`<token>`, `<source>`, `...`) got values; the factory example's syntax error
(`"sender" mail@company.com,`) is fixed. Where the C++ core differs on purpose (docs/python.md), the example is
run as written and the difference asserted, then run the way that works.
"""
import json
import logging
import sys

import pytest

from conftest import body_text


def test_webhook_example(sink):
    from eventhooks.eventhooks import WebHook

    # As written: name="" is refused (the C++ core requires a name; docs/python.md).
    with pytest.raises(ValueError, match="needs a name"):
        hit_alarm_endpoint = WebHook(
            name="",
            url=f"{sink.url}/alarm",
        )
    hit_alarm_endpoint = WebHook(
        name="hit_alarm",
        url=f"{sink.url}/alarm",
    )
    # In case of some event:
    threshold = 80
    hit_alarm_endpoint.trigger(data={"event": hit_alarm_endpoint.name, "message": f"Reached '{80}'.", "area": "outside"})

    [request] = sink.received()
    assert request["path"] == "/alarm"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {"event": "hit_alarm", "message": "Reached '80'.", "area": "outside"}
    assert threshold == 80


def test_mattermost_example(sink):
    from eventhooks.eventhooks import MattermostWebHook
    inform_about_job_status = MattermostWebHook(
        name="job_A_last_step",
        host=sink.url,
        token="xq9dnbq3bpd5mrwzs8o7ckm1ny",
    )
    # In case of some event:
    job_finished = True
    inform_about_job_status.trigger(data={"event": inform_about_job_status.name, "message": f"Job completed: '{job_finished}'."})

    [request] = sink.received()
    assert request["path"] == "/hooks/xq9dnbq3bpd5mrwzs8o7ckm1ny"
    text = json.loads(request["body"])["text"]
    assert json.loads(text) == {"event": "job_A_last_step", "message": "Job completed: 'True'."}
    assert text.startswith('{\n  "event"')  # the data as JSON indented by 2


def test_dockercloud_example(sink):
    from eventhooks.eventhooks import DockerCloudWebHook
    dockercloud_trigger = DockerCloudWebHook(
        name="dockercloud_event",
        source_branch="master",
        source_type="Branch",
        source="5ac1c4d8-src",
        trigger="9f3e7b21-trg",
        base_url=sink.url,
    )
    # In case of some event:
    found_new_tag = True
    if found_new_tag:
        dockercloud_trigger.trigger()

    [request] = sink.received()
    assert request["path"] == "/api/build/v1/source/5ac1c4d8-src/trigger/9f3e7b21-trg/call/"
    assert json.loads(request["body"]) == {"source_type": "Branch", "source_name": "master"}


def test_simple_email_without_tls_example(smtp):
    from eventhooks.eventhooks import SimpleEmailHook
    failed_service_mail = SimpleEmailHook(
        name="failed_service_checker",
        host=smtp.host,
        port=smtp.plain_port,
        sender="someone@somwhere.com",
        sender_name="someone",
        recipients="mew@xyz.com, you@xyz.com",
        tls=False,
    )
    # In case of some event:
    # The event name ('failed_service_mail.name') will be used as email subject.
    failed_services = ["mongodb.service", "nginx.service", "cron.service"]
    email_body = {
        "name": failed_service_mail.name,
        "failed_services": failed_services,
    }

    failed_service_mail.trigger(data=email_body)
    # or simply
    failed_service_mail.trigger(data=",".join(failed_services))

    first, second = smtp.new_messages("plain")
    for message in (first, second):
        assert message["Subject"] == "failed_service_checker"
        assert message["From"] == "someone <someone@somwhere.com>"
        assert message["To"] == "mew@xyz.com, you@xyz.com"
        assert message.envelope["rcpt_tos"] == ["mew@xyz.com", "you@xyz.com"]
    assert body_text(first) == json.dumps(email_body, indent=2)
    assert body_text(second) == "mongodb.service,nginx.service,cron.service"


def test_simple_email_with_tls_example(smtp):
    from eventhooks.eventhooks import SimpleEmailHook
    simple_email_trigger = SimpleEmailHook(
        name="aws_simple_email_event",
        host=smtp.host,
        port=smtp.starttls_port,
        credentials=f"{smtp.user}:{smtp.password}",
        sender="someone@somwhere.com",
        sender_name="someone",
        recipients=["mew@xyz.com", "you@xyz.com"],
        ca_file=smtp.ca_file,  # TLS is verified (docs/python.md); the test server's CA
    )
    # Set the email's subject.
    simple_email_trigger.email.subject = "Something else."

    outcome = simple_email_trigger.trigger_outcome(data="Found new tag for repo <some_github_repo>.")
    assert outcome.delivered, outcome.detail
    [message] = smtp.new_messages("starttls")
    assert message["Subject"] == "Something else."
    assert message.envelope["tls"] is True
    assert message.envelope["login"] == smtp.user
    assert body_text(message) == "Found new tag for repo <some_github_repo>."


def test_aws_ses_example(ses):
    before = {m["messageId"] for m in ses()}
    from eventhooks.eventhooks import AwsSesEmailHook
    aws_ses_email_trigger = AwsSesEmailHook(
        name="aws_ses_email_event",
        sender="someone@somwhere.com",
        sender_name="someone",
        recipients=["me@peer.xyz"],
    )
    assert aws_ses_email_trigger.email.subject == "aws_ses_email_event"
    # Set the email's subject.
    aws_ses_email_trigger.email.subject = "Something else."
    # Email body: a str as is, a dict as indented JSON.
    event = aws_ses_email_trigger
    event.trigger(data={"error": "Weird error.", "cause": "Human factor."})

    [mail] = [m for m in ses() if m["messageId"] not in before]
    assert mail["subject"] == "Something else."
    assert mail["from"] == "someone <someone@somwhere.com>"
    assert mail["destination"]["to"] == ["me@peer.xyz"]
    assert mail["body"]["text"] == json.dumps({"error": "Weird error.", "cause": "Human factor."}, indent=2)


def test_rabbitmq_example(broker):
    # The README's exchange, set up as its users' brokers have it: a topic exchange with a queue bound to it.
    broker.bind_topic("amqp.topic", "readme_failed_services", "company.*.failed_services.#")
    from eventhooks.eventhooks import RabbitMqHook
    rabbitmq_trigger = RabbitMqHook(
        name="failed_services_event",
        host=broker.host,
        port=broker.port,
        user=broker.user,
        password=broker.password,
        exchange="amqp.topic",
        routing_key='company.dep2.failed_services.serverA',
    )
    assert (rabbitmq_trigger.host, rabbitmq_trigger.vhost, rabbitmq_trigger.exchange) == (
        broker.host, "/", "amqp.topic")
    assert rabbitmq_trigger.routing_key == "company.dep2.failed_services.serverA"
    rabbitmq_trigger.trigger(data="mongodb.service")
    assert broker.get("readme_failed_services") == "mongodb.service"


def realm_hooks(sink, smtp, with_realms):
    from eventhooks.eventhooks import DockerCloudWebHook
    from eventhooks.eventhooks import SimpleEmailHook

    master = {"realms": ["GITHUB_MASTER"]} if with_realms else {}
    tag = {"realms": ["GITHUB_TAG"]} if with_realms else {}
    latest_build = DockerCloudWebHook(
        name="latest_build", source="latest-src", trigger="latest-trg", base_url=sink.url,
        **master,
    )
    tag_build = DockerCloudWebHook(
        name="tag_build", source="tag-src", trigger="tag-trg", base_url=sink.url,
        **tag,
    )
    email_team = SimpleEmailHook(
        name="email_team", host=smtp.host, port=smtp.plain_port, sender="ci@company.com", tls=False,
        recipients=["developers@company.com", "head_of_devs@company.com"],
        **tag,
    )
    return [latest_build, tag_build, email_team]


def test_realms_example_without_realms_fires_every_event(sink, smtp):
    events = realm_hooks(sink, smtp, with_realms=False)

    # Loop over the list of events.
    def trigger_events(data: str=""):
        for event in events:
            event.trigger(data=data)

    trigger_events(data={"msg": "Push to master found."})

    assert sorted(r["path"].split("/")[5] for r in sink.received()) == ["latest-src", "tag-src"]
    assert len(smtp.new_messages("plain")) == 1


def test_realms_example_with_realms_fires_only_the_matching_events(sink, smtp):
    events = realm_hooks(sink, smtp, with_realms=True)

    # Loop over the list of events and pass realms.
    def trigger_events(data: str="", realm=None):
        for event in events:
            event.trigger(data=data, realm=realm)


    trigger_events(data={"msg": "Push to master found."}, realm="GITHUB_MASTER")

    [request] = sink.received()
    assert request["path"].startswith("/api/build/v1/source/latest-src/")
    assert smtp.new_messages("plain") == []


def test_factory_example(smtp, monkeypatch):
    from eventhooks import event_helper

    event_config = {
        "type": "SimpleEmailHook",
        "sender": "mail@company.com",
        "sender_name": "maintenance",
        "recipients": ["devs@company.com"],
        "realms": ["log_contains_key"],
    }

    # As written (TLS by default, no credentials) the C++ core refuses it at once (docs/python.md).
    with pytest.raises(ValueError, match="credentials"):
        event = event_helper.eventhook_factory("event_name", event_config)

    monkeypatch.setenv("EVENT_MAIL_HOST", smtp.host)
    monkeypatch.setenv("EVENT_MAIL_PORT", str(smtp.plain_port))
    event = event_helper.eventhook_factory("event_name", {**event_config, "tls": False})
    assert type(event).__name__ == "SimpleEmailHook"
    assert event.realms == ["log_contains_key"]
    event.trigger(data="no realm given: not sent")
    event.trigger(data="key found", realm="log_contains_key")
    [message] = smtp.new_messages("plain")
    assert message["Subject"] == "event_name"
    assert body_text(message) == "key found"


def test_logging_example(sink, capsys):
    import logging
    import sys

    import eventhooks.eventhooks
    from eventhooks.mail import aws_ses
    from eventhooks.mail import simple


    # Your app logger.
    logger = logging.getLogger("TestApp")
    logger.setLevel(logging.DEBUG)
    # A 'StreamHandler' printing to the terminal.
    ch = logging.StreamHandler(sys.stdout)
    ch.setFormatter(logging.Formatter("%(asctime)a - %(name)s [%(levelname)s] [%(lineno)s]: %(message)s"))
    ch.setLevel(logging.DEBUG)
    logger.addHandler(ch)
    logger.propagate = False
    # The 'eventhooks' logger.
    logger_ = logging.getLogger("EventHooks")
    logger_.addHandler(ch)
    logger_.propagate = False

    try:
        hook = eventhooks.eventhooks.WebHook(name="log_example", url=f"{sink.url}/status/503")
        hook.trigger(data="x")
        assert simple.SimpleEmailHook is eventhooks.eventhooks.SimpleEmailHook
        assert aws_ses.AwsSesEmailHook is eventhooks.eventhooks.AwsSesEmailHook
    finally:
        logger_.removeHandler(ch)
        logger_.propagate = True
        logger.removeHandler(ch)
    out = capsys.readouterr().out
    assert " - EventHooks [WARNING] " in out
    assert "WebHook 'log_example' failed event" in out
    assert "503" in out
