"""A multiprocessing Pool, with the fork and the spawn start methods, under a run: every record its workers log
inside their stages arrives once, and the records the parent held in memory when it forked arrive once too (a
forked child that sent its copy of the parent's buffer would double them)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from _e2e import Receiver

SCRIPT = Path(__file__).parent / "scripts" / "pool.py"
TASKS, RECORDS, PARENT = 8, 25, 50


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_every_record_of_workers_and_parent_arrives_once(
    receiver: Receiver, env: dict, pipeline: str, method: str
) -> None:
    # A long buffer: the parent's ordinary records are still in its memory when the pool forks.
    env = {**env, "PIPELINE": pipeline, "PIPEMON_BUFFER_MS": "2000"}
    done = subprocess.run([sys.executable, str(SCRIPT), method], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["held_at_fork"] == PARENT
    assert result["undelivered"] == 0

    detail = receiver.ended_run(result["run_id"])
    assert detail["result"] == "success"
    stages = {stage["stage"]: stage["result"] for stage in detail["stages"]}
    assert stages == {"fan out": "success", **{f"task {n}": "success" for n in range(TASKS)}}

    counts = Counter(log["body"] for log in receiver.logs(run_id=result["run_id"]))
    expected = [f"task {n} record {i}" for n in range(TASKS) for i in range(RECORDS)]
    expected += [f"parent record {i}" for i in range(PARENT)]
    assert {body: counts[body] for body in expected if counts[body] != 1} == {}
