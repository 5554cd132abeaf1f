"""@pipemon.monitored: spans of sampled calls, failures never sampled out, every kind of function."""

from __future__ import annotations

import asyncio
import timeit
from typing import Any

import pytest

import pipemon
from pipemon._records import SPAN_KIND_INTERNAL, STATUS_ERROR, STATUS_UNSET
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR, EVENT

pytest_plugins = ["_capture"]  # the `records` fixture


@pipemon.monitored(group="etl")
def add(a: int, b: int, token: str = "") -> int:
    return a + b


class Loader:
    def __init__(self) -> None:
        self.password = "hunter2"

    @pipemon.monitored
    def load(self, rows: list[int]) -> int:
        return len(rows)


def test_a_sampled_call_is_a_span_under_the_current_stage(records: Captured) -> None:
    with pipemon.run("orders") as r, r.stage("load") as s:
        assert add(1, 2, token="secret") == 3
    span = records.span("add")
    assert span.kind == SPAN_KIND_INTERNAL and span.status_code == STATUS_UNSET
    assert span.parent_span_id.hex() == s.span_id and span.trace_id.hex() == r.trace_id
    assert span.attributes == {
        ATTR.CODE_FUNCTION_NAME: "add",
        ATTR.FUNCTION_GROUP: "etl",
        ATTR.FUNCTION_ARGS: "(1, 2, token='***')",
        ATTR.FUNCTION_RESULT: "3",
    }
    assert span.flags == 0x101 and span.end_time_unix_nano >= span.start_time_unix_nano


def test_methods_are_named_by_their_class_and_self_is_not_previewed(records: Captured) -> None:
    assert Loader().load([1, 2]) == 2
    span = records.span("Loader.load")
    assert span.attributes[ATTR.FUNCTION_ARGS] == "([1, 2],)"
    assert span.parent_span_id == b"" and len(span.trace_id) == 16  # outside a run: a trace of its own


def test_nested_calls_nest_their_spans(records: Captured) -> None:
    @pipemon.monitored
    def outer() -> int:
        return add(1, 1)

    with pipemon.run("orders"):
        outer()
    assert (
        records.span("add").parent_span_id == records.span("test_nested_calls_nest_their_spans.<locals>.outer").span_id
    )


def test_a_failure_is_a_failed_span_and_an_error_record_and_is_reraised(records: Captured) -> None:
    error = ZeroDivisionError("division by zero")

    @pipemon.monitored(name="divide")
    def divide(a: int) -> float:
        raise error

    with pipemon.run("orders") as r, r.stage("load"), pytest.raises(ZeroDivisionError) as raised:
        divide(1)
    assert raised.value is error
    span = records.span("divide")
    assert (span.status_code, span.status_message) == (STATUS_ERROR, "division by zero")
    assert span.attributes[ATTR.ERROR_TYPE] == "ZeroDivisionError" and [e.name for e in span.events] == ["exception"]
    record = records.logs_of(EVENT.FUNCTION_CALL)[0]
    assert (record.severity_number, record.body) == (17, "divide failed: division by zero")
    assert record.attributes[ATTR.RUN_ID] == r.run_id and record.attributes[ATTR.STAGE_NAME] == "load"
    assert record.attributes[ATTR.FUNCTION_ARGS] == "(1,)"
    assert record.span_id == span.span_id


def test_ctrl_c_in_a_sampled_call_leaves_the_caller_s_scope_as_it_was(records: Captured) -> None:
    @pipemon.monitored
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pipemon.run("orders") as r:
        with pytest.raises(KeyboardInterrupt):
            interrupted()
        add(1, 2)
    assert records.span("add").parent_span_id.hex() == r.span_id


def test_a_sampled_out_call_records_nothing_unless_it_fails(records: Captured) -> None:
    @pipemon.monitored(sample_rate=0.0)
    def maybe(fail: bool) -> None:
        if fail:
            raise ValueError("nope")

    with pipemon.run("orders") as r:
        maybe(False)
        with pytest.raises(ValueError):
            maybe(True)
    span = records.span("test_a_sampled_out_call_records_nothing_unless_it_fails.<locals>.maybe")
    assert span.status_code == STATUS_ERROR and span.parent_span_id.hex() == r.span_id
    assert span.start_time_unix_nano < span.end_time_unix_nano  # back-dated to the call's start
    assert len(records.logs_of(EVENT.FUNCTION_CALL)) == 1


