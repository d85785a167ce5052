#!/usr/bin/python3
"""Reads Prometheus text exposition (the file named by the first argument) with the parser of the Python
prometheus_client (Debian's python3-prometheus-client) and prints every sample as JSON:
[{"family", "type", "name", "labels", "value"}, ...]. A parse error exits non-zero with the parser's message."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels,
                        "value": s.value})
json.dump(samples, sys.stdout)
