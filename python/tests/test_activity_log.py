"""Log records of runs and stages, and pipemon.log outside any."""

from __future__ import annotations

import pipemon
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR

pytest_plugins = ["_capture"]  # the `records` fixture


def test_logs_carry_the_activity_and_mask_secrets(records: Captured) -> None:
    pipemon.log.info("before")
    with pipemon.run("orders") as r:
        r.log.info("loaded", batch=7, password="hunter2")
        r.log.warn("slow")
        pipemon.log.debug("via current")
        try:
            raise KeyError("id")
        except KeyError:
            r.log.exception("lookup failed")
        r.log.critical(RuntimeError("disk full"))
    before, loaded, slow, current, failed, fatal = records.logs[0], *records.logs[2:7]
    assert before.attributes == {} and before.trace_id == b"" and before.event_name == ""
    assert loaded.attributes["batch"] == 7 and loaded.attributes["password"] == "***"
    assert loaded.attributes[ATTR.RUN_ID] == r.run_id and loaded.span_id.hex() == r.span_id
    assert (slow.severity_number, slow.severity_text) == (13, "WARN")
    assert (current.severity_number, current.attributes[ATTR.RUN_ID]) == (5, r.run_id)
    assert failed.attributes[ATTR.EXCEPTION_TYPE] == "KeyError" and failed.severity_number == 17
    assert (fatal.body, fatal.severity_number, fatal.attributes[ATTR.ERROR_TYPE]) == ("disk full", 21, "RuntimeError")
