"""What the module adds to the Python eventhooks library's API, and how it maps the C++ one: outcomes,
exceptions, logging, threads, config files and the Dispatcher."""
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import eventhooks
from eventhooks.eventhooks import MattermostWebHook, RabbitMqHook, WebHook
from conftest import wait_for


def test_trigger_returnsNone_andTriggerOutcome_returnsTheDelivery(sink):
    hook = WebHook("alarm", f"{sink.url}/a")
    assert hook.trigger({"n": 1}) is None
    outcome = hook.trigger_outcome({"n": 2})
    assert outcome.delivered and outcome.kind == "delivered"
    assert outcome.hook == "alarm"
    assert outcome.receipt.status == 200
    assert outcome.error is None
    assert outcome.elapsed > 0
    assert [json.loads(r["body"]) for r in sink.received()] == [{"n": 1}, {"n": 2}]
    # Each delivery carries its event id as the idempotency key.
    assert sink.received()[1]["headers"]["webhook-id"] == outcome.event_id


def test_triggerOutcome_serverError_isAFailedOutcomeWithTheErrorsFields(sink):
    outcome = WebHook("alarm", f"{sink.url}/status/503").trigger_outcome("x")
    assert outcome.failed and outcome.kind == "failed"
    assert outcome.receipt is None
    assert outcome.error.code == "unavailable"
    assert outcome.error.status == 503
    assert outcome.error.retryable is True
    assert "503" in str(outcome.error)


def test_triggerOutcome_realmNotAllowed_isSkippedWithTheReason(sink):
    hook = WebHook("alarm", sink.url, realms=["ops"])
    outcome = hook.trigger_outcome("x", realm="dev")
    assert outcome.skipped
    assert "'dev' not in [ops]" in outcome.reason
    assert hook.trigger_outcome("x").skipped  # realms set, no realm passed
    assert hook.trigger_outcome("x", "ops").delivered
    assert len(sink.received()) == 1


