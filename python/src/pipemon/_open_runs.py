"""Runs left open by a process that died. Each run this process starts has a small marker file in the spool
(`open-runs/`), rewritten at every heartbeat and deleted right after the run's end record went into the
spool. A marker whose writer is dead (_owner.py) is a run nobody will end: the next start with the same
spool ends it as `error`, at its last heartbeat, with an `error.type` saying why.

The twin is sdk/spool/open-runs.ts: the markers are part of the format both SDKs share (docs/spool-format.md),
so their JSON fields are the Node ones, and the closing record is the same whichever SDK writes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ._otlp import encode_logs
from ._owner import Claim, Liveness, Owner, claim_owner, is_alive
from ._records import SAMPLED, LogRecord
from ._spool import sync_dir
from .vocabulary import ATTR, ERROR_TYPE, EVENT, SEVERITY

_SUBDIR = "open-runs"
# <pid>-<instance>-<hash of the run id>.json: run ids come from schedulers and may hold any character.
_MARKER = re.compile(r"^(\d+)-([0-9a-f]{8})-[0-9a-f]{16}\.json$")


@dataclass
class OpenRun:
    pipeline: str
    run_id: str
    # Hex, as in the marker file.
    trace_id: str
    span_id: str
    started_at_ms: int
    # The writer's resource, so that the end record comes from the same service instance as the run.
    resource: dict[str, str] = field(default_factory=dict)
    # The run's attributes at its start.
    attributes: dict[str, Any] = field(default_factory=dict)
    # The last sign of life: the start (when None), then each heartbeat.
    last_beat_ms: int | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "pipeline": self.pipeline,
                "runId": self.run_id,
                "traceId": self.trace_id,
                "spanId": self.span_id,
                "startedAtMs": self.started_at_ms,
                "resource": self.resource,
                "attributes": self.attributes,
                "lastBeatMs": self.started_at_ms if self.last_beat_ms is None else self.last_beat_ms,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> OpenRun:
        value = json.loads(text)
        return cls(
            pipeline=value["pipeline"],
            run_id=value["runId"],
            trace_id=value["traceId"],
            span_id=value["spanId"],
            started_at_ms=value["startedAtMs"],
            resource=value.get("resource") or {},
            attributes=value.get("attributes") or {},
            last_beat_ms=value.get("lastBeatMs", value["startedAtMs"]),
        )


class RunMarker:
    """One open run's marker. beat() and closed() may come from different threads."""

    def __init__(self, dir: str, file: str, run: OpenRun, fsync: bool) -> None:
        self._dir = dir
        self._file = file
        self._run = run
        self._fsync = fsync
        # A beat racing closed() must not write the marker back after it was deleted.
        self._lock = threading.Lock()
        self._open = _write(dir, file, run, fsync)

    def beat(self, at_ms: int) -> None:
        with self._lock:
            if not self._open:
                return
            self._run.last_beat_ms = at_ms
            self._open = _write(self._dir, self._file, self._run, self._fsync)

    def closed(self) -> None:
        """The run's end record is in the spool: nobody needs to end it for us."""
        with self._lock:
            if not self._open:
                return
            self._open = False
            _remove_quietly(self._file)


class RunJournal:
    """Use open_run_journal()."""

    def __init__(self, spool_dir: str, fsync: bool, owner: Claim) -> None:
        self._dir = os.path.join(spool_dir, _SUBDIR)
        self._fsync = fsync
        self._owner = owner

    def opened(self, run: OpenRun) -> RunMarker:
        digest = hashlib.sha256(run.run_id.encode()).hexdigest()[:16]
        file = os.path.join(self._dir, f"{self._owner.pid}-{self._owner.instance}-{digest}.json")
        started = OpenRun(**{**run.__dict__, "last_beat_ms": run.started_at_ms})
        return RunMarker(self._dir, file, started, self._fsync)

    def close(self) -> None:
        """This SDK instance stops: runs it leaves open are the next start's to end."""
        self._owner.release()


