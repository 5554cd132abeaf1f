"""The bounded, secret-masking preview: what it prints, what it never does (raise, walk what it hides)."""

from __future__ import annotations

import datetime
import time
import uuid
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipemon._serialize import Serializer, is_sensitive_key, serialize, to_attribute_value, to_log_value


def test_scalars_and_containers_read_as_python() -> None:
    assert serialize([1, "a", None, True, 1.5]) == "[1, 'a', None, True, 1.5]"
    assert serialize((1,)) == "(1,)"
    assert serialize({"a": {"b": [1]}}) == "{'a': {'b': [1]}}"
    assert serialize(datetime.date(2026, 1, 2)) == "2026-01-02"
    assert serialize(uuid.UUID(int=1)) == "UUID('00000000-0000-0000-0000-000000000001')"
    assert serialize(ValueError("bad")) == "ValueError('bad')"
    assert serialize(b"abc") == "<bytes 3 bytes>"
    assert serialize(len) == "<function len>" and serialize(int) == "<class int>"


def test_containers_show_max_items_then_a_count() -> None:
    assert serialize(list(range(12))) == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …+2 more]"
    assert serialize(dict.fromkeys("abc", 0), max_items=2) == "{'a': 0, 'b': 0, …+1 more}"


def test_a_huge_list_costs_what_a_small_one_costs() -> None:
    huge, small = list(range(10_000_000)), list(range(10))
    started = time.perf_counter()
    for _ in range(100):
        serialize(huge)
    huge_cost = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        serialize(small)
    assert huge_cost < 5 * (time.perf_counter() - started) + 0.01


def test_output_is_cut_at_max_repr() -> None:
    text = serialize(["x" * 50] * 100, max_repr=40)
    assert len(text) == 41 and text.endswith("…")
    assert len(serialize("y" * 5000)) == 1001


def test_depth_is_bounded() -> None:
    assert serialize([[[[[1]]]]]) == "[[[[<list len=1>]]]]"
    assert serialize({"a": {"b": 1}}, max_depth=1) == "{'a': <dict len=1>}"


def test_secrets_are_masked_by_key_whatever_their_spelling() -> None:
    value = {"Password": "p", "api-key": "k", "X_Auth_Token": "t", "session.id": "s", "name": "ok"}
    assert (
        serialize(value)
        == "{'Password': '***', 'api-key': '***', 'X_Auth_Token': '***', 'session.id': '***', 'name': 'ok'}"
    )
    assert serialize({"iban": "DE00"}, sensitive_fields=["IBAN"]) == "{'iban': '***'}"
    assert is_sensitive_key("db_connection_string") and not is_sensitive_key("rows")


def test_objects_show_their_fields_masked() -> None:
    class Config:
        def __init__(self) -> None:
            self.host = "db"
            self.password = "hunter2"

    assert serialize(Config()) == "Config(host='db', password='***')"


def test_it_never_raises() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("repr")

        def __len__(self) -> int:
            raise RuntimeError("len")

        @property
        def __dict__(self) -> Any:  # type: ignore[override]
            raise RuntimeError("dict")

    class BadMessage(Exception):
        def __str__(self) -> str:
            raise RuntimeError("str")

    cycle: list[Any] = [1]
    cycle.append(cycle)
    assert serialize(Hostile()) == "<unserializable>"
    assert serialize(BadMessage()) == "BadMessage('<BadMessage whose str() raised>')"
    assert serialize(cycle) == "[1, <circular>]"
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    assert serialize(deep, max_depth=100_000).startswith("[[[[")


class _SparkFrame:
    """Stands for a pyspark DataFrame (pyspark is not in the unit tests' venv; tests/e2e/test_spark.py runs the
    real one): counting it or touching its RDD would run a job."""

    schema = object()
    dtypes = [(f"c{i}", "bigint") for i in range(12)]

    @property
    def rdd(self) -> Any:
        raise AssertionError("the preview must not touch the RDD")

    def count(self) -> int:
        raise AssertionError("the preview must not count")


def test_data_frames_and_arrays_are_summarised_without_their_libraries() -> None:
    frame = pd.DataFrame(np.zeros((1000, 50)), columns=[f"c{i}" for i in range(50)])
    assert serialize(frame) == "DataFrame 1000×50"
    assert serialize({"orders": frame}) == "{'orders': DataFrame 1000×50}"
    assert serialize(frame["c0"]) == "Series float64 (1000,)"
    assert serialize(np.zeros((1000, 3))) == "ndarray float64 (1000, 3)"
    assert serialize(_SparkFrame()) == (
        "_SparkFrame[c0: bigint, c1: bigint, c2: bigint, c3: bigint, c4: bigint,"
        " c5: bigint, c6: bigint, c7: bigint, c8: bigint, c9: bigint, …+2 more]"
    )


def test_a_huge_data_frame_costs_what_a_small_one_costs() -> None:
    huge, small = pd.DataFrame({"id": np.arange(10_000_000)}), pd.DataFrame({"id": np.arange(10)})

    def cost(frame: pd.DataFrame) -> float:
        started = time.perf_counter()
        for _ in range(100):
            serialize([frame, frame["id"], frame["id"].to_numpy()])
        return time.perf_counter() - started

    cost(small)  # warm-up: the first call pays for imports and caches
    assert cost(huge) < 5 * cost(small)


def test_call_previews_read_as_the_call() -> None:
    preview = Serializer()
    assert preview.call((1, "x"), {"token": "t", "limit": 3}) == "(1, 'x', token='***', limit=3)"
    assert preview.call((), {"limit": 3}) == "(limit=3)"
    assert preview.call((1,), {}) == "(1,)"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("s", "s"),
        (3, 3),
        (1.5, 1.5),
        (True, True),
        (None, None),
        (["a", "b"], ["a", "b"]),
        ((1, 2.5), [1, 2.5]),
        ([1, "a"], "[1, 'a']"),
        ([True], "[True]"),
        (2**70, str(2**70)),
        ({"a": 1}, "{'a': 1}"),
        (list(range(101)), serialize(list(range(101)))),
    ],
)
def test_attribute_values(value: Any, expected: Any) -> None:
    assert to_attribute_value(value) == expected


def test_a_log_value_is_an_attribute_value() -> None:
    assert to_log_value({"a": [1]}) == "{'a': [1]}" and to_log_value(None) is None


def test_numpy_s_scalars_read_as_their_values() -> None:
    # What `df["ok"].sum()`, `.mean()` and `.all()` return.
    assert serialize([np.int64(7), np.float64(1.5), np.bool_(True), np.str_("x")]) == "[7, 1.5, True, 'x']"
    assert to_attribute_value(np.int64(7)) == 7 and type(to_attribute_value(np.int64(7))) is int
    assert to_attribute_value(np.float64(0.5)) == 0.5 and type(to_attribute_value(np.float64(0.5))) is float
    assert to_attribute_value(np.bool_(True)) is True
    assert to_attribute_value(Fraction(1, 4)) == 0.25


def test_an_attribute_value_with_a_shape_that_raises_is_previewed() -> None:
    class Lazy:
        item = None

        @property
        def shape(self) -> Any:
            raise RuntimeError("not computed yet")

    assert to_attribute_value(Lazy()) == serialize(Lazy()) == "<unserializable>"
