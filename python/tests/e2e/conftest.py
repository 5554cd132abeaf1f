"""The receiver of the end-to-end tests: `node dist/bin/pipemon.js serve` started once per session, on the
database PIPEMON_TEST_DATABASE_URL names (test/python/pytest.test.ts creates one on the suite's PostgreSQL server)
or else on the receiver's own embedded server, from the CLI PIPEMON_TEST_CLI names (default: the build in
this checkout). Stopped at the session's end, also when pytest is interrupted (SIGINT, SIGTERM) or dies.

Without node or the built CLI the tests are skipped loudly, and fail under CI=true, where that is a broken runner.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from _e2e import REPO, Receiver, pipeline_env, unavailable

# What `pipemon serve` prints once it listens (the pattern test/helpers/pipemon-process.ts matches).
LISTENING = re.compile(r"listening on (http://\S+) .*OTLP/gRPC on (http://[^\s,]+)")
START_TIMEOUT_S = 60
END_TO_END = "the end-to-end tests (they start a receiver)"


def _die_with_parent() -> None:
    """In the receiver, before exec: SIGTERM when pytest's process dies, however it dies (Linux's prctl)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _interrupt_on_sigterm() -> None:
    """SIGTERM as Ctrl-C: pytest then ends the session and its fixtures' teardown stops the receiver."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


class ReceiverProcess:
    """The `pipemon serve` child: started, its output kept (for failure messages), stopped."""

    def __init__(self, cli: list[str], data_dir: Path) -> None:
        env = {**os.environ, "DATABASE_URL": os.environ.get("PIPEMON_TEST_DATABASE_URL", "")}
        self.output: list[str] = []
        self._listening = threading.Event()
        self.url = ""
        self.child = subprocess.Popen(
            [*cli, "serve", "--port", "0", "--grpc-port", "0", "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.child.stdout is not None
        for line in self.child.stdout:
            self.output.append(line)
            match = LISTENING.search(line)
            if match and not self.url:
                self.url = match.group(1)
                self._listening.set()
        self._listening.set()

    def wait_listening(self) -> str:
        if not self._listening.wait(START_TIMEOUT_S) or not self.url:
            self.stop()
            what = f"exited ({self.child.returncode})" if self.child.returncode is not None else "timed out"
            raise RuntimeError(f"pipemon serve {what} before listening:\n{''.join(self.output)}")
        return self.url

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(10)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()


@pytest.fixture(scope="session")
def pipemon_cli() -> list[str]:
    """The command that runs the built CLI: node and its entry point."""
    node = shutil.which("node")
    cli = Path(os.environ.get("PIPEMON_TEST_CLI", REPO / "dist" / "bin" / "pipemon.js"))
    if node is None:
        unavailable(END_TO_END, "node is not on PATH", "install Node.js >= 20.12")
    if not cli.is_file():
        unavailable(END_TO_END, f"{cli} is missing", "build it: npm run build (npm test does it)")
    return [node, str(cli)]


@pytest.fixture(scope="session")
def receiver(pipemon_cli: list[str]) -> Iterator[Receiver]:
    _interrupt_on_sigterm()
    # Not under pytest's temporary directory: only its owner may enter that, and the embedded PostgreSQL server
    # runs as the "postgres" account when the tests run as root.
    data_dir = Path(tempfile.mkdtemp(prefix="pipemon-e2e-receiver-"))
    data_dir.chmod(0o755)
    process = ReceiverProcess(pipemon_cli, data_dir)
    try:
        url = process.wait_listening()
        # The first start on an empty database saves the default key before it listens.
        key = (data_dir / "default-api-key").read_text().strip()
        yield Receiver(url, key)
    finally:
        process.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    """This test's own spool: its records and what its processes leave never mix with another test's."""
    return tmp_path / "spool"


@pytest.fixture
def env(receiver: Receiver, spool_dir: Path) -> dict[str, str]:
    """The environment of this test's pipeline processes (see pipeline_env)."""
    return pipeline_env(receiver, spool_dir)


@pytest.fixture
def pipeline(request: pytest.FixtureRequest) -> str:
    """A pipeline name no other test (nor an earlier session on the same database) uses."""
    return f"{request.node.name}-{uuid.uuid4().hex[:8]}"
