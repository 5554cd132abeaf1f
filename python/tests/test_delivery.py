from __future__ import annotations

import threading
import time
from functools import partial
from pathlib import Path

from _receiver import Answer, Receiver, closed_port_url

from pipemon._config import resolve_config
from pipemon._delivery import Delivery, DeliveryFailure
from pipemon._otlp import encode_logs
from pipemon._record_queue import Channel, RecordQueue
from pipemon._records import LogRecord


def record(body: str, severity: int = 9) -> LogRecord:
    return LogRecord(time.time_ns(), severity, "INFO", body, {})


def open_delivery(url: str, spool_dir: Path, **options: object) -> tuple[Delivery, RecordQueue[LogRecord]]:
    config = resolve_config(
        {"endpoint": url, "spool_dir": str(spool_dir), "buffer_ms": 5, "flush_ms": 20, **options}, {}
    )
    delivery = Delivery(config)
    channel = Channel(
        "logs", partial(encode_logs, {"service.name": "t"}, "pipemon", ""), lambda r: r.severity_number >= 17
    )
    return delivery, delivery.queue(channel)


def test_records_arrive_once(tmp_path: Path) -> None:
    with Receiver() as receiver:
        delivery, queue = open_delivery(receiver.url, tmp_path)
        names = ["error", *(f"r{i}" for i in range(5))]
        queue.push(record("error", 17))
        for name in names[1:]:
            queue.push(record(name))
        delivery.flush(2.0)
        delivery.flush(2.0)
        assert sorted(receiver.log_bodies()) == sorted(names)
        stats = delivery.stats()
        assert (stats.delivered, stats.undelivered, stats.queued, stats.dropped) == (6, 0, 0, 0)
        delivery.shutdown(1.0)


def test_kept_records_go_at_once_and_ordinary_ones_without_a_flush(tmp_path: Path) -> None:
    with Receiver() as receiver:
        delivery, queue = open_delivery(receiver.url, tmp_path)
        queue.push(record("error", 17))
        receiver.wait_for(1, timeout_s=0.5)
        queue.push(record("ordinary"))
        receiver.wait_for(2, timeout_s=0.5)
        assert receiver.log_bodies() == ["error", "ordinary"]
        delivery.shutdown(1.0)


def test_a_503_then_200_delivers_everything(tmp_path: Path) -> None:
    with Receiver(Answer(503, {"Retry-After": "0"})) as receiver:
        delivery, queue = open_delivery(receiver.url, tmp_path)
        for i in range(3):
            queue.push(record(f"r{i}"))
        delivery.flush(2.0)
        assert [r.status for r in receiver.requests] == [503, 200]
        assert sorted(receiver.log_bodies()) == ["r0", "r1", "r2"]
        stats = delivery.stats()
        assert (stats.delivered, stats.undelivered, stats.last_failure, stats.receiver_down) == (3, 0, None, False)
        delivery.shutdown(1.0)


def test_a_receiver_answering_503_keeps_the_records_and_says_why(tmp_path: Path) -> None:
    with Receiver(*[Answer(503, {"Retry-After": "0"})] * 20) as receiver:
        delivery, queue = open_delivery(receiver.url, tmp_path)
        queue.push(record("kept", 17))
        delivery.flush(0.3)
        stats = delivery.stats()
        assert stats.receiver_down
        assert stats.last_failure == DeliveryFailure("unavailable", 503, "HTTP 503")
        assert (stats.undelivered, stats.delivered) == (1, 0)
        assert stats.spooled_batches == 1 and stats.spooled_bytes > 0
        delivery.shutdown(0.1)


def test_a_400_counts_the_records_refused_and_dropped(tmp_path: Path) -> None:
    with Receiver(Answer(400)) as receiver:
        delivery, queue = open_delivery(receiver.url, tmp_path)
        queue.push(record("a"))
        queue.push(record("b"))
        delivery.flush(2.0)
        stats = delivery.stats()
        assert (stats.refused, stats.dropped, stats.undelivered, stats.delivered) == (2, 2, 0, 0)
        assert stats.last_failure == DeliveryFailure("malformed", 400, "HTTP 400")
        delivery.shutdown(1.0)


def test_a_401_without_a_key_is_no_key_and_with_one_key_refused(tmp_path: Path) -> None:
    for options, kind in (({}, "no-key"), ({"api_key": "wrong"}, "key-refused")):
        with Receiver(*[Answer(401, {"Retry-After": "0"})] * 20) as receiver:
            delivery, queue = open_delivery(receiver.url, tmp_path / kind, **options)
            queue.push(record("a", 17))
            delivery.flush(0.1)
            assert delivery.stats().last_failure == DeliveryFailure(kind, 401, "HTTP 401")
            delivery.shutdown(0.1)


def test_flush_returns_quickly_while_the_receiver_is_down(tmp_path: Path) -> None:
    delivery, queue = open_delivery(closed_port_url(), tmp_path)
    queue.push(record("kept", 17))
    started = time.monotonic()
    delivery.flush(0.3)
    delivery.shutdown(0.1)
    assert time.monotonic() - started < 0.6
    stats = delivery.stats()
    assert stats.last_failure == DeliveryFailure("unavailable", None, "Connection refused")
    assert stats.undelivered == 1


def test_shutdown_appends_what_is_buffered_and_the_next_start_sends_it(tmp_path: Path) -> None:
    delivery, queue = open_delivery(closed_port_url(), tmp_path, buffer_ms=60_000)
    queue.push(record("buffered"))
    assert delivery.stats().queued == 1
    delivery.shutdown(0.1)
    delivery.shutdown(0.1)
    started = time.monotonic()
    delivery.flush(5.0)
    assert time.monotonic() - started < 0.1
    assert delivery.stats().undelivered == 1
    with Receiver() as receiver:
        later, _ = open_delivery(receiver.url, tmp_path)
        later.flush(2.0)
        assert receiver.log_bodies() == ["buffered"]
        later.shutdown(1.0)


def test_keep_appends_an_encoded_request_and_sends_it(tmp_path: Path) -> None:
    with Receiver() as receiver:
        delivery, _ = open_delivery(receiver.url, tmp_path)
        delivery.keep("logs", 1, encode_logs({"service.name": "dead"}, "pipemon", "", [record("closing", 17)]))
        receiver.wait_for(1, timeout_s=0.5)
        assert receiver.log_bodies() == ["closing"]
        assert receiver.log_resources() == [{"service.name": "dead"}]
        delivery.shutdown(1.0)


def test_without_threads_records_still_reach_the_disk_and_flush_does_not_wait(tmp_path: Path, monkeypatch) -> None:
    # Python 3.12 refuses new threads at interpreter shutdown: a first record from an atexit handler.
    def refuse(thread: object) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    delivery, queue = open_delivery(closed_port_url(), tmp_path, shutdown_ms=5000)
    queue.push(record("error", 17))
    queue.push(record("ordinary"))
    began = time.monotonic()
    delivery.flush(5.0)
    delivery.shutdown(5.0)
    assert time.monotonic() - began < 1.0
    stats = delivery.stats()
    assert (stats.queued, stats.undelivered, stats.dropped) == (0, 2, 0)


def test_an_ordinary_record_after_shutdown_reaches_the_disk(tmp_path: Path) -> None:
    delivery, queue = open_delivery(closed_port_url(), tmp_path)
    delivery.shutdown(0.5)
    before = delivery.stats()
    queue.push(record("late"))
    after = delivery.stats()
    assert (after.queued - before.queued, after.undelivered - before.undelivered) == (0, 1)
