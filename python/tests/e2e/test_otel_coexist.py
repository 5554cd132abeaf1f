"""The OpenTelemetry Python SDK set up by the application in the same process keeps working untouched while
pipemon runs: its global tracer and logger providers stay the ones it set, its spans and log records still reach
its own exporters; and pipemon's records still reach the receiver."""

from __future__ import annotations

from _e2e import Receiver, json_lines, run_python

PIPELINE_WITH_OTEL = """
import json
import os

from opentelemetry import _logs, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

spans = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(tracer_provider)
logs = InMemoryLogRecordExporter()
logger_provider = LoggerProvider()
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
_logs.set_logger_provider(logger_provider)

import pipemon

pipemon.start(service_name="coexist")
tracer = trace.get_tracer("app")
with pipemon.run(os.environ["PIPELINE"]) as r:
    print(json.dumps({"run_id": r.run_id}), flush=True)
    with tracer.start_as_current_span("app work"):
        with r.stage("load") as s:
            s.rows(written=3)
            s.log.info("pipemon's record")
            _logs.get_logger("app").emit(body="the app's record")
with tracer.start_as_current_span("app work after"):
    pass
report = pipemon.shutdown(10)
print(json.dumps({
    "tracer_provider_kept": trace.get_tracer_provider() is tracer_provider,
    "logger_provider_kept": _logs.get_logger_provider() is logger_provider,
    "app_spans": sorted(span.name for span in spans.get_finished_spans()),
    "app_logs": [record.log_record.body for record in logs.get_finished_logs()],
    "undelivered": report.undelivered,
}))
"""


def test_the_applications_opentelemetry_keeps_working_beside_pipemon(
    receiver: Receiver, env: dict, pipeline: str
) -> None:
    done = run_python(PIPELINE_WITH_OTEL, {**env, "PIPELINE": pipeline})
    started, after = json_lines(done.stdout)

    assert after["tracer_provider_kept"] and after["logger_provider_kept"], after
    assert {"app work", "app work after"} <= set(after["app_spans"])
    assert "the app's record" in after["app_logs"]
    assert after["undelivered"] == 0

    detail = receiver.ended_run(started["run_id"])
    assert detail["result"] == "success"
    assert [(stage["stage"], stage["rows"]["written"]) for stage in detail["stages"]] == [("load", 3)]
    bodies = [log["body"] for log in receiver.logs(run_id=started["run_id"])]
    assert "pipemon's record" in bodies
    assert "the app's record" not in bodies
