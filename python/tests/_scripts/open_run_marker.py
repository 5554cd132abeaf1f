"""Opens a run in the Python SDK's open-runs journal, beats once, and exits without closing it.

stdin: {"dir", "run": <marker JSON, camelCase, without lastBeatMs>, "beatMs"}.
Spawned by test/docs/spool-format.test.ts.
"""

from __future__ import annotations

import json
import sys

from pipemon._open_runs import OpenRun, open_run_journal


def main() -> None:
    spec = json.load(sys.stdin)
    marker = open_run_journal(spec["dir"]).opened(OpenRun.from_json(json.dumps(spec["run"])))
    marker.beat(spec["beatMs"])


if __name__ == "__main__":
    main()
