"""Standard-library logging into pipemon: `pipemon.install_logging()` makes every `logging` record (and
structlog's, through structlog.stdlib) a log record of the run or stage it was emitted in, or, outside
any, a plain record.

logging.config.dictConfig removes the root logger's handlers (and closes them). So the handler is
attached again whenever a run or stage starts: a pipeline that configures logging at start-up, after
install_logging(), still has its runs' logs. Loggers that dictConfig disabled emit nothing at all,
for any handler: that is the configuration's choice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ._activity_log import emit_plain, exception_of, log_attributes
from ._context import current
from ._serialize import safe_str
from .vocabulary import ATTR, SEVERITY

# The fields every LogRecord has: the others are the caller's `extra`.
_STANDARD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# What structlog.stdlib.ProcessorFormatter.wrap_for_formatter adds to a record carrying an event dict.
_STRUCTLOG_EXTRA = frozenset({"_logger", "_name"})
# The SDK's own loggers: their records never come back through the handler.
_OWN_LOGGER = "pipemon"
# The lowest logging level of each severity, highest first; below INFO is debug.
_LEVELS = ((logging.CRITICAL, "fatal"), (logging.ERROR, "error"), (logging.WARNING, "warn"), (logging.INFO, "info"))


def severity_of(levelno: int) -> int:
    """OpenTelemetry's severity number for a logging level (custom levels too): DEBUG 5 ... CRITICAL 21."""
    for lowest, severity in _LEVELS:
        if levelno >= lowest:
            return SEVERITY[severity][0]
    return SEVERITY["debug"][0]


class PipemonHandler(logging.Handler):
    """A logging.Handler that emits each record as a pipemon log record."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "active", False) or record.name.split(".", 1)[0] == _OWN_LOGGER:
            return
        self._busy.active = True
        try:
            self._emit(record)
        except Exception:
            pass  # Telemetry never raises into the pipeline (nor into logging's handleError).
        finally:
            self._busy.active = False

    def _emit(self, record: logging.LogRecord) -> None:
        severity = (severity_of(record.levelno), record.levelname)
        body, fields, error = _read(record)
        attributes: dict[str, Any] = {
            ATTR.LOG_LOGGER: record.name,
            ATTR.CODE_FILE_PATH: record.pathname,
            ATTR.CODE_LINE_NUMBER: record.lineno,
            ATTR.CODE_FUNCTION_NAME: record.funcName,
        }
        attributes.update(fields)
        at = int(record.created * 1e9)
        activity = current()
        if activity is not None:
            activity.emit_log(severity, body, attributes, error, at)
        else:
            emit_plain(severity, body, log_attributes(attributes), error, time_ns=at)


def _read(record: logging.LogRecord) -> tuple[str, dict[str, Any], BaseException | None]:
    """A record's message, its key/values (the caller's `extra`) and its exception."""
    fields = {key: value for key, value in record.__dict__.items() if key not in _STANDARD_FIELDS}
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(record.msg, dict) and _STRUCTLOG_EXTRA <= fields.keys():
        # structlog's event dict, which ProcessorFormatter.wrap_for_formatter hands to logging as the
        # message: its event is the message and its keys are attributes (masked), not one long string.
        for key in _STRUCTLOG_EXTRA:
            del fields[key]
        fields.update(record.msg)
        message = fields.pop("event", "")
        exc_info = fields.pop("exc_info", None)
        return safe_str(message), fields, error or exception_of(exc_info)
    try:
        return record.getMessage(), fields, error
    except Exception:
        return safe_str(record.msg), fields, error


_lock = threading.Lock()
_installed: tuple[PipemonHandler, logging.Logger] | None = None


def logging_handler(level: int = logging.NOTSET) -> PipemonHandler:
    """A handler to add where you like (dictConfig's "()" key takes this function)."""
    return PipemonHandler(level)


def install_logging(level: int = logging.INFO, logger: logging.Logger | None = None) -> PipemonHandler:
    """Sends the records of `logger` (default the root logger) at `level` and above to pipemon, once; lowers
    the logger's level to `level` if it was higher. Returns the handler."""
    global _installed
    target = logger if logger is not None else logging.getLogger()
    with _lock:
        if _installed is not None and _installed[1] is target:
            handler = _installed[0]
            handler.setLevel(level)
        else:
            handler = PipemonHandler(level)
            _installed = (handler, target)
    if target.getEffectiveLevel() > level:
        target.setLevel(level)
    reattach()
    return handler


def reattach() -> None:
    """Puts the installed handler back where dictConfig may have removed it (called at each run and stage start)."""
    installed = _installed
    if installed is not None and installed[0] not in installed[1].handlers:
        installed[1].addHandler(installed[0])
