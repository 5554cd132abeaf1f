"""The package installs as users install it, with nothing but the standard library: pip builds it from python/
(offline, with the setuptools already there) into a bare directory, and from the committed tree over git; a fresh
interpreter that sees only that directory (no site-packages) imports pipemon, runs a pipeline with it, and finds
no distribution beside it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from _e2e import REPO

# Run by an isolated interpreter without site-packages (-I -S): only the target directory is added.
IMPORT_ONLY_TARGET = """
import importlib.metadata, json, os, sys
sys.path.insert(0, sys.argv[1])
import pipemon
with pipemon.run("installed") as r:
    with r.stage("load") as s:
        s.rows(written=1)
report = pipemon.shutdown(5)
print(json.dumps({
    "file": pipemon.__file__,
    "distributions": sorted(d.metadata["Name"] for d in importlib.metadata.distributions()),
    "dropped": report.dropped,
}))
"""


def pip_install(requirement: str, target: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation"]
        + ["--target", str(target), requirement],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def assert_only_pipemon(target: Path, tmp_path: Path) -> None:
    assert sorted(path.name.split("-")[0] for path in target.iterdir()) == ["pipemon", "pipemon"]
    env = {"PIPEMON_EXPORT": "off", "PIPEMON_SPOOL_DIR": str(tmp_path / "spool"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", IMPORT_ONLY_TARGET, str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["file"].startswith(str(target)), result
    assert result["distributions"] == ["pipemon"]
    assert result["dropped"] == 0


def test_pip_installs_the_source_tree_with_no_dependency(tmp_path: Path) -> None:
    # A copy: pip builds in place, and its build/ and egg-info must not land in the checkout.
    source = shutil.copytree(
        REPO / "python", tmp_path / "python", ignore=shutil.ignore_patterns("tests", "bench", "*cache*")
    )
    pip_install(str(source), tmp_path / "target")
    assert_only_pipemon(tmp_path / "target", tmp_path)


def test_pip_installs_the_committed_tree_over_git(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True, timeout=120)
    pip_install(f"git+file://{clone}#subdirectory=python", tmp_path / "target")
    assert_only_pipemon(tmp_path / "target", tmp_path)
