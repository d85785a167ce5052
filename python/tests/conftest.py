"""Fixtures for the Python module's tests: the real servers scripts/test-servers.sh starts (their addresses come
from build/test-servers/env.sh, sourced before pytest runs) and an in-process HTTP sink. A server that is not
there fails the test; nothing is skipped."""
import email
import email.policy
import glob
import http.server
import json
import logging
import os
import subprocess
import threading
import time
import urllib.request

import pytest


def env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: start the test servers (scripts/test-servers.sh start) and source "
                    "build/test-servers/env.sh", pytrace=False)
    return value


class Sink:
    """An HTTP server on a free loopback port that records every request. POST /status/<code> answers <code>;
    POST /barrier/<n> answers 200 only once n requests are inside the handler at the same time."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.barriers = {}
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with sink.lock:
                    sink.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                          "body": body})
                status = 200
                parts = self.path.strip("/").split("/")
                if parts[0] == "status":
                    status = int(parts[1])
                elif parts[0] == "barrier":
                    try:
                        sink.barrier(int(parts[1])).wait(timeout=20)
                    except threading.BrokenBarrierError:
                        status = 500
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def barrier(self, parties):
        with self.lock:
            return self.barriers.setdefault(parties, threading.Barrier(parties))

    def received(self):
        with self.lock:
            return list(self.requests)

    def json_bodies(self):
        return [json.loads(r["body"]) for r in self.received()]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


class SmtpServer:
    """The aiosmtpd test server (scripts/servers/smtp_server.py): its listeners and what each received."""

    def __init__(self):
        self.host = env("EVENTHOOKS_SMTP_HOST")
        self.plain_port = int(env("EVENTHOOKS_SMTP_PLAIN_PORT"))
        self.starttls_port = int(env("EVENTHOOKS_SMTP_STARTTLS_PORT"))
        self.ca_file = env("EVENTHOOKS_SMTP_CA_FILE")
        self.user = env("EVENTHOOKS_SMTP_USER")
        with open(env("EVENTHOOKS_SMTP_PASSWORD_FILE")) as f:
            self.password = f.read().rstrip("\n")
        self.spool = env("EVENTHOOKS_SMTP_SPOOL")
        self.seen = {name: set(self._files(name)) for name in ("plain", "starttls")}

    def _files(self, listener):
        return sorted(glob.glob(os.path.join(self.spool, listener, "*.eml")))

    def new_messages(self, listener):
        """Messages received by `listener` since this fixture was made, oldest first, parsed."""
        out = []
        for path in self._files(listener):
            if path in self.seen[listener]:
                continue
            with open(path, "rb") as f:
                message = email.message_from_bytes(f.read(), policy=email.policy.default)
            with open(path[: -len(".eml")] + ".json") as f:
                message.envelope = json.load(f)
            out.append(message)
        return out


@pytest.fixture
def smtp():
    return SmtpServer()


def body_text(message):
    part = message.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n").rstrip("\n")


@pytest.fixture
def ses(monkeypatch):
    """The local SES (aws-ses-v2-local) as the AWS SDKs' environment points at it; returns its mail store."""
    url = env("EVENTHOOKS_SES_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)

    def store():
        with urllib.request.urlopen(url + "/store", timeout=10) as r:
            return json.load(r)["emails"]

    return store


class Broker:
    """The test RabbitMQ; messages are read back with amqp-get (Debian's amqp-tools)."""

    def __init__(self):
        self.host = env("EVENTHOOKS_AMQP_HOST")
        self.port = int(env("EVENTHOOKS_AMQP_PORT"))
        self.user = env("EVENTHOOKS_AMQP_USER")
        self.password = env("EVENTHOOKS_AMQP_PASSWORD")

    def _args(self):
        return [f"--server={self.host}", f"--port={self.port}", f"--username={self.user}",
                f"--password={self.password}"]

    def bind_topic(self, exchange, queue, binding_key):
        """Declares a durable topic exchange and a queue bound to it, as an application using the Python
        eventhooks library would have set up its broker (with pika, Debian's python3-pika)."""
        import pika
        params = pika.ConnectionParameters(host=self.host, port=self.port,
                                           credentials=pika.PlainCredentials(self.user, self.password))
        with pika.BlockingConnection(params) as connection:
            channel = connection.channel()
            channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
            channel.queue_declare(queue=queue, durable=True)
            channel.queue_purge(queue=queue)
            channel.queue_bind(queue=queue, exchange=exchange, routing_key=binding_key)

    def get(self, queue):
        """The next message's body in `queue`, or None when it is empty."""
        r = subprocess.run(["amqp-get", *self._args(), f"--queue={queue}"], capture_output=True, timeout=30)
        if r.returncode != 0:
            return None
        return r.stdout.decode()


@pytest.fixture
def broker():
    return Broker()


@pytest.fixture
def eventhooks_log(caplog):
    """Every record of the "EventHooks" logger, DEBUG and up."""
    caplog.set_level(logging.DEBUG, logger="EventHooks")
    return caplog


def wait_for(predicate, seconds=20):
    """Polls until predicate() is true (for work finishing on other threads); no timing is asserted."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
