"""The next start of a pipeline: it replays what dead processes left in the spool, ends the runs they left open,
and shuts down once that is delivered. Prints the shutdown report's counts as one JSON object."""

from __future__ import annotations

import json

import pipemon

pipemon.start()
report = pipemon.shutdown(60)
print(json.dumps({"undelivered": report.undelivered, "delivered": report.delivered, "dropped": report.dropped}))
