"""The oracle of test_otlp.py: the same records as opentelemetry-proto messages, built with its generated
classes by the mapping _otlp.py documents, and the golden files' JSON form read into records.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from pipemon._otlp import MAX_VALUE_DEPTH
from pipemon._records import LogRecord, Span, SpanEvent

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

GOLDEN = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "otlp-golden"


def logs_request(resource: dict[str, str], name: str, version: str, records: list[LogRecord]) -> bytes:
    scope_logs = ScopeLogs(
        scope=InstrumentationScope(name=name, version=version), log_records=[pb_log(r) for r in records]
    )
    message = ResourceLogs(resource=Resource(attributes=pb_attributes(resource)), scope_logs=[scope_logs])
    return ExportLogsServiceRequest(resource_logs=[message]).SerializeToString()


def spans_request(resource: dict[str, str], name: str, version: str, spans: list[Span]) -> bytes:
    scope_spans = ScopeSpans(scope=InstrumentationScope(name=name, version=version), spans=[pb_span(s) for s in spans])
    message = ResourceSpans(resource=Resource(attributes=pb_attributes(resource)), scope_spans=[scope_spans])
    return ExportTraceServiceRequest(resource_spans=[message]).SerializeToString()


def pb_log(r: LogRecord) -> PbLogRecord:
    message = PbLogRecord(
        time_unix_nano=r.time_unix_nano,
        observed_time_unix_nano=r.observed_time_unix_nano,
        severity_number=r.severity_number,
        severity_text=r.severity_text,
        attributes=pb_attributes(r.attributes),
        flags=r.flags,
        trace_id=r.trace_id,
        span_id=r.span_id,
        event_name=r.event_name,
    )
    if r.body is not None:
        message.body.CopyFrom(pb_any(r.body, 1))
    return message


def pb_span(s: Span) -> PbSpan:
    message = PbSpan(
        trace_id=s.trace_id,
        span_id=s.span_id,
        parent_span_id=s.parent_span_id,
        name=s.name,
        kind=s.kind,
        start_time_unix_nano=s.start_time_unix_nano,
        end_time_unix_nano=s.end_time_unix_nano,
        attributes=pb_attributes(s.attributes),
        events=[
            PbSpan.Event(time_unix_nano=e.time_unix_nano, name=e.name, attributes=pb_attributes(e.attributes))
            for e in s.events
        ],
        flags=s.flags,
    )
    if s.status_code or s.status_message:
        message.status.CopyFrom(Status(code=s.status_code, message=s.status_message))
    return message


def pb_attributes(attributes: dict[Any, Any], depth: int = 1) -> list[KeyValue]:
    return [KeyValue(key=str(k), value=pb_any(v, depth)) for k, v in attributes.items()]


def pb_any(value: Any, depth: int) -> AnyValue:
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return AnyValue(int_value=value)
        return AnyValue(string_value=str(value))
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if value is None:
        return AnyValue()
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, (list, tuple)) and depth < MAX_VALUE_DEPTH:
        return AnyValue(array_value=ArrayValue(values=[pb_any(v, depth + 1) for v in value]))
    if isinstance(value, dict) and depth < MAX_VALUE_DEPTH:
        return AnyValue(kvlist_value=KeyValueList(values=pb_attributes(value, depth + 1)))
    return AnyValue(string_value=str(value))


# The golden files' JSON form: test/fixtures/otlp-golden/README.md.


def read_case(path: Path) -> tuple[str, dict[str, str], str, str, list[Any]]:
    """(signal, resource, scope name, scope version, records) of one golden .json."""
    case = json.loads(path.read_text(encoding="utf-8"))
    resource = {k: v["string"] for k, v in case["resource"].items()}
    scope = case["scope"]
    if case["signal"] == "logs":
        records: list[Any] = [json_log(r) for r in case["records"]]
    else:
        records = [json_span(s) for s in case["records"]]
    return case["signal"], resource, scope["name"], scope["version"], records


def json_log(r: dict[str, Any]) -> LogRecord:
    return LogRecord(
        time_unix_nano=int(r.get("time_unix_nano", "0")),
        severity_number=r.get("severity_number", 0),
        severity_text=r.get("severity_text", ""),
        body=json_value(r["body"]) if "body" in r else None,
        attributes=json_attributes(r.get("attributes", {})),
        event_name=r.get("event_name", ""),
        trace_id=bytes.fromhex(r.get("trace_id", "")),
        span_id=bytes.fromhex(r.get("span_id", "")),
        flags=r.get("flags", 0),
        observed_time_unix_nano=int(r.get("observed_time_unix_nano", "0")),
    )


def json_span(s: dict[str, Any]) -> Span:
    return Span(
        trace_id=bytes.fromhex(s.get("trace_id", "")),
        span_id=bytes.fromhex(s.get("span_id", "")),
        name=s.get("name", ""),
        kind=s.get("kind", 0),
        start_time_unix_nano=int(s.get("start_time_unix_nano", "0")),
        end_time_unix_nano=int(s.get("end_time_unix_nano", "0")),
        attributes=json_attributes(s.get("attributes", {})),
        parent_span_id=bytes.fromhex(s.get("parent_span_id", "")),
        events=[
            SpanEvent(int(e.get("time_unix_nano", "0")), e.get("name", ""), json_attributes(e.get("attributes", {})))
            for e in s.get("events", [])
        ],
        status_code=s.get("status_code", 0),
        status_message=s.get("status_message", ""),
        flags=s.get("flags", 0),
    )


def json_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in attributes.items()}


def json_value(typed: dict[str, Any] | None) -> Any:
    if typed is None:
        return None
    ((kind, value),) = typed.items()
    if kind == "string":
        return value
    if kind == "bool":
        return value
    if kind == "int":
        return int(value)
    if kind == "double":
        return float(value)  # "NaN", "Infinity" and "-Infinity" as float() reads them
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "array":
        return [json_value(v) for v in value]
    if kind == "kvlist":
        return json_attributes(value)
    raise ValueError(f"unknown value type {kind!r} in a golden case: see test/fixtures/otlp-golden/README.md")
