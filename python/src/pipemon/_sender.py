"""The export stage: takes batches from the spool, oldest first and kept records first, and sends them through
the transport one request at a time, on a background thread of its own. Each answer settles its batch in
the spool (delivered and refused frames leave it, the rest stay). After a `retry` answer, which the retrying
transport already retried, the next pass waits with a growing backoff: records keep going to disk meanwhile.
The twin is sdk/delivery/sender.ts; Worker stands for Node's timers.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ._spool import PendingBatch
from ._transport import Backoff, Outcome, Transport

# While the receiver is known to be down, drain() tries for at most this long
# (sdk/delivery/sender.ts DRAIN_WHILE_DOWN_MS).
DRAIN_WHILE_DOWN_S = 1.0


class Schedule(Protocol):
    def at(self, key: str | None, delay_s: float, job: Callable[[], None]) -> None:
        """Runs `job` after `delay_s`; of two jobs of one key, the earlier stands. key None: a job of its own."""
        ...

    def on_own_thread(self) -> bool:
        """Whether the caller is the thread that runs the jobs."""
        ...

    @property
    def running(self) -> bool:
        """Whether jobs still run: false once stopped, or when no thread could be started."""
        ...


class Worker:
    """One daemon thread that runs jobs at their times, one at a time, and sleeps on a condition in between
    (never polling). Daemon: it must never keep a finished pipeline process alive (what it would send is on
    disk for the next start)."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._wakeup = threading.Condition()
        self._jobs: dict[object, tuple[float, Callable[[], None]]] = {}
        self._unique = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        try:
            self._thread.start()
        except RuntimeError:
            # Python 3.12 refuses new threads at interpreter shutdown (a first record from an atexit handler):
            # no job runs, and what is emitted goes to disk on the caller's thread, for the next start to send.
            self._stopped = True

    def at(self, key: str | None, delay_s: float, job: Callable[[], None]) -> None:
        due = self._clock() + delay_s
        with self._wakeup:
            if self._stopped:
                return
            slot = key if key is not None else next(self._unique)
            earlier = self._jobs.get(slot)
            if earlier is not None and earlier[0] <= due:
                return
            self._jobs[slot] = (due, job)
            self._wakeup.notify()

    def on_own_thread(self) -> bool:
        return threading.current_thread() is self._thread

    @property
    def running(self) -> bool:
        return not self._stopped

    def stop(self, wait_s: float = 0.0) -> None:
        """No more jobs; waits up to `wait_s` for the one running (if any) to finish."""
        with self._wakeup:
            self._stopped = True
            self._jobs.clear()
            self._wakeup.notify()
        if wait_s > 0 and self._thread.is_alive() and not self.on_own_thread():
            self._thread.join(wait_s)

    def _loop(self) -> None:
        while True:
            job = self._next_due()
            if job is None:
                return
            try:
                job()
            except BaseException:
                # A failed job must not end the thread: later appends and sends still need it. BaseException too:
                # a user's sink may call sys.exit() here, and KeyboardInterrupt only ever reaches the main thread.
                pass

    def _next_due(self) -> Callable[[], None] | None:
        with self._wakeup:
            while not self._stopped:
                if not self._jobs:
                    self._wakeup.wait()
                    continue
                slot, (due, job) = min(self._jobs.items(), key=lambda item: item[1][0])
                left = due - self._clock()
                if left <= 0:
                    del self._jobs[slot]
                    return job
                self._wakeup.wait(left)
            return None


class Spool(Protocol):
    def next(self, max_bytes: int) -> PendingBatch | None: ...


class Sender:
    """wake() asks for a pass; drain() sends now and waits, within a deadline (time.monotonic())."""

    def __init__(
        self,
        spool: Spool,
        transport: Transport,
        flush_s: float,
        max_request_bytes: int,
        pause: Backoff,
        schedule: Schedule,
        clock: Callable[[], float] = time.monotonic,
        on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    ) -> None:
        """pause: the waits between passes while the receiver cannot take records. on_outcome: every answer,
        after its batch is settled (what the delivery reports on)."""
        self._spool = spool
        self._transport = transport
        self._flush_s = flush_s
        self._max_request_bytes = max_request_bytes
        self._pause = pause
        self._schedule = schedule
        self._clock = clock
        self._on_outcome = on_outcome
        self._down = False
        self._stopped = False

    @property
    def down(self) -> bool:
        """Whether the receiver did not take the last batch."""
        return self._down

    def wake(self, urgent: bool) -> None:
        """Asks for a pass: at once for kept records (`urgent`), within flush_s otherwise."""
        # While the receiver is down, the backoff decides when to try again.
        if not self._down and not self._stopped:
            self._schedule.at("send", 0.0 if urgent else self._flush_s, self._send_all)

    def drain(self, deadline: float) -> None:
        """Sends until the spool is empty, the receiver cannot take more, or `deadline` passes; returns by then."""
        done = threading.Event()

        def job() -> None:
            try:
                # While the receiver is known to be down, one short try: the records are on disk for the next
                # start, and a finishing pipeline must not wait out the retries (the SDK never blocks it).
                bound = min(deadline, self._clock() + DRAIN_WHILE_DOWN_S) if self._down else deadline
                if self._clock() < bound:
                    self._pass(bound)
            finally:
                done.set()

        if self._schedule.on_own_thread():
            job()
            return
        if not self._schedule.running:
            # Nothing would run the job: the records stay on disk for the next start.
            return
        # Queued behind a pass already running (started without a deadline): the wait below bounds it.
        self._schedule.at(None, 0.0, job)
        done.wait(max(0.0, deadline - self._clock()))

    def stop(self) -> None:
        """No more passes after the current one."""
        self._stopped = True

    def _send_all(self) -> None:
        if not self._stopped:
            self._pass(float("inf"))

    def _send(self, batch: PendingBatch, deadline: float) -> Outcome:
        """The transport's answer, with the batch settled by it."""
        try:
            outcome = self._transport.send(batch.signal, batch.body, deadline)
        except Exception as error:
            # A transport answers rather than raises; should a bug raise anyway, the batch must not stay marked
            # on the wire, where no pass would ever take it again: it is kept as if unanswered.
            outcome = Outcome("retry", f"{type(error).__name__}: {error}")
        batch.settle(outcome.kind)
        return outcome

    def _pass(self, deadline: float) -> None:
        """Returns when the spool has nothing left to send, a batch could not be delivered, or `deadline` passed."""
        try:
            while (batch := self._spool.next(self._max_request_bytes)) is not None:
                outcome = self._send(batch, deadline)
                self._on_outcome(outcome)
                self._down = outcome.kind == "retry"
                if self._down:
                    return
                self._pause.reset()
                if self._stopped or self._clock() >= deadline:
                    return
        finally:
            if self._down and not self._stopped:
                self._schedule.at("send", self._pause.next(), self._send_all)
