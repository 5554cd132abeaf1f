"""What a caller hands a run or stage, read without raising (the behaviour is in test_activity and test_checks)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from pipemon._inputs import is_empty, parse_target, row_count, truth


@pytest.mark.parametrize(
    "value, empty", [(None, True), (0, True), ("", True), ([], True), (False, False), ([0], False)]
)
def test_is_empty(value: Any, empty: bool) -> None:
    assert is_empty(value) is empty


@pytest.mark.parametrize(
    "value, count",
    [(3, 3), (2.5, 2.5), (Fraction(1, 2), 0.5), (True, None), (-1, None), (float("inf"), None), ("9", None)],
)
def test_row_count(value: Any, count: float | None) -> None:
    assert row_count(value) == count


def test_truth_and_targets() -> None:
    class Ambiguous:
        def __bool__(self) -> bool:
            raise ValueError("ambiguous")

    assert truth(1) and not truth(Ambiguous())
    assert parse_target("dw.sales.orders") == ("dw.sales", "orders") and parse_target("orders") == (None, "orders")
    assert parse_target({"collection": "orders"}) == (None, "orders") and parse_target(7) == (None, None)
