"""The first stage of delivery: records on their way into the write-ahead spool. Records that must never be lost
(errors, run and stage records, failed spans) are encoded and appended before push() returns. Ordinary records
wait in memory for at most `buffer_s` (or until a batch is full) and are then appended together, by the
sender's thread: the caller's cost stays a list append, and a `kill -9` loses at most the records of the last
buffer interval. The twin is sdk/delivery/record-queue.ts.

push() is called from any of the pipeline's threads, flush() from the sender's thread and at exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ._spool import Signal

T = TypeVar("T")


@dataclass(frozen=True)
class Channel(Generic[T]):
    signal: Signal
    # The OTLP request body for these records, as the official exporter would send it.
    encode: Callable[[list[T]], bytes]
    must_keep: Callable[[T], bool]
    # Kept records that need not be on disk before push() returns (default: all kept records must). A successful
    # stage's span is kept but buffered: its end record, written through, already holds the stage's history.
    write_through: Callable[[T], bool] | None = None


class Appender(Protocol):
    def append(self, signal: Signal, keep: bool, records: int, body: bytes) -> None: ...


class RecordQueue(Generic[T]):
    """Buffers of one channel, in front of the spool."""

    def __init__(
        self,
        channel: Channel[T],
        spool: Appender,
        max_batch: int,
        max_queue: int,
        buffer_s: float,
        request_flush: Callable[[float], None],
        on_append: Callable[[bool], None],
        on_unencodable: Callable[[int], None],
    ) -> None:
        """request_flush(delay_s): asks for flush() on the sender's thread within delay_s. on_append(keep): told
        after each append, with whether it held kept records (worth sending at once). on_unencodable(n): counts
        records that cannot be encoded."""
        self._channel = channel
        self._spool = spool
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._buffer_s = buffer_s
        self._request_flush = request_flush
        self._on_append = on_append
        self._on_unencodable = on_unencodable
        self._lock = threading.Lock()
        self._ordinary: list[T] = []
        self._kept: list[T] = []
        # The delay of the flush asked for since the last one, if any.
        self._requested: float | None = None

    def push(self, item: T) -> None:
        channel = self._channel
        keep = channel.must_keep(item)
        if keep and (channel.write_through is None or channel.write_through(item)):
            self._append([item], True)
            return
        with self._lock:
            buffer = self._kept if keep else self._ordinary
            buffer.append(item)
            size = len(buffer)
            delay = None if size >= self._max_queue else 0.0 if size >= self._max_batch else self._buffer_s
            # One request per buffer interval, and one more when a batch fills: not one per record.
            if delay is not None and self._requested is not None and self._requested <= delay:
                return
            self._requested = delay
        if delay is None:
            # A caller that never lets the sender's thread run (a tight loop holding the GIL) appends itself.
            self.flush()
        else:
            self._request_flush(delay)

    def flush(self) -> None:
        """Appends every buffered record to the spool now (also used at exit)."""
        with self._lock:
            kept, self._kept = self._kept, []
            ordinary, self._ordinary = self._ordinary, []
            self._requested = None
        for items, keep in ((kept, True), (ordinary, False)):
            for start in range(0, len(items), self._max_batch):
                self._append(items[start : start + self._max_batch], keep)

    @property
    def buffered(self) -> int:
        """Records in memory, not yet in the spool: what a `kill -9` now would lose."""
        return len(self._ordinary) + len(self._kept)

    def _append(self, items: list[T], keep: bool) -> None:
        try:
            body = self._channel.encode(items)
        except Exception:
            # Encoding again cannot succeed: count the records rather than loop on them.
            self._on_unencodable(len(items))
            return
        self._spool.append(self._channel.signal, keep, len(items), body)
        self._on_append(keep)
