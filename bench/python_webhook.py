#!/usr/bin/python3
"""WebHook deliveries/s from Python, for scripts/bench-python.sh (docs/benchmarks.md).

    python_webhook.py module    URL THREADS SECONDS BODY_FILE   eventhooks' WebHook (the C++ module)
    python_webhook.py reference URL THREADS SECONDS BODY_FILE   a re-implementation of the Python eventhooks
                                                                library's WebHook.trigger on requests

THREADS Python threads each call hook.trigger(data) in a loop for SECONDS; prints `rate=<deliveries/s>`.

The Python eventhooks library itself cannot be installed here (no Python package index), so the reference is
ReferenceWebHook below: what its WebHook.trigger does, as documented (realm check, then requests.post(url,
json=data) with no session, so a new connection per call, and no timeout; an error is logged, never raised),
on Debian's python3-requests.
"""
import json
import logging
import sys
import threading
import time

logger = logging.getLogger("EventHooks")


class ReferenceWebHook:
    def __init__(self, name, url, realms=None):
        import requests

        self._requests = requests
        self.name = name
        self.url = url
        self.realms = realms or []

    def trigger(self, data=None, realm=None):
        if self.realms and realm not in self.realms:
            logger.debug("Event '%s' not triggered: realm '%s' not in %s.", self.name, realm, self.realms)
            return
        try:
            response = self._requests.post(self.url, json=data)
            response.raise_for_status()
        except self._requests.RequestException as e:
            logger.error("Event '%s' failed: %s", self.name, e)


def main():
    kind, url, threads, seconds, body_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    with open(body_file) as f:
        data = json.load(f)
    if kind == "module":
        from eventhooks.eventhooks import WebHook

        hook = WebHook(name="bench", url=url)
    elif kind == "reference":
        hook = ReferenceWebHook(name="bench", url=url)
    else:
        sys.exit(f"unknown kind {kind!r}: module or reference")

    stop = threading.Event()
    counts = [0] * threads
    failed = []

    def loop(i):
        if kind == "module":
            while not stop.is_set():
                if not hook.trigger_outcome(data).delivered:
                    failed.append(1)
                counts[i] += 1
        else:
            while not stop.is_set():
                hook.trigger(data)
                counts[i] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    if failed:
        sys.exit(f"{len(failed)} deliveries failed")
    print(f"deliveries={sum(counts)} seconds={elapsed:.2f} rate={sum(counts) / elapsed:.0f}")


if __name__ == "__main__":
    main()
