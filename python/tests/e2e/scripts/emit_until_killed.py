"""A pipeline that never ends, to be killed with kill -9: one run; per step a stage with ten ordinary records, and
every 5th step an error record. After each step (once its calls returned) a progress line says what had been
emitted and how many records the SDK still held in memory only (PROGRESS_FILE, one JSON object a line)."""

from __future__ import annotations

import json
import os
import time

import pipemon

pipemon.start()
progress = os.open(os.environ["PROGRESS_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
ordinary = errors = stages = 0
r = pipemon.run(os.environ["PIPELINE"])
print(json.dumps({"run_id": r.run_id}), flush=True)
step = 0
while True:
    with r.stage(f"stage {step}") as s:
        for _ in range(10):
            s.log.info(f"ordinary {ordinary}")
            ordinary += 1
        if step % 5 == 0:
            s.log.error(f"error {errors}")
            errors += 1
    stages += 1
    line = {"ordinary": ordinary, "errors": errors, "stages": stages, "queued": pipemon.stats().queued}
    os.write(progress, (json.dumps(line) + "\n").encode())
    step += 1
    time.sleep(0.001)
