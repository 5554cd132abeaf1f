"""Every log record as one JSON object per line, to stdout, stderr or a file (PIPEMON_LOCAL_OUTPUT): useful with
no receiver at all. The twin is sdk/activity/local-output.ts, with the same fields.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from datetime import datetime, timezone
from typing import Any, TextIO

from ._records import LogRecord
from .vocabulary import ATTR


def to_local_line(record: LogRecord, resource: dict[str, str], scope: str) -> dict[str, Any]:
    line: dict[str, Any] = {
        "timestamp": _iso(record.time_unix_nano),
        "level": record.severity_text or "INFO",
        "component": resource.get(ATTR.SERVICE_NAME, scope),
        "message": record.body,
        "attributes": dict(record.attributes),
    }
    if record.event_name:
        line["event"] = record.event_name
    if record.trace_id:
        line["trace_id"] = record.trace_id.hex()
        line["span_id"] = record.span_id.hex()
    return line


class LocalOutput:
    """write() never raises: a broken pipe or a full disk must not reach the pipeline."""

    def __init__(self, target: str, resource: dict[str, str], scope: str) -> None:
        self._target = target
        self._resource = resource
        self._scope = scope
        self._file: TextIO | None = None
        self._lock = threading.Lock()

    def write(self, record: LogRecord) -> None:
        try:
            text = json.dumps(to_local_line(record, self._resource, self._scope), default=_json_safe) + "\n"
            with self._lock:
                self._stream().write(text)
        except Exception:
            pass

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError:
                    pass
                self._file = None

    def _stream(self) -> TextIO:
        # stdout and stderr looked up at each write: a test harness or a notebook may have replaced them.
        if self._target == "stdout":
            return sys.stdout
        if self._target == "stderr":
            return sys.stderr
        if self._file is None:
            # Line-buffered: a line is in the file when write() returns, so a kill -9 does not lose it, and a
            # forked child's copy of this object holds no lines of the parent's to write a second time.
            self._file = open(self._target, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (closed by close())
        return self._file


def _iso(ns: int) -> str:
    """As JavaScript's Date.toISOString: UTC, milliseconds, a Z."""
    ms = ns // 1_000_000
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _json_safe(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return str(value)
