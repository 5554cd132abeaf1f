"""The layout of a spool segment: frames appended one after the other, each an OTLP request body as the
encoder made it, behind a 9-byte header (a marker byte, the body's length and its record count, both
unsigned 32-bit little-endian). The body is stored unchanged so that a replay sends the bytes a live
export would have sent, and the receiver's idempotency recognises them.

A process killed mid-append leaves at most a short last frame (the header says more bytes than follow)
and a power cut may leave zeros: reading stops at the first frame that does not check out, keeping
everything before it. The twin is sdk/spool/frames.ts; docs/spool-format.md describes the format.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

FRAME_HEADER_BYTES = 9
_MARKER = 0x50  # 'P'
_HEADER = struct.Struct("<BII")


@dataclass(frozen=True, slots=True)
class Frame:
    records: int
    body: bytes


def frame_header(body_len: int, records: int) -> bytes:
    """The 9 bytes that go before a body of `body_len` bytes holding `records` records."""
    return _HEADER.pack(_MARKER, body_len, records)


def read_frames(content: bytes) -> list[Frame]:
    """The frames of a segment's content, up to the first one that is cut short or not a frame."""
    frames: list[Frame] = []
    at = 0
    while at + FRAME_HEADER_BYTES <= len(content) and content[at] == _MARKER:
        _, length, records = _HEADER.unpack_from(content, at)
        end = at + FRAME_HEADER_BYTES + length
        if end > len(content) or length == 0:
            break
        frames.append(Frame(records, bytes(content[at + FRAME_HEADER_BYTES : end])))
        at = end
    return frames
