from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pipemon._open_runs import DeadRun, OpenRun, closing_record, closing_request, find_dead_runs, open_run_journal
from pipemon._otlp import encode_logs
from pipemon._owner import Claim, Owner
from pipemon.vocabulary import ATTR, ERROR_TYPE, EVENT


def a_run(**changes: object) -> OpenRun:
    values: dict[str, object] = {
        "pipeline": "orders",
        "run_id": "run/1 with any characters",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "started_at_ms": 1_700_000_000_000,
        "resource": {"service.name": "orders-etl", "service.instance.id": "i-1"},
        "attributes": {ATTR.PIPELINE_NAME: "orders", ATTR.RUN_ID: "run/1 with any characters"},
        **changes,
    }
    return OpenRun(**values)  # type: ignore[arg-type]


def claim(instance: str) -> Claim:
    return Claim(os.getpid(), instance)


def test_finds_a_run_whose_writer_died_with_its_last_heartbeat_and_never_one_whose_writer_runs(tmp_path: Path) -> None:
    living = {"aaaaaaaa", "bbbbbbbb"}

    def alive(o: Owner) -> bool:
        return o.instance in living

    run = a_run()
    marker = open_run_journal(str(tmp_path), owner=claim("aaaaaaaa")).opened(run)
    marker.beat(run.started_at_ms + 60_000)
    open_run_journal(str(tmp_path), owner=claim("bbbbbbbb")).opened(a_run(run_id="still running"))
    assert find_dead_runs(str(tmp_path), alive) == []
    living.discard("aaaaaaaa")
    dead = find_dead_runs(str(tmp_path), alive)
    assert [(d.run.run_id, d.run.last_beat_ms, d.pid) for d in dead] == [
        (run.run_id, run.started_at_ms + 60_000, os.getpid())
    ]
    dead[0].release()
    assert find_dead_runs(str(tmp_path), alive) == []


def test_writes_a_marker_named_by_writer_and_run_with_the_node_sdks_fields(tmp_path: Path) -> None:
    run = a_run()
    open_run_journal(str(tmp_path), owner=claim("0a1b2c3d")).opened(run)
    [name] = os.listdir(tmp_path / "open-runs")
    assert re.fullmatch(rf"{os.getpid()}-0a1b2c3d-[0-9a-f]{{16}}\.json", name)
    # sha256("run/1 with any characters"), its first 16 hex digits: the same name the Node SDK gives the marker.
    assert name.endswith("-f98f25cc63573f8b.json")
    content = json.loads((tmp_path / "open-runs" / name).read_text())
    assert sorted(content) == sorted(
        ["pipeline", "runId", "traceId", "spanId", "startedAtMs", "lastBeatMs", "resource", "attributes"]
    )
    assert content["lastBeatMs"] == content["startedAtMs"] == run.started_at_ms
    assert (os.stat(tmp_path / "open-runs" / name).st_mode & 0o777) == 0o600


def test_forgets_a_run_once_it_ended_and_a_late_heartbeat_does_not_bring_it_back(tmp_path: Path) -> None:
    marker = open_run_journal(str(tmp_path), owner=claim("aaaaaaaa")).opened(a_run())
    marker.closed()
    marker.beat(1_700_000_100_000)
    assert os.listdir(tmp_path / "open-runs") == []


def test_drops_an_unreadable_marker_of_a_dead_writer(tmp_path: Path) -> None:
    (tmp_path / "open-runs").mkdir()
    (tmp_path / "open-runs" / "1-00000000-0123456789abcdef.json").write_text("{not json")
    (tmp_path / "open-runs" / "1-00000000-0123456789abcdef.json.tmp").write_text("{")
    assert find_dead_runs(str(tmp_path), lambda o: False) == []
    assert os.listdir(tmp_path / "open-runs") == ["1-00000000-0123456789abcdef.json.tmp"]


def test_finds_nothing_without_a_journal(tmp_path: Path) -> None:
    assert find_dead_runs(str(tmp_path / "none")) == []


def test_ends_it_as_error_at_its_last_heartbeat_the_type_saying_the_process_died_the_same_for_every_start() -> None:
    run = a_run(last_beat_ms=1_700_000_090_000)
    record = closing_record(DeadRun(run, 4242, ""))
    assert record.event_name == EVENT.RUN_END
    assert (record.severity_number, record.severity_text) == (17, "ERROR")
    assert record.time_unix_nano == record.observed_time_unix_nano == 1_700_000_090 * 10**9
    assert (record.trace_id.hex(), record.span_id.hex(), record.flags) == (run.trace_id, run.span_id, 1)
    assert record.attributes[ATTR.RUN_ID] == run.run_id
    assert record.attributes[ATTR.RUN_RESULT] == "error"
    assert record.attributes[ATTR.ERROR_TYPE] == ERROR_TYPE.PROCESS_DIED
    assert record.attributes[ATTR.DURATION_SECONDS] == 90
    assert isinstance(record.attributes[ATTR.DURATION_SECONDS], int)
    message = (
        "the process (pid 4242) running it ended without ending the run (killed, or crashed); "
        "last sign of life at 2023-11-14T22:14:50.000Z"
    )
    assert record.attributes[ATTR.EXCEPTION_MESSAGE] == message
    assert record.body == f"run error: orders: {message}"
    assert closing_record(DeadRun(a_run(last_beat_ms=1_700_000_090_000), 4242, "")) == record


def test_a_fractional_duration_stays_fractional_and_a_negative_one_is_zero() -> None:
    assert (
        closing_record(DeadRun(a_run(last_beat_ms=1_700_000_001_500), 1, "")).attributes[ATTR.DURATION_SECONDS] == 1.5
    )
    assert closing_record(DeadRun(a_run(last_beat_ms=1_600_000_000_000), 1, "")).attributes[ATTR.DURATION_SECONDS] == 0


def test_the_request_to_spool_holds_the_record_under_the_markers_resource_and_a_scope_without_version() -> None:
    dead = DeadRun(a_run(last_beat_ms=1_700_000_090_000), 4242, "")
    body = closing_request(dead)
    assert body == encode_logs(dead.run.resource, "pipemon", "", [closing_record(dead)])
    assert b"orders-etl" in body
