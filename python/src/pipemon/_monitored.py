"""`@pipemon.monitored`: each sampled call of a function (plain, async, generator, async generator) is an
INTERNAL span under the current run or stage, with its arguments and result previewed by the bounded
serializer. The twin of sdk/monitored.ts.

A call that is sampled out costs one random draw and one clock read; if it then fails, the failure is
recorded anyway (a span back-dated to the call's start, and an ERROR record): sampling never hides an
error. The exception is re-raised unchanged.
"""

from __future__ import annotations

import functools
import inspect
import random
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from . import _telemetry
from ._activity_log import ERROR, emit_plain, exception_attributes
from ._context import (
    SPAN_FLAGS_LOCAL,
    Scope,
    awaited_in,
    context_with,
    current_scope,
    current_scope_var,
    new_span_id,
    new_trace_id,
    now_ns,
    steps_in,
)
from ._records import SPAN_KIND_INTERNAL, STATUS_ERROR, Span, SpanEvent
from ._serialize import Serializer
from .vocabulary import ATTR, EVENT, MAX_DEPTH, MAX_ITEMS, MAX_REPR

F = TypeVar("F", bound=Callable[..., Any])

# Parameter names whose argument is the object a method is called on: not previewed.
_RECEIVERS = ("self", "cls")


class _Call:
    """One sampled call in progress: its span's ids, start and the scope its body runs in."""

    __slots__ = ("scope", "parent_span_id", "started", "args_preview", "token")

    def __init__(self, scope: Scope, parent_span_id: bytes, started: int, args_preview: str | None) -> None:
        self.scope = scope
        self.parent_span_id = parent_span_id
        self.started = started
        self.args_preview = args_preview
        self.token: Any = None


