from __future__ import annotations

import pytest

from pipemon._delivery import NOTHING_HELD, DeliveryFailure, DeliveryStats
from pipemon._report import delivery_report, shell_word

ENDPOINT = "http://127.0.0.1:4318"
SPOOL = "/tmp/pipemon spool's"


def stats(
    undelivered: int, spooled_bytes: int, dropped: int, refused: int, last_failure: DeliveryFailure | None
) -> DeliveryStats:
    return DeliveryStats(0, 1, spooled_bytes, dropped, refused, undelivered, 0, False, last_failure)


# Each case's message as the Node SDK says it: deliveryReport() of dist/sdk/delivery/delivery-report.js (npx tsc -p
# tsconfig.json) for the same stats, endpoint and spool directory, printed with JSON.stringify.
NODE_MESSAGES = [
    (
        stats(undelivered=0, spooled_bytes=0, dropped=0, refused=0, last_failure=None),
        None,
    ),
    (
        stats(undelivered=1, spooled_bytes=1280, dropped=0, refused=0, last_failure=None),
        (
            "pipemon: 1 record (1.3 KiB) not delivered: this process stopped before they were sent. They are "
            "kept in /tmp/pipemon spool's; the next pipemon process using this spool sends them, or `pipemon "
            "flush --spool-dir '/tmp/pipemon spool'\\''s'` now."
        ),
    ),
    (
        stats(
            undelivered=3,
            spooled_bytes=300,
            dropped=0,
            refused=0,
            last_failure=DeliveryFailure("no-key", 401, "HTTP 401"),
        ),
        (
            "pipemon: 3 records (300 B) not delivered: no API key is set and the receiver at "
            "http://127.0.0.1:4318 answered HTTP 401. They are kept in /tmp/pipemon spool's; set PIPEMON_API_KEY "
            "to the key `pipemon serve` printed (saved in .pipemon/default-api-key of the folder where it runs), "
            "then send them with `pipemon flush --spool-dir '/tmp/pipemon spool'\\''s'`."
        ),
    ),
    (
        stats(
            undelivered=2,
            spooled_bytes=3145733,
            dropped=0,
            refused=0,
            last_failure=DeliveryFailure("key-refused", 403, "HTTP 403"),
        ),
        (
            "pipemon: 2 records (3.0 MiB) not delivered: the receiver at http://127.0.0.1:4318 refused the API "
            "key (HTTP 403). They are kept in /tmp/pipemon spool's; set PIPEMON_API_KEY to a key of that "
            "receiver with the ingest scope (`pipemon keys create --tenant NAME --scopes ingest` in the folder "
            "where `pipemon serve` runs), then send them with `pipemon flush --spool-dir '/tmp/pipemon "
            "spool'\\''s'`."
        ),
    ),
    (
        stats(
            undelivered=5,
            spooled_bytes=0,
            dropped=0,
            refused=0,
            last_failure=DeliveryFailure("unavailable", None, "Connection refused"),
        ),
        (
            "pipemon: 5 records not delivered: the receiver at http://127.0.0.1:4318 did not answer (Connection "
            "refused). They are kept in /tmp/pipemon spool's; once the receiver answers (is `pipemon serve` "
            "running there? OTEL_EXPORTER_OTLP_ENDPOINT sets the address), the next pipemon process using this "
            "spool sends them, or `pipemon flush --spool-dir '/tmp/pipemon spool'\\''s'` now."
        ),
    ),
    (
        stats(
            undelivered=5,
            spooled_bytes=10,
            dropped=0,
            refused=0,
            last_failure=DeliveryFailure("unavailable", 404, "HTTP 404"),
        ),
        (
            "pipemon: 5 records (10 B) not delivered: the receiver at http://127.0.0.1:4318 answered HTTP 404. "
            "They are kept in /tmp/pipemon spool's; OTEL_EXPORTER_OTLP_ENDPOINT must be the receiver's base URL "
            "(such as http://127.0.0.1:4318, without /v1/logs or /v1/traces); with it right, send them with "
            "`pipemon flush --spool-dir '/tmp/pipemon spool'\\''s'`."
        ),
    ),
    (
        stats(
            undelivered=5,
            spooled_bytes=10,
            dropped=0,
            refused=0,
            last_failure=DeliveryFailure("unavailable", 503, "HTTP 503"),
        ),
        (
            "pipemon: 5 records (10 B) not delivered: the receiver at http://127.0.0.1:4318 answered HTTP 503. "
            "They are kept in /tmp/pipemon spool's; once the receiver takes them again, the next pipemon process "
            "using this spool sends them, or `pipemon flush --spool-dir '/tmp/pipemon spool'\\''s'` now."
        ),
    ),
    (
        stats(
            undelivered=4,
            spooled_bytes=10,
            dropped=7,
            refused=2,
            last_failure=DeliveryFailure("malformed", 400, "HTTP 400"),
        ),
        (
            "pipemon: 4 records (10 B) not delivered: this process stopped before they were sent. They are kept "
            "in /tmp/pipemon spool's; the next pipemon process using this spool sends them, or `pipemon flush "
            "--spool-dir '/tmp/pipemon spool'\\''s'` now. 2 records refused by the receiver at "
            "http://127.0.0.1:4318 as malformed (HTTP 400) and dropped: resending them cannot succeed. 5 records "
            "dropped before sending: the spool was full (PIPEMON_SPOOL_MAX_BYTES sets its bound) or the disk "
            "refused them."
        ),
    ),
    (
        stats(undelivered=0, spooled_bytes=0, dropped=1, refused=0, last_failure=None),
        (
            "pipemon: 1 record dropped before sending: the spool was full (PIPEMON_SPOOL_MAX_BYTES sets its "
            "bound) or the disk refused them."
        ),
    ),
]


@pytest.mark.parametrize(("given", "message"), NODE_MESSAGES)
def test_the_sentence_is_the_node_sdk_s(given: DeliveryStats, message: str | None) -> None:
    assert delivery_report(given, ENDPOINT, SPOOL).message == message


def test_the_report_carries_the_counts_and_the_spool() -> None:
    failure = DeliveryFailure("unavailable", 503, "HTTP 503")
    report = delivery_report(stats(4, 10, 2, 1, failure), ENDPOINT, "/spool")
    assert (report.undelivered, report.dropped, report.refused, report.spooled_bytes) == (4, 2, 1, 10)
    assert (report.last_failure, report.spool_dir) == (failure, "/spool")
    assert delivery_report(NOTHING_HELD, ENDPOINT, "/spool").message is None


def test_shell_word_quotes_only_what_a_shell_would_split() -> None:
    assert shell_word("/tmp/pipemon-spool-0/ab12") == "/tmp/pipemon-spool-0/ab12"
    assert shell_word("/tmp/a b") == "'/tmp/a b'"
    assert shell_word("it's") == "'it'\\''s'"
