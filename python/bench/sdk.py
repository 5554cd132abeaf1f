"""`npm run bench:python [-- --busy --small]`: the cost a Python pipeline pays per call, beside the OpenTelemetry
Python SDK's logger.emit in the same process. Prints one JSON object. The Node twin is bench/sdk.ts.

A throwaway receiver substitute (a local HTTP server in a child process, answering every export with 200) takes
what both send. Calls run in timed chunks; between chunks the caller sleeps a millisecond, so export threads
mostly work off the clock, as they do while a real pipeline waits on I/O; each case starts once the one before
has been delivered. Per case, the median ns/op of its chunks, then the median over ROUNDS rounds.
Goals: @monitored adds < 2 us sampled out and < 30 us sampled in; a log record costs at most 1.5x OpenTelemetry's
logger.emit (with its standard BatchLogRecordProcessor and OTLP/HTTP exporter). With --busy, as many
CPU-burning processes as there are CPUs load the machine while it measures. With --small, every case runs a tenth
of its calls in 2 rounds, in seconds, so that CI can run the whole bench (its figures then mean little).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

import pipemon

CHUNK = 500
ROUNDS = 5
SMALL_ROUNDS = 2
# Calls per case in a full run; --small runs a tenth of each.
CALLS = {
    "bare_call": 20_000,
    "monitored_sampled_out": 20_000,
    "monitored_sampled_in": 5_000,
    "log_record": 10_000,
    "stage": 2_000,
    "otel_log_emit": 10_000,
}
SETTLE_TIMEOUT_S = 60
GOAL_SAMPLED_OUT_NS = 2_000
GOAL_SAMPLED_IN_NS = 30_000
GOAL_LOG_VS_OTEL = 1.5

# The receiver substitute, in a process of its own so that its work does not take the measured process's GIL.
SINK = """
import http.server, sys

class Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
print(server.server_address[1], flush=True)
server.serve_forever()
"""
BURN = "while True: pass"


class Throwaways:
    """The sink, the CPU burners and the spool's directory: gone at the end, and on SIGINT or SIGTERM at once (the
    exporters' exit hooks would otherwise retry against the stopped sink for minutes)."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[str]] = []
        self.spool = tempfile.mkdtemp(prefix="pipemon-bench-spool-")
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop_and_exit)

    def sink(self) -> str:
        child = self._spawn(SINK, stdout=subprocess.PIPE)
        assert child.stdout is not None
        return f"http://127.0.0.1:{int(child.stdout.readline())}"

    def burn(self, count: int) -> None:
        for _ in range(count):
            self._spawn(BURN)

    def stop(self) -> None:
        for child in self._started:
            child.kill()
            child.wait()
        self._started = []
        shutil.rmtree(self.spool, ignore_errors=True)

    def _spawn(self, code: str, **options: Any) -> subprocess.Popen[str]:
        child = subprocess.Popen([sys.executable, "-c", code], text=True, **options)
        self._started.append(child)
        return child

    def _stop_and_exit(self, signum: int, frame: object) -> None:
        self.stop()
        os._exit(128 + signum)


def ns_per_op(calls: int, body: Callable[[int], object]) -> float:
    """The median, over chunks of CHUNK calls, of the nanoseconds per call of body(i)."""
    samples = []
    for done in range(0, calls, CHUNK):
        end = min(done + CHUNK, calls)
        t0 = time.perf_counter_ns()
        for i in range(done, end):
            body(i)
        samples.append((time.perf_counter_ns() - t0) / (end - done))
        time.sleep(0.001)
    return statistics.median(samples)


def otel_logs(url: str) -> tuple[Any, Any]:
    """The OpenTelemetry Python SDK's logger with its standard batch processor and OTLP/HTTP exporter."""
    provider = LoggerProvider()
    # A queue that holds a whole case, as the Node twin's: a full queue drops records, cheaper than keeping them.
    exporter = OTLPLogExporter(endpoint=f"{url}/v1/logs")
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_queue_size=100_000))
    return provider, provider.get_logger("bench")


