"""The process-wide SDK instance: where the API's records go (the durable delivery, a local output,
test captures), started once per process from start() options and the environment.

SKELETON: the delivery (spool, sender, exit hooks, fork handling, dead runs) is wired in by
_delivery.py; until then records go only to the sinks added with add_sink().
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._records import LogRecord, Span

LogSink = Callable[[LogRecord], None]
SpanSink = Callable[[Span], None]


class Pipemon:
    """One SDK instance. emit_log and emit_span never block and never raise."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self._sinks: list[tuple[LogSink, SpanSink]] = []

    def emit_log(self, record: LogRecord) -> None:
        for on_log, _ in self._sinks:
            try:
                on_log(record)
            except Exception:
                pass

    def emit_span(self, span: Span) -> None:
        for _, on_span in self._sinks:
            try:
                on_span(span)
            except Exception:
                pass

    def add_sink(self, on_log: LogSink, on_span: SpanSink) -> Callable[[], None]:
        """Also hands every record to these callables; returns the function that removes them."""
        pair = (on_log, on_span)
        self._sinks = [*self._sinks, pair]

        def remove() -> None:
            self._sinks = [s for s in self._sinks if s is not pair]

        return remove


_lock = threading.Lock()
_current: Pipemon | None = None


def start(**options: Any) -> Pipemon:
    """Starts the SDK once per process; a second call returns the running instance."""
    global _current
    with _lock:
        if _current is None:
            _current = Pipemon(options)
        return _current


def instance() -> Pipemon:
    """The running instance, started from the environment on first use."""
    return _current if _current is not None else start()
