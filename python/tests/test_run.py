"""Runs in every form they take: decorators, without with, nested, under pipemon exec; markers and heartbeats."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import pipemon
from pipemon import _run, _telemetry
from pipemon._records import SPAN_KIND_INTERNAL, SPAN_KIND_SERVER
from pipemon._timer import Scheduler
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR, EVENT

pytest_plugins = ["_capture"]  # the `records` fixture

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class _Timer:
    """The runs' timer on a clock the test moves: due tasks run when the test says, not after a sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.scheduler = Scheduler(lambda: self.now)
        self.scheduler._thread = threading.current_thread()  # no thread: advance() takes the due tasks

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for task in self.scheduler.due_tasks():
            if not task.cancelled:
                task.fn()


@pytest.fixture
def timer(monkeypatch: pytest.MonkeyPatch) -> _Timer:
    fake = _Timer()
    monkeypatch.setattr(_run, "scheduler", fake.scheduler)
    return fake


def test_a_run_inside_a_run_is_its_child(records: Captured) -> None:
    with pipemon.run("outer") as outer, pipemon.run("inner") as inner:
        assert inner.run_id != outer.run_id
    assert records.span("inner").parent_span_id == records.span("outer").span_id
    assert records.span("inner").kind == SPAN_KIND_SERVER


@pytest.mark.parametrize(
    "value, seconds", [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("1d", 86400), ("1.5h", 5400), (30, 30)]
)
def test_expected_interval_forms(value: Any, seconds: float) -> None:
    assert _run.parse_interval(value) == seconds


@pytest.mark.parametrize("value", ["1w", "", "-1h", "0", 0, "1 h", True, None])
def test_a_bad_expected_interval_raises_at_the_call(value: Any) -> None:
    with pytest.raises(ValueError, match="expected_interval"):
        pipemon.run("orders", expected_interval=value)(lambda: None) if value is not None else _run.parse_interval(
            value
        )


def test_the_decorator_starts_nothing_until_called(records: Captured, timer: _Timer) -> None:
    @pipemon.run("nightly", owner="team-data")
    def nightly(n: int) -> int:
        assert pipemon.current() is not None
        return n * 2

    timer.advance(_run.START_UNUSED_AFTER_S * 2)
    assert records.logs == []
    assert nightly(2) == 4 and nightly(3) == 6
    ends = records.logs_of(EVENT.RUN_END)
    assert len(ends) == 2 and ends[0].attributes[ATTR.RUN_ID] != ends[1].attributes[ATTR.RUN_ID]
    assert ends[0].attributes[ATTR.PIPELINE_OWNER] == "team-data"
    assert nightly.__name__ == "nightly"


def test_the_decorator_on_async_and_failing_functions(records: Captured) -> None:
    @pipemon.run("nightly")
    async def nightly() -> str:
        return "done"

    @pipemon.run("broken")
    def broken() -> None:
        raise LookupError("gone")

    assert asyncio.run(nightly()) == "done"
    with pytest.raises(LookupError):
        broken()
    results = [e.attributes[ATTR.RUN_RESULT] for e in records.logs_of(EVENT.RUN_END)]
    assert results == ["success", "failure"]


def test_the_decorator_on_a_generator_is_current_in_its_steps_only(records: Captured) -> None:
    @pipemon.run("batches")
    def batches() -> Any:
        for i in range(3):
            yield i, pipemon.current()

    consumer_saw = []
    items = []
    for i, inside in batches():
        items.append((i, inside))
        consumer_saw.append(pipemon.current())
    assert [i for i, _ in items] == [0, 1, 2] and all(inside is not None for _, inside in items)
    assert consumer_saw == [None, None, None]
    assert records.log(EVENT.RUN_END).attributes[ATTR.RUN_RESULT] == "success"


def test_a_generator_stopped_early_is_a_success_and_one_that_fails_a_failure(records: Captured) -> None:
    @pipemon.run("batches")
    def batches() -> Any:
        yield 1
        yield 2
        raise ValueError("third")

    next(iter(batches()))
    with pytest.raises(ValueError):
        list(batches())
    assert [e.attributes[ATTR.RUN_RESULT] for e in records.logs_of(EVENT.RUN_END)] == ["success", "failure"]


