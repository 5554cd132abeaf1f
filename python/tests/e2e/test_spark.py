"""A Spark driver with real pyspark (the venv .ci/run makes for the OpenLineage producers' tests): its run, stage
and rows arrive, and the monitored function that takes the DataFrame shows it as Spark writes it, from its
schema, without running a Spark job to preview it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _e2e import REPO, Receiver, json_lines, unavailable

from pipemon.vocabulary import ATTR

SCRIPT = Path(__file__).parent / "scripts" / "spark_driver.py"
# The pins test/receiver/http/lineage-producers.test.ts shares; .ci/run installs them into venv-pyspark-<version>.
PINS = REPO / "test" / "fixtures" / "spark-requirements.txt"
TIMEOUT_S = 120
SPARK = "the Spark driver test (test_spark.py)"
REMEDY = "run .ci/run (it installs Java and makes the venv)"


@pytest.fixture(scope="module")
def spark_python() -> Path:
    """The python of the pyspark venv, installed to the end (its marker written)."""
    version = re.search(r"^pyspark==(\S+)$", PINS.read_text(), re.MULTILINE)
    assert version, f"no pyspark== pin in {PINS}"
    venv = Path.home() / ".cache" / "pipemon" / f"venv-pyspark-{version.group(1)}"
    if not (venv / ".installed").is_file():
        unavailable(SPARK, f"{venv} is missing or half-installed", REMEDY)
    if shutil.which("java") is None:
        unavailable(SPARK, "java is not on PATH", REMEDY)
    return venv / "bin" / "python"


def test_a_spark_driver_s_run_arrives_and_its_data_frame_is_previewed_without_a_job(
    receiver: Receiver, env: dict, pipeline: str, spark_python: Path
) -> None:
    done = subprocess.run(
        [str(spark_python), str(SCRIPT)],
        env={**env, "PIPELINE": pipeline, "SPARK_LOCAL_IP": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr[-5000:]}"
    started, jobs = json_lines(done.stdout)
    assert jobs["undelivered"] == 0, done.stderr[-5000:]
    # Spark's tracker sees jobs (the count ran one), and none ran while the DataFrame was previewed.
    assert jobs["counted"] != jobs["after"]
    assert jobs["after"] == jobs["before"]

    detail = receiver.ended_run(started["run_id"])
    assert detail["result"] == "success"
    (stage,) = detail["stages"]
    assert (stage["stage"], stage["result"], stage["rows"]["written"]) == ("load", "success", 100)
    (run_span,) = detail["spans"]
    (load,) = run_span["children"]
    (enrich,) = load["children"]
    preview = "DataFrame[id: bigint, email: string, amount: double]"
    assert enrich["name"] == "enrich"
    assert (enrich["attributes"][ATTR.FUNCTION_ARGS], enrich["attributes"][ATTR.FUNCTION_RESULT]) == (
        f"({preview},)",
        preview,
    )
