#!/usr/bin/python3
"""Sends COUNT random requests (methods, paths, content types, bodies, keys, chunking, idempotency keys, made
from SEED) to `eventhooks serve` on 127.0.0.1:PORT, each on its own connection, and prints a JSON object:
{"statuses": {"202": n, ...}, "server_errors": ["what got a 5xx", ...], "unanswered": n}.
Usage: serve_random_requests.py PORT API_KEY SEED COUNT"""
import json
import random
import socket
import sys

port, key, seed, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
paths = ["/v1/events", "/v1/events/", "/v1/events/%FF", "/v1/events/%00x/retry", "/v1/events/" + "a" * 5000,
         "/healthz", "/readyz", "/metrics", "/v1/events/x/retry/", "//v1/events", "/v1/events?x=1", "*",
         "/v1/events/01938a4c-7f1a-7c3e-9d2b-5a6e4f3c2b1a", "/v1/events/01938a4c-7f1a-7c3e-9d2b-5a6e4f3c2b1a/retry"]
content_types = ["application/json", "text/plain", "text/plain; charset=latin1", "application/json; charset=utf-16",
                 "", "multipart/form-data; boundary=x", "text/plain;charset=", "APPLICATION/JSON",
                 "text/plain; charset=\"utf-8\""]
bodies = [b'{"data":1}', b'{"data":"\xff"}', b'\xff\xfe', b'{"data":1,"hooks":["sink"]}', b'{"data":1,"hooks":[1]}',
          b'{"data":{"a":[' * 500, b'{"name":"' + b"x" * 30000 + b'","data":1}', b'{"data":1,"realm":"nope"}',
          b'{"data":1,"realm":"ops"}', b"", b"null", b'{"data":"\\ud800"}', b'{"data":1e999}', b'{"data":-0}',
          b'{"data":"a\\u0000b"}', b'{"data":1,"hooks":[]}', b'{"data":1,"hooks":["nope"]}', "caf\u00e9".encode(),
          bytes(rng.getrandbits(8) for _ in range(200))]
statuses, server_errors, unanswered = {}, [], 0
for _ in range(count):
    method = rng.choice(["POST", "GET", "PUT", "DELETE", "HEAD", "OPTIONS", "POST", "POST"])
    # Half of them at the ingest route, where the parsing is.
    path = "/v1/events" if rng.random() < 0.5 else rng.choice(paths)
    content_type, body = rng.choice(content_types), rng.choice(bodies)
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    r = rng.random()
    if r < 0.7:
        head.append("Authorization: Bearer " + key)
    elif r < 0.8:
        head.append("Authorization: Bearer " + key + "x")
    elif r < 0.9:
        head.append("Authorization: bearer " + key)
    if content_type:
        head.append("Content-Type: " + content_type)
    if rng.random() < 0.3:
        head.append("Idempotency-Key: " + rng.choice(["k1", "k2", "\xe9", "x" * 300, ""]))
    if rng.random() < 0.2:
        head.append("Transfer-Encoding: chunked")
        payload = (b"%x\r\n" % len(body)) + body + b"\r\n0\r\n\r\n" if body else b"0\r\n\r\n"
    else:
        head.append("Content-Length: %d" % len(body))
        payload = body
    head.append("Connection: close")
    request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(request)
            while chunk := s.recv(65536):
                answer += chunk
        except OSError:
            pass
    if not answer.startswith(b"HTTP/1."):
        unanswered += 1
        continue
    status = answer[9:12].decode()
    statuses[status] = statuses.get(status, 0) + 1
    if status.startswith("5"):
        server_errors.append(f"{status} for {method} {path} ({content_type}): {body[:60]!r}")
print(json.dumps({"statuses": statuses, "server_errors": server_errors, "unanswered": unanswered}))
