"""Runs (the twin of run() in sdk/activity/run.ts): `pipemon.run("orders", ...)` is a run to use as

    with pipemon.run("orders") as r: ...          # or `async with`
    @pipemon.run("orders")                         # on a function, async def or generator: a run per call
    r = pipemon.run("orders"); ...; r.end()        # a notebook, where a run spans cells

A decorator must not start a run when the module is imported, so a run starts when its `with` block
is entered, at its first use (r.log, r.stage, pipemon.current()...), or, unused, a moment later from
the timer thread: its start record is then on disk even if the notebook's next cell never touches it.

Under `pipemon exec` (PIPEMON_RUN_ID, PIPEMON_PIPELINE and TRACEPARENT set), a run outside any span of
this process and without its own run_id is a stage of the exec's run: one run across both processes.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from . import _telemetry
from ._activity import Activity
from ._activity_log import INFO
from ._context import (
    SPAN_FLAGS_LOCAL,
    SPAN_FLAGS_REMOTE,
    add_loose,
    awaited_in,
    context_with,
    current_scope,
    new_trace_id,
    now_ns,
    remove_loose,
    steps_in,
)
from ._inputs import datasets_of
from ._open_runs import OpenRun
from ._timer import scheduler
from .vocabulary import ATTR, EVENT

F = TypeVar("F", bound=Callable[..., Any])

# A run made without `with` and not used yet starts this long after it was made (see the docstring).
START_UNUSED_AFTER_S = 0.2
# The forms bin/exec.ts parseInterval accepts: 90, 90s, 15m, 1h, 1d (decimals too).
_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}
# W3C trace context: version 00, a trace id and a parent id that are not all zeros, the flags.
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def parse_interval(value: str | float) -> float | int:
    """`"1h"`, `"15m"`, `"1d"`, `"90s"`, `"90"` or a number of seconds, as seconds; ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _INTERVAL.match(value.strip()) if isinstance(value, str) else None
        seconds = float(match[1]) * _UNIT_SECONDS[match[2]] if match else float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"expected_interval must be a positive duration such as 90s, 15m, 1h or 1d, got {value!r}")
    return int(seconds) if seconds.is_integer() else seconds


