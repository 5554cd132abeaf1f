from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

from pipemon._frames import frame_header, read_frames
from pipemon._owner import Claim, Owner
from pipemon._spool import Spool, open_spool

MB = 1_000_000


def body(size: int, fill: int = 1) -> bytes:
    return bytes([fill]) * size


def segments(dir: Path) -> list[str]:
    return sorted(name for name in os.listdir(dir) if name.endswith(".wal"))


def owner(instance: str) -> Claim:
    return Claim(os.getpid(), instance)


def send_all(spool: Spool, answer: str = "ok", max_bytes: int = MB) -> list[bytes]:
    """Everything the spool hands out, settled with `answer`; the bodies in order."""
    sent: list[bytes] = []
    while (batch := spool.next(max_bytes)) is not None:
        sent.append(batch.body)
        batch.settle(answer)  # type: ignore[arg-type]
    return sent


def on_refusing_disk(tmp_path: Path, max_bytes: int) -> Spool:
    """A spool whose directory is a file: every write to disk fails, as on a full or read-only disk."""
    file = tmp_path / "not-a-dir"
    file.write_bytes(b"")
    return open_spool(str(file), max_bytes)


def test_has_each_record_on_disk_when_append_returns_and_sends_the_bytes_it_wrote(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB)
    spool.append("logs", True, 1, body(10, 3))
    [name] = segments(tmp_path)
    assert [f.body for f in read_frames((tmp_path / name).read_bytes())] == [body(10, 3)]
    assert send_all(spool) == [body(10, 3)]
    # Acknowledged in full: the segment is gone.
    assert segments(tmp_path) == []


def test_names_segments_by_age_writer_sequence_signal_and_kind_readable_by_this_user_only(tmp_path: Path) -> None:
    dir = tmp_path / "spool"
    claim = owner("0a1b2c3d")
    spool = open_spool(str(dir), MB, now_ms=lambda: 1_700_000_000_123, owner=claim)
    spool.append("traces", False, 1, body(4))
    spool.append("logs", True, 1, body(4))
    assert segments(dir) == [
        f"1700000000123-{claim.pid}-0a1b2c3d-0-traces-n.wal",
        f"1700000000123-{claim.pid}-0a1b2c3d-1-logs-e.wal",
    ]
    assert stat.S_IMODE(os.stat(dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(dir / segments(dir)[0]).st_mode) == 0o600


def test_sends_kept_records_before_ordinary_ones_and_several_frames_of_a_segment_as_one_request(
    tmp_path: Path,
) -> None:
    spool = open_spool(str(tmp_path), MB)
    spool.append("logs", False, 1, body(4, 1))
    spool.append("logs", False, 1, body(4, 2))
    spool.append("logs", True, 1, body(4, 9))
    assert send_all(spool) == [body(4, 9), body(4, 1) + body(4, 2)]


def test_joins_frames_up_to_the_request_bound_and_always_sends_at_least_one(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB)
    for fill in (1, 2, 3):
        spool.append("logs", False, 1, body(10, fill))
    assert send_all(spool, max_bytes=20) == [body(10, 1) + body(10, 2), body(10, 3)]
    spool.append("logs", False, 1, body(50, 4))
    assert send_all(spool, max_bytes=20) == [body(50, 4)]


def test_keeps_a_batch_the_receiver_could_not_take_and_sends_it_again_the_same(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB)
    spool.append("traces", False, 3, body(8, 5))
    first = spool.next(MB)
    assert first is not None
    first.settle("retry")
    again = spool.next(MB)
    assert again is not None
    assert (again.body, again.records, again.signal) == (first.body, 3, "traces")
    again.settle("ok")
    assert spool.next(MB) is None
    assert spool.stats().dropped == 0
    assert spool.stats().delivered == 3


def test_sends_frames_one_by_one_after_a_refusal_of_several_so_one_bad_frame_drops_only_its_records(
    tmp_path: Path,
) -> None:
    spool = open_spool(str(tmp_path), MB)
    spool.append("logs", False, 2, body(4, 1))
    spool.append("logs", False, 3, body(4, 66))
    spool.append("logs", False, 4, body(4, 3))
    refused: list[int] = []
    while (batch := spool.next(MB)) is not None:
        bad = 66 in batch.body
        if bad:
            refused.append(batch.records)
        batch.settle("refused" if bad else "ok")
    assert refused == [9, 3]
    stats = spool.stats()
    assert (stats.dropped, stats.refused, stats.delivered) == (3, 3, 6)


def test_evicts_the_oldest_ordinary_segments_past_its_bound_counts_them_and_writes_kept_records_past_it(
    tmp_path: Path,
) -> None:
    spool = open_spool(str(tmp_path), 400, segment_bytes=100)
    for i in range(10):
        spool.append("logs", False, 1, body(91, i + 1))
    spool.append("logs", True, 1, body(500, 99))
    assert spool.stats().dropped == 6
    sent = send_all(spool)
    assert sent[0][0] == 99
    # The newest ordinary records survive: 7, 8, 9, 10.
    assert [b[0] for b in sent[1:]] == [7, 8, 9, 10]


def test_evicts_a_dead_processs_segment_counting_its_records_from_the_file(tmp_path: Path) -> None:
    frame = frame_header(91, 5) + body(91, 1)
    (tmp_path / "1700000000000-0-00000000-0-logs-n.wal").write_bytes(frame)
    spool = open_spool(str(tmp_path), 150, segment_bytes=100)
    spool.append("logs", False, 1, body(91, 2))
    assert spool.stats().dropped == 5
    assert send_all(spool) == [body(91, 2)]
    assert segments(tmp_path) == []


def test_never_evicts_a_segment_on_the_wire(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), 250, segment_bytes=100)
    spool.append("logs", False, 1, body(91, 1))
    on_wire = spool.next(MB)
    assert on_wire is not None
    spool.append("logs", False, 1, body(91, 2))
    spool.append("logs", False, 1, body(91, 3))
    assert spool.stats().dropped == 1
    on_wire.settle("ok")
    assert [b[0] for b in send_all(spool)] == [3]


