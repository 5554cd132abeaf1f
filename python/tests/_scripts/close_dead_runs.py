"""Finds the runs dead processes left open in a spool and prints the closing record of each as JSON,
with its OTLP/HTTP request body as the Python SDK would spool it; markers are left in place.

argv: <spool dir>. Spawned by test/docs/spool-format.test.ts.
"""

from __future__ import annotations

import json
import sys

from pipemon._open_runs import closing_record, closing_request, find_dead_runs


def main() -> None:
    closed = []
    for dead in find_dead_runs(sys.argv[1]):
        record = closing_record(dead)
        closed.append(
            {
                "timeUnixNano": str(record.time_unix_nano),
                "observedTimeUnixNano": str(record.observed_time_unix_nano),
                "severityNumber": record.severity_number,
                "severityText": record.severity_text,
                "body": record.body,
                "eventName": record.event_name,
                "traceId": record.trace_id.hex(),
                "spanId": record.span_id.hex(),
                "flags": record.flags,
                "resource": dead.run.resource,
                "attributes": record.attributes,
                "otlp": closing_request(dead).hex(),
            }
        )
    json.dump(closed, sys.stdout)


if __name__ == "__main__":
    main()
