"""The promise of the write-ahead spool, tried as a user breaks it (the Node twin is test/sdk/kill.test.ts): a
pipeline process is killed with a real kill -9 at random moments, several times over one spool, while the receiver
answers slowly (records wait in the spool, requests are in flight); then the next start of a pipeline with the same
spool delivers what they left. Every error record and stage end whose call had returned arrives, exactly once;
ordinary records are lost only among those still in memory at the last report; nothing arrives twice; each run
left open is ended as error with error.type pipemon.process_died."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from pathlib import Path

from _e2e import Receiver, SlowProxy, pipeline_env, run_python

SCRIPTS = Path(__file__).parent / "scripts"
ROUNDS = 3


def kill_at_random(env: dict[str, str], after_s: float) -> str:
    """Starts the pipeline, waits until its run started and `after_s` more seconds, kills it with SIGKILL."""
    child = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "emit_until_killed.py")], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.startswith("{"), f"the pipeline exited before its run started ({child.wait()}): {first}"
        run_id = json.loads(first)["run_id"]
        try:
            child.wait(after_s)
        except subprocess.TimeoutExpired:
            pass
        assert child.poll() is None, f"the pipeline exited ({child.returncode}) before it was killed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    return run_id


def last_progress(file: Path) -> dict[str, int]:
    """The last whole progress line: a kill mid-line leaves a part that promises nothing."""
    lines = [line for line in file.read_text().split("\n") if line.endswith("}")]
    return json.loads(lines[-1])


def test_records_survive_kill_9_and_arrive_once(receiver: Receiver, tmp_path: Path, pipeline: str) -> None:
    spool_dir = tmp_path / "spool"
    rounds = []
    with SlowProxy(receiver.url, delay=0.3) as slow:
        for n in range(ROUNDS):
            progress_file = tmp_path / f"progress-{n}.jsonl"
            after_s = random.uniform(0.5, 2.0)
            env = pipeline_env(
                receiver,
                spool_dir,
                OTEL_EXPORTER_OTLP_ENDPOINT=slow.url,
                PIPELINE=f"{pipeline}-{n}",
                PROGRESS_FILE=str(progress_file),
                PIPEMON_HEARTBEAT_SECONDS="1",
            )
            run_id = kill_at_random(env, after_s)
            rounds.append((run_id, last_progress(progress_file), after_s))

    done = run_python((SCRIPTS / "start_and_shutdown.py").read_text(), pipeline_env(receiver, spool_dir))
    assert json.loads(done.stdout)["undelivered"] == 0, done.stdout + done.stderr

    kill_suite = []
    for run_id, progress, after_s in rounds:
        context = f"run {run_id} killed after {after_s:.2f} s at {progress}"
        detail = receiver.ended_run(run_id)
        assert detail["result"] == "error", context
        assert detail["error"]["type"] == "pipemon.process_died", context

        logs = receiver.logs(run_id=run_id)
        copies = [(log["body"], log["time_unix_nano"], log["span_id"]) for log in logs]
        assert len(set(copies)) == len(copies), f"duplicates in {context}"
        bodies = {log["body"] for log in logs}
        missing_errors = [i for i in range(progress["errors"]) if f"error {i}" not in bodies]
        assert missing_errors == [], f"errors lost in {context}"
        ended = {log["stage"] for log in logs if log["event_name"] == "pipeline.stage.end"}
        missing_stages = [i for i in range(progress["stages"]) if f"stage {i}" not in ended]
        assert missing_stages == [], f"stage ends lost in {context}"
        # Lost ordinary records: only among the newest ones the SDK still held in memory at the last report.
        lost = [i for i in range(progress["ordinary"]) if f"ordinary {i}" not in bodies]
        assert all(i >= progress["ordinary"] - progress["queued"] for i in lost), f"lost {lost} in {context}"
        kill_suite.append({"after_s": round(after_s, 2), **progress, "ordinary_lost": len(lost)})
    print(json.dumps({"kill_suite": kill_suite}))
