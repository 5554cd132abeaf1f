from __future__ import annotations

from pipemon._frames import FRAME_HEADER_BYTES, frame_header, read_frames


def test_header_is_marker_then_length_and_records_little_endian() -> None:
    assert frame_header(3, 258) == bytes([0x50, 3, 0, 0, 0, 2, 1, 0, 0])
    assert len(frame_header(0, 0)) == FRAME_HEADER_BYTES


def test_reads_back_every_frame_with_its_record_count_and_bytes_unchanged() -> None:
    content = frame_header(3, 2) + bytes([7, 8, 9]) + frame_header(1, 5) + bytes([4])
    assert [(f.records, f.body) for f in read_frames(content)] == [(2, bytes([7, 8, 9])), (5, bytes([4]))]


def test_keeps_the_frames_before_one_cut_short_by_a_kill_or_zeros_left_by_a_power_cut() -> None:
    whole = frame_header(3, 2) + bytes([7, 8, 9])
    assert len(read_frames(whole + frame_header(10, 1) + bytes([1, 2]))) == 1
    assert len(read_frames(whole + bytes(64))) == 1
    assert len(read_frames(whole + frame_header(3, 1)[:4])) == 1


def test_stops_at_a_frame_of_length_zero() -> None:
    whole = frame_header(1, 1) + b"a"
    assert len(read_frames(whole + frame_header(0, 1) + whole)) == 1
