"""The write-ahead spool: every record is appended to a local segment file before it is exported, so that a
process killed with `kill -9` leaves its records on disk (in the OS's page cache, which outlives the
process) and the next start with the same spool sends them. Export reads from here too: a live export and
a replay are the same path, and send the same bytes. The twin is sdk/spool/spool.ts: both SDKs read and write
the format of docs/spool-format.md, and replay each other's segments.

- One active segment per signal and kind (kept records, i.e. errors and run/stage records, apart from
  ordinary ones), so that evicting ordinary records under the byte bound never has to skip a segment
  because it also holds an error. A segment is sealed at `segment_bytes` and deleted once every frame in
  it was acknowledged (or refused).
- Segments of a dead process (see _owner.py) are taken over at open and on later scans.
- Bounded in bytes: the oldest ordinary segments go first; kept records are written even past the bound.
  When the disk refuses a write, kept records stay in memory (sent from there) up to an eighth of the
  bound, the oldest dropped past it; ordinary ones are counted as dropped, as is every record evicted or
  refused by the receiver.

Appends come from the pipeline's threads, next() and settle() from the sender's: one lock guards the
state. Whole segment files are read outside it (a segment being read is marked in flight, which keeps
it from other senders and from eviction); appends write and, with fsync, flush under it.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from ._frames import FRAME_HEADER_BYTES, Frame, frame_header, read_frames
from ._owner import Claim, Liveness, Owner, claim_owner, is_alive

Signal = Literal["logs", "traces"]
Outcome = Literal["ok", "retry", "refused"]

# <ms>-<pid>-<instance>-<seq>-<signal>-<e|n>.wal: sortable by age, with its writer and kind in the name.
SEGMENT = re.compile(r"^(\d{13})-(\d+)-([0-9a-f]{8})-(\d+)-(logs|traces)-([en])\.wal$")
# One batch per file, as the spool before the write-ahead design wrote them: still replayed after an upgrade.
BATCH_FILE = re.compile(r"^(\d{13})-(\d+)-(\d+)-(logs|traces)-([en])-(\d+)\.otlp$")


# O_BINARY: on Windows a file opened without it turns each \n written into \r\n.
_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)


def _writev(fd: int, parts: list[bytes]) -> int:
    # Windows has no writev: one write of the parts joined is still one system call.
    return os.writev(fd, parts) if hasattr(os, "writev") else os.write(fd, b"".join(parts))


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class SpoolStats:
    # Segment files on disk, and their bytes.
    segments: int
    bytes: int
    # Records not delivered yet, on disk or in memory.
    records: int
    # Kept records held in memory only, because the disk refused them.
    in_memory: int
    # Records given up on: evicted under the bound, refused by the disk or by the receiver.
    dropped: int
    # Of `dropped`, the records the receiver refused as malformed.
    refused: int
    # Records the receiver took.
    delivered: int


class Segment:
    """One segment: a file on disk, or a piece of kept records held in memory when the disk refused them."""

    def __init__(self, name: str, signal: Signal, keep: bool, fd: int | None, memory_only: bool) -> None:
        self.name = name
        self.signal: Signal = signal
        self.keep = keep
        # Open for appending: this process's active segment.
        self.fd = fd
        self.memory_only = memory_only
        # Held while active or being sent; None once sealed or not read yet (read from the file when needed).
        self.frames: list[Frame] | None = []
        # Frames in the segment, when known (this process's, or read).
        self.frame_count: int | None = 0
        # Frames settled, from the front.
        self.sent = 0
        # Records in the frames not settled yet; None until a dead process's file is read.
        self.unsent: int | None = 0
        self.bytes = 0
        self.in_flight = False
        # After a refusal of several frames at once, frames before this index go one by one.
        self.single_until = 0

    @classmethod
    def left_on_disk(cls, name: str, signal: Signal, keep: bool, size: int) -> Segment:
        """A file of a dead process (or of the earlier design): read only when its turn comes."""
        segment = cls(name, signal, keep, None, False)
        segment.frames = segment.frame_count = segment.unsent = None
        segment.bytes = size
        return segment

    def add(self, frame: Frame, size: int) -> None:
        assert self.frames is not None and self.unsent is not None
        self.frames.append(frame)
        self.frame_count = len(self.frames)
        self.unsent += frame.records
        self.bytes += size

    def adopt(self, frames: list[Frame]) -> None:
        """The frames read from its file."""
        self.frames = frames
        self.frame_count = len(frames)
        if self.unsent is None:
            self.unsent = sum(frame.records for frame in frames[self.sent :])

    def drop_frames(self) -> None:
        """A sealed file's frames are read again when needed rather than held meanwhile."""
        if self.fd is None and not self.memory_only and not self.in_flight:
            self.frames = None


