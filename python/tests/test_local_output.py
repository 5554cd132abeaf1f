from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import pytest

from pipemon._local_output import LocalOutput, to_local_line
from pipemon._records import LogRecord

RECORD = LogRecord(
    1_700_000_000_123_456_789,
    17,
    "ERROR",
    "load failed",
    {"rows": 3, "raw": b"\x00\x01"},
    event_name="pipeline.run.end",
    trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
    span_id=bytes.fromhex("b7ad6b7169203331"),
)


def test_a_line_holds_the_node_sdk_s_fields() -> None:
    line = to_local_line(RECORD, {"service.name": "orders"}, "pipemon")
    assert line == {
        "timestamp": "2023-11-14T22:13:20.123Z",
        "level": "ERROR",
        "component": "orders",
        "message": "load failed",
        "attributes": {"rows": 3, "raw": b"\x00\x01"},
        "event": "pipeline.run.end",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
    }
    assert to_local_line(LogRecord(0, 9, "", None, {}), {}, "pipemon")["component"] == "pipemon"


def test_a_file_gets_one_json_object_per_line(tmp_path: Path) -> None:
    out = LocalOutput(str(tmp_path / "out.jsonl"), {"service.name": "orders"}, "pipemon")
    out.write(RECORD)
    out.write(RECORD)
    out.close()
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["attributes"]["raw"] == "AAE="


def test_stdout_is_looked_up_at_each_write(capsys: pytest.CaptureFixture) -> None:
    LocalOutput("stdout", {}, "pipemon").write(RECORD)
    assert json.loads(capsys.readouterr().out)["message"] == "load failed"


def test_a_write_that_fails_does_not_raise(tmp_path: Path) -> None:
    LocalOutput(str(tmp_path / "missing" / "out.jsonl"), {}, "pipemon").write(RECORD)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_line_is_in_the_file_when_write_returns_so_a_forked_child_never_writes_it_again(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    out = LocalOutput(str(target), {}, "pipemon")
    out.write(RECORD)
    assert len(target.read_text().splitlines()) == 1
    pid = os.fork()
    if pid == 0:
        # The child drops its copy of the instance, as the SDK does with an inherited one: a file object with
        # the parent's buffered lines would write them at its end.
        del out
        gc.collect()
        os._exit(0)
    os.waitpid(pid, 0)
    out.close()
    assert len(target.read_text().splitlines()) == 1
