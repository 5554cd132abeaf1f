"""One daemon thread for every timed task of the SDK (heartbeats, the start of a run made without
`with`): a threading.Timer per run would cost a thread per run.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable


class Timed:
    """A task scheduled once; cancel() before it is due and it never runs."""

    __slots__ = ("due", "fn", "cancelled")

    def __init__(self, due: float, fn: Callable[[], None]) -> None:
        self.due = due
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Runs each task on its own thread once due; a task that raises is forgotten, the thread goes on."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Timed]] = []
        self._order = itertools.count()
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    def call_later(self, seconds: float, fn: Callable[[], None]) -> Timed:
        task = Timed(self._clock() + seconds, fn)
        with self._wake:
            heapq.heappush(self._heap, (task.due, next(self._order), task))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="pipemon-timer", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is task:
                self._wake.notify()
        return task

    def due_tasks(self) -> list[Timed]:
        """Takes the tasks that are due now off the heap (the loop runs them; tests call it directly)."""
        now = self._clock()
        due: list[Timed] = []
        with self._wake:
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
        return due

    def _loop(self) -> None:
        while True:
            for task in self.due_tasks():
                if not task.cancelled:
                    try:
                        task.fn()
                    except BaseException:
                        # Even SystemExit (a user's sink calling sys.exit()): it would end this thread,
                        # and with it every heartbeat and late run start of the process.
                        pass
            with self._wake:
                delay = self._heap[0][0] - self._clock() if self._heap else None
                if delay is None or delay > 0:
                    self._wake.wait(delay)

    def forget(self) -> None:
        """In a forked child: the thread is gone, and the parent's runs are not the child's."""
        self._wake = threading.Condition(threading.Lock())
        self._heap.clear()
        self._thread = None


scheduler = Scheduler()
os.register_at_fork(after_in_child=scheduler.forget)