def _read_segment(dir: str, segment: Segment) -> list[Frame] | None:
    """The frames in a segment's file; None when the file is gone (another process took it)."""
    try:
        with open(os.path.join(dir, segment.name), "rb") as file:
            content = file.read()
    except OSError:
        return None
    legacy = BATCH_FILE.match(segment.name)
    return [Frame(int(legacy.group(6)), content)] if legacy else read_frames(content)


class _Held:
    """Kept records the disk refused, held in memory and sent from there (a copy survives only while we run).

    At most an eighth of the disk bound (32 MiB by default), in pieces of an eighth of that, so that the
    oldest go a piece at a time as ordinary segments do on disk rather than frame by frame.
    """

    def __init__(self, spool_max_bytes: int) -> None:
        self.max_bytes = spool_max_bytes // 8
        self.piece_bytes = max(1, self.max_bytes // 8)
        self.bytes = 0
        # Insertion order is age: the first idle piece is the oldest (names tie within a millisecond).
        self.pieces: dict[str, Segment] = {}
        self.filling: dict[Signal, Segment] = {}

    def piece_for(self, signal: Signal) -> Segment | None:
        """The piece `signal`'s next record goes to; None when a new one is needed (full, on the wire, or gone)."""
        piece = self.filling.get(signal)
        if piece is None or piece.bytes >= self.piece_bytes or piece.in_flight or piece.name not in self.pieces:
            return None
        return piece

    def start(self, piece: Segment) -> None:
        self.pieces[piece.name] = piece
        self.filling[piece.signal] = piece

    def add(self, piece: Segment, frame: Frame) -> None:
        piece.add(frame, len(frame.body))
        self.bytes += len(frame.body)

    def over_bound(self) -> Segment | None:
        """The oldest piece to drop while over the bound; a piece on the wire stays (its answer settles it)."""
        if self.bytes <= self.max_bytes:
            return None
        return next((piece for piece in self.pieces.values() if not piece.in_flight), None)

    def remove(self, piece: Segment) -> None:
        if self.pieces.pop(piece.name, None) is not None:
            self.bytes -= piece.bytes


class PendingBatch:
    """Frames on their way to the receiver; settle() with the transport's answer, once."""

    def __init__(self, spool: Spool, segment: Segment, frames: int, body: bytes, records: int) -> None:
        self.signal: Signal = segment.signal
        self.body = body
        self.records = records
        self._spool = spool
        self._segment = segment
        self._frames = frames
        self._settled = False

    def settle(self, outcome: Outcome) -> None:
        if self._settled:
            return
        self._settled = True
        self._spool._settle(self._segment, self._frames, self.records, outcome)


class Spool:
    """Use open_spool(). append() never raises; next() hands out the oldest unsent frames."""

    def __init__(
        self,
        dir: str,
        max_bytes: int,
        segment_bytes: int | None,
        fsync: bool,
        rescan_s: float,
        now_ms: Callable[[], int],
        clock: Callable[[], float],
        alive: Liveness,
        owner: Claim,
    ) -> None:
        self.dir = dir
        self._max_bytes = max_bytes
        self._segment_bytes = segment_bytes or max(1024, min(4 * 2**20, max_bytes // 8))
        self._fsync = fsync
        self._rescan_s = rescan_s
        self._now_ms = now_ms
        self._clock = clock
        self._alive = alive
        self._owner = owner
        self._lock = threading.Lock()
        self._segments: dict[str, Segment] = {}
        self._active: dict[tuple[Signal, bool], Segment] = {}
        self._held = _Held(max_bytes)
        # Evicted segments of dead processes still to count and delete (outside the lock): scans skip them.
        self._evicting: set[str] = set()
        self._disk_bytes = 0
        self._dropped = 0
        self._refused = 0
        self._delivered = 0
        self._seq = 0
        self._last_scan = float("-inf")
        self._scan()

    def append(self, signal: Signal, keep: bool, records: int, body: bytes) -> None:
        """Appends one frame (an OTLP request body of `records` records). Never raises."""
        # A reader stops at a frame of length 0: an empty body would hide the frames after it.
        if not body:
            return
        evicted: list[Segment] = []
        try:
            frame = Frame(records, body if isinstance(body, bytes) else bytes(body))
            with self._lock:
                self._append(signal, keep, frame, evicted)
        except Exception:
            # A bug here must not reach the pipeline; the record is counted as lost.
            with self._lock:
                self._dropped += records
        self._count_evicted(evicted)

    def next(self, max_bytes: int) -> PendingBatch | None:
        """The oldest unsent frames of one segment, kept records first, up to `max_bytes` (at least one frame)."""
        if self._clock() - self._last_scan >= self._rescan_s:
            self._scan()
        passed: set[str] = set()
        while True:
            with self._lock:
                segment = self._oldest_idle(passed)
                if segment is None:
                    return None
                segment.in_flight = True
                frames = segment.frames
            if frames is None:
                frames = _read_segment(self.dir, segment)
            with self._lock:
                batch = self._take(segment, frames, max_bytes)
            if batch is not None:
                return batch
            passed.add(segment.name)

    def stats(self) -> SpoolStats:
        self._count_unread()
        with self._lock:
            segments = [s for s in self._segments.values() if not s.memory_only]
            return SpoolStats(
                segments=len(segments),
                bytes=self._disk_bytes,
                records=sum(s.unsent or 0 for s in self._segments.values()),
                in_memory=sum(s.unsent or 0 for s in self._held.pieces.values()),
                dropped=self._dropped,
                refused=self._refused,
                delivered=self._delivered,
            )

    def close(self) -> None:
        """Closes the files being appended to; what is not delivered stays for the next start (of this process too)."""
        with self._lock:
            for segment in list(self._active.values()):
                self._seal(segment)
        self._owner.release()

    # Appending (under the lock).

    def _append(self, signal: Signal, keep: bool, frame: Frame, evicted: list[Segment]) -> None:
        size = FRAME_HEADER_BYTES + len(frame.body)
        if not keep and not self._make_room(size, evicted):
            self._dropped += frame.records
            return
        segment = self._active.get((signal, keep)) or self._open_segment(signal, keep)
        if segment is not None and self._write(segment, frame):
            segment.add(frame, size)
            self._disk_bytes += size
            if segment.bytes >= self._segment_bytes:
                self._seal(segment)
            return
        # A segment the disk stopped taking is not appended to again; the next append tries a new file.
        if segment is not None:
            self._seal(segment)
        if keep:
            self._hold(signal, frame)
        else:
            # Ordinary records are not held in memory instead: memory must stay bounded while the disk is gone.
            self._dropped += frame.records

    def _open_segment(self, signal: Signal, keep: bool) -> Segment | None:
        """A new active segment file; None when the disk refuses it."""
        name = self._name(signal, "e" if keep else "n", "wal")
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            fd = os.open(os.path.join(self.dir, name), _APPEND_FLAGS, 0o600)
        except OSError:
            return None
        if self._fsync:
            sync_dir(self.dir)
        segment = Segment(name, signal, keep, fd, False)
        self._segments[name] = segment
        self._active[(signal, keep)] = segment
        return segment

    def _name(self, signal: Signal, kind: str, extension: str) -> str:
        self._seq += 1
        owner = self._owner
        return f"{int(self._now_ms()):013d}-{owner.pid}-{owner.instance}-{self._seq - 1}-{signal}-{kind}.{extension}"

    def _write(self, segment: Segment, frame: Frame) -> bool:
        assert segment.fd is not None
        header = frame_header(len(frame.body), frame.records)
        try:
            # One system call for header and body: a kill between two writes could cut a frame short.
            written = _writev(segment.fd, [header, frame.body])
            if self._fsync:
                _flush(segment.fd)
        except OSError:
            return False
        # A short write (disk full) leaves a frame cut short: the segment is sealed, so it is its last.
        return written == len(header) + len(frame.body)

    def _seal(self, segment: Segment) -> None:
        """Closes a full segment: appends go to a new one, and its frames are read back only when sent."""
        if segment.fd is not None:
            _close_quietly(segment.fd)
        segment.fd = None
        if self._active.get((segment.signal, segment.keep)) is segment:
            del self._active[(segment.signal, segment.keep)]
        segment.drop_frames()

    def _hold(self, signal: Signal, frame: Frame) -> None:
        piece = self._held.piece_for(signal)
        if piece is None:
            piece = Segment(self._name(signal, "e", "memory"), signal, True, None, True)
            self._segments[piece.name] = piece
            self._held.start(piece)
        self._held.add(piece, frame)
        # Kept records are the ones the spool promises not to drop, but with the disk gone that promise would
        # cost unbounded memory (an error logged in a loop on a full disk, the receiver down), and a process
        # killed for its memory loses every record. Past the bound the oldest pieces go, counted as dropped.
        while (victim := self._held.over_bound()) is not None:
            self._dropped += victim.unsent or 0
            self._forget(victim)

    def _make_room(self, size: int, evicted: list[Segment]) -> bool:
        """Evicts the oldest ordinary segments (never one on the wire) until `size` more fit; False if they cannot."""
        while self._disk_bytes + size > self._max_bytes:
            candidates = (s for s in self._segments.values() if not (s.keep or s.in_flight or s.memory_only))
            victim = min(candidates, key=lambda s: s.name, default=None)
            if victim is None:
                return False
            if victim.unsent is None:
                # A dead process's file never read: counted and deleted outside the lock, by append().
                self._evicting.add(victim.name)
                evicted.append(victim)
                self._segments.pop(victim.name)
                self._disk_bytes -= victim.bytes
            else:
                self._dropped += victim.unsent
                self._forget(victim)
        return True

    def _forget(self, segment: Segment) -> None:
        self._segments.pop(segment.name, None)
        if self._active.get((segment.signal, segment.keep)) is segment:
            del self._active[(segment.signal, segment.keep)]
        if segment.fd is not None:
            _close_quietly(segment.fd)
        segment.fd = None
        if segment.memory_only:
            self._held.remove(segment)
            return
        self._disk_bytes -= segment.bytes
        try:
            os.remove(os.path.join(self.dir, segment.name))
        except OSError:
            # Left on disk, it is sent again at the next start and stored once by the receiver.
            pass

    # Sending.

    def _oldest_idle(self, passed: set[str]) -> Segment | None:
        idle = (s for s in self._segments.values() if not s.in_flight and s.name not in passed)
        return min(idle, key=lambda s: (not s.keep, s.name), default=None)

    def _take(self, segment: Segment, frames: list[Frame] | None, max_bytes: int) -> PendingBatch | None:
        """The batch `segment` (marked in flight, its frames read) has to send; None when it has none."""
        if frames is None:
            self._forget(segment)
            return None
        segment.adopt(frames)
        if segment.sent >= len(frames):
            # Nothing (valid) left: an empty or cut-short file of a dead process, or a sealed segment sent in full.
            segment.in_flight = False
            if segment.fd is None:
                self._forget(segment)
            return None
        end = segment.sent + 1
        size = len(frames[segment.sent].body)
        if end > segment.single_until:
            while end < len(frames) and size + len(frames[end].body) <= max_bytes:
                size += len(frames[end].body)
                end += 1
        taken = frames[segment.sent : end]
        # Concatenated OTLP messages are one message whose repeated fields are joined (protobuf encoding,
        # "merging"): one request for many frames, each frame's bytes unchanged.
        body = taken[0].body if len(taken) == 1 else b"".join(frame.body for frame in taken)
        return PendingBatch(self, segment, len(taken), body, sum(frame.records for frame in taken))

    def _settle(self, segment: Segment, frames: int, records: int, outcome: Outcome) -> None:
        with self._lock:
            segment.in_flight = False
            if outcome == "retry":
                segment.drop_frames()
                return
            if outcome == "refused" and frames > 1:
                # One bad frame must not take the others with it: send them one by one to find it.
                segment.single_until = segment.sent + frames
                return
            if outcome == "refused":
                self._dropped += records
                self._refused += records
            else:
                self._delivered += records
            segment.sent += frames
            segment.unsent = (segment.unsent or 0) - records
            if segment.sent >= (segment.frame_count or 0) and self._segments.get(segment.name) is segment:
                # Delivered in full: the active segment too (the next append starts a new one).
                self._forget(segment)
            else:
                segment.drop_frames()

    # Files of other processes, read outside the lock.

    def _scan(self) -> None:
        """Takes over the segments of dead processes, and batch files of the earlier design; never a live writer's."""
        self._last_scan = self._clock()
        try:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            names = os.listdir(self.dir)
        except OSError:
            return
        found = [segment for name in names if (segment := self._left_by_the_dead(name)) is not None]
        with self._lock:
            for segment in found:
                if segment.name not in self._segments and segment.name not in self._evicting:
                    self._segments[segment.name] = segment
                    self._disk_bytes += segment.bytes

    def _left_by_the_dead(self, name: str) -> Segment | None:
        if name in self._segments:
            return None
        segment = SEGMENT.match(name)
        batch = None if segment else BATCH_FILE.match(name)
        if segment is not None:
            if self._alive(Owner(int(segment.group(2)), segment.group(3))):
                return None
            signal, kind = segment.group(5), segment.group(6)
        elif batch is not None:
            signal, kind = batch.group(4), batch.group(5)
        else:
            return None
        try:
            size = os.stat(os.path.join(self.dir, name)).st_size
        except OSError:
            return None
        return Segment.left_on_disk(name, "logs" if signal == "logs" else "traces", kind == "e", size)

    def _count_unread(self) -> None:
        """Reads the files of dead processes not read yet, to count their records."""
        with self._lock:
            unread = [s for s in self._segments.values() if s.unsent is None and not s.in_flight]
        for segment in unread:
            frames = _read_segment(self.dir, segment) or []
            with self._lock:
                if segment.unsent is None:
                    segment.frame_count = len(frames)
                    segment.unsent = sum(frame.records for frame in frames)

    def _count_evicted(self, evicted: Iterable[Segment]) -> None:
        """Counts the records of evicted files never read, then deletes them."""
        for segment in evicted:
            records = sum(frame.records for frame in _read_segment(self.dir, segment) or [])
            try:
                os.remove(os.path.join(self.dir, segment.name))
            except OSError:
                pass
            with self._lock:
                self._dropped += records
                self._evicting.discard(segment.name)


def open_spool(
    dir: str,
    max_bytes: int,
    segment_bytes: int | None = None,
    fsync: bool = False,
    rescan_s: float = 30.0,
    now_ms: Callable[[], int] = _wall_ms,
    clock: Callable[[], float] = time.monotonic,
    alive: Liveness = is_alive,
    owner: Claim | None = None,
) -> Spool:
    """The spool in `dir`, taking over what dead processes left there.

    segment_bytes: a segment is sealed once it holds this many bytes (default: an eighth of max_bytes, 4 MiB
    at most). fsync: flush every append to the disk, to survive a power cut too. rescan_s: how often next()
    looks for segments left by processes that died meanwhile. now_ms: the wall clock segment names sort by;
    clock: the one rescan_s is measured on, monotonic so that a wall clock set back does not hold rescans off.
    """
    return Spool(dir, max_bytes, segment_bytes, fsync, rescan_s, now_ms, clock, alive, owner or claim_owner())


def _flush(fd: int) -> None:
    # fdatasync skips the metadata a later read does not need; macOS and Windows only have fsync.
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:
        os.fsync(fd)


def sync_dir(dir: str) -> None:
    """Makes a directory's entries (a file created or renamed in it) durable; best effort.

    As in contract/durable-file.ts.
    """
    try:
        fd = os.open(dir, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        # Already closed: nothing left to release.
        pass