def _seconds(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number of seconds (0 or more), got {value!r}")
    return float(value)


def parent_process_run() -> tuple[str, str, bytes, bytes] | None:
    """The run `pipemon exec` hands its command: (pipeline, run id, trace id, span id), or None when any
    variable is missing or malformed (TRACEPARENT as the W3C trace context format writes it)."""
    run_id = os.environ.get("PIPEMON_RUN_ID")
    pipeline = os.environ.get("PIPEMON_PIPELINE")
    match = _TRACEPARENT.match(os.environ.get("TRACEPARENT", "").strip())
    if not run_id or not pipeline or match is None:
        return None
    trace_id, span_id = bytes.fromhex(match[1]), bytes.fromhex(match[2])
    if not any(trace_id) or not any(span_id):
        return None
    return pipeline, run_id, trace_id, span_id


class Run(Activity):
    """A pipeline run: a context manager (sync and async), a decorator, or started at first use."""

    __slots__ = ("_settings", "_outer", "_created", "_start_lock", "_template", "_opening")

    def __init__(self, pipeline: str, settings: RunSettings, *, loose: bool) -> None:
        super().__init__("run", pipeline)
        self._settings = settings
        self._timeout = settings.options["timeout"]
        self._outer = current_scope()
        self._created = (now_ns(), time.perf_counter_ns())
        self._start_lock = threading.RLock()
        self._template = False
        self._opening = False
        self._pending = True
        if loose:
            add_loose(self)
            scheduler.call_later(START_UNUSED_AFTER_S, self._live)

    def _begin(self) -> None:
        # The start itself reads the run's properties, which come back here (the lock is reentrant, and
        # _opening ends that loop); other threads see _pending until the start is done, so they wait for it.
        with self._start_lock:
            if not self._pending or self._template or self._opening:
                return
            self._opening = True
            try:
                self._open_span()
            finally:
                self._pending = False
        if self.kind == "run":
            self._start_journal()

    def _open_span(self) -> None:
        outer, options = self._outer, self._settings.options
        joined = parent_process_run() if outer is None and self._settings.run_id is None else None
        if joined is not None:
            # Inside `pipemon exec`: this run is a stage of that one, under its span.
            self.kind = "stage"
            pipeline, run_id, trace_id, span_id = joined
            self._open(pipeline, run_id, None, trace_id, span_id, SPAN_FLAGS_REMOTE, options, self._created)
            return
        run_id = self._settings.run_id or str(uuid.uuid4())
        trace_id, parent_span_id = (new_trace_id(), b"") if outer is None else (outer.trace_id, outer.span_id)
        self._open(self.name, run_id, None, trace_id, parent_span_id, SPAN_FLAGS_LOCAL, options, self._created)

    def _start_journal(self) -> None:
        """Marks the run open in the spool and starts its heartbeat, which also refreshes the marker."""
        pipemon = _telemetry.instance()
        try:
            self._marker = pipemon.runs.opened(
                OpenRun(
                    pipeline=self.pipeline,
                    run_id=self.run_id,
                    trace_id=self.scope.trace_id.hex(),
                    span_id=self.scope.span_id.hex(),
                    started_at_ms=self._start_ns // 1_000_000,
                    resource=dict(pipemon.resource),
                    attributes=self._attrs.copy(),
                )
            )
        except Exception:
            pass  # Without a marker a crash leaves the run running; the run itself goes on.
        seconds = self._settings.heartbeat_seconds
        if seconds is None:
            seconds = pipemon.config.heartbeat_seconds
        if seconds > 0:
            self._heartbeat = scheduler.call_later(seconds, functools.partial(self.beat, seconds))

    def beat(self, seconds: float) -> None:
        """The heartbeat: a `pipeline.run.heartbeat` record and the marker refreshed, every `seconds`."""
        if self._ended:
            return
        elapsed = (time.perf_counter_ns() - self._start_perf) / 1e9
        attributes = self._attrs.copy()
        attributes[ATTR.DURATION_SECONDS] = elapsed
        self._record(EVENT.RUN_HEARTBEAT, INFO, f"run running for {round(elapsed)}s: {self.name}", attributes)
        if self._marker is not None:
            self._marker.beat(now_ns() // 1_000_000)
        if not self._ended:
            self._heartbeat = scheduler.call_later(seconds, functools.partial(self.beat, seconds))

    def __call__(self, fn: F) -> F:
        """As a decorator: each call of `fn` is a run of its own."""
        with self._start_lock:
            self._template = self._pending
        remove_loose(self)
        if not self._template:
            # Used before it decorated (or started by the timer in between): that run ends here.
            self.cancel("pipemon.run(...) was used as a decorator after it started")
            self.end()
        if self._timeout is not None and not inspect.iscoroutinefunction(fn):
            raise TypeError(
                f"run {self.name!r}: timeout= applies to async functions; a synchronous call cannot be interrupted"
            )
        return decorate(fn, lambda: Run(self.name, self._settings, loose=False))  # type: ignore[return-value]


def decorate(fn: Callable[..., Any], make: Callable[[], Activity]) -> Callable[..., Any]:
    """`fn` with each call inside `with make()`: for plain, async, generator and async generator functions."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        def async_generator(*args: Any, **kwargs: Any) -> Any:
            return _async_steps(make, fn, args, kwargs)

        return async_generator
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            return _steps(make, fn, args, kwargs)

        return generator
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            async with make():
                return await fn(*args, **kwargs)

        return coroutine

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        with make():
            return fn(*args, **kwargs)

    return plain


def _steps(make: Callable[[], Activity], fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """A generator's run, from its first item to its end, current in each of its steps but not between
    them (the consumer's code between two items is not the generator's)."""
    activity = make()
    activity._live()
    steps = fn(*args, **kwargs)
    try:
        value = yield from steps_in(context_with(activity.scope), steps)
    except BaseException as error:
        if not activity._exit(error):
            raise
        return None
    activity._exit(None)
    return value


async def _async_steps(make: Callable[[], Activity], fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """_steps for an async generator (items only: asend() and athrow() are not passed on)."""
    activity = make()
    activity._live()
    steps = fn(*args, **kwargs)
    context = context_with(activity.scope)
    try:
        while True:
            item = await awaited_in(context, steps.__anext__())
            try:
                yield item
            except GeneratorExit:
                await awaited_in(context, steps.aclose())
                raise
    except StopAsyncIteration:
        activity._exit(None)
    except BaseException as error:
        if not activity._exit(error):
            raise


class RunSettings:
    """A run's options, checked once: a decorated function's runs share them."""

    __slots__ = ("run_id", "heartbeat_seconds", "options")

    def __init__(self, run_id: str | None, heartbeat_seconds: float | None, options: dict[str, Any]) -> None:
        self.run_id = run_id
        self.heartbeat_seconds = heartbeat_seconds
        self.options = options


def run(
    pipeline: str,
    *,
    run_id: str | None = None,
    owner: str | None = None,
    expected_interval: str | float | None = None,
    heartbeat_seconds: float | None = None,
    timeout: float | None = None,
    source: str | None = None,
    capabilities: tuple[str, ...] | list[str] = (),
    target: Any = None,
    inputs: Iterable[Any] = (),
    outputs: Iterable[Any] = (),
    attributes: Mapping[str, Any] | None = None,
) -> Run:
    """A pipeline run: `with`, `async with`, a decorator, or started at first use (see the module).

    run_id: default a random UUID; pass the scheduler's (Airflow, cron) to line them up. owner: the
    team alerts go to. expected_interval: how often the pipeline should run ("1h", "15m", "1d", "90s"
    or seconds); freshness alerts compare against it. heartbeat_seconds: overrides start()'s (0: none).
    timeout (seconds): an `async with` run or async function still running then is cancelled and ends
    as `timeout`, raising pipemon.TimeoutError; a synchronous block cannot be interrupted, so there it
    is refused. source: where the data comes from. target: "dw.orders" or {"namespace", "collection"}.
    inputs, outputs: the datasets it reads and writes besides its target, for the lineage graph (see input()).
    A bad value raises ValueError here: it is a mistake in the code, not in the data.
    """
    schedule: dict[str, Any] = {}
    if owner:
        schedule[ATTR.PIPELINE_OWNER] = str(owner)
    if expected_interval is not None:
        schedule[ATTR.EXPECTED_INTERVAL_SECONDS] = parse_interval(expected_interval)
    options = {
        "timeout": _seconds("timeout", timeout),
        "source": source,
        "capabilities": capabilities,
        "target": target,
        "inputs": datasets_of(inputs),
        "outputs": datasets_of(outputs),
        "attributes": {**schedule, **(attributes or {})},
    }
    heartbeat = _seconds("heartbeat_seconds", heartbeat_seconds)
    settings = RunSettings(None if run_id is None else str(run_id), heartbeat, options)
    return Run(str(pipeline), settings, loose=True)