def test_the_decorator_on_an_async_generator(records: Captured) -> None:
    @pipemon.run("stream")
    async def stream() -> Any:
        for i in range(2):
            yield i

    async def consume() -> list[int]:
        return [i async for i in stream()]

    assert asyncio.run(consume()) == [0, 1]
    assert records.log(EVENT.RUN_END).attributes[ATTR.RUN_RESULT] == "success"


def test_a_stage_open_across_a_yield_stays_current_in_the_generator_s_later_steps(records: Captured) -> None:
    @pipemon.run("batches")
    def batches() -> Any:
        with pipemon.current().stage("load"):  # type: ignore[union-attr]
            yield 1
            yield pipemon.current()

    @pipemon.run("stream")
    async def stream() -> Any:
        async with pipemon.current().stage("fetch"):  # type: ignore[union-attr]
            yield 1
            await asyncio.sleep(0)
            yield pipemon.current()

    async def consume() -> list[Any]:
        return [item async for item in stream()]

    assert [repr(item) for item in list(batches())[1:]] == ["<pipemon stage 'load'>"]
    assert [repr(item) for item in asyncio.run(consume())[1:]] == ["<pipemon stage 'fetch'>"]


def test_a_run_without_with_is_current_until_it_ends(records: Captured) -> None:
    r = pipemon.run("notebook")
    assert pipemon.current() is r
    with r.stage("load") as s:
        s.rows(read=1)
    stage = r.stage("clean")  # a stage without `with` is current in the cells that follow
    assert pipemon.current() is stage
    stage.end()
    r.log.info("cell 3")
    r.end()
    assert pipemon.current() is None
    assert _bodies(records) == [
        "run started: notebook",
        "stage started: load",
        "stage success: load",
        "stage started: clean",
        "stage success: clean",
        "cell 3",
        "run success: notebook",
    ]


def test_a_run_without_with_starts_unused_a_moment_later(records: Captured, timer: _Timer) -> None:
    r = pipemon.run("notebook")
    timer.advance(_run.START_UNUSED_AFTER_S / 2)
    assert records.logs == []
    timer.advance(_run.START_UNUSED_AFTER_S / 2)
    assert _bodies(records) == ["run started: notebook"]
    r.end()


def test_logs_and_checks_start_a_run_made_without_with(records: Captured) -> None:
    r = pipemon.run("notebook")
    r.log.info("first")
    r2 = pipemon.run("other")
    r2.check("fresh", True)
    r2.end()
    r.end()
    assert _bodies(records)[:2] == ["run started: notebook", "first"]
    assert records.log(EVENT.CHECK).attributes[ATTR.PIPELINE_NAME] == "other"


