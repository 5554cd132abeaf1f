"""Appends frames to a spool with the Python SDK's spool, then exits: its segments are a dead process's.

stdin: {"dir", "maxBytes", "segmentBytes", "startMs", "appends": [{"signal", "keep", "records", "body": hex}]}.
Spawned by test/docs/spool-format.test.ts.
"""

from __future__ import annotations

import itertools
import json
import sys

from pipemon._spool import open_spool


def main() -> None:
    spec = json.load(sys.stdin)
    # A clock a millisecond ahead at each reading, as the test's Node writer has: names never tie.
    clock = itertools.count(spec["startMs"])
    spool = open_spool(spec["dir"], spec["maxBytes"], segment_bytes=spec["segmentBytes"], now_ms=lambda: next(clock))
    for append in spec["appends"]:
        spool.append(append["signal"], append["keep"], append["records"], bytes.fromhex(append["body"]))


if __name__ == "__main__":
    main()
