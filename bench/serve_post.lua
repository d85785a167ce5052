-- wrk script for scripts/bench-serve.sh: POST one JSON event per request, as a client of
-- `eventhooks serve` would (the same request goes to the nginx reference). The API key comes from the
-- environment, never from this file.
wrk.method = "POST"
wrk.body = '{"name": "deploy_finished", "data": {"event": "deploy_finished", "service": "api", "ok": true, "host": "web-01", "duration_ms": 8123}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("EVENTHOOKS_BENCH_KEY") or "none")
