"""OTLP/HTTP protobuf requests from records: ExportLogsServiceRequest and ExportTraceServiceRequest,
byte for byte what opentelemetry-proto's SerializeToString() gives for the same message (tests/test_otlp.py
holds it to that), written by hand so that the SDK needs no protobuf package.

proto3 as SerializeToString applies it: fields in field-number order, scalar fields left out when they
hold their default (0, "", b""), a oneof member of AnyValue written even when it is zero (it has presence),
negative integers as 10-byte varints. Field numbers are opentelemetry/proto/{common,resource,logs,trace,
collector}/v1/*.proto's; receiver/decode/otlp-protobuf.ts decodes them.

What we choose where the message leaves a choice: every request holds one ResourceLogs/ResourceSpans with
its Resource and one ScopeLogs/ScopeSpans with its InstrumentationScope, both always present; a log record
whose body is None has no body; a span's Status is present only when its code or message is set.
"""

from __future__ import annotations

import struct
from typing import Any

from ._records import LogRecord, Span, SpanEvent

# AnyValue nesting deeper than this is refused by the receiver (MAX_VALUE_DEPTH in
# receiver/decode/otlp-values.ts, its twin), which would lose the whole request: a container at this depth
# is sent as the string of its repr instead.
MAX_VALUE_DEPTH = 32

_U64 = (1 << 64) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack
_pack_double = struct.Struct("<d").pack

# One-byte varints, the common case of every length and small number.
_BYTE = [bytes((n,)) for n in range(128)]

# Tags, (field number << 3 | wire type), named by message and field.
_REQUEST_RESOURCE = b"\x0a"  # Export*ServiceRequest.resource_logs/resource_spans = 1
_RESOURCE_FIELD = b"\x0a"  # ResourceLogs/ResourceSpans.resource = 1
_SCOPE_ENTRIES = b"\x12"  # ResourceLogs.scope_logs/ResourceSpans.scope_spans = 2
_SCOPE_FIELD = b"\x0a"  # ScopeLogs/ScopeSpans.scope = 1
_ENTRY = b"\x12"  # ScopeLogs.log_records/ScopeSpans.spans = 2
_RESOURCE_ATTR = b"\x0a"  # Resource.attributes = 1
_LOG_ATTR = 0x32  # LogRecord.attributes = 6
_SPAN_ATTR = 0x4A  # Span.attributes = 9
_EVENT_ATTR = 0x1A  # Span.Event.attributes = 3


def encode_logs(resource: dict[str, str], scope_name: str, scope_version: str, records: list[LogRecord]) -> bytes:
    """An ExportLogsServiceRequest holding `records` under one resource and scope."""
    out = bytearray()
    for record in records:
        _log_record(out, record)
    return _request(resource, scope_name, scope_version, out)


def encode_spans(resource: dict[str, str], scope_name: str, scope_version: str, spans: list[Span]) -> bytes:
    """An ExportTraceServiceRequest holding `spans` under one resource and scope."""
    out = bytearray()
    for span in spans:
        _span(out, span)
    return _request(resource, scope_name, scope_version, out)


# The SDK encodes every batch under the same resource and scope: their bytes are kept from the last call,
# as one tuple (key, resource field, scope field) so that threads never see a key with another's bytes.
_head: tuple[Any, bytes, bytes] = ((), b"", b"")


def _request(resource: dict[str, str], scope_name: str, scope_version: str, entries: bytearray) -> bytes:
    global _head
    key = (tuple(resource.items()), scope_name, scope_version)
    head = _head
    if head[0] != key:
        head = _head = (key, *_resource_and_scope(resource, scope_name, scope_version))
    scope_entries = _field(_SCOPE_ENTRIES, head[2] + entries)
    return _field(_REQUEST_RESOURCE, head[1] + scope_entries)