def test_a_run_read_while_another_thread_starts_it_waits_for_the_start(
    records: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    starting, release = threading.Event(), threading.Event()

    def slow_lookup() -> None:  # the start is under way in the timer's thread
        starting.set()
        release.wait(2)

    monkeypatch.setattr(_run, "parent_process_run", slow_lookup)
    r = pipemon.run("notebook")
    threading.Thread(target=r._live).start()
    assert starting.wait(2)
    read: list[Any] = []
    reader = threading.Thread(target=lambda: read.append(_read_run_id(r)))
    reader.start()
    reader.join(0.05)  # the reader is now waiting for the start, or failed without it
    release.set()
    reader.join(2)
    r.end()
    assert read == [r.run_id]


def _read_run_id(r: pipemon.Run) -> Any:
    try:
        return r.run_id
    except Exception as error:
        return error


class _Journal:
    def __init__(self, records: Captured) -> None:
        self.records = records
        self.calls: list[Any] = []

    def opened(self, run: Any) -> _Journal:
        self.calls.append(("opened", run.pipeline, run.run_id, run.trace_id, run.attributes))
        return self

    def beat(self, at_ms: int) -> None:
        self.calls.append(("beat", at_ms))

    def closed(self) -> None:
        self.calls.append(("closed", [r.event_name for r in self.records.logs][-1]))


def test_the_run_marker_opens_beats_and_closes_after_the_end_record(
    records: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = _Journal(records)
    monkeypatch.setattr(_telemetry.instance(), "runs", journal)
    with pipemon.run("orders", heartbeat_seconds=3600) as r:
        r.beat(3600)
    opened, beat, closed = journal.calls
    assert opened[:4] == ("opened", "orders", r.run_id, r.trace_id)
    assert opened[4][ATTR.PIPELINE_NAME] == "orders"
    assert beat[0] == "beat" and abs(beat[1] - time.time() * 1000) < 5000
    assert closed == ("closed", EVENT.RUN_END)
    heartbeat = records.log(EVENT.RUN_HEARTBEAT)
    assert heartbeat.body == "run running for 0s: orders" and ATTR.DURATION_SECONDS in heartbeat.attributes


def test_heartbeats_come_from_the_timer_thread(records: Captured) -> None:
    with pipemon.run("orders", heartbeat_seconds=0.01):
        deadline = time.monotonic() + 2
        while len(records.logs_of(EVENT.RUN_HEARTBEAT)) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(records.logs_of(EVENT.RUN_HEARTBEAT)) >= 2


def test_no_heartbeat_after_the_end(records: Captured, timer: _Timer) -> None:
    with pipemon.run("orders", heartbeat_seconds=10):
        timer.advance(10)
        timer.advance(10)
    assert len(records.logs_of(EVENT.RUN_HEARTBEAT)) == 2
    timer.advance(100)
    assert len(records.logs_of(EVENT.RUN_HEARTBEAT)) == 2


def test_under_pipemon_exec_a_run_is_a_stage_of_the_exec_run(
    records: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEMON_RUN_ID", "exec-run-1")
    monkeypatch.setenv("PIPEMON_PIPELINE", "nightly-import")
    monkeypatch.setenv("TRACEPARENT", f"00-{TRACE}-{PARENT}-01")
    with pipemon.run("load", owner="team-data") as r:
        assert (r.kind, r.pipeline, r.run_id) == ("stage", "nightly-import", "exec-run-1")
    start = records.log(EVENT.STAGE_START)
    assert start.attributes[ATTR.STAGE_NAME] == "load" and start.attributes[ATTR.PIPELINE_OWNER] == "team-data"
    span = records.span("load")
    assert (span.trace_id.hex(), span.parent_span_id.hex(), span.kind) == (TRACE, PARENT, SPAN_KIND_INTERNAL)
    assert span.flags == 0x301
    assert records.logs_of(EVENT.RUN_START) == []


@pytest.mark.parametrize(
    "traceparent",
    [
        f"01-{TRACE}-{PARENT}-01",
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE.upper()}-{PARENT}-01",
        "junk",
    ],
)
def test_an_invalid_traceparent_is_ignored(
    records: Captured, monkeypatch: pytest.MonkeyPatch, traceparent: str
) -> None:
    monkeypatch.setenv("PIPEMON_RUN_ID", "exec-run-1")
    monkeypatch.setenv("PIPEMON_PIPELINE", "nightly-import")
    monkeypatch.setenv("TRACEPARENT", traceparent)
    with pipemon.run("load") as r:
        assert r.kind == "run" and r.run_id != "exec-run-1"


def test_a_run_with_its_own_id_or_inside_a_run_does_not_join_exec(
    records: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEMON_RUN_ID", "exec-run-1")
    monkeypatch.setenv("PIPEMON_PIPELINE", "nightly-import")
    monkeypatch.setenv("TRACEPARENT", f"00-{TRACE}-{PARENT}-01")
    with pipemon.run("own", run_id="airflow-7") as own:
        with pipemon.run("inner") as inner:
            pass
    assert (own.kind, own.run_id, inner.kind) == ("run", "airflow-7", "run")


def _bodies(records: Captured) -> list[str]:
    return [str(record.body) for record in records.logs]
