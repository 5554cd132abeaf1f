"""What a caller hands a run or stage, read without raising (the behaviour is in test_activity and test_checks)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipemon._inputs import dataset_of, datasets_of, is_empty, parse_target, row_count, truth


@pytest.mark.parametrize(
    "value, empty",
    [
        (None, True),
        (0, True),
        ("", True),
        ([], True),
        (False, False),
        ([0], False),
        (pd.DataFrame(), True),
        (pd.DataFrame(columns=["id", "email"]), True),  # the columns, no rows
        (pd.DataFrame({"id": [1, 2]}), False),
        (pd.Series([], dtype="float64"), True),
        (np.array([]), True),
        (np.int64(0), True),  # a row count: what `df["ok"].sum()` returns
        (np.int64(3), False),
        (np.bool_(False), False),
    ],
)
def test_is_empty(value: Any, empty: bool) -> None:
    assert is_empty(value) is empty


@pytest.mark.parametrize(
    "value, count",
    [
        (3, 3),
        (2.5, 2.5),
        (Fraction(1, 2), 0.5),
        (True, None),
        (-1, None),
        (float("inf"), None),
        ("9", None),
        (np.int64(7), 7),
        (np.float64(2.5), 2.5),
        (np.bool_(True), None),
        (np.float64("nan"), None),
        (pd.DataFrame({"id": [1]}), None),
    ],
)
def test_row_count(value: Any, count: float | None) -> None:
    assert row_count(value) == count
    assert count is None or type(row_count(value)) is type(count)


def test_truth_and_targets() -> None:
    class Ambiguous:
        def __bool__(self) -> bool:
            raise ValueError("ambiguous")

    assert truth(1) and not truth(Ambiguous())
    assert parse_target("dw.sales.orders") == ("dw.sales", "orders") and parse_target("orders") == (None, "orders")
    assert parse_target({"collection": "orders"}) == (None, "orders") and parse_target(7) == (None, None)


class _BrokenMapping(dict):  # type: ignore[type-arg]
    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("a lazy mapping whose source went away")


@pytest.mark.parametrize(
    "dataset, name",
    [
        ("postgres://shop:5432/shop.public.orders", "postgres://shop:5432/shop.public.orders"),
        ("dw.orders", "dw.orders"),  # a name is taken as is: only a target's parts are joined
        ({"namespace": "dw", "collection": "orders"}, "dw://orders"),
        (
            {"namespace": "postgres://shop:5432", "collection": "shop.public.orders"},
            "postgres://shop:5432/shop.public.orders",
        ),
        ("", None),
        ({"namespace": "dw"}, None),
        ({"namespace": "", "collection": "orders"}, None),
        (None, None),
        (7, None),
        (_BrokenMapping(namespace="dw", collection="orders"), None),
    ],
)
def test_dataset_of(dataset: Any, name: str | None) -> None:
    assert dataset_of(dataset) == name


def test_datasets_of_reads_an_option_once() -> None:
    assert datasets_of(name for name in ["s3://a", "s3://b"]) == ("s3://a", "s3://b")
    # One dataset alone is one, not its characters or keys.
    assert datasets_of("s3://a") == ("s3://a",)
    assert datasets_of({"namespace": "dw", "collection": "x"}) == ({"namespace": "dw", "collection": "x"},)
    assert datasets_of(None) == () and datasets_of(7) == ()
