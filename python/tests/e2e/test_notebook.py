"""A Jupyter notebook, run by a real kernel (nbclient, as `jupyter nbconvert --execute` and papermill run one): a
run opened in one cell without `with`, stages in later cells, r.end() in the last, arrives with its stages. A
kernel killed with kill -9 mid-run loses nothing it emitted: the next start of a plain Python process with the
same spool delivers it and ends the run as error with error.type pipemon.process_died."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import nbformat
from _e2e import Receiver, pipeline_env, run_python
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

SCRIPTS = Path(__file__).parent / "scripts"


def notebook(*cells: str) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell(source) for source in cells])


def printed(cell: nbformat.NotebookNode) -> str:
    """What a cell printed on stdout."""
    return "".join(output.get("text", "") for output in cell.outputs if output.get("name") == "stdout").strip()


def client(nb: nbformat.NotebookNode, cwd: Path) -> NotebookClient:
    return NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})


def unused_port() -> int:
    """A port nothing listens on: a receiver that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_run_across_cells_arrives_with_its_stages(
    receiver: Receiver, env: dict, tmp_path: Path, pipeline: str
) -> None:
    nb = notebook(
        "import pipemon",
        f"r = pipemon.run({pipeline!r})\nprint(r.run_id)",
        'with r.stage("extract") as s:\n    s.rows(read=10)',
        'with r.stage("load", target="dw.orders") as s:\n    s.rows(written=9, rejected=1)',
        "r.end()",
    )
    client(nb, tmp_path).execute(env=env)
    run_id = printed(nb.cells[1])

    detail = receiver.ended_run(run_id)
    assert (detail["pipeline"], detail["result"]) == (pipeline, "success")
    assert detail["rows"] == {"read": 10, "written": 9, "rejected": 1}
    stages = {stage["stage"]: (stage["state"], stage["result"]) for stage in detail["stages"]}
    assert stages == {"extract": ("ended", "success"), "load": ("ended", "success")}


def test_a_kernel_killed_mid_run_loses_nothing_it_emitted(
    receiver: Receiver, spool_dir: Path, tmp_path: Path, pipeline: str
) -> None:
    # The receiver is down while the kernel runs: everything it emits waits in the spool.
    down = pipeline_env(receiver, spool_dir, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{unused_port()}")
    nb = notebook(
        "import os\nimport pipemon\nprint(os.getpid())",
        f"r = pipemon.run({pipeline!r})\nprint(r.run_id)",
        'with r.stage("extract") as s:\n    s.rows(read=10)\n    s.log.error("row 7 has no id")',
        'with r.stage("load") as s:\n    s.rows(written=9)',
    )
    runner = client(nb, tmp_path)
    with runner.setup_kernel(env=down):
        for index, cell in enumerate(nb.cells):
            runner.execute_cell(cell, index)
        kernel_pid = int(printed(nb.cells[0]))
        os.kill(kernel_pid, signal.SIGKILL)
    run_id = printed(nb.cells[1])
    assert receiver.runs(pipeline) == [], "the kernel's records reached a receiver that is down"

    done = run_python((SCRIPTS / "start_and_shutdown.py").read_text(), pipeline_env(receiver, spool_dir))
    assert json.loads(done.stdout)["undelivered"] == 0, done.stdout + done.stderr

    detail = receiver.ended_run(run_id)
    assert detail["result"] == "error"
    assert detail["error"]["type"] == "pipemon.process_died"
    stages = {stage["stage"]: stage for stage in detail["stages"]}
    assert stages["extract"]["result"] == "success"
    assert stages["load"]["rows"]["written"] == 9
    # Beside the run's closing record (an error too), the error the kernel logged.
    errors = [log["body"] for log in receiver.logs(run_id=run_id, severity_min="ERROR") if not log["event_name"]]
    assert errors == ["row 7 has no id"]