def test_trigger_unreachableHost_isLoggedNotRaised(eventhooks_log):
    hook = WebHook("down", "http://127.0.0.1:9/x", connect_timeout=2, timeout=5)
    assert hook.trigger("x") is None
    [record] = [r for r in eventhooks_log.records if r.name == "EventHooks" and "'down'" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "WebHook 'down' failed event" in record.getMessage()


def test_logging_levelsMatchTheCppLines(sink, eventhooks_log):
    hook = WebHook("levels", f"{sink.url}/ok", realms=["r"])
    hook.trigger("x", realm="r")
    hook.trigger("x", realm="other")
    by_level = {(r.levelname, r.getMessage().split(" event ")[0]) for r in eventhooks_log.records
                if r.name == "EventHooks"}
    assert ("INFO", "WebHook 'levels' delivered") in by_level
    assert ("DEBUG", "WebHook 'levels' skipped") in by_level


def test_logging_pythonLevelAboveInfo_cppLinesBelowItAreNotLogged(sink, caplog):
    caplog.set_level(logging.ERROR, logger="EventHooks")
    WebHook("quiet", f"{sink.url}/status/500").trigger("x")
    WebHook("quiet", f"{sink.url}/ok").trigger("x")
    assert [r for r in caplog.records if r.name == "EventHooks"] == []


def test_logging_secretsAreMasked(sink, eventhooks_log):
    token = "s3cr3t-mattermost-token-9931"
    hook = MattermostWebHook("chat", sink.url + "/status/500", token)
    assert hook.trigger_outcome("hello").failed
    assert token not in eventhooks_log.text
    assert token not in repr(hook)
    assert "***" in repr(hook)


def test_mattermost_emptyData_isAFailureAndNothingIsSent(sink):
    outcome = MattermostWebHook("chat", sink.url, "tok").trigger_outcome()
    assert outcome.failed and outcome.error.code == "invalid_input"
    assert sink.received() == []


def test_constructor_badValue_raisesConfigErrorWhichIsAValueError():
    with pytest.raises(eventhooks.ConfigError, match="url") as e:
        WebHook("x", "ftp://example.com/x")
    assert isinstance(e.value, ValueError)


def test_constructor_unknownKeyword_raisesValueErrorNamingIt():
    with pytest.raises(ValueError, match="timout"):
        WebHook("x", "http://127.0.0.1/x", timout=5)


def test_rabbitmq_publishesThroughTheExchange_confirmed(broker):
    queue = "py-failed-services"
    hook = RabbitMqHook("failed_services_event", host=broker.host, port=broker.port, user=broker.user,
                        password=broker.password, exchange="py.topic", routing_key="company.dep2.failed",
                        declare={"exchange": "py.topic", "exchange_type": "topic", "queue": queue})
    while broker.get(queue) is not None:  # left over from an earlier run
        pass
    outcome = hook.trigger_outcome({"failed_services": ["nginx.service"]})
    assert outcome.delivered, outcome.detail
    assert outcome.receipt.detail.startswith("basic.ack")
    assert broker.get(queue) == '{\n  "failed_services": [\n    "nginx.service"\n  ]\n}'


def test_rabbitmq_missingPassword_raisesValueErrorAtConstruction():
    with pytest.raises(ValueError, match="password"):
        RabbitMqHook("q", host="127.0.0.1", user="guest")


def test_trigger_dataThatIsNotJson_raisesTypeErrorAndSendsNothing(sink):
    hook = WebHook("x", sink.url)
    with pytest.raises(TypeError, match="set"):
        hook.trigger({"a": {1, 2}})
    with pytest.raises(ValueError):
        hook.trigger({"a": float("nan")})
    assert sink.received() == []


def test_trigger_dataTypes_areSentAsJsonDumpsWouldRenderThem(sink):
    hook = WebHook("x", sink.url)
    data = {"s": "é", "i": 2**40, "f": 1.5, "b": True, "n": None, "l": [1, (2, 3)], 7: "seven"}
    hook.trigger(data)
    hook.trigger("plain text")
    assert sink.json_bodies() == [json.loads(json.dumps(data)), "plain text"]


def test_factory_unknownType_raisesConfigErrorWithTheNearestName():
    with pytest.raises(eventhooks.ConfigError, match="did you mean 'WebHook'"):
        eventhooks.event_helper.eventhook_factory("x", {"type": "Webhook", "url": "http://h/x"})


def test_factory_oldWebhookKeyAndEnabledFlag_areAccepted(sink):
    hook = eventhooks.event_helper.eventhook_factory("x", {"type": "WebHook", "webhook": sink.url,
                                                           "enabled": False})
    assert isinstance(hook, WebHook)
    assert hook.trigger_outcome("x").skipped
    assert sink.received() == []


def test_threads_triggerConcurrently_withTheGilReleased(sink):
    # The sink runs in this process: its handler only gets the GIL if trigger() released it, and /barrier/4
    # answers 200 only when 4 requests are inside it at once, i.e. 4 trigger() calls are in flight together.
    hook = WebHook("parallel", f"{sink.url}/barrier/4", timeout=30)
    outcomes = []
    lock = threading.Lock()

    def fire():
        out = hook.trigger_outcome({"from": threading.current_thread().name})
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=fire) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [o.kind for o in outcomes] == ["delivered"] * 4


