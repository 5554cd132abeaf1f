"""pipemon.testing.capture(): what users test their instrumentation with."""

from __future__ import annotations

import pytest

import pipemon
from pipemon import testing
from pipemon.vocabulary import EVENT


def test_capture_collects_logs_and_spans_of_the_block_only() -> None:
    with pipemon.run("before"):
        pass
    with testing.capture() as records:
        with pipemon.run("orders") as r:
            r.rows(written=3)
    with pipemon.run("after"):
        pass
    assert [record.event_name for record in records.logs] == [EVENT.RUN_START, EVENT.RUN_END]
    assert [span.name for span in records.spans] == ["orders"]
    assert records.log(EVENT.RUN_END).attributes["pipemon.rows.written"] == 3


def test_log_and_span_say_what_was_there_when_they_do_not_find_one() -> None:
    with testing.capture() as records:
        with pipemon.run("a"), pipemon.run("a"):
            pass
    with pytest.raises(AssertionError, match="expected one span named 'a', got 2"):
        records.span("a")
    with pytest.raises(AssertionError, match="run started: a"):
        records.log(EVENT.RUN_START)
