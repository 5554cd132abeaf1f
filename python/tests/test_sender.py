from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pipemon._sender import DRAIN_WHILE_DOWN_S, Sender, Worker
from pipemon._transport import Backoff, Outcome

OK = Outcome("ok")
DOWN = Outcome("retry", "Connection refused")


class Batch:
    def __init__(self, spool: FakeSpool, name: str) -> None:
        self.signal = "logs"
        self.body = name.encode()
        self.records = 1
        self._spool = spool

    def settle(self, outcome: str) -> None:
        self._spool.settled.append((self.body.decode(), outcome))
        if outcome != "retry":
            self._spool.waiting.remove(self.body.decode())


class FakeSpool:
    """Hands out its waiting names oldest first; a settled `retry` stays."""

    def __init__(self, *names: str) -> None:
        self.waiting = list(names)
        self.settled: list[tuple[str, str]] = []

    def next(self, max_bytes: int) -> Batch | None:
        return Batch(self, self.waiting[0]) if self.waiting else None


class Script:
    def __init__(self, *outcomes: Outcome, clock: Clock | None = None) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[str] = []
        self.clock = clock

    def send(self, signal: str, body: bytes, deadline: float) -> Outcome:
        self.sent.append(body.decode())
        if self.clock is not None:
            self.clock.now += 1
        return self.outcomes.pop(0) if self.outcomes else OK

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Timers:
    """The schedule, by hand: jobs are run by run_due()."""

    def __init__(self) -> None:
        self.jobs: dict[object, tuple[float, Callable[[], None]]] = {}
        self.own_thread = True

    def at(self, key: str | None, delay_s: float, job: Callable[[], None]) -> None:
        slot = key if key is not None else object()
        if slot in self.jobs and self.jobs[slot][0] <= delay_s:
            return
        self.jobs[slot] = (delay_s, job)

    def on_own_thread(self) -> bool:
        return self.own_thread

    @property
    def running(self) -> bool:
        return True

    def run(self) -> None:
        jobs, self.jobs = self.jobs, {}
        for _, job in jobs.values():
            job()


def sender(spool: FakeSpool, script: Script, timers: Timers, clock: Clock | None = None) -> Sender:
    outcomes: list[Outcome] = []
    made = Sender(
        spool,
        script,
        flush_s=1.0,
        max_request_bytes=1024,
        pause=Backoff(1.0, 30.0, random=lambda: 0.5),
        schedule=timers,
        clock=clock or Clock(),
        on_outcome=outcomes.append,
    )
    made.outcomes = outcomes  # type: ignore[attr-defined]
    return made


def test_kept_records_are_sent_at_once_ordinary_ones_within_flush_s() -> None:
    timers = Timers()
    s = sender(FakeSpool(), Script(), timers)
    s.wake(False)
    assert [delay for delay, _ in timers.jobs.values()] == [1.0]
    s.wake(True)
    assert [delay for delay, _ in timers.jobs.values()] == [0.0]


def test_a_pass_sends_every_batch_and_settles_each_with_its_answer() -> None:
    spool, timers = FakeSpool("a", "b", "c"), Timers()
    s = sender(spool, Script(OK, Outcome("refused", "HTTP 400", 400), OK), timers)
    s.wake(True)
    timers.run()
    assert spool.settled == [("a", "ok"), ("b", "refused"), ("c", "ok")]
    assert [o.kind for o in s.outcomes] == ["ok", "refused", "ok"]  # type: ignore[attr-defined]
    assert not s.down
    assert timers.jobs == {}


def test_a_retry_ends_the_pass_and_the_backoff_decides_the_next() -> None:
    spool, timers = FakeSpool("a", "b"), Timers()
    s = sender(spool, Script(DOWN, DOWN, OK, OK), timers)
    s.wake(True)
    timers.run()
    assert spool.settled == [("a", "retry")]
    assert s.down
    assert [delay for delay, _ in timers.jobs.values()] == [1.0]
    s.wake(True)
    assert [delay for delay, _ in timers.jobs.values()] == [1.0]
    timers.run()
    assert [delay for delay, _ in timers.jobs.values()] == [1.5]
    timers.run()
    assert spool.waiting == []
    assert not s.down
    assert timers.jobs == {}


