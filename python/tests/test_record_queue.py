from __future__ import annotations

import json
from dataclasses import dataclass

from pipemon._record_queue import Channel, RecordQueue


@dataclass
class Item:
    name: str
    keep: bool = False
    through: bool = True


class Appends:
    """The spool's append, recorded: (signal, keep, records, names)."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, bool, int, list[str]]] = []

    def append(self, signal: str, keep: bool, records: int, body: bytes) -> None:
        self.frames.append((signal, keep, records, json.loads(body)))


def encode(items: list[Item]) -> bytes:
    if any(item.name == "bad" for item in items):
        raise ValueError("cannot encode")
    return json.dumps([item.name for item in items]).encode()


class Harness:
    def __init__(self, max_batch: int = 3, max_queue: int = 10, write_through: bool = True) -> None:
        self.spool = Appends()
        self.requests: list[float] = []
        self.appended: list[bool] = []
        self.unencodable: list[int] = []
        channel: Channel[Item] = Channel(
            "logs", encode, lambda item: item.keep, (lambda item: item.through) if write_through else None
        )
        self.queue = RecordQueue(
            channel,
            self.spool,
            max_batch=max_batch,
            max_queue=max_queue,
            buffer_s=0.01,
            request_flush=self.requests.append,
            on_append=self.appended.append,
            on_unencodable=self.unencodable.append,
        )


def test_kept_records_are_appended_before_push_returns() -> None:
    h = Harness()
    h.queue.push(Item("error", keep=True))
    assert h.spool.frames == [("logs", True, 1, ["error"])]
    assert h.appended == [True]
    assert h.requests == []
    assert h.queue.buffered == 0


def test_ordinary_records_wait_for_one_flush_within_the_buffer_interval() -> None:
    h = Harness()
    h.queue.push(Item("a"))
    h.queue.push(Item("b"))
    assert h.spool.frames == []
    assert h.queue.buffered == 2
    assert h.requests == [0.01]
    h.queue.flush()
    assert h.spool.frames == [("logs", False, 2, ["a", "b"])]
    assert h.appended == [False]
    assert h.queue.buffered == 0
    h.queue.push(Item("c"))
    assert h.requests == [0.01, 0.01]


def test_a_full_batch_asks_for_a_flush_at_once_and_only_once() -> None:
    h = Harness(max_batch=2)
    for name in "abcd":
        h.queue.push(Item(name))
    assert h.requests == [0.01, 0.0]
    h.queue.flush()
    assert h.spool.frames == [("logs", False, 2, ["a", "b"]), ("logs", False, 2, ["c", "d"])]


def test_past_max_queue_the_caller_appends_itself() -> None:
    h = Harness(max_batch=2, max_queue=3)
    for name in "abc":
        h.queue.push(Item(name))
    assert [frame[3] for frame in h.spool.frames] == [["a", "b"], ["c"]]
    assert h.queue.buffered == 0


def test_kept_but_buffered_records_go_first_in_frames_marked_kept() -> None:
    h = Harness()
    h.queue.push(Item("ordinary"))
    h.queue.push(Item("span", keep=True, through=False))
    assert h.spool.frames == []
    h.queue.flush()
    assert h.spool.frames == [("logs", True, 1, ["span"]), ("logs", False, 1, ["ordinary"])]
    assert h.appended == [True, False]


def test_without_write_through_every_kept_record_is_written_through() -> None:
    h = Harness(write_through=False)
    h.queue.push(Item("span", keep=True, through=False))
    assert h.spool.frames == [("logs", True, 1, ["span"])]


def test_records_that_cannot_be_encoded_are_counted_not_retried() -> None:
    h = Harness()
    h.queue.push(Item("bad", keep=True))
    h.queue.push(Item("bad"))
    h.queue.flush()
    h.queue.flush()
    assert h.unencodable == [1, 1]
    assert h.spool.frames == []
    assert h.appended == []
