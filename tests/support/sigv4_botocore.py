#!/usr/bin/python3
"""Signs one request with botocore's SigV4Auth (Debian python3-botocore) and prints the Authorization header.

Input on stdin, JSON: method, url, headers ([[name, value], ...]), body, access_key, secret_key, token,
region, service, time (epoch seconds). Used by the unit tests to cross-check eventhooks' own signer.
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)
request = AWSRequest(method=spec["method"], url=spec["url"], data=spec["body"].encode("utf-8"))
for name, value in spec["headers"]:
    request.headers[name] = value
creds = Credentials(spec["access_key"], spec["secret_key"], spec.get("token") or None)
fixed = datetime.datetime.utcfromtimestamp(spec["time"])
with mock.patch("botocore.auth.datetime") as clock:
    clock.datetime.utcnow.return_value = fixed
    SigV4Auth(creds, spec["service"], spec["region"]).add_auth(request)
print(request.headers["Authorization"])