def test_drain_stops_at_the_deadline() -> None:
    clock = Clock()
    spool, timers = FakeSpool("a", "b", "c"), Timers()
    s = sender(spool, Script(clock=clock), timers, clock)
    s.drain(deadline=2.0)
    assert spool.waiting == ["c"]


def test_drain_while_down_tries_only_briefly() -> None:
    clock = Clock()
    spool, timers = FakeSpool("a", "b", "c"), Timers()
    s = sender(spool, Script(DOWN, clock=clock), timers, clock)
    s.wake(True)
    timers.run()
    assert s.down
    s.drain(deadline=100.0)
    # One send (a second), then the bound of DRAIN_WHILE_DOWN_S passed.
    assert DRAIN_WHILE_DOWN_S == 1.0
    assert spool.waiting == ["b", "c"]


def test_stop_ends_the_passes() -> None:
    spool, timers = FakeSpool("a"), Timers()
    s = sender(spool, Script(), timers)
    s.wake(True)
    s.stop()
    timers.run()
    s.wake(True)
    assert spool.settled == []
    assert timers.jobs == {}


def test_drain_from_another_thread_waits_for_the_worker_s_pass() -> None:
    spool = FakeSpool("a", "b")
    worker = Worker("test-sender")
    try:
        s = Sender(spool, Script(), 1.0, 1024, Backoff(1.0, 30.0), worker)
        s.drain(time.monotonic() + 1.0)
        assert spool.waiting == []
    finally:
        worker.stop()


def test_drain_returns_by_its_deadline_when_a_pass_hangs() -> None:
    release = threading.Event()

    class Hanging(Script):
        def send(self, signal: str, body: bytes, deadline: float) -> Outcome:
            release.wait(2.0)
            return OK

    worker = Worker("test-sender")
    try:
        s = Sender(FakeSpool("a"), Hanging(), 1.0, 1024, Backoff(1.0, 30.0), worker)
        s.wake(True)
        started = time.monotonic()
        s.drain(started + 0.1)
        assert time.monotonic() - started < 0.5
    finally:
        release.set()
        worker.stop()


def test_worker_runs_jobs_in_time_order_and_the_earlier_of_a_key_stands() -> None:
    ran: list[str] = []
    done = threading.Event()
    worker = Worker("test-worker")
    try:
        worker.at("b", 0.03, lambda: ran.append("b"))
        worker.at("a", 0.01, lambda: ran.append("a"))
        worker.at("b", 0.5, lambda: ran.append("late b"))
        worker.at(None, 0.05, done.set)
        assert done.wait(1.0)
        assert ran == ["a", "b"]
    finally:
        worker.stop()


def test_a_failing_job_does_not_end_the_worker() -> None:
    def exits() -> None:
        # A user's sink calling sys.exit() on our thread (the dropped-records report runs on it).
        raise SystemExit(1)

    done = threading.Event()
    worker = Worker("test-worker")
    try:
        worker.at(None, 0.0, lambda: 1 / 0)
        worker.at(None, 0.005, exits)
        worker.at(None, 0.01, done.set)
        assert done.wait(1.0)
    finally:
        worker.stop()


def test_a_stopped_worker_runs_nothing_more() -> None:
    ran: list[str] = []
    worker = Worker("test-worker")
    worker.at("x", 0.05, lambda: ran.append("x"))
    worker.stop(wait_s=5.0)
    assert not worker._thread.is_alive()  # the thread is gone: nothing can run later
    assert ran == []


def test_a_transport_that_raises_leaves_its_batch_for_a_later_pass() -> None:
    class Raising(Script):
        def send(self, signal: str, body: bytes, deadline: float) -> Outcome:
            if not self.sent:
                self.sent.append(body.decode())
                raise RuntimeError("a bug below the transport")
            return super().send(signal, body, deadline)

    spool, timers = FakeSpool("a"), Timers()
    s = sender(spool, Raising(), timers)
    s.wake(True)
    timers.run()
    assert spool.settled == [("a", "retry")]
    assert s.down
    timers.run()
    assert spool.settled == [("a", "retry"), ("a", "ok")]
