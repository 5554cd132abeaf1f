"""A size-bounded, secret-masking preview of any value, for the arguments and results of monitored
functions and for attributes (the twin of sdk/activity/serialize.ts, in Python's own notation).

It never raises (a hostile __repr__, a property that raises, a cycle) and never walks more than it
prints: output stops at `max_repr` characters, `max_items` entries per container and `max_depth`
levels, so a list of ten million elements costs what a list of ten costs. DataFrames and arrays are
summarised by duck typing, without importing pandas, polars, numpy or pyspark, and without running a
Spark job.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import numbers
import pathlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

from .vocabulary import DEFAULT_SENSITIVE, MASK, MAX_DEPTH, MAX_ITEMS, MAX_REPR

# The OTLP integer is 64 bits: a larger Python int is sent as its preview.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Attribute arrays longer than this are sent as a preview (sdk/activity/serialize.ts toAttributeValue).
MAX_ATTRIBUTE_ARRAY = 100
_MEMO_LIMIT = 4096

# Types whose repr is short, cheap and says what the value is.
_PLAIN_REPR = (
    complex,
    decimal.Decimal,
    fractions.Fraction,
    uuid.UUID,
    pathlib.PurePath,
    enum.Enum,
    range,
)
_ISO_FORMAT = (datetime.datetime, datetime.date, datetime.time)


def _normalize(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "").replace(".", "").replace(" ", "")


def sensitive_matcher(extra: Iterable[str] = ()) -> Callable[[str], bool]:
    """A test for keys naming a secret: DEFAULT_SENSITIVE and `extra` fragments, normalized."""
    fragments = tuple(DEFAULT_SENSITIVE) + tuple(_normalize(f) for f in extra)
    # Attribute keys repeat on every record; normalizing each anew doubled a log record's cost in
    # the Node SDK, so answers are remembered (bounded: keys built from data stay cheap).
    memo: dict[str, bool] = {}

    def is_sensitive(key: str) -> bool:
        answer = memo.get(key)
        if answer is None:
            normalized = _normalize(key) if isinstance(key, str) else ""
            answer = any(fragment in normalized for fragment in fragments)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = answer
        return answer

    return is_sensitive


is_sensitive_key = sensitive_matcher()


class _Full(Exception):
    """The budget is spent: serialization stops here."""


class _Preview:
    """One serialization: the text so far, its length, and the containers being written (cycles)."""

    __slots__ = ("parts", "size", "path", "max_repr", "max_items", "max_depth", "sensitive")

    def __init__(self, max_repr: int, max_items: int, max_depth: int, sensitive: Callable[[str], bool]) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.path: list[int] = []
        self.max_repr = max_repr
        self.max_items = max_items
        self.max_depth = max_depth
        self.sensitive = sensitive

    def write(self, text: str) -> None:
        room = self.max_repr - self.size
        if len(text) > room:
            self.parts.append(text[: max(0, room)])
            raise _Full
        self.parts.append(text)
        self.size += len(text)

    def visit(self, value: Any, depth: int) -> None:
        kind = type(value)
        if kind is str:
            self.write(repr(value[: self.max_repr]))
        elif kind is int or kind is float or kind is bool or value is None:
            self.write(repr(value))
        elif id(value) in self.path:
            self.write("<circular>")
        else:
            try:
                self.other(value, depth)
            except _Full:
                raise
            except Exception:
                self.write("<unserializable>")

    def other(self, value: Any, depth: int) -> None:
        kind = type(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            self.write(f"<{kind.__name__} {len(value)} bytes>")
        elif isinstance(value, _ISO_FORMAT):
            self.write(value.isoformat())
        elif isinstance(value, _PLAIN_REPR):
            self.write(repr(value)[: self.max_repr])
        elif isinstance(value, str):
            # Subclasses read as the value they hold: numpy's str_ and float64 repr as `np.float64(1.5)`.
            self.write(repr(str(value[: self.max_repr])))
        elif isinstance(value, (int, float)):
            self.write(repr(float(value) if isinstance(value, float) else int(value)))
        elif isinstance(value, BaseException):
            self.write(f"{kind.__name__}({safe_str(value)!r})")
        elif isinstance(value, type):
            self.write(f"<class {value.__qualname__}>")
        elif callable(value) and hasattr(value, "__qualname__"):
            self.write(f"<function {value.__qualname__}>")
        else:
            summary = _summary(value)
            if summary is not None:
                self.write(summary)
            elif depth >= self.max_depth:
                self.write(_shallow(value))
            else:
                self.path.append(id(value))
                try:
                    self.container(value, depth)
                finally:
                    self.path.pop()

    def container(self, value: Any, depth: int) -> None:
        if isinstance(value, Mapping):
            self.mapping(value, "{", "}", depth)
        elif isinstance(value, list):
            self.items(value, len(value), "[", "]", depth)
        elif isinstance(value, tuple):
            self.items(value, len(value), "(", ",)" if len(value) == 1 else ")", depth)
        elif isinstance(value, (set, frozenset)):
            self.items(value, len(value), "{", "}", depth)
        elif hasattr(value, "__dict__") and isinstance(vars(value), dict):
            self.write(type(value).__name__)
            self.mapping(vars(value), "(", ")", depth, keyword=True)
        else:
            self.write(f"<{type(value).__name__}>")

    def items(self, values: Iterable[Any], total: int, opening: str, closing: str, depth: int) -> None:
        self.write(opening)
        shown = 0
        for item in islice(values, self.max_items):
            if shown:
                self.write(", ")
            self.visit(item, depth + 1)
            shown += 1
        self.more(total - shown)
        self.write(closing)

    def mapping(self, values: Mapping[Any, Any], opening: str, closing: str, depth: int, keyword: bool = False) -> None:
        self.write(opening)
        shown = 0
        for key, item in islice(values.items(), self.max_items):
            if shown:
                self.write(", ")
            if keyword:
                self.write(f"{key}=")
            else:
                self.visit(key, depth + 1)
                self.write(": ")
            if isinstance(key, str) and self.sensitive(key):
                self.write(repr(MASK))
            else:
                self.visit(item, depth + 1)
            shown += 1
        self.more(len(values) - shown)
        self.write(closing)

    def arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        self.write("(")
        self.items(args, len(args), "", ", " if args else "", 0)
        self.mapping(kwargs, "", ")", 0, keyword=True)

    def more(self, hidden: int) -> None:
        if hidden > 0:
            self.write(f", …+{hidden} more")


def safe_str(value: object) -> str:
    """str(value), or what it is when its __str__ raises: a message or a key must never raise into the pipeline."""
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__} whose str() raised>"


def _shape(value: Any) -> str | None:
    """`(1000, 3)` from a `shape` made of ints, else None (a lazy frame's unknown sizes)."""
    shape = value.shape
    if not isinstance(shape, tuple) or not all(isinstance(n, int) for n in shape):
        return None
    return repr(shape)


def _summary(value: Any) -> str | None:
    """A one-line description of a data frame, series or array; None for anything else.

    Only the type is asked whether it has `rdd`, `shape`... (asking the value could run a property).
    """
    kind = type(value)
    name = kind.__name__
    if hasattr(kind, "rdd") and hasattr(kind, "schema"):
        # A Spark DataFrame as Spark writes it, `DataFrame[id: bigint, name: string]`, from its schema:
        # counting its rows would run a job.
        columns = value.dtypes
        shown = ", ".join(f"{column}: {type_}" for column, type_ in islice(columns, MAX_ITEMS))
        hidden = len(columns) - MAX_ITEMS
        return f"{name}[{shown}{f', …+{hidden} more' if hidden > 0 else ''}]"
    if not hasattr(kind, "shape"):
        return None
    shape = _shape(value)
    if shape is None:
        return f"<{name}>"
    if shape == "()":
        return safe_str(value)  # a numpy scalar: its value
    if hasattr(kind, "columns") and len(value.shape) == 2:
        rows, columns = value.shape
        return f"{name} {rows}×{columns}"
    dtype = getattr(value, "dtype", None) if hasattr(kind, "dtype") else None
    return f"{name} {dtype} {shape}" if dtype is not None else f"{name} {shape}"


def _shallow(value: Any) -> str:
    """A container beyond max_depth: its type and size only."""
    try:
        return f"<{type(value).__name__} len={len(value)}>"
    except Exception:
        return f"<{type(value).__name__}>"


class Serializer:
    """The preview function for one set of limits (monitored() makes one per decorated function)."""

    __slots__ = ("max_repr", "max_items", "max_depth", "sensitive")

    def __init__(
        self,
        max_repr: int = MAX_REPR,
        max_items: int = MAX_ITEMS,
        max_depth: int = MAX_DEPTH,
        sensitive_fields: Iterable[str] = (),
    ) -> None:
        self.max_repr = max_repr
        self.max_items = max_items
        self.max_depth = max_depth
        extra = tuple(sensitive_fields)
        self.sensitive = sensitive_matcher(extra) if extra else is_sensitive_key

    def __call__(self, value: Any) -> str:
        preview = _Preview(self.max_repr, self.max_items, self.max_depth, self.sensitive)
        try:
            preview.visit(value, 0)
        except _Full:
            return "".join(preview.parts) + "…"
        except BaseException:
            # A RecursionError or worse from a pathological value: what was written, or a word.
            return "".join(preview.parts) or "<unserializable>"
        return "".join(preview.parts)

    def call(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        """A call's arguments as they were written: `(1, 'x', key=3)`, keywords masked by name."""
        if not kwargs:
            return self(args)
        preview = _Preview(self.max_repr, self.max_items, self.max_depth, self.sensitive)
        try:
            preview.arguments(args, kwargs)
        except _Full:
            return "".join(preview.parts) + "…"
        except BaseException:
            return "".join(preview.parts) or "<unserializable>"
        return "".join(preview.parts)


_default = Serializer()


def serialize(value: Any, **limits: Any) -> str:
    """The bounded preview of `value` (max_repr, max_items, max_depth, sensitive_fields)."""
    return (Serializer(**limits) if limits else _default)(value)


def to_attribute_value(value: Any) -> Any:
    """A span attribute from any value: scalars and short scalar lists as they are, the rest previewed."""
    kind = type(value)
    if value is None:
        return None
    if kind is str or kind is bool or kind is float:
        return value
    if kind is int:
        return value if INT64_MIN <= value <= INT64_MAX else str(value)
    if (kind is list or kind is tuple) and len(value) <= MAX_ATTRIBUTE_ARRAY:
        if all(type(x) is str for x in value):
            return list(value)
        if all((type(x) is int and INT64_MIN <= x <= INT64_MAX) or type(x) is float for x in value):
            return list(value)
    if hasattr(kind, "shape") and hasattr(kind, "item"):
        # A numpy scalar (what df["ok"].sum() or .all() returns): sent as the Python value it holds.
        try:
            item = value.item() if value.shape == () else None
        except Exception:
            item = None
        if type(item) in (bool, int, float, str):
            return to_attribute_value(item)
    if isinstance(value, numbers.Real) and not isinstance(value, enum.Enum):
        # Fractions, and other numbers: sent as the numbers they are.
        try:
            return to_attribute_value(int(value) if isinstance(value, numbers.Integral) else float(value))
        except Exception:
            pass
    return _default(value)


def to_log_value(value: Any) -> Any:
    """A log attribute value: like a span attribute, since previews keep records bounded."""
    return to_attribute_value(value)