def test_threads_manyTriggersFromManyThreads_allDelivered(sink):
    hook = WebHook("many", f"{sink.url}/ok")
    results = []

    def fire(n):
        for i in range(20):
            results.append(hook.trigger_outcome({"thread": n, "i": i}).delivered)

    threads = [threading.Thread(target=fire, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 120
    assert len(sink.received()) == 120


def write_config(tmp_path, sink):
    path = tmp_path / "hooks.yaml"
    path.write_text(textwrap.dedent(f"""\
        hooks:
          alarm:
            type: WebHook
            url: {sink.url}/alarm
            realms: [outside]
          audit:
            type: FileHook
            path: {tmp_path}/events.jsonl
          rejected:
            type: WebHook
            url: {sink.url}/status/400
            realms: [outside]
        """))
    return path


def test_loadConfig_buildsTheHooksInFileOrder(tmp_path, sink):
    config = eventhooks.load_config(str(write_config(tmp_path, sink)))
    assert [h.name for h in config.hooks] == ["alarm", "audit", "rejected"]
    assert [type(h).__name__ for h in config.hooks] == ["WebHook", "FileHook", "WebHook"]
    assert config.find("alarm").realms == ["outside"]
    assert config.find("nope") is None


def test_loadConfig_badKey_raisesConfigErrorWithFileAndLine(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("hooks:\n  x:\n    type: WebHook\n    url: http://h/x\n    retires: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml:5.*retires"):
        eventhooks.load_config(str(path))


def test_dispatcher_firesEveryMatchingHook_andLogsWorkerLinesToPython(tmp_path, sink, eventhooks_log):
    config = eventhooks.load_config(str(write_config(tmp_path, sink)))
    with eventhooks.Dispatcher(config, workers=2) as dispatcher:
        event_id = dispatcher.fire({"msg": "hit"}, realm="outside", name="hit_alarm")
        assert dispatcher.flush(timeout=30)
        metrics = dispatcher.metrics()
        text = dispatcher.metrics_text()
    assert metrics["delivered"] == 2 and metrics["dead"] == 1
    # Per hook, as the C++ MetricsSnapshot: the 400 is a permanent failure of 'rejected', never retried.
    hooks = {h["hook"]: h for h in metrics["hooks"]}
    assert sorted(hooks) == ["alarm", "audit", "rejected"]
    assert hooks["alarm"]["delivered"] == 1 and hooks["alarm"]["type"] == "WebHook"
    assert hooks["audit"]["delivered"] == 1 and hooks["audit"]["type"] == "FileHook"
    assert hooks["rejected"]["delivered"] == 0 and hooks["rejected"]["dead"] == 1
    assert [f["dead"] for f in hooks["rejected"]["failures"].values()] == [1]
    alarm_latency = hooks["alarm"]["latency"]
    assert alarm_latency["count"] == 1 and alarm_latency["buckets"][float("inf")] == 1
    assert 'eventhooks_deliveries_total{hook="alarm",type="WebHook",outcome="delivered"' in text
    assert [r["path"] for r in sink.received() if r["path"] == "/alarm"] == ["/alarm"]
    line = json.loads((tmp_path / "events.jsonl").read_text().splitlines()[0])
    assert line["id"] == event_id and line["data"] == {"msg": "hit"}
    # The dead letter is logged on a worker thread; the log thread carries it to Python.
    assert wait_for(lambda: any(r.levelno == logging.ERROR and "dead letters" in r.getMessage()
                                for r in eventhooks_log.records))


def test_dispatcher_hooksFromCode_andSqliteOutbox(tmp_path, sink):
    dispatcher = eventhooks.Dispatcher([WebHook("a", f"{sink.url}/a")], outbox=str(tmp_path / "outbox.db"))
    dispatcher.fire("one")
    dispatcher.fire("two")
    assert dispatcher.flush(timeout=30)
    dispatcher.shutdown()
    assert sorted(sink.json_bodies()) == ["one", "two"]
    assert (tmp_path / "outbox.db").exists()


def test_dispatcher_stopped_fireRaisesFireError(sink):
    dispatcher = eventhooks.Dispatcher([WebHook("a", sink.url)])
    dispatcher.shutdown()
    with pytest.raises(eventhooks.FireError):
        dispatcher.fire("late")


def test_interpreterExit_withDeliveriesInFlight_doesNotHang(sink):
    # Worker threads and a Python thread still logging and triggering while the interpreter exits.
    script = textwrap.dedent(f"""
        import logging, sys, threading
        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
        import eventhooks
        hook = eventhooks.WebHook("exit", "{sink.url}/exit")
        d = eventhooks.Dispatcher([hook])
        for i in range(200):
            d.fire({{"i": i}})
        def busy():
            while True:
                hook.trigger("busy")
        threading.Thread(target=busy, daemon=True).start()
        hook.trigger("main")
        print("main done", flush=True)
        """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "main done" in r.stdout
    assert "INFO:EventHooks:WebHook 'exit' delivered event" in r.stdout


def test_emailSubject_headerInjection_raisesValueErrorAndKeepsTheSubject():
    from eventhooks.eventhooks import SimpleEmailHook

    hook = SimpleEmailHook("mail", host="127.0.0.1", port=25, sender="a@example.com",
                           recipients="b@example.com, c@example.com", tls=False)
    assert hook.email.recipients == ["b@example.com", "c@example.com"]
    with pytest.raises(ValueError):
        hook.email.subject = "hi\r\nBcc: victim@example.com"
    assert hook.email.subject == "mail"
