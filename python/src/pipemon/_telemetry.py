"""The process-wide SDK instance: where the API's records go (the durable delivery, a local output, test
captures), started once per process from start() options and the environment. The twin is sdk/activity/telemetry.ts.

The OpenTelemetry Python SDK may run in the same process: pipemon never touches its global providers, and
encodes and sends its own records.

Exit: an atexit hook shuts the instance down (buffered records to the spool, a short flush, the report on
stderr), but nothing already emitted depends on it: kept records are on disk when emit returns, the rest
within buffer_ms. No SIGTERM/SIGINT handler is installed: Python's default SIGINT raises KeyboardInterrupt
into the pipeline, which a handler of ours would replace, and a SIGTERM handler would keep the process from
dying at once; what was emitted is on disk either way, for the next start to send.

Fork: a child (multiprocessing's fork, Spark's Python workers) starts an instance of its own on first use, with
the parent's start() options. The parent's buffers stay the parent's to append and its spool files its to
send; the child's records go out under its own pid.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from importlib import metadata
from typing import Any

from ._config import Config, resolve_config
from ._delivery import NOTHING_HELD, Delivery, DeliveryStats
from ._local_output import LocalOutput
from ._open_runs import OpenRun, RunJournal, closing_request, find_dead_runs, open_run_journal
from ._otlp import encode_logs, encode_spans
from ._owner import forget_claims
from ._record_queue import Channel
from ._records import STATUS_ERROR, LogRecord, Span
from ._report import DeliveryReport, delivery_report
from .vocabulary import ATTR, EVENT, SEVERITY

LogSink = Callable[[LogRecord], None]
SpanSink = Callable[[Span], None]

SCOPE = "pipemon"
# How often dropped records are reported as a record of their own (sdk/activity/telemetry.ts DROP_REPORT_MS).
DROP_REPORT_S = 10.0

# Log records that are never evicted: errors and the records that make up a run's history (sdk/activity/telemetry.ts
# KEPT_EVENTS; test/python/parity.test.ts holds the two to the same answers).
KEPT_EVENTS = frozenset(
    (EVENT.RUN_START, EVENT.RUN_END, EVENT.STAGE_START, EVENT.STAGE_END, EVENT.CHECK, EVENT.SDK_DROPPED)
)
ERROR_SEVERITY = SEVERITY["error"][0]


def must_keep_log(record: LogRecord) -> bool:
    return record.severity_number >= ERROR_SEVERITY or record.event_name in KEPT_EVENTS


def must_keep_span(span: Span) -> bool:
    return span.status_code == STATUS_ERROR or ATTR.PIPELINE_NAME in span.attributes


def _failed(span: Span) -> bool:
    # A failed span is on disk before the failure is re-raised; a successful run's or stage's is buffered.
    return span.status_code == STATUS_ERROR


def _package_version() -> str:
    try:
        return metadata.version("pipemon")
    except metadata.PackageNotFoundError:
        # Imported from a source tree: no version to claim.
        return ""


VERSION = _package_version()


class _NoMarker:
    def beat(self, at_ms: int) -> None:
        pass

    def closed(self) -> None:
        pass


class NoJournal:
    """The journal when nothing is exported: there is no spool to end runs from."""

    def opened(self, run: OpenRun) -> _NoMarker:
        return _NoMarker()

    def close(self) -> None:
        pass


class Pipemon:
    """One SDK instance. emit_log and emit_span never block on the network and never raise."""

    def __init__(self, config: Config, make_delivery: Callable[[Config], Delivery] = Delivery) -> None:
        self.config = config
        # The resource attributes of every record this instance sends.
        self.resource = config.resource
        self.runs: RunJournal | NoJournal = NoJournal()
        self._delivery = make_delivery(config) if config.export else None
        self._own_log_sinks: list[LogSink] = []
        self._own_span_sinks: list[SpanSink] = []
        self._added: list[tuple[LogSink, SpanSink]] = []
        self._inherited = False
        self._drops_lock = threading.Lock()
        self._reported_drops = 0
        self._stop_lock = threading.Lock()
        self._report: DeliveryReport | None = None
        self._local = LocalOutput(config.local_output, self.resource, SCOPE) if config.local_output else None
        if self._local is not None:
            self._own_log_sinks.append(self._local.write)
        if self._delivery is not None:
            self._wire(self._delivery)
        self._log_sinks, self._span_sinks = self._own_log_sinks, self._own_span_sinks

    def emit_log(self, record: LogRecord) -> None:
        if self._inherited:
            instance().emit_log(record)
            return
        for sink in self._log_sinks:
            try:
                sink(record)
            except Exception:
                pass

    def emit_span(self, span: Span) -> None:
        if self._inherited:
            instance().emit_span(span)
            return
        for sink in self._span_sinks:
            try:
                sink(span)
            except Exception:
                pass

    def add_sink(self, on_log: LogSink, on_span: SpanSink) -> Callable[[], None]:
        """Also hands every record to these callables; returns the function that removes them."""
        pair = (on_log, on_span)
        self._set_added([*self._added, pair])

        def remove() -> None:
            self._set_added([added for added in self._added if added is not pair])

        return remove

    def flush(self, timeout: float | None = None) -> None:
        """Sends what is buffered and spooled; returns by `timeout` seconds (default shutdown_ms) at the latest."""
        if self._inherited:
            return instance().flush(timeout)
        self._report_drops()
        if self._delivery is not None:
            self._delivery.flush(self._seconds(timeout))

    def shutdown(self, timeout: float | None = None) -> DeliveryReport:
        """Flushes, spools what is left, stops; says on stderr what was not delivered. Safe to call twice: later
        calls return the same report."""
        global _current
        if self._inherited:
            return instance().shutdown(timeout)
        with self._stop_lock:
            if self._report is not None:
                return self._report
            self._report_drops()
            if self._delivery is not None:
                self._delivery.shutdown(self._seconds(timeout))
            self.runs.close()
            if self._local is not None:
                self._local.close()
            with _lock:
                if _current is self:
                    _current = None
            self._report = delivery_report(self.stats(), self.config.endpoint, self.config.spool_dir)
            if self._report.message is not None:
                print(self._report.message, file=sys.stderr, flush=True)
            return self._report

    def stats(self) -> DeliveryStats:
        if self._inherited:
            return instance().stats()
        return self._delivery.stats() if self._delivery is not None else NOTHING_HELD

    def _wire(self, delivery: Delivery) -> None:
        logs = delivery.queue(Channel("logs", partial(encode_logs, self.resource, SCOPE, VERSION), must_keep_log))
        spans = delivery.queue(
            Channel("traces", partial(encode_spans, self.resource, SCOPE, VERSION), must_keep_span, _failed)
        )
        # Runs a dead process left open end now, as `error` at their last heartbeat, in the bytes any start of
        # either SDK writes for them (stored once); the end record is in the spool before the marker goes, so a
        # crash in between only writes the same record again.
        for dead in find_dead_runs(self.config.spool_dir):
            delivery.keep("logs", 1, closing_request(dead))
            dead.release()
        self._own_log_sinks.append(logs.push)
        self._own_span_sinks.append(spans.push)
        self.runs = open_run_journal(self.config.spool_dir, fsync=self.config.spool_fsync)
        delivery.timers.at("drops", DROP_REPORT_S, self._report_drops_every)

    def _set_added(self, added: list[tuple[LogSink, SpanSink]]) -> None:
        # Copied, not changed in place: emit iterates over these lists without a lock.
        self._added = added
        self._log_sinks = [*self._own_log_sinks, *(on_log for on_log, _ in added)]
        self._span_sinks = [*self._own_span_sinks, *(on_span for _, on_span in added)]

    def _report_drops(self) -> None:
        """A `pipemon.sdk.dropped` record for the records dropped since the last one."""
        if self._delivery is None:
            return
        with self._drops_lock:
            dropped = self._delivery.stats().dropped
            more = dropped - self._reported_drops
            if more <= 0:
                return
            self._reported_drops = dropped
        now = time.time_ns()
        severity, text = SEVERITY["warn"]
        self.emit_log(
            LogRecord(
                time_unix_nano=now,
                observed_time_unix_nano=now,
                severity_number=severity,
                severity_text=text,
                body=f"pipemon SDK dropped {more} records (memory or spool full, or refused as malformed)",
                attributes={ATTR.DROPPED_RECORDS: more},
                event_name=EVENT.SDK_DROPPED,
            )
        )

    def _report_drops_every(self) -> None:
        self._report_drops()
        if self._delivery is not None:
            self._delivery.timers.at("drops", DROP_REPORT_S, self._report_drops_every)

    def _seconds(self, timeout: float | None) -> float:
        return self.config.shutdown_ms / 1000 if timeout is None else timeout

    def _forget_inherited(self) -> None:
        """In a forked child: the parent's buffers and spool are the parent's; records go to the child's own
        instance from now on."""
        self._inherited = True
        self._log_sinks, self._span_sinks, self._added = [], [], []
        self._delivery = None


_lock = threading.Lock()
_current: Pipemon | None = None
# The last start()'s options: a forked child starts its own instance with them.
_options: dict[str, Any] = {}
# After the exit hook, instance() answers the instance it shut down instead of starting threads at the end.
_exited = False
_last: Pipemon | None = None
# Forked from a process that may have claimed spool files; cleared by the child's first start.
_forked = False


def start(**options: Any) -> Pipemon:
    """Starts the SDK once per process; a second call returns the running instance. Raises ValueError only on
    bad configuration, saying what is wrong and how to fix it."""
    global _current, _options, _forked
    with _lock:
        if _current is None:
            if _forked:
                # The parent's claims are not this process's: its files stay the parent's (its pid still runs).
                forget_claims()
                _forked = False
            _current = Pipemon(resolve_config(options))
            _options = options
        return _current


def instance() -> Pipemon:
    """The running instance; on first use (after a shutdown, or in a forked child) one is started with the last
    start()'s options, or from the environment alone."""
    current = _current
    if current is not None:
        return current
    if _exited and _last is not None:
        return _last
    return start(**_options)


def shutdown(timeout: float | None = None) -> DeliveryReport | None:
    """Shuts the running instance down (None without one); the next start() or instance() creates a fresh one."""
    current = _current
    return current.shutdown(timeout) if current is not None else None


def flush(timeout: float | None = None) -> None:
    """Sends what the running instance holds, within `timeout` seconds (default shutdown_ms)."""
    instance().flush(timeout)


def stats() -> DeliveryStats:
    """What the running instance delivered, dropped and still holds."""
    return instance().stats()


def _at_exit() -> None:
    global _exited, _last
    current = _current
    _exited = True
    _last = current
    if current is not None and current.config.handle_exit:
        current.shutdown()


def _after_fork_in_child() -> None:
    global _lock, _current, _forked
    # A lock some other thread held at the fork would never be released in the child.
    _lock = threading.Lock()
    inherited, _current = _current, None
    if inherited is not None:
        inherited._forget_inherited()
    _forked = True


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
