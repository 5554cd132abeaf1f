"""Test your instrumentation: every record the SDK emits inside the block, as values.

def test_load_counts_rows():
    with pipemon.testing.capture() as records:
        load(rows)
    end = records.logs_of("pipeline.stage.end")[0]
    assert end.attributes["pipemon.rows.written"] == 118
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from . import _telemetry
from ._records import LogRecord, Span


class Captured:
    """The log records and spans emitted while capturing, in emit order."""

    def __init__(self) -> None:
        self.logs: list[LogRecord] = []
        self.spans: list[Span] = []

    def logs_of(self, event_name: str) -> list[LogRecord]:
        """The log records with this event name (pipeline.run.start, pipeline.check...)."""
        return [record for record in self.logs if record.event_name == event_name]

    def log(self, event_name: str) -> LogRecord:
        """The one log record with this event name; AssertionError if there is none or more than one."""
        found = self.logs_of(event_name)
        assert len(found) == 1, f"expected one {event_name!r} record, got {len(found)}: {[r.body for r in self.logs]}"
        return found[0]

    def span(self, name: str) -> Span:
        """The one span of this name; AssertionError if there is none or more than one."""
        found = [span for span in self.spans if span.name == name]
        assert len(found) == 1, f"expected one span named {name!r}, got {len(found)} of {[s.name for s in self.spans]}"
        return found[0]


@contextmanager
def capture() -> Iterator[Captured]:
    """Collects what is emitted inside the block; starts the SDK with export off if none runs."""
    pipemon = _telemetry.start(export=False)
    captured = Captured()
    remove = pipemon.add_sink(captured.logs.append, captured.spans.append)
    try:
        yield captured
    finally:
        remove()
