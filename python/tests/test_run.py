"""Runs and stages: the records sdk/run.ts emits for the same code, in every form a run takes."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import pipemon
from pipemon import _run, _telemetry
from pipemon._records import SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, STATUS_ERROR, STATUS_UNSET
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR, EVENT

pytest_plugins = ["_capture"]  # the `records` fixture

ROOT = Path(__file__).resolve().parents[2]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def test_a_run_and_its_stage_emit_start_and_end_records_and_spans(records: Captured) -> None:
    with pipemon.run("orders", owner="team-data", expected_interval="1h") as r:
        with r.stage("load", target="dw.orders") as s:
            s.rows(read=120, written=118, rejected=2)

    run_start, stage_start = records.log(EVENT.RUN_START), records.log(EVENT.STAGE_START)
    assert (run_start.body, run_start.severity_number, run_start.severity_text) == ("run started: orders", 9, "INFO")
    assert run_start.attributes == {
        ATTR.PIPELINE_NAME: "orders",
        ATTR.RUN_ID: r.run_id,
        ATTR.PIPELINE_OWNER: "team-data",
        ATTR.EXPECTED_INTERVAL_SECONDS: 3600,
    }
    assert stage_start.body == "stage started: load"
    assert stage_start.attributes[ATTR.STAGE_NAME] == "load"
    assert stage_start.attributes[ATTR.STAGE_RUN_ID] == s.span_id == s.stage_run_id
    assert (stage_start.attributes[ATTR.DB_NAMESPACE], stage_start.attributes[ATTR.DB_COLLECTION]) == ("dw", "orders")

    run_span, stage_span = records.span("orders"), records.span("load")
    assert (run_span.kind, stage_span.kind) == (SPAN_KIND_SERVER, SPAN_KIND_INTERNAL)
    assert run_span.parent_span_id == b"" and stage_span.parent_span_id == run_span.span_id
    assert stage_span.trace_id == run_span.trace_id and len(run_span.trace_id) == 16 and len(run_span.span_id) == 8
    assert run_span.flags == stage_span.flags == 0x101
    assert (run_span.trace_id.hex(), run_span.span_id.hex()) == (r.trace_id, r.span_id)

    run_end, stage_end = records.log(EVENT.RUN_END), records.log(EVENT.STAGE_END)
    assert run_end.body == "run success: orders" and stage_end.body == "stage success: load"
    # The span and the end record carry the same attributes; the parent without rows of its own sums its children's.
    assert run_end.attributes == run_span.attributes and stage_end.attributes == stage_span.attributes
    assert run_end.attributes[ATTR.RUN_RESULT] == "success"
    assert stage_end.attributes[ATTR.STAGE_RESULT] == "success"
    for end in (run_end, stage_end):
        assert (end.attributes[ATTR.ROWS_READ], end.attributes[ATTR.ROWS_WRITTEN]) == (120, 118)
        assert end.attributes[ATTR.ROWS_REJECTED] == 2
    assert 0 < stage_end.attributes[ATTR.DURATION_SECONDS] <= run_end.attributes[ATTR.DURATION_SECONDS]
    assert run_span.end_time_unix_nano > run_span.start_time_unix_nano
    assert stage_end.trace_id == run_span.trace_id and stage_end.span_id == stage_span.span_id and stage_end.flags == 1
    assert _bodies(records)[-1] == "run success: orders"


def test_a_failure_ends_both_as_failure_and_is_reraised_unchanged(records: Captured) -> None:
    error = ValueError("bad row 7")
    with pytest.raises(ValueError) as raised:
        with pipemon.run("orders") as r:
            with r.stage("load"):
                raise error
    assert raised.value is error
    for event, result_key, name in (
        (EVENT.STAGE_END, ATTR.STAGE_RESULT, "load"),
        (EVENT.RUN_END, ATTR.RUN_RESULT, "orders"),
    ):
        end = records.log(event)
        assert end.attributes[result_key] == "failure"
        assert (end.severity_number, end.severity_text) == (17, "ERROR")
        assert end.body.endswith(f"failure: {name}")
        assert end.attributes[ATTR.ERROR_TYPE] == end.attributes[ATTR.EXCEPTION_TYPE] == "ValueError"
        assert end.attributes[ATTR.EXCEPTION_MESSAGE] == "bad row 7"
        assert "raise error" in end.attributes[ATTR.EXCEPTION_STACKTRACE]
        span = records.span(name)
        assert (span.status_code, span.status_message) == (STATUS_ERROR, "bad row 7")
        assert [e.name for e in span.events] == ["exception"]


def test_ctrl_c_is_a_cancellation_and_passes_through(records: Captured) -> None:
    with pytest.raises(KeyboardInterrupt):
        with pipemon.run("orders"):
            raise KeyboardInterrupt
    end = records.log(EVENT.RUN_END)
    assert end.attributes[ATTR.RUN_RESULT] == "cancellation" and end.severity_text == "INFO"
    assert records.span("orders").status_code == STATUS_UNSET


def test_sys_exit_0_is_a_success(records: Captured) -> None:
    with pytest.raises(SystemExit):
        with pipemon.run("orders"):
            raise SystemExit(0)
    assert records.log(EVENT.RUN_END).attributes[ATTR.RUN_RESULT] == "success"


def test_a_stage_allowed_to_fail_does_not_fail_its_run(records: Captured) -> None:
    with pipemon.run("orders") as r:
        with r.stage("enrich", allow_failure=True):
            raise RuntimeError("service down")
        after = True
    assert after
    stage_end = records.log(EVENT.STAGE_END)
    assert stage_end.attributes[ATTR.STAGE_RESULT] == "failure"
    assert stage_end.attributes[ATTR.FAILURE_ALLOWED] is True
    assert records.log(EVENT.RUN_END).attributes[ATTR.RUN_RESULT] == "success"


def test_allow_failure_never_swallows_ctrl_c(records: Captured) -> None:
    with pytest.raises(KeyboardInterrupt):
        with pipemon.run("orders") as r:
            with r.stage("enrich", allow_failure=True):
                raise KeyboardInterrupt


def test_skip_cancel_and_fail_set_the_result(records: Captured) -> None:
    with pipemon.run("orders") as r:
        with r.stage("a") as a:
            a.skip("holiday")
        with r.stage("b") as b:
            b.cancel("operator")
        with r.stage("c") as c:
            c.fail(OSError("worker killed"), result="error")
    results = {e.attributes[ATTR.STAGE_NAME]: e.attributes[ATTR.STAGE_RESULT] for e in records.logs_of(EVENT.STAGE_END)}
    assert results == {"a": "skip", "b": "cancellation", "c": "error"}
    assert records.span("a").attributes[ATTR.SKIP_REASON] == "holiday"
    assert records.span("c").attributes[ATTR.ERROR_TYPE] == "OSError"
    assert a.skipped and not b.skipped


def test_skip_when_empty_ends_the_stage_as_skip_at_once(records: Captured) -> None:
    with pipemon.run("orders") as r:
        with r.stage("load", skip_when_empty=[]) as s:
            assert s.skipped and s.ended
        with r.stage("full", skip_when_empty=[1]) as full:
            assert not full.skipped
    checks = records.logs_of(EVENT.CHECK)
    assert [c.attributes[ATTR.CHECK_PASSED] for c in checks] == [False, True]
    assert checks[0].attributes[ATTR.CHECK_DETAILS] == "{'reason': 'input is empty'}"
    assert records.span("load").attributes[ATTR.STAGE_RESULT] == "skip"


def test_checks_are_records_and_span_events(records: Captured) -> None:
    with pipemon.run("orders") as r:
        assert r.check("fresh", True, lag=3) is True
        assert r.check("complete", False) is False
    passed, failed = records.logs_of(EVENT.CHECK)
    assert (passed.body, passed.severity_text, failed.body, failed.severity_text) == (
        "check fresh passed",
        "INFO",
        "check complete failed",
        "WARN",
    )
    assert passed.attributes[ATTR.CHECK_DETAILS] == "{'lag': 3}" and ATTR.CHECK_DETAILS not in failed.attributes
    events = records.span("orders").events
    assert [(e.name, e.attributes[ATTR.CHECK_NAME]) for e in events] == [
        ("pipeline.check", "fresh"),
        ("pipeline.check", "complete"),
    ]


def test_attributes_source_capabilities_and_targets(records: Captured) -> None:
    with pipemon.run("orders", source="s3", capabilities=["auth"], attributes={"api_key": "k", "tier": 2}) as r:
        r.capability("auth", "bootstrapped")
        r.set({"region": "eu"}, batch=[1, 2])
        with r.stage("a", target={"namespace": "dw", "collection": "x"}) as s:
            s.target(collection="y")
        with r.stage("b", target="orders"):
            pass
    attributes = records.span("orders").attributes
    assert attributes[ATTR.SOURCE_SYSTEM] == "s3"
    assert attributes[ATTR.CAPABILITIES] == ["auth", "bootstrapped"]
    assert (attributes["api_key"], attributes["tier"], attributes["region"], attributes["batch"]) == (
        "***",
        2,
        "eu",
        [1, 2],
    )
    assert (records.span("a").attributes[ATTR.DB_NAMESPACE], records.span("a").attributes[ATTR.DB_COLLECTION]) == (
        "dw",
        "y",
    )
    assert ATTR.DB_NAMESPACE not in records.span("b").attributes
    assert records.span("b").attributes[ATTR.DB_COLLECTION] == "orders"


def test_methods_after_the_end_change_nothing_and_never_raise(records: Captured) -> None:
    with pipemon.run("orders") as r:
        pass
    r.rows(read=5)
    r.set(x=1)
    r.skip("late")
    r.fail(ValueError("late"))
    r.rows(read="many")  # type: ignore[arg-type]
    r.end()
    assert len(records.logs_of(EVENT.RUN_END)) == 1 and len(records.spans) == 1
    assert records.span("orders").attributes[ATTR.ROWS_READ] == 0


def test_rows_ignore_what_is_not_a_count(records: Captured) -> None:
    with pipemon.run("orders") as r:
        r.rows(read=3, written=-1, rejected=float("nan"))
        r.rows(read=True, written=2)  # type: ignore[arg-type]
    attributes = records.span("orders").attributes
    assert (attributes[ATTR.ROWS_READ], attributes[ATTR.ROWS_WRITTEN], attributes[ATTR.ROWS_REJECTED]) == (3, 2, 0)


def test_open_stages_end_with_their_run(records: Captured) -> None:
    with pipemon.run("orders") as r:
        r.stage("forgotten")
    assert records.log(EVENT.STAGE_END).attributes[ATTR.STAGE_RESULT] == "cancellation"
    assert _bodies(records)[-2:] == ["stage cancellation: forgotten", "run success: orders"]


def test_logs_carry_the_activity_and_mask_secrets(records: Captured) -> None:
    pipemon.log.info("before")
    with pipemon.run("orders") as r:
        r.log.info("loaded", batch=7, password="hunter2")
        r.log.warn("slow")
        pipemon.log.debug("via current")
        try:
            raise KeyError("id")
        except KeyError:
            r.log.exception("lookup failed")
        r.log.critical(RuntimeError("disk full"))
    before, loaded, slow, current, failed, fatal = records.logs[0], *records.logs[2:7]
    assert before.attributes == {} and before.trace_id == b"" and before.event_name == ""
    assert loaded.attributes["batch"] == 7 and loaded.attributes["password"] == "***"
    assert loaded.attributes[ATTR.RUN_ID] == r.run_id and loaded.span_id.hex() == r.span_id
    assert (slow.severity_number, slow.severity_text) == (13, "WARN")
    assert (current.severity_number, current.attributes[ATTR.RUN_ID]) == (5, r.run_id)
    assert failed.attributes[ATTR.EXCEPTION_TYPE] == "KeyError" and failed.severity_number == 17
    assert (fatal.body, fatal.severity_number, fatal.attributes[ATTR.ERROR_TYPE]) == ("disk full", 21, "RuntimeError")


def test_current_is_the_innermost_activity(records: Captured) -> None:
    assert pipemon.current() is None
    with pipemon.run("orders") as r:
        assert pipemon.current() is r
        with r.stage("load") as s:
            assert pipemon.current() is s
        assert pipemon.current() is r
    assert pipemon.current() is None


def test_a_run_inside_a_run_is_its_child(records: Captured) -> None:
    with pipemon.run("outer") as outer, pipemon.run("inner") as inner:
        assert inner.run_id != outer.run_id
    assert records.span("inner").parent_span_id == records.span("outer").span_id
    assert records.span("inner").kind == SPAN_KIND_SERVER


def test_threads_join_the_run_through_propagate(records: Captured) -> None:
    with pipemon.run("orders") as r, ThreadPoolExecutor(2) as pool:
        seen = list(pool.map(pipemon.propagate(lambda _: pipemon.current()), range(3)))
        bare = pool.submit(pipemon.current).result()
    assert seen == [r, r, r] and bare is None


def test_async_tasks_follow_the_run(records: Captured) -> None:
    async def main() -> tuple[Any, Any]:
        async with pipemon.run("orders") as r:
            async with r.stage("load") as s:
                inner = await asyncio.create_task(asyncio.sleep(0, pipemon.current()))
            return r, (s, inner)

    r, (s, inner) = asyncio.run(main())
    assert inner is s
    assert records.log(EVENT.RUN_END).attributes[ATTR.RUN_RESULT] == "success"


def test_an_async_timeout_ends_the_run_as_timeout(records: Captured) -> None:
    async def main() -> None:
        async with pipemon.run("orders", timeout=0.01) as r:
            async with r.stage("load"):
                await asyncio.sleep(5)

    started = time.monotonic()
    with pytest.raises(pipemon.TimeoutError, match="timed out after 0.01 s"):
        asyncio.run(main())
    assert time.monotonic() - started < 2
    end = records.log(EVENT.RUN_END)
    assert end.attributes[ATTR.RUN_RESULT] == "timeout" and end.attributes[ATTR.ERROR_TYPE] == "TimeoutError"
    assert records.log(EVENT.STAGE_END).attributes[ATTR.STAGE_RESULT] == "timeout"
    assert records.span("orders").status_message == "timed out after 0.01 s"


def test_a_stage_s_timeout_allowed_to_fail_lets_the_run_go_on(records: Captured) -> None:
    async def main() -> str:
        async with pipemon.run("orders") as r:
            async with r.stage("enrich", timeout=0.01, allow_failure=True):
                await asyncio.sleep(5)
            await asyncio.sleep(0)  # the task is not left cancelled
            return "went on"

    assert asyncio.run(main()) == "went on"
    stage_end = records.log(EVENT.STAGE_END)
    assert stage_end.attributes[ATTR.STAGE_RESULT] == "timeout" and stage_end.attributes[ATTR.FAILURE_ALLOWED] is True
    assert records.log(EVENT.RUN_END).attributes[ATTR.RUN_RESULT] == "success"


def test_logs_and_checks_start_a_run_made_without_with(records: Captured) -> None:
    r = pipemon.run("notebook")
    r.log.info("first")
    r2 = pipemon.run("other")
    r2.check("fresh", True)
    r2.end()
    r.end()
    assert _bodies(records)[:2] == ["run started: notebook", "first"]
    assert records.log(EVENT.CHECK).attributes[ATTR.PIPELINE_NAME] == "other"


def test_a_timeout_is_refused_where_it_cannot_interrupt(records: Captured) -> None:
    with pytest.raises(TypeError, match="async"):
        with pipemon.run("orders", timeout=5):
            pass
    with pytest.raises(TypeError, match="async"):
        pipemon.run("orders", timeout=5)(lambda: None)


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


def test_the_decorator_starts_nothing_until_called(records: Captured) -> None:
    @pipemon.run("nightly", owner="team-data")
    def nightly(n: int) -> int:
        assert pipemon.current() is not None
        return n * 2

    time.sleep(_run.START_UNUSED_AFTER_S * 1.5)
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


def test_a_run_without_with_starts_unused_a_moment_later(records: Captured, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_run, "START_UNUSED_AFTER_S", 0.01)
    r = pipemon.run("notebook")
    deadline = time.monotonic() + 2
    while not records.logs and time.monotonic() < deadline:
        time.sleep(0.005)
    assert _bodies(records) == ["run started: notebook"]
    r.end()


def test_a_run_without_with_is_current_in_another_context_of_its_thread(records: Captured) -> None:
    # A notebook cell may run in a fresh context (a task of the kernel's loop): the thread still finds the run.
    r = pipemon.run("notebook")
    assert asyncio.run(_current_in_a_task()) is r
    r.end()


async def _current_in_a_task() -> Any:
    return await asyncio.create_task(asyncio.sleep(0, pipemon.current()))


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
    beats = len(records.logs_of(EVENT.RUN_HEARTBEAT))
    assert beats >= 2
    time.sleep(0.05)
    assert len(records.logs_of(EVENT.RUN_HEARTBEAT)) == beats  # none after the end


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


def test_ids_do_not_follow_a_seeded_random(records: Captured) -> None:
    random.seed(7)
    with pipemon.run("a") as a:
        pass
    random.seed(7)
    with pipemon.run("b") as b:
        pass
    assert a.trace_id != b.trace_id


def test_concurrent_rows_are_all_counted(records: Captured) -> None:
    with pipemon.run("orders") as r:
        threads = [threading.Thread(target=lambda: [r.rows(read=1) for _ in range(2000)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert records.span("orders").attributes[ATTR.ROWS_READ] == 8000


def _bodies(records: Captured) -> list[str]:
    return [str(record.body) for record in records.logs]


def test_a_forked_child_runs_outside_the_parent_s_runs(records: Captured) -> None:
    read, write = os.pipe()
    with pipemon.run("orders"):
        pid = os.fork()
        if pid == 0:
            os.write(write, b"none" if pipemon.current() is None else b"inherited")
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 100) == b"none"


NODE_PAIR = """
import { run, shutdown, checks } from './dist/sdk/index.js';
await run('orders', { owner: 'team-data', expectedIntervalSeconds: 3600 }, async (r) => {
  await r.stage('load', { target: { namespace: 'dw', collection: 'orders' } }, async (s) => {
    s.rows({ read: 120, written: 118, rejected: 2 });
    checks.nullRatio(s, 'email', ['a', null], 0.01);
  });
  await r.stage('bad', { allowFailure: true }, async () => { throw new TypeError('boom'); });
  r.log.info('loaded', { batch: 7 });
});
await shutdown();
"""
# Ids, times and the stack differ by nature; check details are written in each language's notation.
VOLATILE = {ATTR.RUN_ID, ATTR.STAGE_RUN_ID, ATTR.DURATION_SECONDS, ATTR.EXCEPTION_STACKTRACE, ATTR.CHECK_DETAILS}


def _comparable(event: str | None, level: str, body: str, attributes: dict[str, Any]) -> tuple[Any, ...]:
    return event or None, level, body, sorted((k, v if k not in VOLATILE else "~") for k, v in attributes.items())


@pytest.mark.skipif(not (ROOT / "dist/sdk/index.js").exists() or not shutil.which("node"), reason="Node SDK not built")
def test_the_records_are_the_node_sdk_s_for_the_same_code(records: Captured, tmp_path: Path) -> None:
    output = tmp_path / "node.jsonl"
    env = {**os.environ, "PIPEMON_EXPORT": "off", "PIPEMON_LOCAL_OUTPUT": str(output)}
    subprocess.run(["node", "--input-type=module", "-e", NODE_PAIR], cwd=ROOT, env=env, check=True, timeout=60)
    node = [json.loads(line) for line in output.read_text().splitlines()]

    with pipemon.run("orders", owner="team-data", expected_interval="1h") as r:
        with r.stage("load", target="dw.orders") as s:
            s.rows(read=120, written=118, rejected=2)
            pipemon.checks.null_ratio(s, "email", ["a", None], max_ratio=0.01)
        with r.stage("bad", allow_failure=True):
            raise TypeError("boom")
        r.log.info("loaded", batch=7)

    expected = [_comparable(n.get("event"), n["level"], n["message"], n["attributes"]) for n in node]
    actual = [_comparable(p.event_name, p.severity_text, str(p.body), p.attributes) for p in records.logs]
    assert actual == expected
