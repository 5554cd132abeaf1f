"""The usual data-quality checks (the twin of sdk/checks.ts), each computed here and recorded with
`activity.check()`: a `pipeline.check` record, WARN when it fails. Each returns whether it passed, so a
pipeline can decide to stop; none raises. With `activity` None they only compute.

    pipemon.checks.null_ratio(stage, "email", [row["email"] for row in rows], max_ratio=0.01)
    pipemon.checks.schema_drift(stage, ["id", "email", "amount"], list(rows[0]))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._inputs import is_empty
from ._serialize import serialize
from .vocabulary import CHECK

if TYPE_CHECKING:
    from ._activity import Activity

# How many examples of a failure a check record carries: enough to debug, bounded in size.
EXAMPLES = 5


def _record(activity: Activity | None, name: str, passed: bool, **details: Any) -> bool:
    return passed if activity is None else activity.check(name, passed, **details)


def empty_dataset(activity: Activity | None, data: Any) -> bool:
    """Fails when the dataset (a list, dict, DataFrame, string or row count) is empty."""
    return _record(activity, CHECK.EMPTY_DATASET, not is_empty(data))


def _is_null(value: Any) -> bool:
    """None, and what pandas' isna() calls missing: NaN and NaT (not equal to themselves) and pandas' NA
    (any comparison with it is NA itself)."""
    if value is None:
        return True
    try:
        differs = value != value
        return differs is value or bool(differs)
    except Exception:
        return False  # no answer (an array, a value whose comparison raises): not a missing value


def null_ratio(activity: Activity | None, column: str, values: Iterable[Any], max_ratio: float = 0.0) -> bool:
    """Fails when the share of nulls in `column` (None, NaN, NaT, pandas' NA) is above `max_ratio` (0 to 1)."""
    total = nulls = 0
    for value in values:
        total += 1
        if _is_null(value):
            nulls += 1
    ratio = nulls / total if total else 0.0
    details = {"column": column, "nulls": nulls, "total": total, "ratio": ratio, "max_ratio": max_ratio}
    return _record(activity, CHECK.NULL_RATIO, ratio <= max_ratio, **details)


def schema_drift(activity: Activity | None, expected: Iterable[str], actual: Iterable[str]) -> bool:
    """Fails when the columns differ from the expected ones, naming the missing and the unexpected."""
    expected, actual = list(expected), list(actual)
    have, want = set(actual), set(expected)
    missing = [column for column in expected if column not in have]
    unexpected = [column for column in actual if column not in want]
    passed = not missing and not unexpected
    return _record(activity, CHECK.SCHEMA_DRIFT, passed, missing=missing, unexpected=unexpected)


def duplicates(activity: Activity | None, keys: Iterable[Any]) -> bool:
    """Fails when a key occurs more than once. Keys that cannot be set members (a dict, a list, a hostile
    __hash__ or __eq__) compare as their preview."""
    seen: set[Any] = set()
    repeated: dict[Any, None] = {}
    total = 0
    for key in keys:
        total += 1
        try:
            found = key in seen
        except Exception:
            key = serialize(key)
            found = key in seen
        if found:
            repeated[key] = None
        else:
            seen.add(key)
    examples = [key if isinstance(key, str) else serialize(key) for key in list(repeated)[:EXAMPLES]]
    count = total - len(seen)
    return _record(activity, CHECK.DUPLICATES, count == 0, duplicates=count, total=total, examples=examples)
