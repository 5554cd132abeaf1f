"""Which run, stage or monitored call is current, ids and clocks for the records made under it.

A `with` block (and a monitored call) makes its span current in a ContextVar, so asyncio tasks and
copied contexts follow it. A run or stage made without `with` (a notebook, where a run spans cells
and each cell may run in a fresh context) is found through its thread instead: it is current in the
thread that made it wherever no `with` block is, until it ends.
"""

from __future__ import annotations

import contextvars
import functools
import os
import random
import threading
import time
import types
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._activity import Activity

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Span flags as the Node SDK's OTLP exporter writes them (otlp-transformer's buildSpanFlagsFrom):
# the W3C "sampled" bit, plus "whether the parent is remote is known", plus "it is" for a parent
# from another process (TRACEPARENT).
SPAN_FLAGS_LOCAL = 0x100 | 0x01
SPAN_FLAGS_REMOTE = 0x300 | 0x01
LOG_FLAGS_SAMPLED = 0x01


class Scope:
    """A span new spans and records go under, and the run or stage it belongs to."""

    __slots__ = ("trace_id", "span_id", "activity")

    def __init__(self, trace_id: bytes, span_id: bytes, activity: Activity | None) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.activity = activity


current_scope_var: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("pipemon_scope", default=None)


class _Loose(threading.local):
    """Runs and stages of this thread that were made without `with` and have not ended, oldest first."""

    def __init__(self) -> None:
        self.activities: list[Activity] = []


_loose = _Loose()


def add_loose(activity: Activity) -> None:
    _loose.activities.append(activity)


def remove_loose(activity: Activity) -> None:
    try:
        _loose.activities.remove(activity)
    except ValueError:
        pass


def _forget_in_child() -> None:
    """A forked child (multiprocessing's workers) runs outside the parent's runs: their spans are not this
    process's to end, and a run the child starts joins the parent's only as `pipemon exec` hands it over."""
    current_scope_var.set(None)
    _loose.activities = []


os.register_at_fork(after_in_child=_forget_in_child)


def current_scope() -> Scope | None:
    """The scope of the innermost `with` block or monitored call, else the thread's latest loose activity."""
    scope = current_scope_var.get()
    if scope is not None:
        return scope
    loose = _loose.activities
    while loose:
        activity = loose[-1]
        if activity._live():
            return activity.scope
        loose.pop()
    return None


def current() -> Activity | None:
    """The innermost run or stage around the caller, or None outside any."""
    scope = current_scope()
    return None if scope is None else scope.activity


def propagate(fn: F) -> F:
    """`fn` bound to the caller's run or stage, for a thread pool.

    ThreadPoolExecutor (and threading.Thread) do not copy the caller's context by themselves: a
    function submitted as-is runs outside the run. Wrap it where the run is current::

        with pipemon.run("orders"):
            pool.map(pipemon.propagate(load), batches)
    """
    context = contextvars.copy_context()
    scope = current_scope()

    @functools.wraps(fn)
    def bound(*args: Any, **kwargs: Any) -> Any:
        # A copy per call: one Context cannot be entered by two threads at once.
        return context.copy().run(_call_in_scope, scope, fn, args, kwargs)

    return bound  # type: ignore[return-value]


def _call_in_scope(scope: Scope | None, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    current_scope_var.set(scope)
    return fn(*args, **kwargs)


def context_with(scope: Scope) -> contextvars.Context:
    """A copy of the caller's context with `scope` current, for a generator's steps to run in: what a step
    sets (a `with` block open across a yield) stays the generator's, and the consumer sees none of it."""
    context = contextvars.copy_context()
    context.run(current_scope_var.set, scope)
    return context


def steps_in(
    context: contextvars.Context, steps: Generator[Any, Any, T], on_item: Callable[[], object] | None = None
) -> Generator[Any, Any, T]:
    """`yield from steps_in(context, g)` is `yield from g` with each of g's steps run in `context` (a
    generator's run or monitored call): values sent and exceptions thrown in pass through, a close()
    closes g in its context, and g's return value is returned. on_item is told of each item."""
    step, value = steps.send, None
    while True:
        try:
            item = context.run(step, value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if on_item is not None:
            on_item()
        try:
            value, step = (yield item), steps.send
        except GeneratorExit:
            context.run(steps.close)
            raise
        except BaseException as thrown:
            # Thrown in by the consumer: the generator may handle it.
            value, step = thrown, steps.throw


@types.coroutine
def awaited_in(context: contextvars.Context, awaitable: Awaitable[T]) -> Generator[Any, Any, T]:
    """`await awaited_in(context, x)` is `await x` with x's code run in `context` (an async generator's
    steps; asyncio.Task's context= is Python 3.11+). The futures it waits on pass through to the task."""
    steps = awaitable.__await__()
    step, value = steps.send, None
    while True:
        try:
            signal = context.run(step, value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        try:
            value, step = (yield signal), steps.send
        except BaseException as thrown:
            value, step = thrown, steps.throw


# Ids from a generator of our own: a pipeline that seeds `random` for reproducible results must not
# get the same trace ids in every run. Reseeded in a forked child, as `random` itself is.
_ids = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def new_trace_id() -> bytes:
    return (_ids.getrandbits(128) or 1).to_bytes(16, "big")


def new_span_id() -> bytes:
    return (_ids.getrandbits(64) or 1).to_bytes(8, "big")


_observed_lock = threading.Lock()
_last_observed = 0


def observed_time(now_ns: int) -> int:
    """`now_ns`, or 1 ns after the previous observed time of this process if that is not earlier.

    The receiver stores identical records once (it hashes time, observed time, body, attributes and
    ids), so two equal lines logged within the clock's resolution must still differ: the twin of
    sdk/activity/lean-logger.ts observedAt.
    """
    global _last_observed
    with _observed_lock:
        _last_observed = now_ns if now_ns > _last_observed else _last_observed + 1
        return _last_observed


now_ns = time.time_ns
