"""`pipemon exec --pipeline p -- python3 script.py` with a script that uses the Python SDK: its run joins the
exec's run (PIPEMON_PIPELINE, PIPEMON_RUN_ID and TRACEPARENT, docs/sdk.md "Joining an exec run") and becomes one
of its stages, in its trace, instead of a run of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _e2e import Receiver

SCRIPT = """
import pipemon

with pipemon.run("load") as r:
    r.log.info("joined the exec's run")
    r.rows(written=42)
"""


def test_the_python_run_becomes_a_stage_of_the_exec_run(
    receiver: Receiver, env: dict, tmp_path: Path, pipeline: str, pipemon_cli: list[str]
) -> None:
    script = tmp_path / "load.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [*pipemon_cli, "exec", "--pipeline", pipeline, "--", sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    (run,) = receiver.runs(pipeline)
    detail = receiver.ended_run(run["run_id"])
    assert detail["result"] == "success"
    (stage,) = detail["stages"]
    assert (stage["stage"], stage["state"], stage["result"]) == ("load", "ended", "success")
    assert stage["rows"]["written"] == 42
    # One trace: the Python run's span hangs under the exec's run.
    (root,) = detail["spans"]
    assert "load" in [child["name"] for child in root["children"]]
    (joined,) = [log for log in receiver.logs(run_id=run["run_id"]) if log["body"] == "joined the exec's run"]
    assert joined["stage"] == "load"
    assert joined["trace_id"] == detail["trace_id"]
