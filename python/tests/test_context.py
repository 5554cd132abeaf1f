"""Which run or stage is current: with blocks, asyncio tasks, threads, runs made without with, forks; ids."""

from __future__ import annotations

import asyncio
import contextvars
import os
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import pipemon
from pipemon import _context
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR, EVENT

pytest_plugins = ["_capture"]  # the `records` fixture


def test_current_is_the_innermost_activity(records: Captured) -> None:
    assert pipemon.current() is None
    with pipemon.run("orders") as r:
        assert pipemon.current() is r
        with r.stage("load") as s:
            assert pipemon.current() is s
        assert pipemon.current() is r
    assert pipemon.current() is None


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


def test_a_run_without_with_is_current_in_another_context_of_its_thread(records: Captured) -> None:
    # A notebook cell may run in a fresh context (a task of the kernel's loop): the thread still finds the run.
    r = pipemon.run("notebook")
    assert asyncio.run(_current_in_a_task()) is r
    r.end()


async def _current_in_a_task() -> Any:
    return await asyncio.create_task(asyncio.sleep(0, pipemon.current()))


def test_ids_do_not_follow_a_seeded_random(records: Captured) -> None:
    random.seed(7)
    with pipemon.run("a") as a:
        pass
    random.seed(7)
    with pipemon.run("b") as b:
        pass
    assert a.trace_id != b.trace_id


def test_a_forked_child_runs_outside_the_parent_s_runs(records: Captured) -> None:
    read, write = os.pipe()
    with pipemon.run("orders"):
        pid = os.fork()
        if pid == 0:
            os.write(write, b"none" if pipemon.current() is None else b"inherited")
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 100) == b"none"


def test_observed_times_strictly_increase_within_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_context, "_last_observed", 0)  # restored after the test: later records keep real times
    assert _context.observed_time(1000) == 1000
    assert _context.observed_time(1000) == 1001
    assert _context.observed_time(5) == 1002
    assert _context.observed_time(5000) == 5000


def test_ids_are_never_zero() -> None:
    assert all(any(_context.new_span_id()) and len(_context.new_trace_id()) == 16 for _ in range(1000))


def test_steps_in_passes_sends_throws_and_close_through_and_runs_each_step_in_its_context() -> None:
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="consumer")
    seen: list[object] = []

    def source() -> Any:
        try:
            while True:
                sent = yield marker.get()
                seen.append(sent)
        except ValueError as error:
            seen.append(f"caught {error}")
            yield "recovered"
        finally:
            seen.append(f"closed in {marker.get()}")

    context = contextvars.copy_context()
    context.run(marker.set, "generator")
    items: list[int] = []
    driver = _context.steps_in(context, source(), lambda: items.append(1))
    assert next(driver) == "generator"
    assert driver.send("a") == "generator"
    assert marker.get() == "consumer"
    assert driver.throw(ValueError("bad")) == "recovered"
    driver.close()
    assert seen == ["a", "caught bad", "closed in generator"]
    assert len(items) == 3


def test_steps_in_returns_the_generator_s_value() -> None:
    def source() -> Any:
        yield 1
        return "done"

    def consumer() -> Any:
        result = yield from _context.steps_in(contextvars.copy_context(), source())
        return result

    steps = consumer()
    assert next(steps) == 1
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "done"
