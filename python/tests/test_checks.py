"""The data-quality checks: Node's names, details and results; each returns whether it passed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import pipemon
from pipemon import checks
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR, CHECK, EVENT

pytest_plugins = ["_capture"]  # the `records` fixture


def _details(records: Captured) -> list[tuple[str, bool, str | None]]:
    return [
        (r.attributes[ATTR.CHECK_NAME], r.attributes[ATTR.CHECK_PASSED], r.attributes.get(ATTR.CHECK_DETAILS))
        for r in records.logs_of(EVENT.CHECK)
    ]


def test_each_check_records_its_name_result_and_details(records: Captured) -> None:
    with pipemon.run("orders") as r, r.stage("load") as s:
        assert checks.empty_dataset(s, []) is False
        assert checks.null_ratio(s, "email", ["a", None, float("nan"), "b"], max_ratio=0.5) is True
        assert checks.schema_drift(s, ["id", "email"], ["id", "amount"]) is False
        assert checks.duplicates(s, [1, 2, 2, {"k": 1}, {"k": 1}, 3, 3, 3]) is False
    assert _details(records) == [
        (CHECK.EMPTY_DATASET, False, None),
        (CHECK.NULL_RATIO, True, "{'column': 'email', 'nulls': 2, 'total': 4, 'ratio': 0.5, 'max_ratio': 0.5}"),
        (CHECK.SCHEMA_DRIFT, False, "{'missing': ['email'], 'unexpected': ['amount']}"),
        (CHECK.DUPLICATES, False, "{'duplicates': 4, 'total': 8, 'examples': ['2', \"{'k': 1}\", '3']}"),
    ]
    assert records.logs_of(EVENT.CHECK)[0].attributes[ATTR.STAGE_NAME] == "load"


def test_passing_checks(records: Captured) -> None:
    with pipemon.run("orders") as r:
        assert checks.empty_dataset(r, [1]) and checks.empty_dataset(r, 5)
        assert checks.null_ratio(r, "email", []) is True
        assert checks.schema_drift(r, ["a", "b"], ("b", "a")) is True
        assert checks.duplicates(r, iter(["a", "b"])) is True
    assert all(passed for _, passed, _ in _details(records))


def test_checks_of_a_data_frame_s_columns(records: Captured) -> None:
    orders = pd.DataFrame({"id": [1, 2, 2, 3], "email": ["a@x", None, np.nan, "d@x"]})
    with pipemon.run("orders") as r:
        assert checks.empty_dataset(r, pd.DataFrame(columns=["id", "email"])) is False
        assert checks.empty_dataset(r, orders) is True
        assert checks.null_ratio(r, "email", orders["email"], max_ratio=0.25) is False
        assert checks.duplicates(r, orders["id"]) is False
        assert checks.duplicates(r, orders["id"].to_numpy()) is False
        assert checks.schema_drift(r, ["id", "email"], orders.columns) is True
    assert _details(records)[2:5] == [
        (CHECK.NULL_RATIO, False, "{'column': 'email', 'nulls': 2, 'total': 4, 'ratio': 0.5, 'max_ratio': 0.25}"),
        (CHECK.DUPLICATES, False, "{'duplicates': 1, 'total': 4, 'examples': ['2']}"),
        (CHECK.DUPLICATES, False, "{'duplicates': 1, 'total': 4, 'examples': ['2']}"),
    ]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["a", None, np.nan, pd.NA, "b"]),
        pd.Series([1.5, None, np.nan, 2.0]),
        pd.Series([1, None, 3], dtype="Int64"),  # pandas' NA, whose comparisons have no truth value
        pd.Series(pd.to_datetime(["2026-01-02", None])),  # NaT
        pd.Series([np.datetime64("NaT"), np.float64("nan"), [1], {"k": None}, 0], dtype=object),
    ],
)
def test_a_null_is_what_pandas_calls_missing(column: pd.Series[Any]) -> None:
    nulls = int(column.isna().sum())
    assert checks.null_ratio(None, "c", column, max_ratio=nulls / len(column)) is True
    assert checks.null_ratio(None, "c", column, max_ratio=(nulls - 0.5) / len(column)) is False


def test_without_an_activity_checks_only_compute(records: Captured) -> None:
    assert checks.null_ratio(None, "email", [None]) is False
    assert checks.empty_dataset(None, {}) is False
    assert checks.duplicates(None, [1, 1]) is False
    assert checks.schema_drift(None, ["a"], ["a"]) is True
    assert records.logs == []


def test_duplicate_examples_are_bounded(records: Captured) -> None:
    with pipemon.run("orders") as r:
        checks.duplicates(r, [i // 2 for i in range(100)])
    details = records.log(EVENT.CHECK).attributes[ATTR.CHECK_DETAILS]
    assert details == "{'duplicates': 50, 'total': 100, 'examples': ['0', '1', '2', '3', '4']}"


class _HostileKey:
    """A key whose __hash__ raises, as a mutable record type may."""

    def __hash__(self) -> int:
        raise ValueError("unhashable record")


class _CollidingKey:
    """Hashes like the others and refuses to be compared."""

    def __hash__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("cannot compare")


def test_checks_take_any_iterable_and_hostile_keys_without_raising(records: Captured) -> None:
    with pipemon.run("orders") as r:
        assert checks.null_ratio(r, "email", (value for value in ["a", None]), max_ratio=0.5) is True
        assert checks.null_ratio(r, "key", [_CollidingKey()]) is True  # compared to itself: it raises
        assert checks.duplicates(r, [_HostileKey(), _HostileKey()]) is False
        # The first is kept as itself, the second compared as its preview: no answer, but no exception.
        assert checks.duplicates(r, [_CollidingKey(), _CollidingKey(), 1]) in (True, False)
    assert [details for _, _, details in _details(records)][:3] == [
        "{'column': 'email', 'nulls': 1, 'total': 2, 'ratio': 0.5, 'max_ratio': 0.5}",
        "{'column': 'key', 'nulls': 0, 'total': 1, 'ratio': 0.0, 'max_ratio': 0.0}",
        "{'duplicates': 1, 'total': 2, 'examples': ['_HostileKey()']}",
    ]