def _resource_and_scope(resource: dict[str, str], scope_name: str, scope_version: str) -> tuple[bytes, bytes]:
    attributes = bytearray()
    _attributes(attributes, _RESOURCE_ATTR[0], resource)
    scope = bytearray()
    if scope_name:
        scope += _field(b"\x0a", _utf8(scope_name))  # InstrumentationScope.name = 1
    if scope_version:
        scope += _field(b"\x12", _utf8(scope_version))  # InstrumentationScope.version = 2
    return _field(_RESOURCE_FIELD, attributes), _field(_SCOPE_FIELD, scope)


def _log_record(out: bytearray, r: LogRecord) -> None:
    out += _ENTRY
    start = len(out)
    if r.time_unix_nano:
        out += b"\x09"  # time_unix_nano = 1, fixed64
        out += _pack_fixed64(r.time_unix_nano)
    if r.severity_number:
        out += b"\x10"  # severity_number = 2, enum
        out += _varint(r.severity_number & _U64)
    if r.severity_text:
        out += _field(b"\x1a", _utf8(r.severity_text))  # severity_text = 3
    if r.body is not None:
        out += _field(b"\x2a", _any_value(r.body, 1))  # body = 5
    if r.attributes:
        _attributes(out, _LOG_ATTR, r.attributes)
    if r.flags:
        out += b"\x45"  # flags = 8, fixed32
        out += _pack_fixed32(r.flags)
    if r.trace_id:
        out += _field(b"\x4a", r.trace_id)  # trace_id = 9
    if r.span_id:
        out += _field(b"\x52", r.span_id)  # span_id = 10
    if r.observed_time_unix_nano:
        out += b"\x59"  # observed_time_unix_nano = 11, fixed64
        out += _pack_fixed64(r.observed_time_unix_nano)
    if r.event_name:
        out += _field(b"\x62", _utf8(r.event_name))  # event_name = 12
    # The length goes before the record: only the record's own bytes move.
    out[start:start] = _varint(len(out) - start)


def _span(out: bytearray, s: Span) -> None:
    out += _ENTRY
    start = len(out)
    if s.trace_id:
        out += _field(b"\x0a", s.trace_id)  # trace_id = 1
    if s.span_id:
        out += _field(b"\x12", s.span_id)  # span_id = 2
    if s.parent_span_id:
        out += _field(b"\x22", s.parent_span_id)  # parent_span_id = 4
    if s.name:
        out += _field(b"\x2a", _utf8(s.name))  # name = 5
    if s.kind:
        out += b"\x30"  # kind = 6, enum
        out += _varint(s.kind & _U64)
    if s.start_time_unix_nano:
        out += b"\x39"  # start_time_unix_nano = 7, fixed64
        out += _pack_fixed64(s.start_time_unix_nano)
    if s.end_time_unix_nano:
        out += b"\x41"  # end_time_unix_nano = 8, fixed64
        out += _pack_fixed64(s.end_time_unix_nano)
    if s.attributes:
        _attributes(out, _SPAN_ATTR, s.attributes)
    for event in s.events:
        out += _field(b"\x5a", _event(event))  # events = 11
    if s.status_code or s.status_message:
        out += _field(b"\x7a", _status(s.status_code, s.status_message))  # status = 15
    if s.flags:
        out += b"\x85\x01"  # flags = 16, fixed32
        out += _pack_fixed32(s.flags)
    out[start:start] = _varint(len(out) - start)


def _event(e: SpanEvent) -> bytearray:
    out = bytearray()
    if e.time_unix_nano:
        out += b"\x09"  # time_unix_nano = 1, fixed64
        out += _pack_fixed64(e.time_unix_nano)
    if e.name:
        out += _field(b"\x12", _utf8(e.name))  # name = 2
    if e.attributes:
        _attributes(out, _EVENT_ATTR, e.attributes)
    return out


def _status(code: int, message: str) -> bytes:
    out = b""
    if message:
        out += _field(b"\x12", _utf8(message))  # message = 2
    if code:
        out += b"\x18" + _varint(code & _U64)  # code = 3, enum
    return out


