"""What a run and a stage have in common (the twin of ActivityImpl in sdk/activity/run.ts): a span, a start
record emitted at once, and an end record carrying the same attributes as the span (result, duration,
rows, target, datasets, error), which the receiver derives runs and stages from (receiver/model/derive.ts).

Every method is safe after the end (a no-op; logs and checks are still recorded) and never raises.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from . import _telemetry
from ._activity_log import ERROR, INFO, WARN, ActivityLog, exception_attributes, log_attributes
from ._blocks import Block
from ._context import (
    LOG_FLAGS_SAMPLED,
    SPAN_FLAGS_LOCAL,
    Scope,
    add_loose,
    new_span_id,
    now_ns,
    observed_time,
    remove_loose,
)
from ._inputs import NOT_GIVEN, dataset_of, datasets_of, is_empty, parse_target, row_count, truth
from ._logging import reattach as reattach_logging
from ._records import SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, STATUS_ERROR, LogRecord, Span, SpanEvent
from ._serialize import is_sensitive_key, to_attribute_value, to_log_value
from .vocabulary import ATTR, CHECK, EVENT, FAILED_RESULTS, MASK


class Activity(Block):
    """A run or a stage in progress: count rows, record checks, log; the end is recorded once."""

    __slots__ = (
        "kind",
        "name",
        "log",
        "_pipeline",
        "_run_id",
        "scope",
        "_parent",
        "_parent_span_id",
        "_span_flags",
        "_attrs",
        "_counts",
        "_child_counts",
        "_own_rows",
        "_children",
        "_explicit",
        "_failure",
        "_events",
        "_ended",
        "_pending",
        "_lock",
        "_start_ns",
        "_start_perf",
        "_failure_allowed",
        "_timeout",
        "_timer",
        "_token",
        "_heartbeat",
        "_marker",
    )

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        self.log = ActivityLog(self)
        self._attrs: dict[str, Any] = {}
        self._counts = [0, 0, 0]
        self._child_counts = [0, 0, 0]
        self._own_rows = False
        self._children: set[Activity] | None = None
        self._explicit: str | None = None
        self._failure: dict[str, Any] | None = None
        self._events: list[SpanEvent] = []
        self._ended = False
        self._pending = False
        self._lock = threading.Lock()
        self._failure_allowed = False
        self._timeout: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._token: Any = None
        self._heartbeat: Any = None
        self._marker: Any = None

    def _open(
        self,
        pipeline: str,
        run_id: str,
        parent: Activity | None,
        trace_id: bytes,
        parent_span_id: bytes,
        span_flags: int,
        options: Mapping[str, Any],
        started: tuple[int, int],
    ) -> None:
        """Starts the span and emits the start record (the constructor's second half: runs start late)."""
        self._pipeline = pipeline
        self._run_id = run_id
        self._parent = parent
        self._parent_span_id = parent_span_id
        self._span_flags = span_flags
        self._start_ns, self._start_perf = started
        self._failure_allowed = options.get("allow_failure") is True
        self._timeout = options.get("timeout")
        self.scope = Scope(trace_id, new_span_id(), self)
        self._attrs[ATTR.PIPELINE_NAME] = pipeline
        self._attrs[ATTR.RUN_ID] = run_id
        if self.kind == "stage":
            self._attrs[ATTR.STAGE_NAME] = self.name
        if options.get("source"):
            self.source(options["source"])
        if options.get("capabilities"):
            self.capability(*options["capabilities"])
        if options.get("target"):
            self.target(options["target"])
        if options.get("inputs"):
            self.input(*options["inputs"])
        if options.get("outputs"):
            self.output(*options["outputs"])
        if options.get("attributes"):
            self.set(options["attributes"])
        if self.kind == "stage":
            self._attrs[ATTR.STAGE_RUN_ID] = self.span_id
        if parent is not None:
            if parent._children is None:
                parent._children = set()
            parent._children.add(self)
        reattach_logging()
        event = EVENT.RUN_START if self.kind == "run" else EVENT.STAGE_START
        self._record(event, INFO, f"{self.kind} started: {self.name}", self._attrs.copy())

    # What the caller reads.

    @property
    def pipeline(self) -> str:
        self._live()
        return self._pipeline

    @property
    def run_id(self) -> str:
        self._live()
        return self._run_id

    @property
    def trace_id(self) -> str:
        self._live()
        return self.scope.trace_id.hex()

    @property
    def span_id(self) -> str:
        self._live()
        return self.scope.span_id.hex()

    @property
    def stage_run_id(self) -> str | None:
        """A stage's id among its run's stages (its span id); None for a run."""
        return self.span_id if self.kind == "stage" else None

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def skipped(self) -> bool:
        return self._explicit == "skip"

    def _live(self) -> bool:
        """False once ended; a run made without `with` starts here, at its first use."""
        if self._pending:
            self._begin()
        return not self._ended

    def _begin(self) -> None:
        """Starts a run that was made but not started yet (see _run.Run)."""

    # What the caller records.

    def rows(self, read: float | None = None, written: float | None = None, rejected: float | None = None) -> None:
        """Adds to the row counts (call it once per batch); negative or non-numbers are ignored."""
        if not self._live():
            return
        with self._lock:
            for index, n in enumerate((read, written, rejected)):
                rows = row_count(n)
                if rows is not None:
                    self._counts[index] += rows
                    self._own_rows = True

    def target(self, target: Any = None, *, namespace: str | None = None, collection: str | None = None) -> None:
        """Where the data goes: "dw.orders", {"namespace": "dw", "collection": "orders"} or keywords."""
        if not self._live():
            return
        parsed_namespace, parsed_collection = parse_target(target)
        if namespace or parsed_namespace:
            self._attrs[ATTR.DB_NAMESPACE] = str(namespace or parsed_namespace)
        if collection or parsed_collection:
            self._attrs[ATTR.DB_COLLECTION] = str(collection or parsed_collection)

    def input(self, *datasets: Any) -> None:
        """Adds datasets it reads (pipemon.lineage.inputs): "postgres://db:5432/shop.public.orders" or a target's
        {"namespace": "dw", "collection": "orders"} (dw://orders)."""
        self._add_datasets(ATTR.LINEAGE_INPUTS, datasets)

    def output(self, *datasets: Any) -> None:
        """Adds datasets it writes besides its target (pipemon.lineage.outputs), named as input() names them."""
        self._add_datasets(ATTR.LINEAGE_OUTPUTS, datasets)

    def _add_datasets(self, key: str, datasets: tuple[Any, ...]) -> None:
        """Each named once, in the order first named; what names nothing is left out."""
        if not self._live():
            return
        named = [name for name in map(dataset_of, datasets) if name is not None]
        if named:
            self._attrs[key] = list(dict.fromkeys([*self._attrs.get(key, []), *named]))

    def source(self, system: str) -> None:
        """Where the data comes from (jira, s3, postgres...)."""
        if self._live():
            self._attrs[ATTR.SOURCE_SYSTEM] = str(system)

    def capability(self, *names: str) -> None:
        """What this run or stage has established, e.g. "auth_verified"."""
        if self._live():
            have = self._attrs.get(ATTR.CAPABILITIES, [])
            self._attrs[ATTR.CAPABILITIES] = list(dict.fromkeys([*have, *map(str, names)]))

    def set(self, attributes: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Sets attributes of the run or stage (and its records); keys naming secrets are masked."""
        if not self._live():
            return
        for source in (attributes or {}, more):
            try:
                for key, value in source.items():
                    converted = MASK if is_sensitive_key(key) else to_attribute_value(value)
                    if converted is not None:
                        self._attrs[str(key)] = converted
            except Exception:
                pass  # A mapping that cannot be read (or a key that cannot be named): what was read stays.

    def check(self, name: str, passed: bool, /, **details: Any) -> bool:
        """Records a data-quality check (a `pipeline.check` record, WARN when it fails); returns `passed`.
        A value without a truth value (an array of booleans) is a failed check, not an exception."""
        self._live()
        passed = truth(passed)
        attributes = self._attrs.copy()
        attributes[ATTR.CHECK_NAME] = name
        attributes[ATTR.CHECK_PASSED] = passed
        if details:
            attributes[ATTR.CHECK_DETAILS] = to_log_value(details)
        body = f"check {name} {'passed' if passed else 'failed'}"
        self._record(EVENT.CHECK, INFO if passed else WARN, body, attributes)
        if not self._ended:
            event_attributes = {ATTR.CHECK_NAME: name, ATTR.CHECK_PASSED: passed}
            self._events.append(SpanEvent(now_ns(), EVENT.CHECK, event_attributes))
        return passed

    def fail(self, error: BaseException | str, result: str = "failure") -> None:
        """Records an error without raising it: `failure` (the work failed) or `error` (the system did)."""
        self._record_failure(error, result if result in ("failure", "error") else "failure")

    def skip(self, reason: str) -> None:
        """Marks the result `skip` with a reason; leave the block afterwards."""
        if self._live():
            self._explicit = "skip"
            self._attrs[ATTR.SKIP_REASON] = str(reason)

    def cancel(self, reason: str = "cancelled") -> None:
        """Marks the result `cancellation`; leave the block afterwards. The reason is not recorded, as in the
        Node SDK (where it aborts the stage's signal): the vocabulary has no attribute for it."""
        if self._live():
            self._explicit = "cancellation"

    def skip_if_empty(self, data: Any, reason: str = "input is empty") -> bool:
        """The circuit breaker: when `data` is empty, records a failed empty_dataset check and marks skip."""
        empty = is_empty(data)
        if empty:
            self.check(CHECK.EMPTY_DATASET, False, reason=reason)
            self.skip(reason)
        else:
            self.check(CHECK.EMPTY_DATASET, True)
        return empty

    def stage(
        self,
        name: str,
        *,
        target: Any = None,
        inputs: Iterable[Any] = (),
        outputs: Iterable[Any] = (),
        source: str | None = None,
        capabilities: tuple[str, ...] | list[str] = (),
        attributes: Mapping[str, Any] | None = None,
        skip_when_empty: Any = NOT_GIVEN,
        allow_failure: bool = False,
        timeout: float | None = None,
    ) -> Activity:
        """A stage of this run or stage, started now; use it as `with r.stage("load") as s:`.

        allow_failure: an exception in the `with` block ends the stage as `failure` (marked
        failure_allowed) and is not re-raised, so the run goes on. skip_when_empty: when that input is
        empty the stage ends at once as `skip` (`s.skipped` is then true: guard the block's work with it).
        timeout (seconds) applies to `async with`. inputs, outputs: the datasets it reads and writes (see input()).
        """
        self._live()
        stage = Activity("stage", str(name))
        options = {
            "target": target,
            "inputs": datasets_of(inputs),
            "outputs": datasets_of(outputs),
            "source": source,
            "capabilities": capabilities,
            "attributes": attributes,
            "allow_failure": allow_failure,
            "timeout": timeout,
        }
        scope = self.scope
        started = (now_ns(), time.perf_counter_ns())
        stage._open(self.pipeline, self.run_id, self, scope.trace_id, scope.span_id, SPAN_FLAGS_LOCAL, options, started)
        if skip_when_empty is not NOT_GIVEN and stage.skip_if_empty(skip_when_empty):
            stage.end()
        add_loose(stage)
        return stage

    # The end.

    def _record_failure(self, error: BaseException | str, result: str) -> None:
        if not self._live():
            return
        self._failure = exception_attributes(error)
        if self._explicit is None or self._explicit == "skip":
            self._explicit = result
        event = {k: v for k, v in self._failure.items() if k != ATTR.ERROR_TYPE}
        self._events.append(SpanEvent(now_ns(), "exception", event))

    def end(self) -> None:
        """Ends the run or stage (once): its span and end record. `with` calls it for you."""
        if self._pending:
            self._begin()
        with self._lock:
            if self._ended:
                return
            self._ended = True
        try:
            self._finish()
        except Exception:
            pass  # Telemetry never raises into the pipeline.
        remove_loose(self)
        if self._marker is not None:
            # Only now: the end record is in the spool, so nothing is left for a next start to close.
            self._marker.closed()

    def _finish(self) -> None:
        result = self._explicit or "success"
        if self._children:
            # Children still open when their parent ends share its fate if it was stopped, else were abandoned.
            for child in list(self._children):
                if child._explicit is None:
                    child._explicit = result if result in ("timeout", "cancellation") else "cancellation"
                child.end()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        elapsed_ns = time.perf_counter_ns() - self._start_perf
        parent = self._parent
        if parent is not None:
            if parent._children is not None:
                parent._children.discard(self)
            with parent._lock:
                for index in range(3):
                    parent._child_counts[index] += self._counts[index]
        counts = self._counts if self._own_rows else self._child_counts
        failed = result in FAILED_RESULTS
        outcome = dict(self._failure) if self._failure else {}
        outcome[ATTR.RUN_RESULT if self.kind == "run" else ATTR.STAGE_RESULT] = result
        outcome[ATTR.DURATION_SECONDS] = elapsed_ns / 1e9
        outcome[ATTR.ROWS_READ] = counts[0]
        outcome[ATTR.ROWS_WRITTEN] = counts[1]
        outcome[ATTR.ROWS_REJECTED] = counts[2]
        if failed and self._failure_allowed:
            outcome[ATTR.FAILURE_ALLOWED] = True
        attributes = self._attrs.copy()
        attributes.update(outcome)
        self._emit_span(attributes, elapsed_ns, failed, str(outcome.get(ATTR.EXCEPTION_MESSAGE, result)))
        event = EVENT.RUN_END if self.kind == "run" else EVENT.STAGE_END
        self._record(event, ERROR if failed else INFO, f"{self.kind} {result}: {self.name}", attributes)

    def _emit_span(self, attributes: dict[str, Any], elapsed_ns: int, failed: bool, message: str) -> None:
        span = Span(
            trace_id=self.scope.trace_id,
            span_id=self.scope.span_id,
            name=self.name,
            kind=SPAN_KIND_SERVER if self.kind == "run" else SPAN_KIND_INTERNAL,
            start_time_unix_nano=self._start_ns,
            end_time_unix_nano=self._start_ns + elapsed_ns,
            attributes=attributes.copy(),
            parent_span_id=self._parent_span_id,
            events=self._events,
            flags=self._span_flags,
        )
        if failed:
            span.status_code = STATUS_ERROR
            span.status_message = message
        _telemetry.instance().emit_span(span)

    # Records.

    def emit_log(
        self,
        severity: tuple[int, str],
        message: Any,
        attributes: Mapping[str, Any],
        error: BaseException | None = None,
        time_ns: int | None = None,
    ) -> None:
        """A log record of this activity: its attributes, the caller's (masked), an exception's."""
        self._live()
        merged = self._attrs.copy()
        if attributes:
            merged.update(log_attributes(attributes))
        if error is not None:
            merged.update(exception_attributes(error))
        self._record(None, severity, message, merged, time_ns)

    def _record(
        self,
        event_name: str | None,
        severity: tuple[int, str],
        body: Any,
        attributes: dict[str, Any],
        time_ns: int | None = None,
    ) -> None:
        try:
            now = now_ns()
            at = now if time_ns is None else time_ns
            record = LogRecord(
                time_unix_nano=at,
                severity_number=severity[0],
                severity_text=severity[1],
                body=body,
                attributes=attributes,
                event_name=event_name or "",
                trace_id=self.scope.trace_id,
                span_id=self.scope.span_id,
                flags=LOG_FLAGS_SAMPLED,
                observed_time_unix_nano=observed_time(now),
            )
            _telemetry.instance().emit_log(record)
        except Exception:
            pass  # Telemetry never raises into the pipeline.

    def __repr__(self) -> str:
        return f"<pipemon {self.kind} {self.name!r}>"