def open_run_journal(spool_dir: str, fsync: bool = False, owner: Claim | None = None) -> RunJournal:
    return RunJournal(spool_dir, fsync, owner or claim_owner())


def _write(dir: str, file: str, run: OpenRun, fsync: bool) -> bool:
    """Written whole under a temporary name and renamed: a kill mid-write leaves the previous marker."""
    temporary = f"{file}.tmp"
    try:
        os.makedirs(dir, mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(run.to_json())
            if fsync:
                out.flush()
                os.fsync(fd)
        os.replace(temporary, file)
        if fsync:
            sync_dir(dir)
        return True
    except OSError:
        # Without a marker a crash leaves the run running, as before this journal; the run itself goes on.
        return False


@dataclass
class DeadRun:
    run: OpenRun
    pid: int
    file: str

    def release(self) -> None:
        """Deletes the marker, once the run's closing record is in the spool."""
        # Left behind, the same closing record is written again at the next start and stored once.
        _remove_quietly(self.file)


def find_dead_runs(spool_dir: str, alive: Liveness = is_alive) -> list[DeadRun]:
    """Runs whose writer died without ending them."""
    dir = os.path.join(spool_dir, _SUBDIR)
    try:
        names = os.listdir(dir)
    except OSError:
        return []
    dead: list[DeadRun] = []
    for name in sorted(names):
        match = _MARKER.match(name)
        if match is None or alive(Owner(int(match.group(1)), match.group(2))):
            continue
        file = os.path.join(dir, name)
        try:
            with open(file, encoding="utf-8") as marker:
                dead.append(DeadRun(OpenRun.from_json(marker.read()), int(match.group(1)), file))
        except (OSError, ValueError, KeyError, TypeError):
            # Unreadable: nothing to close it with, and it would be found again at every start.
            _remove_quietly(file)
    return dead


def closing_record(dead: DeadRun) -> LogRecord:
    """The end record the dead process would have written: the same for every start that writes it, whichever
    SDK (time, ids and attributes come from the marker), so two starts racing to close a run are stored once.

    Send it as closing_request() encodes it: under the marker's resource and scope `pipemon` without a version.
    """
    run = dead.run
    last_beat_ms = run.started_at_ms if run.last_beat_ms is None else run.last_beat_ms
    message = (
        f"the process (pid {dead.pid}) running it ended without ending the run (killed, or crashed); "
        f"last sign of life at {_iso(last_beat_ms)}"
    )
    at_ns = last_beat_ms * 1_000_000
    severity_number, severity_text = SEVERITY["error"]
    return LogRecord(
        time_unix_nano=at_ns,
        observed_time_unix_nano=at_ns,
        severity_number=severity_number,
        severity_text=severity_text,
        body=f"run error: {run.pipeline}: {message}",
        event_name=EVENT.RUN_END,
        trace_id=bytes.fromhex(run.trace_id),
        span_id=bytes.fromhex(run.span_id),
        flags=SAMPLED,
        attributes={
            **run.attributes,
            ATTR.RUN_RESULT: "error",
            ATTR.ERROR_TYPE: ERROR_TYPE.PROCESS_DIED,
            ATTR.EXCEPTION_MESSAGE: message,
            ATTR.DURATION_SECONDS: _seconds(last_beat_ms - run.started_at_ms),
        },
    )


def closing_request(dead: DeadRun) -> bytes:
    """The closing record as the logs request body to spool: the receiver's identity of a record includes its
    resource and scope, so these are the marker's resource and the scope sdk/spool/open-runs.ts gives it (no version).
    """
    return encode_logs(dead.run.resource, "pipemon", "", [closing_record(dead)])


def _iso(ms: int) -> str:
    """As JavaScript's Date.toISOString: UTC, milliseconds, a Z."""
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _seconds(ms: int) -> int | float:
    # A whole number stays an int: JavaScript numbers that are whole encode as OTLP intValue, not doubleValue.
    seconds = max(0, ms) / 1000
    return int(seconds) if seconds.is_integer() else seconds


def _remove_quietly(file: str) -> None:
    try:
        os.remove(file)
    except OSError:
        pass
