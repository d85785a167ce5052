#!/usr/bin/python3
"""Test SMTP server for eventhooks' integration tests (Debian's python3-aiosmtpd).

One process, four listeners on loopback:
  plain      no TLS, no AUTH (port 25 style)
  starttls   STARTTLS required before anything else, AUTH required
  implicit   TLS from the first byte (smtps), AUTH required
  nostarttls does not offer STARTTLS at all (clients that require TLS must refuse to send)

Every accepted message is written to SPOOL/<listener>/<n>.eml (the bytes received after DATA) and
SPOOL/<listener>/<n>.json (envelope, peer, login, TLS, per-connection sequence number). Tests read them.

Scripted refusals, for the error-path tests:
  RCPT TO <tempfail...@...>   -> 451 4.3.0   (temporary)
  RCPT TO <reject...@...>     -> 550 5.1.1   (permanent)
  MAIL FROM <datafail...@...> -> 554 5.6.0 after DATA
"""
import argparse
import asyncio
import json
import os
import ssl
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, spool, name):
        self.dir = os.path.join(spool, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.lock = threading.Lock()
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("tempfail"):
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if envelope.mail_from.split("@", 1)[0].lower().startswith("datafail"):
            return "554 5.6.0 Message refused by policy"
        session.messages = getattr(session, "messages", 0) + 1
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.dir, "%06d" % n)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".eml.tmp", base + ".eml")
        meta = {
            "listener": self.name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "peer": list(session.peer[:2]) if session.peer else None,
            "login": session.auth_data if isinstance(session.auth_data, str) else None,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "session_message": session.messages,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as %s-%06d" % (self.name, n)


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            if auth_data.login.decode() == user and auth_data.password.decode() == password:
                return AuthResult(success=True, auth_data=auth_data.login.decode())
        return AuthResult(success=False, handled=False)
    return authenticator


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spool", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    for name in ("plain", "starttls", "implicit", "nostarttls"):
        p.add_argument("--" + name, type=int, required=True)
    a = p.parse_args()
    with open(a.password_file) as f:
        password = f.read().strip("\n")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(a.cert, a.key)
    auth = make_authenticator(a.user, password)
    loop = asyncio.get_running_loop()
    listeners = {
        "plain": (dict(), None),
        "starttls": (dict(tls_context=tls, require_starttls=True, auth_required=True, authenticator=auth), None),
        "implicit": (dict(auth_required=True, auth_require_tls=False, authenticator=auth), tls),
        "nostarttls": (dict(auth_required=True, auth_require_tls=False, authenticator=auth), None),
    }
    servers = []
    for name, (kwargs, server_ssl) in listeners.items():
        handler = Recorder(a.spool, name)
        port = getattr(a, name)
        factory = (lambda h=handler, k=kwargs: SMTP(h, hostname="eventhooks-test", timeout=30, **k))
        servers.append(await loop.create_server(factory, host="127.0.0.1", port=port, ssl=server_ssl))
    print("smtp test server listening", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
