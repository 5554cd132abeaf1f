"""The SDK's one timer thread: tasks run once due, in order; cancelled ones never; a failing one is forgotten."""

from __future__ import annotations

import sys
import threading

from pipemon._timer import Scheduler


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_due_tasks_come_in_order_and_only_once_due() -> None:
    clock = _Clock()
    scheduler = Scheduler(clock)
    ran: list[str] = []
    scheduler._thread = threading.current_thread()  # no thread: the test takes the due tasks itself
    scheduler.call_later(5, lambda: ran.append("late"))
    scheduler.call_later(1, lambda: ran.append("early"))
    cancelled = scheduler.call_later(2, lambda: ran.append("cancelled"))
    cancelled.cancel()
    assert scheduler.due_tasks() == []
    clock.now += 3
    due = scheduler.due_tasks()
    assert [task.due for task in due] == [101.0, 102.0] and due[1].cancelled
    clock.now += 3
    assert [task.due for task in scheduler.due_tasks()] == [105.0]


def test_the_thread_runs_tasks_and_survives_one_that_raises() -> None:
    scheduler = Scheduler()
    done = threading.Event()

    def boom() -> None:
        raise RuntimeError("task")

    scheduler.call_later(0, boom)
    scheduler.call_later(0.01, done.set)
    assert done.wait(2)
    assert scheduler._thread is not None and scheduler._thread.daemon


def test_the_thread_survives_a_task_calling_sys_exit() -> None:
    scheduler = Scheduler()
    done = threading.Event()
    scheduler.call_later(0, lambda: sys.exit(3))  # a user's sink, reached from a heartbeat's record
    scheduler.call_later(0.01, done.set)
    assert done.wait(2)


def test_an_earlier_task_wakes_the_thread() -> None:
    scheduler = Scheduler()
    scheduler.call_later(3600, lambda: None)
    done = threading.Event()
    scheduler.call_later(0.01, done.set)
    assert done.wait(2)
