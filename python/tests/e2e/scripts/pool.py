"""A pipeline whose stage fans out to a multiprocessing Pool (start method in argv[1]): each task joins the run
as a stage of its own (the run's ids handed over as `pipemon exec` hands them, PIPEMON_PIPELINE, PIPEMON_RUN_ID,
TRACEPARENT) and logs RECORDS records. Before the pool forks, the parent holds PARENT ordinary records in memory.
Prints the run's id and how many records the parent held at the fork."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys

import pipemon

TASKS = 8
RECORDS = 25
PARENT = 50


def task(handover: tuple[dict[str, str], int]) -> int:
    join, number = handover
    os.environ.update(join)
    with pipemon.run(f"task {number}") as t:
        for i in range(RECORDS):
            t.log.info(f"task {number} record {i}")
    # A pool's worker ends with os._exit (forked) or outlives the task: it sends what it holds before it returns.
    pipemon.flush(30)
    return os.getpid()


def main(method: str) -> None:
    with pipemon.run(os.environ["PIPELINE"]) as r:
        with r.stage("fan out") as s:
            for i in range(PARENT):
                s.log.info(f"parent record {i}")
            held = pipemon.stats().queued
            join = {
                "PIPEMON_PIPELINE": r.pipeline,
                "PIPEMON_RUN_ID": r.run_id,
                "TRACEPARENT": f"00-{s.trace_id}-{s.span_id}-01",
            }
            with multiprocessing.get_context(method).Pool(4) as pool:
                pids = pool.map(task, [(join, n) for n in range(TASKS)])
    report = pipemon.shutdown(30)
    print(
        json.dumps(
            {"run_id": r.run_id, "held_at_fork": held, "workers": len(set(pids)), "undelivered": report.undelivered}
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
