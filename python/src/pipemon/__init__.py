"""pipemon: runs, stages, rows, checks and logs of Python data pipelines, sent over OTLP.

import pipemon
pipemon.start(service_name="orders-etl")      # optional: OTEL_EXPORTER_OTLP_* / PIPEMON_* suffice
with pipemon.run("orders", owner="team-data", expected_interval="1h") as r:
    with r.stage("load", target="dw.orders") as s:
        s.rows(read=120, written=118, rejected=2)
        pipemon.checks.null_ratio(s, "email", emails, max_ratio=0.01)
    r.log.info("loaded", batch=7)

@pipemon.monitored(sample_rate=0.1)            # failures are never sampled out
def transform(df): ...
"""

from __future__ import annotations

from typing import Any

from . import _telemetry, checks, testing
from ._activity import Activity
from ._activity_log import ActivityLog, log
from ._blocks import TimeoutError
from ._context import current, propagate
from ._delivery import DeliveryStats
from ._logging import PipemonHandler, install_logging, logging_handler
from ._monitored import monitored
from ._report import DeliveryReport
from ._run import Run, run
from ._serialize import is_sensitive_key, serialize
from .vocabulary import ATTR, CHECK, EVENT, RESULTS

__all__ = [
    "ATTR",
    "CHECK",
    "EVENT",
    "RESULTS",
    "Activity",
    "ActivityLog",
    "DeliveryReport",
    "DeliveryStats",
    "PipemonHandler",
    "Run",
    "TimeoutError",
    "checks",
    "current",
    "flush",
    "install_logging",
    "is_sensitive_key",
    "log",
    "logging_handler",
    "monitored",
    "propagate",
    "run",
    "serialize",
    "shutdown",
    "start",
    "stats",
    "testing",
]


def start(**options: Any) -> None:
    """Starts the SDK once per process (later calls change nothing). Options, all optional, override the
    OTEL_* / PIPEMON_* variables: endpoint, api_key, headers, service_name, environment, resource_attributes,
    spool_dir, heartbeat_seconds, local_output, export... Raises ValueError on bad configuration."""
    _telemetry.start(**options)


def shutdown(timeout: float | None = None) -> DeliveryReport | None:
    """Sends what is left within `timeout` seconds, stops, and says on stderr what was not delivered."""
    return _telemetry.shutdown(timeout)


def flush(timeout: float | None = None) -> None:
    """Sends what is held now, returning within `timeout` seconds."""
    _telemetry.flush(timeout)


def stats() -> DeliveryStats:
    """Records delivered, dropped and still held (undelivered, queued, spooled_bytes, last_failure...)."""
    return _telemetry.stats()
