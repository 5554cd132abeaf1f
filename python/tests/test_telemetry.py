from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _receiver import Answer, Receiver, closed_port_url

from pipemon import _telemetry as telemetry
from pipemon._delivery import NOTHING_HELD
from pipemon._open_runs import OpenRun, open_run_journal
from pipemon._owner import Claim
from pipemon._records import STATUS_ERROR, STATUS_OK, LogRecord, Span
from pipemon.vocabulary import ATTR, EVENT


@pytest.fixture(autouse=True)
def clean_process(monkeypatch: pytest.MonkeyPatch):
    for name in list(os.environ):
        if name.startswith(("PIPEMON_", "OTEL_")):
            monkeypatch.delenv(name)
    yield
    telemetry.shutdown(0.1)
    monkeypatch.setattr(telemetry, "_options", {})


def log(body: str, severity: int = 9, event: str = "") -> LogRecord:
    return LogRecord(time.time_ns(), severity, "", body, {}, event_name=event)


def span(name: str, status: int = STATUS_OK, attributes: dict | None = None) -> Span:
    now = time.time_ns()
    return Span(b"\x01" * 16, b"\x02" * 8, name, 1, now, now, attributes or {}, status_code=status)


def start(url: str, spool_dir: Path, **options: object) -> telemetry.Pipemon:
    return telemetry.start(endpoint=url, spool_dir=str(spool_dir), flush_ms=20, **options)


def test_errors_and_a_run_s_records_are_kept() -> None:
    assert telemetry.must_keep_log(log("e", 17))
    assert telemetry.must_keep_log(log("fatal", 21))
    assert telemetry.must_keep_log(log("start", 9, EVENT.RUN_START))
    assert telemetry.must_keep_log(log("dropped", 13, EVENT.SDK_DROPPED))
    assert not telemetry.must_keep_log(log("warn", 13))
    assert not telemetry.must_keep_log(log("heartbeat", 9, EVENT.RUN_HEARTBEAT))
    assert telemetry.must_keep_span(span("failed", STATUS_ERROR))
    assert telemetry.must_keep_span(span("stage", attributes={ATTR.PIPELINE_NAME: "p"}))
    assert not telemetry.must_keep_span(span("function"))


def test_one_instance_per_process_until_shut_down(tmp_path: Path) -> None:
    with Receiver() as receiver:
        first = start(receiver.url, tmp_path)
        assert telemetry.start() is first
        assert telemetry.instance() is first
        report = telemetry.shutdown(1.0)
        assert report is not None and report.message is None
        assert telemetry.shutdown() is None
        assert start(receiver.url, tmp_path) is not first


def test_records_reach_the_receiver_under_the_resource_and_scope(tmp_path: Path) -> None:
    with Receiver() as receiver:
        pipemon = start(receiver.url, tmp_path, service_name="orders")
        pipemon.emit_log(log("failed", 17))
        pipemon.emit_span(span("load", STATUS_ERROR))
        pipemon.emit_span(span("step"))
        telemetry.flush(2.0)
        assert receiver.log_bodies() == ["failed"]
        assert sorted(receiver.span_names()) == ["load", "step"]
        assert receiver.log_resources()[0]["service.name"] == "orders"
        assert pipemon.resource["service.name"] == "orders"
        assert telemetry.stats().delivered == 3


def test_the_opentelemetry_sdk_s_global_providers_are_left_alone(tmp_path: Path) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    trace.set_tracer_provider(provider)
    with Receiver() as receiver:
        pipemon = start(receiver.url, tmp_path)
        pipemon.emit_span(span("stage", STATUS_ERROR))
        pipemon.flush(1.0)
        assert receiver.span_names() == ["stage"]
    assert trace.get_tracer_provider() is provider


def test_export_off_opens_no_spool_and_starts_no_thread(tmp_path: Path) -> None:
    before = {thread.name for thread in threading.enumerate()}
    pipemon = telemetry.start(export=False, spool_dir=str(tmp_path / "spool"))
    pipemon.emit_log(log("e", 17))
    assert {thread.name for thread in threading.enumerate()} == before
    assert not (tmp_path / "spool").exists()
    assert isinstance(pipemon.runs, telemetry.NoJournal)
    assert pipemon.stats() == NOTHING_HELD
    assert pipemon.shutdown().message is None


