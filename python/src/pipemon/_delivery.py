"""Delivery as a line of small parts:

    push -> record queue (_record_queue.py) -> write-ahead spool (_spool.py)
         -> sender (_sender.py) -> retrying transport -> HTTP transport (_transport.py)

Records are on disk before they are sent, so a `kill -9` loses at most the ordinary records of the last
buffer interval; errors and run/stage records are written before emit returns. Segments left by a dead
process are replayed through the same sender and transport as live records: one sorting of the receiver's
answers for both. The twin is sdk/delivery/delivery.ts.

Two daemon threads: one appends the buffers every buffer_ms, one sends. A send can wait for an answer up to
export_timeout_ms, and Node's event loop appends meanwhile; a single thread here would leave records in
memory (lost to a `kill -9`) for that long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ._config import Config, authorization_of
from ._record_queue import Channel, RecordQueue
from ._sender import Sender, Worker
from ._spool import Signal, Spool, open_spool
from ._transport import Backoff, FailureKind, HttpTransport, Outcome, RetryingTransport, Transport, failure_kind

T = TypeVar("T")

# Below the receiver's 64 MiB body limit (and the OTLP spec's recommendation), with room to spare
# (sdk/delivery/delivery.ts MAX_REQUEST_BYTES; the retries and pause below are that file's too).
MAX_REQUEST_BYTES = 4 * 2**20
# At shutdown, how long a retry wait that close() ended has to count its answer, even past the deadline.
_ANSWER_GRACE_S = 0.05


@dataclass(frozen=True)
class DeliveryFailure:
    kind: FailureKind
    # The HTTP status of the answer; None when the receiver did not answer.
    status: int | None
    # The transport's words: `HTTP 401`, `Connection refused`.
    message: str


@dataclass(frozen=True)
class DeliveryStats:
    # Records in memory, not yet in the spool: what a `kill -9` now would lose.
    queued: int
    # Spool segments and bytes on disk: records not yet acknowledged by the receiver.
    spooled_batches: int
    spooled_bytes: int
    # Records given up on (spool bound, disk refusing them, refused by the receiver as malformed, not encodable).
    dropped: int
    # Of `dropped`, the records the receiver refused as malformed (HTTP 400 or 413).
    refused: int
    # Records not delivered yet: in memory or in the spool, for a later pass or the next process using the spool.
    undelivered: int
    # Records the receiver took.
    delivered: int
    receiver_down: bool
    # Why the last send failed, until a later one succeeds; None when none failed since.
    last_failure: DeliveryFailure | None


# The stats of a delivery that holds nothing: export off.
NOTHING_HELD = DeliveryStats(0, 0, 0, 0, 0, 0, 0, False, None)


class Delivery:
    """queue() per signal; flush(), shutdown() and spool_now() for the instance; stats() at any time."""

    def __init__(
        self,
        config: Config,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        spool: Spool | None = None,
    ) -> None:
        """transport: the one under the retry wrapper (tests answer from a script); default OTLP/HTTP."""
        self._config = config
        self._clock = clock
        self._spool = spool or open_spool(config.spool_dir, config.spool_max_bytes, fsync=config.spool_fsync)
        http = transport or HttpTransport(config.endpoint, config.headers, config.export_timeout_ms / 1000, clock)
        self._transport = RetryingTransport(http, max_attempts=3, min_delay_s=0.5, max_delay_s=5.0, clock=clock)
        self._key_sent = authorization_of(config.headers) is not None
        self._last_failure: DeliveryFailure | None = None
        # Appends the buffers; also runs the instance's periodic jobs (the dropped-records report).
        self.timers = Worker("pipemon-append", clock)
        self._sending = Worker("pipemon-send", clock)
        self._sender = Sender(
            self._spool,
            self._transport,
            flush_s=config.flush_ms / 1000,
            max_request_bytes=MAX_REQUEST_BYTES,
            pause=Backoff(1.0, 30.0),
            schedule=self._sending,
            clock=clock,
            on_outcome=self._note,
        )
        self._queues: list[RecordQueue] = []
        self._unencodable = 0
        self._count_lock = threading.Lock()
        self._shutdown_lock = threading.Lock()
        self._closed = False
        # What an earlier process left in the spool goes first.
        self._sender.wake(True)

    def queue(self, channel: Channel[T]) -> RecordQueue[T]:
        key = f"append-{len(self._queues)}"
        queue: RecordQueue[T] = RecordQueue(
            channel,
            self._spool,
            max_batch=self._config.max_batch,
            max_queue=self._config.max_queue,
            buffer_s=self._config.buffer_ms / 1000,
            request_flush=lambda delay_s: self._request_flush(key, delay_s, queue),
            on_append=self._appended,
            on_unencodable=self._count_unencodable,
        )
        self._queues.append(queue)
        return queue

    def keep(self, signal: Signal, records: int, body: bytes) -> None:
        """Appends an encoded request of kept records now and sends it at once (a dead process's closing records,
        under that process's resource)."""
        self._spool.append(signal, True, records, body)
        self._appended(True)

    def flush(self, timeout_s: float) -> None:
        """Appends what is buffered and sends everything spooled; returns when done or after `timeout_s`."""
        deadline = self._clock() + timeout_s
        self.spool_now()
        # Shut down: nothing sends any more; the spool keeps what was appended for the next start.
        if not self._closed:
            self._sender.drain(deadline)

    def shutdown(self, timeout_s: float) -> None:
        """A final flush, then stops sending; what is not delivered stays in the spool for the next start.
        Idempotent."""
        with self._shutdown_lock:
            if self._closed:
                return
            deadline = self._clock() + timeout_s
            self.flush(timeout_s)
            self._closed = True
            self._sender.stop()
            self.timers.stop()
            # Ends a retry wait: its records are on disk, for the next start. The pass it ends then counts its
            # answer, for the report; a request in flight is waited for until the deadline at most.
            self._transport.close()
            self._sending.stop(wait_s=max(_ANSWER_GRACE_S, deadline - self._clock()))
            self.spool_now()
            self._spool.close()

    def spool_now(self) -> None:
        """Buffered records to the spool, on the caller's thread (also at exit)."""
        for queue in self._queues:
            queue.flush()

    def stats(self) -> DeliveryStats:
        spooled = self._spool.stats()
        buffered = sum(queue.buffered for queue in self._queues)
        return DeliveryStats(
            queued=buffered + spooled.in_memory,
            spooled_batches=spooled.segments,
            spooled_bytes=spooled.bytes,
            dropped=spooled.dropped + self._unencodable,
            refused=spooled.refused,
            undelivered=buffered + spooled.records,
            delivered=spooled.delivered,
            receiver_down=self._sender.down,
            last_failure=self._last_failure,
        )

    def _request_flush(self, key: str, delay_s: float, queue: RecordQueue[T]) -> None:
        # Once the appending thread stopped (after shutdown, or none could start at interpreter shutdown), a
        # buffered record would never reach the disk: the caller appends it now.
        if self.timers.running:
            self.timers.at(key, delay_s, queue.flush)
        else:
            queue.flush()

    def _appended(self, keep: bool) -> None:
        # After shutdown, appends still reach the disk (a span ending late); the next start sends them.
        if not self._closed:
            self._sender.wake(keep)

    def _count_unencodable(self, records: int) -> None:
        with self._count_lock:
            self._unencodable += records

    def _note(self, outcome: Outcome) -> None:
        self._last_failure = (
            None
            if outcome.kind == "ok"
            else DeliveryFailure(failure_kind(outcome, self._key_sent), outcome.status, outcome.reason)
        )
