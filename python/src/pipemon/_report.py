"""What a process says when it stops with records it could not deliver: how many, why, where they are kept and
how they will reach the receiver. Said once, on stderr, by shutdown() and the exit hook: a pipeline whose
records never arrive must not look like one that is fine. The twin is sdk/delivery/delivery-report.ts, word for word:
`pipemon flush --spool-dir DIR` sends a Python process's spool too (both SDKs write one format).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ._delivery import DeliveryFailure, DeliveryStats


@dataclass(frozen=True)
class DeliveryReport:
    undelivered: int
    delivered: int
    dropped: int
    refused: int
    spooled_bytes: int
    last_failure: DeliveryFailure | None
    # Where the undelivered records are kept, for the next pipemon process using it or `pipemon flush`.
    spool_dir: str
    # The paragraph for stderr; None when nothing was left behind or dropped.
    message: str | None


def delivery_report(stats: DeliveryStats, endpoint: str, spool_dir: str) -> DeliveryReport:
    parts = [_left_behind(stats, endpoint, spool_dir), _refused(stats, endpoint), _dropped(stats)]
    said = [part for part in parts if part is not None]
    return DeliveryReport(
        undelivered=stats.undelivered,
        delivered=stats.delivered,
        dropped=stats.dropped,
        refused=stats.refused,
        spooled_bytes=stats.spooled_bytes,
        last_failure=stats.last_failure,
        spool_dir=spool_dir,
        message=f"pipemon: {' '.join(said)}" if said else None,
    )


def shell_word(text: str) -> str:
    """A path as one shell word, so that a command printed with it can be pasted as it is."""
    if re.fullmatch(r"[\w@%+=:,./-]+", text, re.ASCII):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def _left_behind(stats: DeliveryStats, endpoint: str, spool_dir: str) -> str | None:
    if stats.undelivered == 0:
        return None
    # A malformed batch is dropped, so it never keeps the others waiting.
    failure = None if stats.last_failure is not None and stats.last_failure.kind == "malformed" else stats.last_failure
    size = f" ({_bytes(stats.spooled_bytes)})" if stats.spooled_bytes > 0 else ""
    flush = f"`pipemon flush --spool-dir {shell_word(spool_dir)}`"
    return (
        f"{_records(stats.undelivered)}{size} not delivered: {_why(failure, endpoint)}. "
        f"They are kept in {spool_dir}; {_remedy(failure, flush)}."
    )


def _why(failure: DeliveryFailure | None, endpoint: str) -> str:
    if failure is None:
        return "this process stopped before they were sent"
    receiver = f"the receiver at {endpoint}"
    if failure.kind == "no-key":
        return f"no API key is set and {receiver} answered {failure.message}"
    if failure.kind == "key-refused":
        return f"{receiver} refused the API key ({failure.message})"
    if failure.status is None:
        return f"{receiver} did not answer ({failure.message})"
    return f"{receiver} answered {failure.message}"


def _remedy(failure: DeliveryFailure | None, flush: str) -> str:
    """What to do, and when the records go. A new key selects another default spool: hence --spool-dir."""
    later = f"the next pipemon process using this spool sends them, or {flush} now"
    if failure is None:
        return later
    if failure.kind == "no-key":
        return (
            "set PIPEMON_API_KEY to the key `pipemon serve` printed (saved in .pipemon/default-api-key of the folder "
            f"where it runs), then send them with {flush}"
        )
    if failure.kind == "key-refused":
        return (
            "set PIPEMON_API_KEY to a key of that receiver with the ingest scope (`pipemon keys create --tenant NAME "
            f"--scopes ingest` in the folder where `pipemon serve` runs), then send them with {flush}"
        )
    if failure.kind == "unavailable":
        return _unavailable_remedy(failure.status, later, flush)
    return later


def _unavailable_remedy(status: int | None, later: str, flush: str) -> str:
    """A receiver that did not answer is started or pointed at; an answer of 404 means another path."""
    if status == 404:
        return (
            "OTEL_EXPORTER_OTLP_ENDPOINT must be the receiver's base URL (such as http://127.0.0.1:4318, without "
            f"/v1/logs or /v1/traces); with it right, send them with {flush}"
        )
    if status is None:
        return (
            "once the receiver answers (is `pipemon serve` running there? OTEL_EXPORTER_OTLP_ENDPOINT sets the "
            f"address), {later}"
        )
    return f"once the receiver takes them again, {later}"


def _refused(stats: DeliveryStats, endpoint: str) -> str | None:
    if stats.refused == 0:
        return None
    failure = stats.last_failure
    answer = failure.message if failure is not None and failure.kind == "malformed" else "HTTP 400 or 413"
    return (
        f"{_records(stats.refused)} refused by the receiver at {endpoint} as malformed ({answer}) and dropped: "
        "resending them cannot succeed."
    )


def _dropped(stats: DeliveryStats) -> str | None:
    other = stats.dropped - stats.refused
    if other == 0:
        return None
    return (
        f"{_records(other)} dropped before sending: the spool was full (PIPEMON_SPOOL_MAX_BYTES sets its bound) "
        "or the disk refused them."
    )


def _records(n: int) -> str:
    return "1 record" if n == 1 else f"{n} records"


def _bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{_one_decimal(n / 1024)} KiB" if n < 2**20 else f"{_one_decimal(n / 2**20)} MiB"


def _one_decimal(x: float) -> str:
    # As JavaScript's toFixed(1): a tie goes up (Python's format would round 1.25 to 1.2).
    return str(Decimal(x).quantize(Decimal("0.1"), ROUND_HALF_UP))
