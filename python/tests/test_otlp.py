"""_otlp.py's requests are byte for byte opentelemetry-proto's SerializeToString() of the same message.

The golden files in test/fixtures/otlp-golden/ (also read by test/receiver/decode/otlp-golden.test.ts) are checked here;
after changing a case's .json or the encoder on purpose, rewrite the .otlp files with
`cd python && PIPEMON_WRITE_GOLDEN=1 PYTHONPATH=src pytest tests/test_otlp.py -k golden`.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
from _otlp_reference import GOLDEN, INT64_MAX, INT64_MIN, logs_request, read_case, spans_request
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pipemon._otlp import MAX_VALUE_DEPTH, encode_logs, encode_spans
from pipemon._records import (
    SAMPLED,
    SPAN_KIND_INTERNAL,
    SPAN_KIND_SERVER,
    STATUS_ERROR,
    STATUS_OK,
    LogRecord,
    Span,
    SpanEvent,
)
from pipemon.vocabulary import ATTR, EVENT

RESOURCE = {ATTR.SERVICE_NAME: "nightly-etl", ATTR.SERVICE_INSTANCE_ID: "host-1/4242"}
SCOPE = ("pipemon", "0.1.0")
TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_ID = bytes.fromhex("eee19b7ec3c1b174")
PARENT_ID = bytes.fromhex("0102030405060708")
T0 = 1_765_000_000_123_456_789


def log(attributes: dict[str, Any] | None = None, **fields: Any) -> LogRecord:
    values: dict[str, Any] = {
        "time_unix_nano": T0,
        "severity_number": 9,
        "severity_text": "INFO",
        "body": "run started",
        "attributes": attributes if attributes is not None else {},
    }
    values.update(fields)
    return LogRecord(**values)


def span(attributes: dict[str, Any] | None = None, **fields: Any) -> Span:
    values: dict[str, Any] = {
        "trace_id": TRACE_ID,
        "span_id": SPAN_ID,
        "name": "load",
        "kind": SPAN_KIND_INTERNAL,
        "start_time_unix_nano": T0,
        "end_time_unix_nano": T0 + 1_500_000_000,
        "attributes": attributes if attributes is not None else {},
    }
    values.update(fields)
    return Span(**values)


def assert_logs_match(records: list[LogRecord], resource: dict[str, str] = RESOURCE) -> bytes:
    ours = encode_logs(resource, *SCOPE, records)
    assert ours.hex() == logs_request(resource, *SCOPE, records).hex()
    return ours


def assert_spans_match(spans: list[Span], resource: dict[str, str] = RESOURCE) -> bytes:
    ours = encode_spans(resource, *SCOPE, spans)
    assert ours.hex() == spans_request(resource, *SCOPE, spans).hex()
    return ours


RUN_START = log(
    {
        ATTR.PIPELINE_NAME: "nightly-etl",
        ATTR.RUN_ID: "2f1c0b6e-7d7a-4c55-9a59-3f3c1c1e8a10",
        ATTR.RUN_STATE: "executing",
        ATTR.ENVIRONMENT: "prod",
        ATTR.PIPELINE_OWNER: "data-team",
        ATTR.EXPECTED_INTERVAL_SECONDS: 86400,
        ATTR.CAPABILITIES: ["stages", "rows", "checks"],
    },
    event_name=EVENT.RUN_START,
    trace_id=TRACE_ID,
    span_id=SPAN_ID,
    flags=SAMPLED,
    observed_time_unix_nano=T0 + 1,
)
STAGE_END = log(
    {
        ATTR.PIPELINE_NAME: "nightly-etl",
        ATTR.RUN_ID: "2f1c0b6e-7d7a-4c55-9a59-3f3c1c1e8a10",
        ATTR.STAGE_NAME: "load",
        ATTR.STAGE_RESULT: "failure",
        ATTR.ROWS_READ: 120_000,
        ATTR.ROWS_WRITTEN: 0,
        ATTR.DURATION_SECONDS: 12.75,
        ATTR.ERROR_TYPE: "KeyError",
    },
    severity_number=17,
    severity_text="ERROR",
    body="stage load failed: KeyError('id')",
    event_name=EVENT.STAGE_END,
    trace_id=TRACE_ID,
    span_id=SPAN_ID,
    flags=SAMPLED,
)


def test_typical_run_and_stage_records() -> None:
    assert_logs_match([RUN_START])
    assert_logs_match([STAGE_END])
    assert_logs_match([RUN_START, STAGE_END, RUN_START])


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


VALUES: dict[str, Any] = {
    "string": "x",
    "empty string": "",
    "unicode": "größe ✓ 日本語 😀 𝄞",
    "long string": "é" * 300,
    "true": True,
    "false": False,
    "zero": 0,
    "one": 1,
    "negative": -1,
    "int64 max": INT64_MAX,
    "int64 min": INT64_MIN,
    "above int64": INT64_MAX + 1,
    "below int64": INT64_MIN - 1,
    "huge": 10**40,
    "double": 1.5,
    "double zero": 0.0,
    "negative zero": -0.0,
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "bytes": b"\x00\xff\x10",
    "empty bytes": b"",
    "none": None,
    "list": [1, "a", 2.5, True, None, b"b"],
    "tuple": ("a", "b"),
    "empty list": [],
    "nested list": [[1, [2, [3, []]]], {"k": [{}]}],
    "dict": {"a": 1, "b": {"c": [None, "d"]}, 3: "int key"},
    "empty dict": {},
    "object": Path("/tmp/x"),
}


@pytest.mark.parametrize("name", list(VALUES))
def test_every_value_type_as_attribute_and_body(name: str) -> None:
    value = VALUES[name]
    assert_logs_match([log({name: value}, body=value)])
    assert_spans_match([span({name: value}, events=[SpanEvent(T0, "e", {name: value})])])


def test_an_object_whose_str_raises_is_sent_as_a_placeholder_not_raised() -> None:
    request = ExportLogsServiceRequest.FromString(encode_logs(RESOURCE, *SCOPE, [log({"u": Unprintable()})]))
    value = request.resource_logs[0].scope_logs[0].log_records[0].attributes[0].value
    assert value.string_value == "<Unprintable whose str() raised>"


def test_bool_is_not_sent_as_int() -> None:
    request = ExportLogsServiceRequest.FromString(encode_logs(RESOURCE, *SCOPE, [log({"t": True, "one": 1})]))
    attributes = request.resource_logs[0].scope_logs[0].log_records[0].attributes
    assert [a.value.WhichOneof("value") for a in attributes] == ["bool_value", "int_value"]


def test_ints_beyond_int64_keep_their_digits_as_text() -> None:
    request = ExportLogsServiceRequest.FromString(encode_logs(RESOURCE, *SCOPE, [log({"big": 10**40})]))
    assert request.resource_logs[0].scope_logs[0].log_records[0].attributes[0].value.string_value == "1" + "0" * 40


def test_lone_surrogates_become_escapes_in_valid_utf8() -> None:
    encoded = encode_logs(RESOURCE, *SCOPE, [log({"file": "bad\udcff.csv"}, body="\udc80")])
    record = ExportLogsServiceRequest.FromString(encoded).resource_logs[0].scope_logs[0].log_records[0]
    assert record.attributes[0].value.string_value == "bad\\udcff.csv"
    assert record.body.string_value == "\\udc80"


def test_values_nested_past_the_receivers_limit_become_text() -> None:
    deep: Any = "bottom"
    for _ in range(MAX_VALUE_DEPTH + 3):
        deep = [deep]
    assert_logs_match([log({"deep": deep}, body=deep)])
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert_logs_match([log({"cyclic": cyclic})])


def test_defaults_are_left_out() -> None:
    empty = LogRecord(0, 0, "", None, {})
    assert_logs_match([empty])
    # Only the record's tag and zero length remain after resource and scope.
    assert encode_logs({}, "", "", [empty]) == bytes.fromhex("0a08" + "0a00" + "1204" + "0a00" + "1200")
    assert_spans_match([Span(b"", b"", "", 0, 0, 0, {}, flags=0)])


def test_missing_ids_zero_times_and_empty_resource() -> None:
    assert_logs_match([log(time_unix_nano=0, trace_id=b"", span_id=b"", body=None)], resource={})
    assert_spans_match([span(start_time_unix_nano=0, end_time_unix_nano=0)], resource={})


def test_negative_enums_are_ten_byte_varints() -> None:
    assert_logs_match([log(severity_number=-1)])
    assert_spans_match([span(kind=-3, status_code=-2)])


def test_spans_kinds_parents_status_and_events() -> None:
    failed = span(
        {ATTR.STAGE_NAME: "load", ATTR.STAGE_RESULT: "failure", ATTR.ROWS_READ: 3},
        parent_span_id=PARENT_ID,
        status_code=STATUS_ERROR,
        status_message="KeyError: 'id'",
        events=[
            SpanEvent(
                T0 + 5,
                "exception",
                {
                    ATTR.EXCEPTION_TYPE: "KeyError",
                    ATTR.EXCEPTION_MESSAGE: "'id'",
                    ATTR.EXCEPTION_STACKTRACE: 'Traceback (most recent call last):\n  File "x.py", line 1\n' * 20,
                },
            ),
            SpanEvent(0, "", {}),
        ],
    )
    run = span({ATTR.PIPELINE_NAME: "nightly-etl"}, kind=SPAN_KIND_SERVER, status_code=STATUS_OK, name="nightly-etl")
    message_only = span(status_message="why", flags=0)
    assert_spans_match([failed])
    assert_spans_match([run, failed, message_only])


def test_long_records_have_multibyte_lengths() -> None:
    attributes = {f"key.{i}": "v" * (i * 37) for i in range(40)}
    assert_logs_match([log(attributes, body="b" * 70_000)] * 3)


def test_lengths_around_the_one_byte_varint_boundary() -> None:
    # Lengths below 0x80 take one byte and the encoder writes them without a call: 0x7E-0x81 are the edges.
    for n in range(110, 140):
        text = "v" * n
        assert_logs_match([log({"k": text, "n": n, "b": b"x" * n}, body=text, severity_text=text, event_name=text)])
        assert_logs_match([log({text: text}, trace_id=b"t" * n, span_id=b"s" * n)])
        assert_spans_match([span({text: n}, name=text, events=[SpanEvent(T0, text, {"k": text})])])


def test_resource_and_scope_follow_each_call() -> None:
    other = {ATTR.SERVICE_NAME: "other"}
    assert_logs_match([RUN_START], resource=other)
    assert_logs_match([RUN_START])
    assert encode_logs(RESOURCE, "other-scope", "", [RUN_START]) == logs_request(
        RESOURCE, "other-scope", "", [RUN_START]
    )


def test_concatenated_requests_parse_as_one_holding_both() -> None:
    # The spool sends concatenated frames as one request: protobuf appends repeated fields when merging.
    first = encode_logs(RESOURCE, *SCOPE, [RUN_START])
    second = encode_logs({ATTR.SERVICE_NAME: "b"}, *SCOPE, [STAGE_END, RUN_START])
    merged = ExportLogsServiceRequest.FromString(first + second)
    assert [len(r.scope_logs[0].log_records) for r in merged.resource_logs] == [1, 2]
    assert merged.resource_logs[1].scope_logs[0].log_records[0].event_name == EVENT.STAGE_END
    spans = ExportTraceServiceRequest.FromString(encode_spans(RESOURCE, *SCOPE, [span()]) * 3)
    assert len(spans.resource_spans) == 3


def random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(11 if depth < 4 else 9)
    if kind == 0:
        return "".join(
            chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0xD800), 0x1F600]))
            for _ in range(rng.randrange(0, 40))
        )
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randrange(-(1 << 70), 1 << 70) >> rng.randrange(0, 70)
    if kind == 3:
        return rng.choice([rng.uniform(-1e300, 1e300), rng.random(), math.inf, -math.inf, math.nan, 0.0])
    if kind == 4:
        return rng.randbytes(rng.randrange(0, 20))
    if kind == 5:
        return None
    if kind in (6, 7, 8):
        return rng.choice(["ok", "", "x" * rng.randrange(100, 300)])
    if kind == 9:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(0, 4))}


def random_attributes(rng: random.Random) -> dict[str, Any]:
    return {
        rng.choice(["a", "b.c", "ключ", "long." * 30]) + str(i): random_value(rng, 0)
        for i in range(rng.randrange(0, 12))
    }


def random_id(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size) if rng.random() < 0.8 else b""


def random_log(rng: random.Random) -> LogRecord:
    return LogRecord(
        time_unix_nano=rng.choice([0, rng.randrange(1 << 64)]),
        severity_number=rng.randrange(0, 25),
        severity_text=rng.choice(["", "INFO", "ERROR"]),
        body=random_value(rng, 0),
        attributes=random_attributes(rng),
        event_name=rng.choice(["", EVENT.RUN_END, EVENT.CHECK]),
        trace_id=random_id(rng, 16),
        span_id=random_id(rng, 8),
        flags=rng.choice([0, 1, 0xFFFFFFFF]),
        observed_time_unix_nano=rng.choice([0, rng.randrange(1 << 64)]),
    )


def random_span(rng: random.Random) -> Span:
    return Span(
        trace_id=random_id(rng, 16),
        span_id=random_id(rng, 8),
        name=rng.choice(["", "load", "ströme 😀"]),
        kind=rng.randrange(0, 6),
        start_time_unix_nano=rng.choice([0, rng.randrange(1 << 64)]),
        end_time_unix_nano=rng.choice([0, rng.randrange(1 << 64)]),
        attributes=random_attributes(rng),
        parent_span_id=random_id(rng, 8),
        events=[
            SpanEvent(rng.randrange(1 << 64), rng.choice(["", "exception"]), random_attributes(rng))
            for _ in range(rng.randrange(0, 3))
        ],
        status_code=rng.randrange(0, 3),
        status_message=rng.choice(["", "failed"]),
        flags=rng.choice([0, 1, 0x301]),
    )


def test_random_records_match_serialize_to_string() -> None:
    rng = random.Random(20261206)
    for _ in range(30):
        assert_logs_match([random_log(rng) for _ in range(rng.randrange(1, 15))])
        assert_spans_match([random_span(rng) for _ in range(rng.randrange(1, 8))])


GOLDEN_CASES = sorted(GOLDEN.glob("*.json"))


def test_there_are_golden_cases_of_both_signals() -> None:
    signals = {read_case(path)[0] for path in GOLDEN_CASES}
    assert signals == {"logs", "traces"}


@pytest.mark.parametrize("path", GOLDEN_CASES, ids=[p.stem for p in GOLDEN_CASES])
def test_golden_requests(path: Path) -> None:
    signal, resource, name, version, records = read_case(path)
    if signal == "logs":
        ours, reference = encode_logs(resource, name, version, records), logs_request(resource, name, version, records)
    else:
        ours, reference = (
            encode_spans(resource, name, version, records),
            spans_request(resource, name, version, records),
        )
    assert ours.hex() == reference.hex()
    golden = path.with_suffix(".otlp")
    if os.environ.get("PIPEMON_WRITE_GOLDEN") == "1":
        golden.write_bytes(ours)
    assert golden.exists(), f"{golden} is missing: run with PIPEMON_WRITE_GOLDEN=1 (see this module's docstring)"
    assert ours.hex() == golden.read_bytes().hex(), f"{golden} differs: if on purpose, rewrite it as the docstring says"