def test_takes_over_the_segments_of_a_writer_that_is_gone_never_a_live_ones(tmp_path: Path) -> None:
    live_ones = {"aaaaaaaa", "bbbbbbbb"}

    def alive(o: Owner) -> bool:
        return o.instance in live_ones

    dead = open_spool(str(tmp_path), MB, alive=alive, owner=owner("aaaaaaaa"))
    live = open_spool(str(tmp_path), MB, alive=alive, owner=owner("bbbbbbbb"))
    dead.append("logs", True, 1, body(4, 1))
    live.append("logs", True, 1, body(4, 2))
    live_ones.discard("aaaaaaaa")
    following = open_spool(str(tmp_path), MB, alive=alive, owner=owner("cccccccc"))
    assert [b[0] for b in send_all(following)] == [1]
    assert len(segments(tmp_path)) == 1


def test_takes_over_segments_of_a_writer_that_died_since_open_at_the_next_scan(tmp_path: Path) -> None:
    live_ones = {"aaaaaaaa"}
    clock = [0.0]
    writer = open_spool(str(tmp_path), MB, owner=owner("aaaaaaaa"))
    writer.append("logs", True, 1, body(4, 1))
    reader = open_spool(str(tmp_path), MB, rescan_s=30, clock=lambda: clock[0], alive=lambda o: o.instance in live_ones)
    live_ones.clear()
    assert reader.next(MB) is None
    clock[0] += 30
    assert send_all(reader) == [body(4, 1)]


def test_replays_a_segment_cut_short_by_a_kill_up_to_its_last_whole_frame(tmp_path: Path) -> None:
    whole = frame_header(4, 2) + body(4, 8)
    (tmp_path / "1700000000000-0-00000000-0-logs-e.wal").write_bytes(whole + frame_header(40, 1) + bytes([1]))
    spool = open_spool(str(tmp_path), MB)
    assert spool.stats().records == 2
    batch = spool.next(MB)
    assert batch is not None
    assert batch.body == body(4, 8)
    batch.settle("ok")
    assert spool.next(MB) is None
    assert segments(tmp_path) == []


def test_replays_batch_files_of_the_spool_before_the_write_ahead_design(tmp_path: Path) -> None:
    (tmp_path / "1700000000000-1-0-logs-n-7.otlp").write_bytes(body(5, 4))
    spool = open_spool(str(tmp_path), MB)
    batch = spool.next(MB)
    assert batch is not None
    assert (batch.records, batch.body) == (7, body(5, 4))
    batch.settle("refused")
    assert spool.stats().dropped == 7
    assert os.listdir(tmp_path) == []


def test_holds_kept_records_in_memory_when_the_disk_refuses_them_and_counts_ordinary_ones_as_dropped(
    tmp_path: Path,
) -> None:
    spool = on_refusing_disk(tmp_path, MB)
    spool.append("logs", True, 2, body(4, 1))
    spool.append("logs", False, 5, body(4, 2))
    stats = spool.stats()
    assert (stats.in_memory, stats.dropped, stats.segments) == (2, 5, 0)
    assert [b[0] for b in send_all(spool)] == [1]
    assert spool.stats().in_memory == 0


