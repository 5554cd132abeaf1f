"""A scripted OTLP/HTTP receiver on 127.0.0.1 for the delivery tests: answers from a list (then 200), records
every request, and decodes the log records and spans it took (with opentelemetry-proto, the test venv's)."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from dataclasses import dataclass, field

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (the timeout test's slow receiver).
    delay_s: float = 0.0


@dataclass(frozen=True)
class Request:
    path: str
    # Names in lower case.
    headers: dict[str, str]
    body: bytes
    # The answer's status.
    status: int


class Receiver:
    """Use as a context manager; `url` is its base URL."""

    def __init__(self, *answers: Answer) -> None:
        self.requests: list[Request] = []
        self._answers = list(answers)
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, *answers: Answer) -> None:
        """Answers the next requests with these."""
        with self._lock:
            self._answers.extend(answers)

    def log_bodies(self) -> list[str]:
        """The string bodies of the log records taken (answered 2xx), in arrival order."""
        request = ExportLogsServiceRequest()
        bodies: list[str] = []
        for taken in self._taken("/v1/logs"):
            request.ParseFromString(taken.body)
            bodies += [
                r.body.string_value for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records
            ]
        return bodies

    def log_resources(self) -> list[dict[str, str]]:
        """The resource of each log request taken."""
        request = ExportLogsServiceRequest()
        resources: list[dict[str, str]] = []
        for taken in self._taken("/v1/logs"):
            request.ParseFromString(taken.body)
            for rl in request.resource_logs:
                resources.append({kv.key: kv.value.string_value for kv in rl.resource.attributes})
        return resources

    def span_names(self) -> list[str]:
        request = ExportTraceServiceRequest()
        names: list[str] = []
        for taken in self._taken("/v1/traces"):
            request.ParseFromString(taken.body)
            names += [s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
        return names

    def wait_for(self, count: int, timeout_s: float = 2.0) -> None:
        """Until `count` requests arrived (or fails the test)."""
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"{len(self.requests)} requests arrived, not {count}"
            time.sleep(0.005)

    def _taken(self, path: str) -> list[Request]:
        return [r for r in list(self.requests) if r.path == path and 200 <= r.status < 300]

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._answers.pop(0) if self._answers else Answer()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = receiver._next_answer()
                time.sleep(answer.delay_s)
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append(Request(self.path, headers, body, answer.status))
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def closed_port_url() -> str:
    """The URL of a port nobody listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
