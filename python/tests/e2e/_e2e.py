"""Helpers of the end-to-end tests: the receiver's query API (docs/api.md), waiting for a condition with a
deadline, and pipelines run as separate Python processes against the receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "python" / "src"

T = TypeVar("T")


def unavailable(tests: str, reason: str, remedy: str) -> NoReturn:
    """A missing tool: under CI a failure (a broken runner), elsewhere a skip said loudly with its remedy."""
    message = f"{tests}: {reason}. To run: {remedy}."
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {message}", pytrace=False)
    line = "!" * 100
    print(f"\n{line}\n  {message}\n  They are SKIPPED.\n{line}", file=sys.__stderr__)
    pytest.skip(message)


@dataclass(frozen=True)
class Receiver:
    """A running `pipemon serve`: its base URL (OTLP/HTTP and the API) and a key with the ingest and read scopes."""

    url: str
    key: str

    def get(self, path: str, **params: Any) -> Any:
        """GET /api/v1/<path> as JSON; raises AssertionError (which eventually() retries) on any other status."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        request = urllib.request.Request(
            f"{self.url}/api/v1/{path}{'?' + query if query else ''}",
            headers={"Authorization": f"Bearer {self.key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"GET {request.full_url} answered {error.code}: {error.read()[:500]!r}") from error

    def run(self, run_id: str) -> dict[str, Any]:
        """The run with its stages, checks, first logs and trace."""
        return self.get(f"runs/{urllib.parse.quote(run_id, safe='')}")

    def runs(self, pipeline: str) -> list[dict[str, Any]]:
        return self.get("runs", pipeline=pipeline, limit=1000)["items"]

    def logs(self, **params: Any) -> list[dict[str, Any]]:
        """Every log record matching the filters, all pages."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.get("logs", limit=1000, cursor=cursor, **params)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    def ended_run(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        """The run once the receiver has its end."""

        def ended() -> dict[str, Any]:
            detail = self.run(run_id)
            assert detail["state"] == "ended", f"run {run_id} is {detail['state']}"
            return detail

        return eventually(ended, timeout)


def eventually(check: Callable[[], T], timeout: float = 30) -> T:
    """check()'s value once it stops raising AssertionError; its last AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"still not so after {timeout} s: {error}") from error
        time.sleep(0.1)


def pipeline_env(receiver: Receiver, spool_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a pipeline process: this checkout's package, the receiver, its own spool; none of the
    caller's OTEL_*/PIPEMON_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PIPEMON_"))}
    env.update(
        PYTHONPATH=str(SRC),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        PIPEMON_API_KEY=receiver.key,
        PIPEMON_SPOOL_DIR=str(spool_dir),
        # Ordinary records are sent within 50 ms rather than a second: the tests wait less.
        PIPEMON_FLUSH_MS="50",
    )
    env.update(extra)
    return env


def run_python(
    code: str, env: dict[str, str], timeout: float = 60, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Runs `code` (dedented) in a new interpreter; with `check`, a non-zero exit fails with its output."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check:
        assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


def json_lines(output: str) -> list[dict[str, Any]]:
    """The JSON objects a pipeline printed, one a line, among its other output."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


class SlowProxy:
    """The receiver behind a slow link: every request is forwarded after `delay` seconds and its answer passed
    back, so a pipeline's records wait in its spool meanwhile, and a request in flight when the pipeline dies
    still reaches the receiver (whose answer then goes nowhere: the next start resends it)."""

    def __init__(self, target: str, delay: float) -> None:
        self.target = target
        self.delay = delay
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> SlowProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(proxy.delay)
                status, answer = proxy.forward(self.path, dict(self.headers.items()), body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the pipeline is gone: the receiver stored the records all the same

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Forward

    def forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")}
        request = urllib.request.Request(self.target + path, data=body, headers=keep, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