def test_emit_never_raises_and_sinks_come_and_go(tmp_path: Path) -> None:
    pipemon = telemetry.start(export=False)
    seen: list[str] = []

    def broken(record: LogRecord) -> None:
        raise RuntimeError("sink bug")

    telemetry.instance().add_sink(broken, lambda s: 1 / 0)
    remove = pipemon.add_sink(lambda r: seen.append(r.body), lambda s: seen.append(s.name))
    pipemon.emit_log(log("a"))
    pipemon.emit_span(span("b"))
    remove()
    pipemon.emit_log(log("c"))
    assert seen == ["a", "b"]


def test_shutdown_says_once_on_stderr_what_was_not_delivered(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pipemon = start(closed_port_url(), tmp_path)
    pipemon.emit_log(log("kept", 17))
    report = pipemon.shutdown(0.2)
    assert report.undelivered == 1
    assert report.last_failure is not None and report.last_failure.kind == "unavailable"
    assert capsys.readouterr().err == f"{report.message}\n"
    assert report.message.startswith("pipemon: 1 record (")
    assert pipemon.shutdown() is report
    assert capsys.readouterr().err == ""


def test_dropped_records_are_reported_as_a_record(tmp_path: Path) -> None:
    with Receiver(Answer(400)) as receiver:
        pipemon = start(receiver.url, tmp_path)
        pipemon.emit_log(log("malformed"))
        pipemon.flush(1.0)
        pipemon.flush(1.0)
        assert receiver.log_bodies() == [
            "pipemon SDK dropped 1 records (memory or spool full, or refused as malformed)"
        ]
        pipemon.flush(1.0)
        assert len(receiver.requests) == 2


def dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)


def test_a_start_ends_the_runs_a_dead_process_left_open(tmp_path: Path) -> None:
    journal = open_run_journal(str(tmp_path), owner=Claim(dead_pid(), "deadbeef"))
    journal.opened(OpenRun("nightly", "run-1", "01" * 16, "02" * 8, 1_700_000_000_000, {"service.name": "gone"}))
    with Receiver() as receiver:
        start(receiver.url, tmp_path)
        receiver.wait_for(1, timeout_s=0.5)
        [body] = receiver.log_bodies()
        assert body.startswith("run error: nightly: the process (pid ")
        assert receiver.log_resources() == [{"service.name": "gone"}]
    assert os.listdir(tmp_path / "open-runs") == []


def test_a_forked_child_sends_only_its_own_records(tmp_path: Path) -> None:
    with Receiver() as receiver:
        pipemon = start(receiver.url, tmp_path, buffer_ms=60_000)
        pipemon.emit_log(log("parent kept", 17))
        pipemon.emit_log(log("parent buffered"))
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                pipemon.emit_log(log("child via the parent's instance"))
                telemetry.instance().emit_log(log("child", 17))
                telemetry.instance().flush(2.0)
                code = 0 if telemetry.stats().delivered == 2 else 2
            finally:
                os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0
        pipemon.flush(2.0)
        bodies = receiver.log_bodies()
        resources = receiver.log_resources()
    assert sorted(bodies) == ["child", "child via the parent's instance", "parent buffered", "parent kept"]
    instance_ids = {resource[ATTR.SERVICE_INSTANCE_ID] for resource in resources}
    assert len(instance_ids) == 2
    assert pipemon.resource[ATTR.SERVICE_INSTANCE_ID] in instance_ids


EXITING = """
import sys, time
sys.path.insert(0, {src!r})
import pipemon._telemetry as telemetry
from pipemon._records import LogRecord
telemetry.start(endpoint={url!r}, spool_dir={spool!r}, buffer_ms=60_000, shutdown_ms=500)
telemetry.instance().emit_log(LogRecord(time.time_ns(), 9, "", "buffered at exit", {{}}))
"""


def run_to_exit(url: str, spool_dir: Path) -> subprocess.CompletedProcess[str]:
    src = str(Path(telemetry.__file__).parents[1])
    script = EXITING.format(src=src, url=url, spool=str(spool_dir))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=10)


def test_the_exit_hook_sends_what_is_buffered(tmp_path: Path) -> None:
    with Receiver() as receiver:
        finished = run_to_exit(receiver.url, tmp_path)
        assert (finished.returncode, finished.stderr) == (0, "")
        assert receiver.log_bodies() == ["buffered at exit"]


def test_the_exit_hook_says_what_it_could_not_deliver(tmp_path: Path) -> None:
    finished = run_to_exit(closed_port_url(), tmp_path)
    assert finished.returncode == 0
    assert finished.stderr.startswith("pipemon: 1 record (")
    assert "did not answer (Connection refused)" in finished.stderr
    assert finished.stderr.count("pipemon:") == 1