class _Monitor:
    """What the wrappers of one decorated function share: its name, options and preview."""

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None,
        group: str | None,
        capture_args: bool,
        capture_result: bool,
        preview: Serializer,
    ) -> None:
        self.name = name or getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "anonymous")
        self.group = group
        self.capture_args = capture_args
        self.capture_result = capture_result
        self.preview = preview
        code = getattr(fn, "__code__", None)
        self.skip_receiver = code is not None and code.co_argcount > 0 and code.co_varnames[0] in _RECEIVERS

    def args_preview(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        if not self.capture_args:
            return None
        return self.preview.call(args[1:] if self.skip_receiver else args, kwargs)

    def open(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call:
        """A sampled call starts: its span becomes the current scope."""
        parent = current_scope()
        if parent is None:
            scope, parent_span_id = Scope(new_trace_id(), new_span_id(), None), b""
        else:
            scope, parent_span_id = Scope(parent.trace_id, new_span_id(), parent.activity), parent.span_id
        call = _Call(scope, parent_span_id, now_ns(), self.args_preview(args, kwargs))
        call.token = current_scope_var.set(scope)
        return call

    def attributes(self, call: _Call) -> dict[str, Any]:
        attributes: dict[str, Any] = {ATTR.CODE_FUNCTION_NAME: self.name}
        if self.group:
            attributes[ATTR.FUNCTION_GROUP] = self.group
        if call.args_preview is not None:
            attributes[ATTR.FUNCTION_ARGS] = call.args_preview
        return attributes

    def succeed(self, call: _Call, value: Any = None, yields: int | None = None) -> None:
        try:
            attributes = self.attributes(call)
            if yields is not None:
                attributes[ATTR.FUNCTION_YIELDS] = yields
            elif self.capture_result:
                attributes[ATTR.FUNCTION_RESULT] = self.preview(value)
            self._emit(call, attributes)
        except Exception:
            pass  # Telemetry never raises into the caller.

    def fail(self, call: _Call, error: BaseException) -> None:
        try:
            failure = exception_attributes(error)
            attributes = self.attributes(call)
            attributes.update(failure)
            message = str(failure[ATTR.EXCEPTION_MESSAGE])
            event = {k: v for k, v in failure.items() if k != ATTR.ERROR_TYPE}
            self._emit(call, attributes, SpanEvent(now_ns(), "exception", event), message)
            self._record(call, attributes, message)
        except Exception:
            pass  # Telemetry never raises into the caller.

    def fail_unsampled(self, started: int, args: tuple[Any, ...], kwargs: dict[str, Any], error: BaseException) -> None:
        """A sampled-out call failed: its span now, back-dated to its start (failures are never sampled out)."""
        try:
            parent = current_scope()
            trace_id = new_trace_id() if parent is None else parent.trace_id
            scope = Scope(trace_id, new_span_id(), None if parent is None else parent.activity)
            call = _Call(scope, b"" if parent is None else parent.span_id, started, self.args_preview(args, kwargs))
        except Exception:
            return
        self.fail(call, error)

    def _emit(self, call: _Call, attributes: dict[str, Any], event: SpanEvent | None = None, error: str = "") -> None:
        span = Span(
            trace_id=call.scope.trace_id,
            span_id=call.scope.span_id,
            name=self.name,
            kind=SPAN_KIND_INTERNAL,
            start_time_unix_nano=call.started,
            end_time_unix_nano=now_ns(),
            attributes=attributes.copy(),
            parent_span_id=call.parent_span_id,
            flags=SPAN_FLAGS_LOCAL,
        )
        if event is not None:
            span.events.append(event)
            span.status_code = STATUS_ERROR
            span.status_message = error
        _telemetry.instance().emit_span(span)

    def _record(self, call: _Call, attributes: dict[str, Any], message: str) -> None:
        """The ERROR record of a failed call, under its span, naming the run and stage around it."""
        activity = call.scope.activity
        if activity is not None:
            attributes[ATTR.PIPELINE_NAME] = activity.pipeline
            attributes[ATTR.RUN_ID] = activity.run_id
            if activity.kind == "stage":
                attributes[ATTR.STAGE_NAME] = activity.name
        token = current_scope_var.set(call.scope)
        try:
            emit_plain(ERROR, f"{self.name} failed: {message}", attributes, event_name=EVENT.FUNCTION_CALL)
        finally:
            current_scope_var.reset(token)


def _wrap_plain(fn: Callable[..., Any], monitor: _Monitor, rate: float) -> Callable[..., Any]:
    draw = random.random

    def sampled(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = monitor.open(args, kwargs)
        try:
            value = fn(*args, **kwargs)
        except Exception as error:
            monitor.fail(call, error)
            raise
        finally:
            # Ctrl-C and sys.exit() too: the caller goes on outside this call's span.
            current_scope_var.reset(call.token)
        monitor.succeed(call, value)
        return value

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        if rate >= 1.0 or draw() < rate:
            return sampled(args, kwargs)
        started = now_ns()
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            monitor.fail_unsampled(started, args, kwargs, error)
            raise

    return plain


def _wrap_coroutine(fn: Callable[..., Any], monitor: _Monitor, rate: float) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def coroutine(*args: Any, **kwargs: Any) -> Any:
        if rate < 1.0 and random.random() >= rate:
            started = now_ns()
            try:
                return await fn(*args, **kwargs)
            except Exception as error:
                monitor.fail_unsampled(started, args, kwargs, error)
                raise
        call = monitor.open(args, kwargs)
        try:
            value = await fn(*args, **kwargs)
        except Exception as error:
            monitor.fail(call, error)
            raise
        finally:
            current_scope_var.reset(call.token)
        monitor.succeed(call, value)
        return value

    return coroutine


def _wrap_generator(fn: Callable[..., Any], monitor: _Monitor) -> Callable[..., Any]:
    """Every call of a generator is sampled: its span covers the iteration, current in each step."""

    @functools.wraps(fn)
    def generator(*args: Any, **kwargs: Any) -> Any:
        call = monitor.open(args, kwargs)
        current_scope_var.reset(call.token)
        steps = fn(*args, **kwargs)
        yielded = 0

        def counted() -> None:
            nonlocal yielded
            yielded += 1

        try:
            value = yield from steps_in(context_with(call.scope), steps, counted)
        except GeneratorExit:
            # The consumer stopped early: still a successful call, and the source closes.
            monitor.succeed(call, yields=yielded)
            raise
        except Exception as error:
            monitor.fail(call, error)
            raise
        monitor.succeed(call, yields=yielded)
        return value

    return generator


def _wrap_async_generator(fn: Callable[..., Any], monitor: _Monitor) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def async_generator(*args: Any, **kwargs: Any) -> Any:
        call = monitor.open(args, kwargs)
        current_scope_var.reset(call.token)
        steps = fn(*args, **kwargs)
        context = context_with(call.scope)
        yielded = 0
        try:
            while True:
                item = await awaited_in(context, steps.__anext__())
                yielded += 1
                try:
                    yield item
                except GeneratorExit:
                    await awaited_in(context, steps.aclose())
                    monitor.succeed(call, yields=yielded)
                    raise
        except StopAsyncIteration:
            monitor.succeed(call, yields=yielded)
        except Exception as error:
            monitor.fail(call, error)
            raise

    return async_generator


@overload
def monitored(fn: F, /) -> F: ...


@overload
def monitored(
    *,
    name: str | None = None,
    group: str | None = None,
    sample_rate: float = 1.0,
    capture_args: bool = True,
    capture_result: bool = True,
    sensitive_fields: Iterable[str] = (),
    max_repr: int = MAX_REPR,
    max_items: int = MAX_ITEMS,
    max_depth: int = MAX_DEPTH,
) -> Callable[[F], F]: ...


def monitored(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    group: str | None = None,
    sample_rate: float = 1.0,
    capture_args: bool = True,
    capture_result: bool = True,
    sensitive_fields: Iterable[str] = (),
    max_repr: int = MAX_REPR,
    max_items: int = MAX_ITEMS,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """Records calls of a function as spans: `@pipemon.monitored` or `@pipemon.monitored(sample_rate=0.1)`.

    name: the span's (default the function's qualified name, Class.method). group: pipemon.function.group.
    sample_rate: the share of calls recorded, 0 to 1; a failing call is recorded whatever the draw
    (generators are always recorded). capture_args / capture_result: preview them, bounded by max_repr,
    max_items and max_depth, keys naming secrets (and `sensitive_fields`) masked.
    """
    if not 0.0 <= sample_rate <= 1.0:
        raise ValueError(f"sample_rate must be between 0 and 1, got {sample_rate!r}")
    preview = Serializer(max_repr, max_items, max_depth, sensitive_fields)

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        monitor = _Monitor(function, name, group, capture_args, capture_result, preview)
        if inspect.isasyncgenfunction(function):
            return _wrap_async_generator(function, monitor)
        if inspect.isgeneratorfunction(function):
            return _wrap_generator(function, monitor)
        if inspect.iscoroutinefunction(function):
            return _wrap_coroutine(function, monitor, sample_rate)
        return _wrap_plain(function, monitor, sample_rate)

    return decorate if fn is None else decorate(fn)
