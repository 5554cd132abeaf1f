"""Log records of a run or stage (`r.log.info(...)`), and `pipemon.log` for code that does not hold one:
it logs to the current run or stage, or, outside any, a plain record.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _telemetry
from ._context import LOG_FLAGS_SAMPLED, current_scope, now_ns, observed_time
from ._records import LogRecord
from ._serialize import is_sensitive_key, safe_str, to_log_value
from .vocabulary import ATTR, MASK, SEVERITY

if TYPE_CHECKING:
    from ._activity import Activity

DEBUG = SEVERITY["debug"]
INFO = SEVERITY["info"]
WARN = SEVERITY["warn"]
ERROR = SEVERITY["error"]
FATAL = SEVERITY["fatal"]


def error_type(error: BaseException | str) -> str:
    """Low-cardinality `error.type`: the exception's class name (sdk/activity/run.ts errorType)."""
    return type(error).__name__ if isinstance(error, BaseException) else "str"


def exception_attributes(error: BaseException | str) -> dict[str, Any]:
    """error.type and exception.type/message/stacktrace of an exception (or a message)."""
    kind = error_type(error)
    attributes = {ATTR.ERROR_TYPE: kind, ATTR.EXCEPTION_TYPE: kind, ATTR.EXCEPTION_MESSAGE: safe_str(error)}
    if isinstance(error, BaseException) and error.__traceback__ is not None:
        try:
            lines = traceback.format_exception(type(error), error, error.__traceback__)
            attributes[ATTR.EXCEPTION_STACKTRACE] = "".join(lines)
        except Exception:
            pass
    return attributes


def log_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's attributes as log values, keys naming secrets masked."""
    return {str(k): MASK if is_sensitive_key(k) else to_log_value(v) for k, v in attributes.items()}


def exception_of(exc_info: Any) -> BaseException | None:
    """What `exc_info=` names, as the logging module reads it: True, an exception or a sys.exc_info() tuple."""
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1]
    return sys.exc_info()[1] if exc_info else None


class ActivityLog:
    """`debug`, `info`, `warning`, `error`, `exception`, `critical` as in the logging module, with the
    attributes as keywords: `r.log.info("loaded", batch=7)`. `activity` None: the current one, if any.
    """

    __slots__ = ("_activity",)

    def __init__(self, activity: Activity | None) -> None:
        self._activity = activity

    def debug(self, message: Any, /, **attributes: Any) -> None:
        self._emit(DEBUG, message, attributes, None)

    def info(self, message: Any, /, **attributes: Any) -> None:
        self._emit(INFO, message, attributes, None)

    def warning(self, message: Any, /, **attributes: Any) -> None:
        self._emit(WARN, message, attributes, None)

    warn = warning

    def error(self, message: Any, /, exc_info: Any = None, **attributes: Any) -> None:
        """An exception as `message` (or `exc_info=`) adds its type, message and stack trace."""
        self._emit(ERROR, message, attributes, exc_info)

    def exception(self, message: Any, /, exc_info: Any = True, **attributes: Any) -> None:
        """error() with the exception being handled, for an `except` block."""
        self._emit(ERROR, message, attributes, exc_info)

    def critical(self, message: Any, /, exc_info: Any = None, **attributes: Any) -> None:
        """Worse than an error: the pipeline cannot go on (OpenTelemetry's FATAL severity)."""
        self._emit(FATAL, message, attributes, exc_info)

    fatal = critical

    def _emit(self, severity: tuple[int, str], message: Any, attributes: dict[str, Any], exc_info: Any) -> None:
        try:
            error = message if isinstance(message, BaseException) else exception_of(exc_info)
            body = safe_str(message)
            activity = self._activity
            if activity is None:
                scope = current_scope()
                activity = None if scope is None else scope.activity
            if activity is not None:
                activity.emit_log(severity, body, attributes, error)
            else:
                emit_plain(severity, body, log_attributes(attributes) if attributes else {}, error)
        except Exception:
            pass  # Telemetry never raises into the pipeline.


def emit_plain(
    severity: tuple[int, str],
    body: str,
    attributes: dict[str, Any],
    error: BaseException | None = None,
    event_name: str = "",
    time_ns: int | None = None,
) -> None:
    """A record outside any run: under the current monitored call's span if there is one."""
    if error is not None:
        attributes.update(exception_attributes(error))
    scope = current_scope()
    now = now_ns()
    record = LogRecord(
        time_unix_nano=now if time_ns is None else time_ns,
        severity_number=severity[0],
        severity_text=severity[1],
        body=body,
        attributes=attributes,
        event_name=event_name,
        observed_time_unix_nano=observed_time(now),
    )
    if scope is not None:
        record.trace_id, record.span_id, record.flags = scope.trace_id, scope.span_id, LOG_FLAGS_SAMPLED
    _telemetry.instance().emit_log(record)


log = ActivityLog(None)
