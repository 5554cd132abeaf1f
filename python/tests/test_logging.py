"""Standard-library logging into runs and stages, surviving dictConfig, never recursing."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

import pipemon
from pipemon import _logging
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR

pytest_plugins = ["_capture"]  # the `records` fixture


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    _logging._installed = None


def test_records_inside_a_run_are_its_log_records(records: Captured, root: logging.Logger) -> None:
    pipemon.install_logging()
    log = logging.getLogger("orders.load")
    with pipemon.run("orders") as r, r.stage("load") as s:
        log.info("loaded %d rows", 118, extra={"batch": 7, "api_token": "t"})
        log.warning("slow")
        try:
            int("x")
        except ValueError:
            log.exception("failed")
        log.critical("stop")
        log.debug("hidden")
    loaded, slow, failed, stop = [r for r in records.logs if not r.event_name]
    assert (loaded.body, loaded.severity_number, loaded.severity_text) == ("loaded 118 rows", 9, "INFO")
    assert loaded.attributes[ATTR.STAGE_NAME] == "load" and loaded.span_id.hex() == s.span_id
    assert loaded.attributes["batch"] == 7 and loaded.attributes["api_token"] == "***"
    assert loaded.attributes[ATTR.LOG_LOGGER] == "orders.load"
    assert loaded.attributes[ATTR.CODE_FUNCTION_NAME] == "test_records_inside_a_run_are_its_log_records"
    assert loaded.attributes[ATTR.CODE_FILE_PATH] == __file__
    assert abs(loaded.time_unix_nano - loaded.observed_time_unix_nano) < 10**9
    assert (slow.severity_number, failed.severity_number, stop.severity_number) == (13, 17, 21)
    assert failed.attributes[ATTR.EXCEPTION_TYPE] == "ValueError"
    assert 'int("x")' in failed.attributes[ATTR.EXCEPTION_STACKTRACE]


def test_outside_a_run_a_record_is_plain(records: Captured, root: logging.Logger) -> None:
    pipemon.install_logging()
    logging.getLogger("app").error("no run")
    (record,) = records.logs
    assert record.body == "no run" and ATTR.RUN_ID not in record.attributes and record.trace_id == b""


def test_it_survives_dict_config(records: Captured, root: logging.Logger) -> None:
    pipemon.install_logging()
    logging.config.dictConfig(
        {"version": 1, "disable_existing_loggers": True, "root": {"level": "INFO", "handlers": []}}
    )
    assert not any(isinstance(h, pipemon.PipemonHandler) for h in root.handlers)
    with pipemon.run("orders"):
        logging.getLogger("configured.later").info("still here")
    assert [r.body for r in records.logs if not r.event_name] == ["still here"]


def test_installing_twice_keeps_one_handler(root: logging.Logger) -> None:
    first = pipemon.install_logging(logging.WARNING)
    assert pipemon.install_logging(logging.INFO) is first
    assert [h for h in root.handlers if isinstance(h, pipemon.PipemonHandler)] == [first]
    assert first.level == logging.INFO and root.level <= logging.INFO


def test_the_sdk_s_own_loggers_never_come_back(records: Captured, root: logging.Logger) -> None:
    pipemon.install_logging()
    logging.getLogger("pipemon.delivery").warning("own")
    assert records.logs == []


def test_a_handler_that_logs_while_emitting_does_not_recurse(records: Captured, root: logging.Logger) -> None:
    def sink(record: object) -> None:
        logging.getLogger("echo").warning("from a sink")

    handler = pipemon.install_logging()
    remove = pipemon._telemetry.instance().add_sink(sink, lambda span: None)
    try:
        # A logger of its own: dictConfig in another test disabled the loggers that existed then.
        logging.getLogger("recursion.app").warning("once")
    finally:
        remove()
    assert [r.body for r in records.logs] == ["once"]
    assert handler in root.handlers


@pytest.fixture
def stdlib_structlog() -> Iterator[Callable[[Any], None]]:
    """structlog configured for the standard library, as its documentation shows, with `last` as the final
    processor; the defaults again after the test."""

    def configure(last: Any) -> None:
        structlog.configure(
            processors=[structlog.stdlib.add_log_level, last],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )

    yield configure
    structlog.reset_defaults()


@pytest.mark.parametrize(
    "last, formatter",
    [
        # The event dict goes to logging whole, for structlog's formatter to render.
        (
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            structlog.stdlib.ProcessorFormatter(processor=structlog.processors.KeyValueRenderer()),
        ),
        # The event is the message and the other keys are the record's `extra`.
        (structlog.stdlib.render_to_log_kwargs, logging.Formatter("%(message)s rows=%(rows)s")),
    ],
)
def test_structlog_s_events_arrive_with_their_key_values(
    records: Captured,
    root: logging.Logger,
    stdlib_structlog: Callable[[Any], None],
    last: Any,
    formatter: logging.Formatter,
) -> None:
    stdlib_structlog(last)
    console = logging.StreamHandler(io.StringIO())
    console.setFormatter(formatter)
    root.addHandler(console)
    pipemon.install_logging()
    log = structlog.get_logger("structlog.orders")
    with pipemon.run("orders") as r, r.stage("load") as s:
        log.info("loaded", rows=118, api_token="t")
        try:
            int("x")
        except ValueError:
            log.error("failed", exc_info=True)
    loaded, failed = [r for r in records.logs if not r.event_name]
    assert (loaded.body, loaded.severity_text, loaded.span_id.hex()) == ("loaded", "INFO", s.span_id)
    attributes = loaded.attributes
    assert (attributes["rows"], attributes["api_token"], attributes["level"]) == (118, "***", "info")
    assert loaded.attributes[ATTR.LOG_LOGGER] == "structlog.orders" and "_logger" not in loaded.attributes
    assert loaded.attributes[ATTR.CODE_FUNCTION_NAME] == "test_structlog_s_events_arrive_with_their_key_values"
    assert (failed.body, failed.attributes[ATTR.EXCEPTION_TYPE]) == ("failed", "ValueError")
    assert "exc_info" not in failed.attributes
    # The record is left as the console's formatter expects it.
    assert "rows=118" in console.stream.getvalue()  # type: ignore[attr-defined]


def test_severity_of_custom_levels() -> None:
    assert [_logging.severity_of(n) for n in (1, 10, 15, 20, 25, 30, 40, 45, 50, 60)] == [
        5,
        5,
        5,
        9,
        9,
        13,
        17,
        17,
        21,
        21,
    ]
