"""The one way records leave the process: an OTLP/HTTP POST of a request body, answered as a value, never an
exception. Live export and the replay of a spool left by an earlier process go through the same transport,
so an answer means the same thing for both. The twins are sdk/delivery/transport.ts,
sdk/delivery/retrying-transport.ts and sdk/delivery/backoff.ts.

Times here are time.monotonic() seconds; a `deadline` bounds a whole call.
"""

from __future__ import annotations

import random as _random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from ._spool import Signal

# Why an answer left records undelivered, as the user must act on it.
FailureKind = Literal["no-key", "key-refused", "unavailable", "malformed"]


@dataclass(frozen=True)
class Outcome:
    """ok; retry: worth sending the same bytes again later; refused: resending them can never succeed."""

    kind: Literal["ok", "retry", "refused"]
    # The transport's words: `HTTP 401`, `Connection refused`.
    reason: str = ""
    # The HTTP status, when the receiver answered at all.
    status: int | None = None
    # When the receiver said when to come back (Retry-After), in seconds.
    after_s: float | None = None


OK = Outcome("ok")


class Transport(Protocol):
    def send(self, signal: Signal, body: bytes, deadline: float) -> Outcome:
        """Sends one request body; `deadline` (time.monotonic()) bounds the whole call. Never raises."""
        ...

    def close(self) -> None:
        """Ends waits in progress (a wrapper's backoff); later sends still work."""
        ...


# Answers that refuse the data itself. Anything else (401, 403 and 404 included: a wrong key, scope or endpoint
# in this process, not bad data) keeps the records for later, as the Collector treats an unknown error as
# transient.
REFUSED = frozenset((400, 413))
# Answers about the credentials: the records wait for a key the receiver takes.
UNAUTHORIZED = frozenset((401, 403))


def sort_answer(status: int, retry_after: str | None) -> Outcome:
    """How an HTTP answer is sorted; the only place that decides it."""
    if 200 <= status < 300:
        return OK
    if status in REFUSED:
        return Outcome("refused", f"HTTP {status}", status)
    return Outcome("retry", f"HTTP {status}", status, _parse_retry_after(retry_after))


def failure_kind(outcome: Outcome, key_sent: bool) -> FailureKind:
    """Why a failed answer left its records undelivered. `key_sent`: the request carried an Authorization header;
    without one, a 401 means no key was configured rather than a wrong one."""
    if outcome.kind == "refused":
        return "malformed"
    if outcome.status in UNAUTHORIZED:
        return "key-refused" if key_sent else "no-key"
    return "unavailable"


def _parse_retry_after(value: str | None) -> float | None:
    # Seconds (RFC 9110 10.2.3); the HTTP-date form is rare from OTLP receivers and ignored.
    if value is None or not value.strip().isdigit() or not value.strip().isascii():
        return None
    return float(value.strip())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib turns a redirected POST into a GET without its body: the redirect is the answer instead.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# No proxy handler: as Node's fetch, records go straight to the endpoint (never through HTTP_PROXY).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class HttpTransport:
    """OTLP/HTTP with protobuf bodies to <endpoint>/v1/logs and /v1/traces."""

    def __init__(
        self, endpoint: str, headers: Mapping[str, str], timeout_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._endpoint = endpoint
        self._headers = {**headers, "Content-Type": "application/x-protobuf"}
        self._timeout_s = timeout_s
        self._clock = clock

    def send(self, signal: Signal, body: bytes, deadline: float) -> Outcome:
        timeout = min(self._timeout_s, deadline - self._clock())
        if timeout <= 0:
            return Outcome("retry", "deadline passed before sending")
        request = urllib.request.Request(
            f"{self._endpoint}/v1/{signal}", data=body, headers=self._headers, method="POST"
        )
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                # Read to the end; a partial success's content does not change the answer.
                response.read()
                return sort_answer(response.status, response.headers.get("Retry-After"))
        except urllib.error.HTTPError as error:
            _read_quietly(error)
            return sort_answer(error.code, error.headers.get("Retry-After") if error.headers else None)
        except Exception as error:
            return Outcome("retry", _cause(error, timeout))

    def close(self) -> None:
        # A request in flight cannot be abandoned with urllib; the timeout bounds it, and its records stay in
        # the spool until an answer says ok.
        pass


def _read_quietly(error: urllib.error.HTTPError) -> None:
    try:
        error.read()
    except Exception:
        pass
    finally:
        error.close()


def _cause(error: BaseException, timeout_s: float) -> str:
    """The network's own words: `Connection refused`, `no answer within 5000 ms`."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, TimeoutError):
        return f"no answer within {round(timeout_s * 1000)} ms"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


class Backoff:
    """Capped exponential backoff with jitter (x1.5 per attempt, +-20%, as opentelemetry-js's retrying
    transport), so that many processes of a pipeline fleet do not retry a recovering receiver in step."""

    def __init__(self, min_s: float, max_s: float, random: Callable[[], float] = _random.random) -> None:
        self._min_s = min_s
        self._max_s = max_s
        self._random = random
        self._attempt = 0

    def next(self) -> float:
        """The wait before the next attempt; each call lengthens the following one, up to the cap."""
        base = min(self._max_s, self._min_s * 1.5**self._attempt)
        self._attempt += 1
        return base * (0.8 + 0.4 * self._random())

    def reset(self) -> None:
        self._attempt = 0


class RetryingTransport:
    """An answer of `retry` is tried again after a jittered, growing wait (the receiver's Retry-After when it
    gave one), at most `max_attempts` times and never past the caller's deadline. The last answer is returned
    as it is: the records stay in the spool, and the sender tries them again later."""

    def __init__(
        self,
        transport: Transport,
        max_attempts: int,
        min_delay_s: float,
        max_delay_s: float,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self._transport = transport
        self._max_attempts = max_attempts
        self._min_delay_s = min_delay_s
        self._max_delay_s = max_delay_s
        self._clock = clock
        self._random = random
        self._closing = threading.Event()

    def send(self, signal: Signal, body: bytes, deadline: float) -> Outcome:
        backoff = Backoff(self._min_delay_s, self._max_delay_s, self._random)
        closing = self._closing
        outcome = Outcome("retry", "not sent")
        for attempt in range(1, self._max_attempts + 1):
            outcome = self._transport.send(signal, body, deadline)
            if outcome.kind != "retry" or attempt == self._max_attempts:
                return outcome
            wait = min(self._max_delay_s, outcome.after_s if outcome.after_s is not None else backoff.next())
            if closing.is_set() or self._clock() + wait >= deadline or closing.wait(wait):
                return outcome
        return outcome

    def close(self) -> None:
        self._transport.close()
        self._closing.set()
        # A send after close() (the spool's last pass at shutdown) retries again.
        self._closing = threading.Event()