def test_holds_at_most_an_eighth_of_its_bound_in_memory_dropping_and_counting_the_oldest(tmp_path: Path) -> None:
    # A memory bound of 1000 bytes.
    spool = on_refusing_disk(tmp_path, 8_000)
    spool.append("logs", True, 1, body(50, 255))
    on_wire = spool.next(MB)
    assert on_wire is not None
    for i in range(1, 201):
        spool.append("logs", True, 1, body(50, i))
    stats = spool.stats()
    # 50 bytes a record: the one on the wire, and at most 1000 bytes besides.
    assert stats.in_memory <= 1 + 1000 // 50
    assert stats.dropped == 201 - stats.in_memory
    on_wire.settle("ok")
    # Each body is one record of 50 bytes, filled with its number: the first byte of each names it.
    delivered = sorted(b[k * 50] for b in send_all(spool) for k in range(len(b) // 50))
    assert len(delivered) * 50 <= 1000
    # The newest survive; the one on the wire was delivered; every other record is counted as dropped.
    assert delivered == list(range(201 - len(delivered), 201))
    assert (spool.stats().in_memory, spool.stats().dropped) == (0, 200 - len(delivered))


def test_leaves_what_was_not_delivered_on_disk_at_close_for_the_next_start(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB)
    spool.append("logs", False, 1, body(4, 1))
    spool.close()
    assert [b[0] for b in send_all(open_spool(str(tmp_path), MB))] == [1]


def test_counts_segments_bytes_and_records_not_delivered(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB)
    spool.append("logs", False, 2, body(10))
    spool.append("traces", True, 3, body(20))
    stats = spool.stats()
    assert (stats.segments, stats.bytes, stats.records) == (2, 9 + 10 + 9 + 20, 5)


def test_seals_a_segment_at_its_size_and_starts_another(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB, segment_bytes=29)
    for fill in (1, 2, 3):
        spool.append("logs", False, 1, body(20, fill))
    assert len(segments(tmp_path)) == 3
    assert send_all(spool) == [body(20, 1), body(20, 2), body(20, 3)]


def test_append_never_raises_and_ignores_an_empty_body(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB)
    spool.append("logs", True, 0, b"")
    assert segments(tmp_path) == []
    spool.append("logs", True, 1, bytearray(b"x"))
    assert send_all(spool) == [b"x"]


def test_settling_twice_counts_once(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB)
    spool.append("logs", True, 1, body(4))
    spool.append("logs", True, 1, body(4))
    batch = spool.next(MB)
    assert batch is not None
    batch.settle("ok")
    batch.settle("ok")
    assert spool.stats().delivered == 2


def test_delivers_every_record_once_while_threads_append_and_a_sender_sends(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), 10 * MB, segment_bytes=2_000)
    done = threading.Event()
    seen: list[bytes] = []

    def send() -> None:
        while True:
            finished = done.is_set()
            batch = spool.next(1_000)
            if batch is None:
                if finished:
                    return
                time.sleep(0.001)
                continue
            seen.append(batch.body)
            batch.settle("ok")

    def emit(thread: int) -> None:
        for i in range(300):
            spool.append("logs", i % 7 == 0, 1, bytes([thread, i % 256, i // 256]) * 4)

    sender = threading.Thread(target=send)
    sender.start()
    emitters = [threading.Thread(target=emit, args=(t,)) for t in range(4)]
    for emitter in emitters:
        emitter.start()
    for emitter in emitters:
        emitter.join()
    done.set()
    sender.join()
    records = b"".join(seen)
    assert len(records) == 4 * 300 * 12
    assert len({records[k : k + 12] for k in range(0, len(records), 12)}) == 1200
    assert (spool.stats().delivered, spool.stats().records, spool.stats().dropped) == (1200, 0, 0)
    assert segments(tmp_path) == []


def test_with_fsync_each_append_is_on_disk_and_sent_the_same(tmp_path: Path) -> None:
    spool = open_spool(str(tmp_path), MB, fsync=True)
    spool.append("traces", True, 2, body(6, 4))
    spool.append("traces", True, 1, body(3, 5))
    [name] = segments(tmp_path)
    frames = read_frames((tmp_path / name).read_bytes())
    assert [(f.records, f.body) for f in frames] == [(2, body(6, 4)), (1, body(3, 5))]
    assert send_all(spool) == [body(6, 4) + body(3, 5)]


def test_rescans_on_time_while_the_wall_clock_goes_back(tmp_path: Path) -> None:
    live_ones = {"aaaaaaaa"}
    wall, elapsed = [1_700_000_000_000], [0.0]
    writer = open_spool(str(tmp_path), MB, owner=owner("aaaaaaaa"))
    writer.append("logs", True, 1, body(4, 1))
    reader = open_spool(
        str(tmp_path),
        MB,
        rescan_s=30,
        now_ms=lambda: wall[0],
        clock=lambda: elapsed[0],
        alive=lambda o: o.instance in live_ones,
    )
    live_ones.clear()
    # NTP steps the wall clock back an hour: the rescan is due 30 s later all the same.
    wall[0] -= 3_600_000
    elapsed[0] += 30
    assert send_all(reader) == [body(4, 1)]
