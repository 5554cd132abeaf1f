"""Replays a spool with the Python SDK's spool, every batch acknowledged; prints the batches in order as JSON.

argv: <dir> <max request bytes>. Output: [{"signal", "records", "body": hex}].
Spawned by test/docs/spool-format.test.ts.
"""

from __future__ import annotations

import json
import sys

from pipemon._spool import open_spool


def main() -> None:
    dir, max_bytes = sys.argv[1], int(sys.argv[2])
    spool = open_spool(dir, 1 << 30)
    batches = []
    while (batch := spool.next(max_bytes)) is not None:
        batches.append({"signal": batch.signal, "records": batch.records, "body": batch.body.hex()})
        batch.settle("ok")
    spool.close()
    json.dump(batches, sys.stdout)


if __name__ == "__main__":
    main()
