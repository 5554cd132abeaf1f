"""The two kinds of record the SDK emits, as plain values: what the API makes, the spool stores (encoded
by _otlp.py) and a local output prints. Field names follow OTLP's (opentelemetry/proto/logs/v1 and
trace/v1); times are nanoseconds since the epoch, ids raw bytes (16 for a trace, 8 for a span).

Attribute values are str, bool, int, float, bytes, None, lists of them and (in log records) dicts of
them: OTLP's AnyValue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# SpanKind and StatusCode of opentelemetry/proto/trace/v1/trace.proto.
SPAN_KIND_INTERNAL = 1
SPAN_KIND_SERVER = 2
STATUS_UNSET = 0
STATUS_OK = 1
STATUS_ERROR = 2

# The W3C trace flag "sampled": every run and stage is.
SAMPLED = 1


@dataclass(slots=True)
class LogRecord:
    time_unix_nano: int
    severity_number: int
    severity_text: str
    body: Any
    attributes: dict[str, Any]
    event_name: str = ""
    trace_id: bytes = b""
    span_id: bytes = b""
    flags: int = 0
    observed_time_unix_nano: int = 0


@dataclass(slots=True)
class SpanEvent:
    time_unix_nano: int
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Span:
    trace_id: bytes
    span_id: bytes
    name: str
    kind: int
    start_time_unix_nano: int
    end_time_unix_nano: int
    attributes: dict[str, Any]
    parent_span_id: bytes = b""
    events: list[SpanEvent] = field(default_factory=list)
    status_code: int = STATUS_UNSET
    status_message: str = ""
    flags: int = SAMPLED
