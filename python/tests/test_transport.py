from __future__ import annotations

import threading
import time

import pytest
from _receiver import Answer, Receiver, closed_port_url

from pipemon._transport import Backoff, HttpTransport, Outcome, RetryingTransport, failure_kind, sort_answer

FAR = float("inf")


def send(url: str, timeout_s: float = 2.0, deadline: float = FAR) -> Outcome:
    transport = HttpTransport(url, {"Authorization": "Bearer k", "x-tenant": "t1"}, timeout_s)
    return transport.send("logs", b"\x0a\x00", deadline)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, "ok"), (202, "ok"), (400, "refused"), (413, "refused"), (401, "retry"), (403, "retry"), (404, "retry")]
    + [(429, "retry"), (500, "retry"), (503, "retry"), (302, "retry")],
)
def test_sort_answer_keeps_records_unless_the_data_itself_is_refused(status: int, kind: str) -> None:
    outcome = sort_answer(status, None)
    assert outcome.kind == kind
    assert outcome.status == (None if kind == "ok" else status)


def test_sort_answer_reads_retry_after_in_seconds_only() -> None:
    assert sort_answer(429, "7").after_s == 7
    assert sort_answer(503, " 2 ").after_s == 2
    assert sort_answer(503, "Wed, 21 Oct 2015 07:28:00 GMT").after_s is None
    assert sort_answer(503, "-1").after_s is None


def test_failure_kind_tells_a_missing_key_from_a_refused_one() -> None:
    assert failure_kind(sort_answer(401, None), key_sent=False) == "no-key"
    assert failure_kind(sort_answer(401, None), key_sent=True) == "key-refused"
    assert failure_kind(sort_answer(403, None), key_sent=True) == "key-refused"
    assert failure_kind(sort_answer(404, None), key_sent=True) == "unavailable"
    assert failure_kind(Outcome("retry", "Connection refused"), key_sent=True) == "unavailable"
    assert failure_kind(sort_answer(400, None), key_sent=True) == "malformed"


def test_posts_the_body_to_the_signal_path_with_the_headers() -> None:
    with Receiver() as receiver:
        assert send(receiver.url).kind == "ok"
        [request] = receiver.requests
    assert request.path == "/v1/logs"
    assert request.body == b"\x0a\x00"
    assert request.headers["content-type"] == "application/x-protobuf"
    assert request.headers["authorization"] == "Bearer k"
    assert request.headers["x-tenant"] == "t1"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer(400), Outcome("refused", "HTTP 400", 400)),
        (Answer(401), Outcome("retry", "HTTP 401", 401)),
        (Answer(404), Outcome("retry", "HTTP 404", 404)),
        (Answer(429, {"Retry-After": "3"}), Outcome("retry", "HTTP 429", 429, 3.0)),
        (Answer(503), Outcome("retry", "HTTP 503", 503)),
        (Answer(307, {"Location": "/elsewhere"}), Outcome("retry", "HTTP 307", 307)),
    ],
)
def test_a_real_server_s_answers_are_sorted(answer: Answer, expected: Outcome) -> None:
    with Receiver(answer) as receiver:
        assert send(receiver.url) == expected
        assert len(receiver.requests) == 1


def test_a_slow_receiver_is_a_retry_after_the_timeout() -> None:
    with Receiver(Answer(200, delay_s=0.5)) as receiver:
        started = time.monotonic()
        outcome = send(receiver.url, timeout_s=0.1)
        took = time.monotonic() - started
    assert outcome == Outcome("retry", "no answer within 100 ms")
    assert took < 0.4


def test_the_deadline_bounds_the_timeout() -> None:
    with Receiver(Answer(200, delay_s=0.5)) as receiver:
        outcome = send(receiver.url, timeout_s=5.0, deadline=time.monotonic() + 0.1)
    assert outcome.kind == "retry"
    assert outcome.reason.startswith("no answer within")


def test_a_refused_connection_is_a_retry_without_status() -> None:
    outcome = send(closed_port_url())
    assert outcome == Outcome("retry", "Connection refused")


def test_nothing_is_sent_past_the_deadline() -> None:
    with Receiver() as receiver:
        outcome = send(receiver.url, deadline=time.monotonic() - 1)
        assert receiver.requests == []
    assert outcome == Outcome("retry", "deadline passed before sending")


def test_backoff_grows_by_half_with_jitter_up_to_its_cap() -> None:
    backoff = Backoff(1.0, 3.0, random=lambda: 0.5)
    assert [backoff.next() for _ in range(5)] == [1.0, 1.5, 2.25, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 1.0
    assert Backoff(1.0, 3.0, random=lambda: 0.0).next() == pytest.approx(0.8)
    assert Backoff(1.0, 3.0, random=lambda: 0.999999).next() == pytest.approx(1.2, abs=1e-5)


class Script:
    """A transport answering from a list; records each call's deadline."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.closed = 0

    def send(self, signal: str, body: bytes, deadline: float) -> Outcome:
        self.calls += 1
        return self.outcomes.pop(0)

    def close(self) -> None:
        self.closed += 1


RETRY = Outcome("retry", "HTTP 503", 503)


def test_retries_up_to_max_attempts_and_returns_the_last_answer() -> None:
    script = Script(RETRY, RETRY, RETRY)
    retrying = RetryingTransport(script, max_attempts=3, min_delay_s=0.001, max_delay_s=0.002)
    assert retrying.send("logs", b"x", FAR) == RETRY
    assert script.calls == 3


def test_stops_retrying_at_the_first_answer_that_is_not_retry() -> None:
    script = Script(RETRY, Outcome("refused", "HTTP 400", 400))
    retrying = RetryingTransport(script, max_attempts=3, min_delay_s=0.001, max_delay_s=0.002)
    assert retrying.send("logs", b"x", FAR).kind == "refused"
    assert script.calls == 2


def test_does_not_wait_past_the_deadline() -> None:
    now = [100.0]
    script = Script(Outcome("retry", "HTTP 429", 429, after_s=2.0), Outcome("ok"))
    retrying = RetryingTransport(script, max_attempts=3, min_delay_s=0.5, max_delay_s=5.0, clock=lambda: now[0])
    assert retrying.send("logs", b"x", deadline=101.0).status == 429
    assert script.calls == 1


def test_honours_retry_after_capped_by_the_longest_delay() -> None:
    script = Script(Outcome("retry", "HTTP 429", 429, after_s=60.0), Outcome("ok"))
    retrying = RetryingTransport(script, max_attempts=3, min_delay_s=0.5, max_delay_s=0.05)
    started = time.monotonic()
    assert retrying.send("logs", b"x", FAR).kind == "ok"
    assert 0.04 <= time.monotonic() - started < 0.5


def test_close_ends_a_retry_wait_and_later_sends_retry_again() -> None:
    script = Script(RETRY, RETRY, RETRY, Outcome("ok"))
    retrying = RetryingTransport(script, max_attempts=3, min_delay_s=10.0, max_delay_s=10.0)
    threading.Timer(0.05, retrying.close).start()
    started = time.monotonic()
    assert retrying.send("logs", b"x", FAR) == RETRY
    assert time.monotonic() - started < 1.0
    assert script.calls == 1
    assert script.closed == 1
    script.outcomes = [Outcome("retry", "HTTP 503", 503, after_s=0.001), Outcome("ok")]
    assert retrying.send("logs", b"x", FAR).kind == "ok"
    assert script.calls == 3