def test_sample_rate_is_a_share_of_calls(records: Captured) -> None:
    @pipemon.monitored(sample_rate=0.25, capture_args=False, capture_result=False)
    def tick() -> None:
        pass

    for _ in range(4000):
        tick()
    assert 700 < len(records.spans) < 1300
    assert ATTR.FUNCTION_ARGS not in records.spans[0].attributes
    assert ATTR.FUNCTION_RESULT not in records.spans[0].attributes


def test_a_bad_sample_rate_raises_at_decoration() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        pipemon.monitored(sample_rate=2)


def test_async_functions(records: Captured) -> None:
    @pipemon.monitored
    async def fetch(n: int) -> list[int]:
        inner = pipemon._context.current_scope()
        await asyncio.sleep(0)
        return [n, inner is not None]  # type: ignore[list-item]

    @pipemon.monitored
    async def broken() -> None:
        raise KeyError("k")

    async def main() -> Any:
        with pytest.raises(KeyError):
            await broken()
        return await fetch(3)

    assert asyncio.run(main()) == [3, True]
    assert records.span(fetch.__qualname__).attributes[ATTR.FUNCTION_RESULT] == "[3, True]"
    assert records.span(broken.__qualname__).status_code == STATUS_ERROR


def test_generators_count_their_yields_and_are_current_in_their_steps(records: Captured) -> None:
    @pipemon.monitored
    def numbers(n: int) -> Any:
        for i in range(n):
            yield i, pipemon._context.current_scope().span_id  # type: ignore[union-attr]

    items = list(numbers(3))
    span = records.span(numbers.__qualname__)
    assert [i for i, _ in items] == [0, 1, 2] and {s for _, s in items} == {span.span_id}
    assert span.attributes[ATTR.FUNCTION_YIELDS] == 3 and ATTR.FUNCTION_RESULT not in span.attributes
    assert pipemon._context.current_scope() is None


def test_a_run_open_across_a_yield_stays_current_in_the_generator_s_later_steps(records: Captured) -> None:
    @pipemon.monitored
    def batches() -> Any:
        with pipemon.run("orders"):
            yield 1
            yield pipemon.current()

    @pipemon.monitored
    async def stream() -> Any:
        async with pipemon.run("events"):
            yield 1
            await asyncio.sleep(0)
            yield pipemon.current()

    async def consume() -> list[Any]:
        return [item async for item in stream()]

    assert [repr(item) for item in list(batches())[1:]] == ["<pipemon run 'orders'>"]
    assert [repr(item) for item in asyncio.run(consume())[1:]] == ["<pipemon run 'events'>"]
    assert pipemon.current() is None


def test_a_generator_stopped_early_is_a_success(records: Captured) -> None:
    closed = []

    @pipemon.monitored
    def endless() -> Any:
        try:
            while True:
                yield 1
        finally:
            closed.append(True)

    steps = endless()
    next(steps)
    next(steps)
    steps.close()
    span = records.span(endless.__qualname__)
    assert closed == [True] and span.attributes[ATTR.FUNCTION_YIELDS] == 2 and span.status_code == STATUS_UNSET


def test_a_generator_handles_what_is_thrown_in(records: Captured) -> None:
    @pipemon.monitored
    def resilient() -> Any:
        try:
            yield 1
        except KeyError:
            yield "recovered"

    steps = resilient()
    next(steps)
    assert steps.throw(KeyError("k")) == "recovered"
    steps.close()
    assert records.span(resilient.__qualname__).status_code == STATUS_UNSET


def test_async_generators(records: Captured) -> None:
    @pipemon.monitored
    async def stream() -> Any:
        for i in range(2):
            yield i

    async def main() -> list[int]:
        return [i async for i in stream()]

    assert asyncio.run(main()) == [0, 1]
    assert records.span(stream.__qualname__).attributes[ATTR.FUNCTION_YIELDS] == 2


def test_the_wrapper_keeps_the_function_s_name_and_doc() -> None:
    assert add.__name__ == "add" and add.__wrapped__(1, 2) == 3  # type: ignore[attr-defined]


def test_overhead_is_small(records: Captured) -> None:
    # Generous bounds (a loaded CI machine): the measured figures are far below (about 0.2 and 7 µs).
    def bare(a: int) -> int:
        return a

    out = pipemon.monitored(sample_rate=0.0)(bare)
    sampled = pipemon.monitored(bare)

    def per_call(fn: Any, n: int) -> float:
        return min(timeit.repeat(lambda: fn(1), number=n, repeat=3)) / n

    assert per_call(out, 20000) - per_call(bare, 20000) < 2e-6 * 5
    assert per_call(sampled, 2000) - per_call(bare, 2000) < 30e-6 * 3
