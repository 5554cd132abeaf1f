"""The with forms of runs and stages: exceptions pass through unchanged and set the result; async timeouts."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Iterator

import pytest

import pipemon
from pipemon._records import STATUS_ERROR, STATUS_UNSET
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR, EVENT

pytest_plugins = ["_capture"]  # the `records` fixture


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


def test_a_timeout_is_refused_where_it_cannot_interrupt(records: Captured) -> None:
    with pytest.raises(TypeError, match="async"):
        with pipemon.run("orders", timeout=5):
            pass
    with pytest.raises(TypeError, match="async"):
        pipemon.run("orders", timeout=5)(lambda: None)


def test_a_block_left_in_another_context_than_it_was_entered_in_ends_without_raising(records: Captured) -> None:
    def batches() -> Iterator[int]:
        with pipemon.run("orders"):
            yield 1
            yield 2

    def start_here_finish_elsewhere() -> list[int]:
        steps = batches()
        next(steps)
        # Resumed elsewhere (a copied context, another task or thread): its `with` ends there.
        return contextvars.copy_context().run(list, steps)

    assert contextvars.copy_context().run(start_here_finish_elsewhere) == [2]
    assert records.span("orders").attributes[ATTR.RUN_RESULT] == "success"