def settle() -> None:
    """Waits until pipemon has delivered everything, so that the next case does not compete with this one's export."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while pipemon.stats().undelivered and time.monotonic() < deadline:
        time.sleep(0.01)


def measure(url: str, rounds: int, calls: dict[str, int]) -> tuple[dict[str, float], dict[str, Any]]:
    """Each case's median ns/op over the rounds (calls[case] calls each), and pipemon's shutdown report."""
    pipemon.start(service_name="bench")
    provider, otel = otel_logs(url)

    def plain(a: int, b: int) -> int:
        return a + b

    sampled_out = pipemon.monitored(sample_rate=0)(plain)
    sampled_in = pipemon.monitored(sample_rate=1.0)(plain)
    samples: dict[str, list[float]] = {}

    def attrs(i: int) -> dict[str, Any]:
        return {"i": i, "table": "orders", "batch": 7, "ratio": 0.5, "ok": True}

    def stage(r: Any) -> None:
        with r.stage("s"):
            pass

    def otel_emit(i: int) -> None:
        otel.emit(severity_number=SeverityNumber.INFO, severity_text="INFO", body="row loaded", attributes=attrs(i))

    with pipemon.run("bench") as r:
        cases: dict[str, Callable[[int], object]] = {
            "bare_call": lambda i: plain(i, 1),
            "monitored_sampled_out": lambda i: sampled_out(i, 1),
            "monitored_sampled_in": lambda i: sampled_in(i, 1),
            "log_record": lambda i: r.log.info("row loaded", **attrs(i)),
            "stage": lambda i: stage(r),
        }
        for _ in range(rounds):
            for name, body in cases.items():
                samples.setdefault(name, []).append(ns_per_op(calls[name], body))
                settle()
            samples.setdefault("otel_log_emit", []).append(ns_per_op(calls["otel_log_emit"], otel_emit))
            provider.force_flush()
    report = pipemon.shutdown(30)
    provider.shutdown()
    return {name: round(statistics.median(values), 1) for name, values in samples.items()}, report


def summary(ns: dict[str, float], report: Any, busy: int, small: bool) -> dict[str, Any]:
    sampled_out_us = (ns["monitored_sampled_out"] - ns["bare_call"]) / 1000
    sampled_in_us = (ns["monitored_sampled_in"] - ns["bare_call"]) / 1000
    log_ratio = ns["log_record"] / ns["otel_log_emit"]
    goal = lambda met, wanted: {"goal": wanted, "met": met}  # noqa: E731
    return {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "busy_processes": busy,
        "small": small,
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "rounds": SMALL_ROUNDS if small else ROUNDS,
        "ns_per_op": ns,
        "monitored_overhead_us": {"sampled_out": round(sampled_out_us, 3), "sampled_in": round(sampled_in_us, 3)},
        "log_record_vs_otel_log_emit": round(log_ratio, 2),
        "goals": {
            "monitored_sampled_out": goal(sampled_out_us < GOAL_SAMPLED_OUT_NS / 1000, "< 2 us"),
            "monitored_sampled_in": goal(sampled_in_us < GOAL_SAMPLED_IN_NS / 1000, "< 30 us"),
            "log_record_vs_otel": goal(log_ratio <= GOAL_LOG_VS_OTEL, "<= 1.5x"),
        },
        "delivery": {"undelivered": report.undelivered, "dropped": report.dropped},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", action="store_true", help="load every CPU with a burning process while measuring")
    parser.add_argument("--small", action="store_true", help="a tenth of the calls in 2 rounds: seconds, for CI")
    args = parser.parse_args()
    rounds = SMALL_ROUNDS if args.small else ROUNDS
    calls = {name: count // 10 if args.small else count for name, count in CALLS.items()}
    throwaways = Throwaways()
    try:
        url = throwaways.sink()
        busy = (os.cpu_count() or 1) if args.busy else 0
        throwaways.burn(busy)
        # The SDK reads its settings from the environment, as a pipeline's would.
        os.environ.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=url,
            PIPEMON_API_KEY="bench",
            PIPEMON_SPOOL_DIR=throwaways.spool,
            PIPEMON_HEARTBEAT_SECONDS="0",
        )
        ns, report = measure(url, rounds, calls)
    finally:
        throwaways.stop()
    print(json.dumps(summary(ns, report, busy, args.small)))


if __name__ == "__main__":
    main()