# KeyValue's leading bytes for a key: key = 1 with the key's bytes, then value = 2's tag. Keys repeat in
# every record; the cache is emptied when it grows past _KEY_CACHE_MAX (keys made from data).
_key_heads: dict[str, bytes] = {}
_KEY_CACHE_MAX = 4096


def _attributes(out: bytearray, tag: int, attributes: dict[str, Any]) -> None:
    """Each pair as a KeyValue field `tag`; a short str value (the common case) takes the fast path."""
    heads = _key_heads
    for key, value in attributes.items():
        head = heads.get(key) if type(key) is str else None
        if head is None:
            head = _key_head(key)
        if type(value) is str:
            try:
                data = value.encode()
            except UnicodeEncodeError:
                data = _utf8(value)
            size = len(data)
            kv_size = len(head) + size + 3  # head, AnyValue's length, string_value's tag and length
            if kv_size < 0x80:
                out.append(tag)
                out.append(kv_size)
                out += head
                out.append(size + 2)
                out.append(0x0A)  # AnyValue.string_value = 1
                out.append(size)
                out += data
                continue
            any_value = b"\x0a" + _varint(size) + data
        else:
            any_value = _any_value(value, 1)
        kv = head + _varint(len(any_value)) + any_value
        out.append(tag)
        out += _varint(len(kv))
        out += kv


def _key_head(key: object) -> bytes:
    text = key if isinstance(key, str) else _text(key)
    head = _field(b"\x0a", _utf8(text)) + b"\x12"
    if type(key) is str:
        if len(_key_heads) >= _KEY_CACHE_MAX:
            _key_heads.clear()
        _key_heads[key] = head
    return head


def _any_value(value: Any, depth: int) -> bytes:
    """An AnyValue's bytes (without its own tag and length) for a Python value; never raises."""
    if isinstance(value, str):
        return _field(b"\x0a", _utf8(value))  # string_value = 1
    if value is True:
        return b"\x10\x01"  # bool_value = 2
    if value is False:
        return b"\x10\x00"
    if isinstance(value, int):
        if _INT64_MIN <= value <= _INT64_MAX:
            return b"\x18" + _varint(value & _U64)  # int_value = 3, int64
        # Beyond int64 int_value cannot hold it (opentelemetry-proto refuses it): its exact digits as text.
        return _field(b"\x0a", _utf8(_int_text(value)))
    if isinstance(value, float):
        return b"\x21" + _pack_double(value)  # double_value = 4
    if value is None:
        return b""  # no member of the oneof set
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _field(b"\x3a", bytes(value))  # bytes_value = 7
    if isinstance(value, (list, tuple, dict)) and depth < MAX_VALUE_DEPTH:
        return _container(value, depth)
    return _field(b"\x0a", _utf8(_text(value)))


def _container(value: list[Any] | tuple[Any, ...] | dict[Any, Any], depth: int) -> bytes:
    out = bytearray()
    if isinstance(value, dict):
        for key, item in value.items():
            any_value = _any_value(item, depth + 1)
            kv = _key_head(key) + _varint(len(any_value)) + any_value
            out += _field(b"\x0a", kv)  # KeyValueList.values = 1
        return _field(b"\x32", out)  # kvlist_value = 6
    for item in value:
        out += _field(b"\x0a", _any_value(item, depth + 1))  # ArrayValue.values = 1
    return _field(b"\x2a", out)  # array_value = 5


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return hex(value)


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__} whose str() raised>"


def _utf8(text: str) -> bytes:
    """UTF-8 of a str; lone surrogates (undecodable file names) as backslash escapes, still valid UTF-8."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def _field(tag: bytes, payload: bytes | bytearray) -> bytes:
    return tag + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    """A non-negative int as a base-128 varint."""
    if n < 0x80:
        return _BYTE[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
