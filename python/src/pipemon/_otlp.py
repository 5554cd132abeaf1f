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

Attribute and body values never make it raise (see _any_value); the records' own fields are the SDK's
and taken as valid: times within uint64, ids bytes, enums and flags within their field's range.
"""

from __future__ import annotations

import struct
from typing import Any

from ._records import LogRecord, Span, SpanEvent
from ._serialize import safe_str

# AnyValue nesting deeper than this is refused by the receiver (MAX_VALUE_DEPTH in
# receiver/decode/otlp-values.ts, its twin), which would lose the whole request: a container at this depth
# is sent as the string of its repr instead.
MAX_VALUE_DEPTH = 32

_U64 = (1 << 64) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

# A one-byte tag and its fixed-width value in one call.
_tagged_fixed64 = struct.Struct("<BQ").pack
_tagged_fixed32 = struct.Struct("<BI").pack
_pack_double = struct.Struct("<d").pack

# Single bytes: below 0x80 the one-byte varints, the common case of every length and small number.
_BYTE = [bytes((n,)) for n in range(256)]

# Tags, (field number << 3 | wire type), of the fields holding attributes.
_RESOURCE_ATTR = 0x0A  # Resource.attributes = 1
_LOG_ATTR = 0x32  # LogRecord.attributes = 6
_SPAN_ATTR = 0x4A  # Span.attributes = 9
_EVENT_ATTR = 0x1A  # Span.Event.attributes = 3


def encode_logs(resource: dict[str, str], scope_name: str, scope_version: str, records: list[LogRecord]) -> bytes:
    """An ExportLogsServiceRequest holding `records` under one resource and scope."""
    parts: list[bytes | bytearray] = []
    for record in records:
        body = _log_record(record)
        parts.append(b"\x12" + _varint(len(body)))  # ScopeLogs.log_records = 2
        parts.append(body)
    return _request(resource, scope_name, scope_version, parts)


def encode_spans(resource: dict[str, str], scope_name: str, scope_version: str, spans: list[Span]) -> bytes:
    """An ExportTraceServiceRequest holding `spans` under one resource and scope."""
    parts: list[bytes | bytearray] = []
    for span in spans:
        body = _span(span)
        parts.append(b"\x12" + _varint(len(body)))  # ScopeSpans.spans = 2
        parts.append(body)
    return _request(resource, scope_name, scope_version, parts)


# The SDK encodes every batch under the same resource and scope: their bytes are kept from the last call,
# as one tuple (key, resource field, scope field) so that threads never see a key with another's bytes.
_head: tuple[Any, bytes, bytes] = ((), b"", b"")


def _request(resource: dict[str, str], scope_name: str, scope_version: str, entries: list[bytes | bytearray]) -> bytes:
    """Export*ServiceRequest{1: Resource*{resource = 1, scope_* = 2: Scope*{scope = 1, entries}}}, one copy."""
    global _head
    key = (tuple(resource.items()), scope_name, scope_version)
    head = _head
    if head[0] != key:
        head = _head = (key, *_resource_and_scope(resource, scope_name, scope_version))
    resource_field, scope_field = head[1], head[2]
    scope_size = len(scope_field) + sum(map(len, entries))
    scope_header = b"\x12" + _varint(scope_size)
    resource_size = len(resource_field) + len(scope_header) + scope_size
    return b"".join([b"\x0a", _varint(resource_size), resource_field, scope_header, scope_field, *entries])


def _resource_and_scope(resource: dict[str, str], scope_name: str, scope_version: str) -> tuple[bytes, bytes]:
    attributes = bytearray()
    _attributes(attributes, _RESOURCE_ATTR, resource)
    scope = bytearray()
    if scope_name:
        scope += _field(b"\x0a", _utf8(scope_name))  # InstrumentationScope.name = 1
    if scope_version:
        scope += _field(b"\x12", _utf8(scope_version))  # InstrumentationScope.version = 2
    return _field(b"\x0a", attributes), _field(b"\x0a", scope)  # Resource*.resource = 1, Scope*.scope = 1


def _log_record(r: LogRecord) -> bytearray:
    # Hot: lengths below 0x80 are one byte from _BYTE without a call, repeated strings come from _strings.
    out = bytearray()
    if r.time_unix_nano:
        out += _tagged_fixed64(0x09, r.time_unix_nano)  # time_unix_nano = 1
    if r.severity_number:
        out += b"\x10"  # severity_number = 2, enum
        out += _varint(r.severity_number & _U64)
    text = r.severity_text
    if text:
        out += b"\x1a"  # severity_text = 3
        out += _strings.get(text) or _string(text)
    body = r.body
    if body is not None:
        out += b"\x2a"  # body = 5
        if type(body) is str:
            data = _utf8(body)
            size = len(data)
            if size < 0x7E:
                out += _BYTE[size + 2]
                out += b"\x0a"  # AnyValue.string_value = 1
                out += _BYTE[size]
                out += data
            else:
                out += _length_delimited(b"\x0a" + _length_delimited(data))
        else:
            out += _length_delimited(_any_value(body, 1))
    if r.attributes:
        _attributes(out, _LOG_ATTR, r.attributes)
    if r.flags:
        out += _tagged_fixed32(0x45, r.flags)  # flags = 8
    data = r.trace_id
    if data:
        out += b"\x4a"  # trace_id = 9
        out += _BYTE[len(data)] if len(data) < 0x80 else _varint(len(data))
        out += data
    data = r.span_id
    if data:
        out += b"\x52"  # span_id = 10
        out += _BYTE[len(data)] if len(data) < 0x80 else _varint(len(data))
        out += data
    if r.observed_time_unix_nano:
        out += _tagged_fixed64(0x59, r.observed_time_unix_nano)  # observed_time_unix_nano = 11
    text = r.event_name
    if text:
        out += b"\x62"  # event_name = 12
        out += _strings.get(text) or _string(text)
    return out


def _span(s: Span) -> bytearray:
    out = bytearray()
    if s.trace_id:
        out += _field(b"\x0a", s.trace_id)  # trace_id = 1
    if s.span_id:
        out += _field(b"\x12", s.span_id)  # span_id = 2
    if s.parent_span_id:
        out += _field(b"\x22", s.parent_span_id)  # parent_span_id = 4
    if s.name:
        out += b"\x2a"  # name = 5
        out += _strings.get(s.name) or _string(s.name)
    if s.kind:
        out += b"\x30"  # kind = 6, enum
        out += _varint(s.kind & _U64)
    if s.start_time_unix_nano:
        out += _tagged_fixed64(0x39, s.start_time_unix_nano)  # start_time_unix_nano = 7
    if s.end_time_unix_nano:
        out += _tagged_fixed64(0x41, s.end_time_unix_nano)  # end_time_unix_nano = 8
    if s.attributes:
        _attributes(out, _SPAN_ATTR, s.attributes)
    for event in s.events:
        out += _field(b"\x5a", _event(event))  # events = 11
    if s.status_code or s.status_message:
        out += _field(b"\x7a", _status(s.status_code, s.status_message))  # status = 15
    if s.flags:
        out += b"\x85\x01"  # flags = 16, fixed32 (a two-byte tag)
        out += s.flags.to_bytes(4, "little")
    return out


def _event(e: SpanEvent) -> bytearray:
    out = bytearray()
    if e.time_unix_nano:
        out += _tagged_fixed64(0x09, e.time_unix_nano)  # time_unix_nano = 1
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


# Keys, and many values (run id, pipeline and stage name), come back in every record of a batch: each
# cache maps them to their encoded bytes (measured: a cached str attribute costs a third of an encoded
# one). Keys and values come from data too, so a cache is emptied when full.
_CACHE_MAX = 4096
_SHORT = 64  # longest str (in characters) a cache keeps: a long message is seldom repeated
_key_heads: dict[str, bytes] = {}
_strings: dict[str, bytes] = {}
# Per attribute tag: (key, str value) -> the whole KeyValue field, tag and length included.
_str_pairs: dict[int, dict[tuple[str, str], bytes]] = {
    tag: {} for tag in (_RESOURCE_ATTR, _LOG_ATTR, _SPAN_ATTR, _EVENT_ATTR)
}


def _attributes(out: bytearray, tag: int, attributes: dict[str, Any]) -> None:
    """Each pair as a KeyValue field `tag`."""
    pairs = _str_pairs[tag]
    for item in attributes.items():
        value = item[1]
        if type(value) is str:
            # Only a str is ever cached, and only a str equals one, so a hit is this pair's bytes.
            field = pairs.get(item)
            if field is None:
                field = _str_pair(pairs, tag, item)
            out += field
            continue
        key = item[0]
        head = _key_heads.get(key) if type(key) is str else None
        if head is None:
            head = _key_head(key)
        if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
            number = _varint(value & _U64)
            kv = head + _BYTE[len(number) + 1] + b"\x18" + number  # AnyValue.int_value = 3, int64
        else:
            any_value = _any_value(value, 1)
            kv = head + _varint(len(any_value)) + any_value
        out.append(tag)
        out += _BYTE[len(kv)] if len(kv) < 0x80 else _varint(len(kv))
        out += kv


def _str_pair(pairs: dict[tuple[str, str], bytes], tag: int, item: tuple[Any, str]) -> bytes:
    """The KeyValue field of a str value, cached in `pairs` when short."""
    key, value = item
    head = _key_heads.get(key) if type(key) is str else None
    if head is None:
        head = _key_head(key)
    kv = head + _length_delimited(b"\x0a" + _length_delimited(_utf8(value)))
    field = _BYTE[tag] + _length_delimited(kv)
    if type(key) is str and len(value) <= _SHORT:
        if len(pairs) >= _CACHE_MAX:
            pairs.clear()
        pairs[(key, value)] = field
    return field


def _key_head(key: object) -> bytes:
    """KeyValue's leading bytes for a key: key = 1 with its bytes, then value = 2's tag."""
    text = key if isinstance(key, str) else safe_str(key)
    head = _field(b"\x0a", _utf8(text)) + b"\x12"
    if type(key) is str:
        if len(_key_heads) >= _CACHE_MAX:
            _key_heads.clear()
        _key_heads[key] = head
    return head


def _string(text: str) -> bytes:
    """A short string field's length and bytes (severity text, event and span names), cached."""
    encoded = _strings.get(text)
    if encoded is None:
        encoded = _length_delimited(_utf8(text))
        if len(text) <= _SHORT:
            if len(_strings) >= _CACHE_MAX:
                _strings.clear()
            _strings[text] = encoded
    return encoded


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
    return _field(b"\x0a", _utf8(safe_str(value)))


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


def _utf8(text: str) -> bytes:
    """UTF-8 of a str; lone surrogates (undecodable file names) as backslash escapes, still valid UTF-8."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def _field(tag: bytes, payload: bytes | bytearray) -> bytes:
    return tag + _varint(len(payload)) + payload


def _length_delimited(payload: bytes | bytearray) -> bytes:
    return _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    """A non-negative int as a base-128 varint; up to three bytes without a loop (lengths, counts)."""
    if n < 0x80:
        return _BYTE[n]
    if n < 0x4000:
        return bytes((n & 0x7F | 0x80, n >> 7))
    if n < 0x200000:
        return bytes((n & 0x7F | 0x80, (n >> 7) & 0x7F | 0x80, n >> 14))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
