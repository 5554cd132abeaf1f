"""What a caller hands a run or stage, read without raising: row counts, targets, emptiness, truth.
Data frames and numpy values are read as such without importing their libraries."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from ._dataset_name import dataset_name

# Marks "no value given" where None is a value (skip_when_empty=None skips: None is empty).
NOT_GIVEN: Any = object()


def row_count(n: Any) -> float | None:
    """A row count: a finite number, 0 or more; numpy's scalars too (what `df["ok"].sum()` returns)."""
    kind = type(n)
    if kind is int or kind is float:
        count = n
    elif n is None or kind is bool or not isinstance(n, numbers.Real):  # an ABC check: slow, so second
        return None
    else:
        try:
            count = int(n) if isinstance(n, numbers.Integral) else float(n)
        except Exception:
            return None
    return count if math.isfinite(count) and count >= 0 else None


def is_empty(value: Any) -> bool:
    """None, a row count of 0 (numpy's too) and anything of length 0 (a list, dict, set, DataFrame) is
    empty; False is not."""
    # No `value == ""`: a DataFrame or an array compares element-wise and refuses a truth value.
    if value is None or row_count(value) == 0:
        return True
    try:
        return len(value) == 0
    except Exception:
        return False


def truth(value: Any) -> bool:
    """bool(value), or False for a value without one (an array of booleans)."""
    try:
        return bool(value)
    except Exception:
        return False


def parse_target(target: Any) -> tuple[str | None, str | None]:
    """`"dw.orders"` (the last dot splits the namespace from the table), or {"namespace", "collection"}."""
    if isinstance(target, Mapping):
        return target.get("namespace"), target.get("collection")
    if isinstance(target, str):
        namespace, dot, collection = target.rpartition(".")
        return (namespace, collection) if dot else (None, target)
    return None, None


def dataset_of(dataset: Any) -> str | None:
    """A dataset's one name: a string as is (as OpenLineage names it: "postgres://db:5432/shop.public.orders"),
    {"namespace", "collection"} as its target names it ("dw" and "orders": "dw://orders"). None for an empty
    name, a target without both parts, or anything else."""
    try:
        if isinstance(dataset, str):
            return dataset or None
        if isinstance(dataset, Mapping):
            namespace, collection = dataset.get("namespace"), dataset.get("collection")
            return dataset_name(str(namespace), str(collection)) if namespace and collection else None
    except Exception:
        pass  # A mapping that cannot be read names nothing.
    return None


def datasets_of(datasets: Any) -> tuple[Any, ...]:
    """The datasets of an `inputs=` or `outputs=` option, read once (a generator would be spent after a decorated
    function's first run): an iterable of them, or one alone; none when it cannot be read."""
    if datasets is None:
        return ()
    if isinstance(datasets, (str, Mapping)):
        return (datasets,)
    try:
        return tuple(datasets)
    except Exception:
        return ()
