"""What runs and stages record: the records sdk/activity/run.ts emits for the same code (compared with Node's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import pipemon
from pipemon._records import SPAN_KIND_INTERNAL, SPAN_KIND_SERVER
from pipemon.testing import Captured
from pipemon.vocabulary import ATTR, EVENT

pytest_plugins = ["_capture"]  # the `records` fixture

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_and_its_stage_emit_start_and_end_records_and_spans(records: Captured) -> None:
    with pipemon.run("orders", owner="team-data", expected_interval="1h") as r:
        with r.stage("load", target="dw.orders") as s:
            s.rows(read=120, written=118, rejected=2)

    run_start, stage_start = records.log(EVENT.RUN_START), records.log(EVENT.STAGE_START)
    assert (run_start.body, run_start.severity_number, run_start.severity_text) == ("run started: orders", 9, "INFO")
    assert run_start.attributes == {
        ATTR.PIPELINE_NAME: "orders",
        ATTR.RUN_ID: r.run_id,
        ATTR.PIPELINE_OWNER: "team-data",
        ATTR.EXPECTED_INTERVAL_SECONDS: 3600,
    }
    assert stage_start.body == "stage started: load"
    assert stage_start.attributes[ATTR.STAGE_NAME] == "load"
    assert stage_start.attributes[ATTR.STAGE_RUN_ID] == s.span_id == s.stage_run_id
    assert (stage_start.attributes[ATTR.DB_NAMESPACE], stage_start.attributes[ATTR.DB_COLLECTION]) == ("dw", "orders")

    run_span, stage_span = records.span("orders"), records.span("load")
    assert (run_span.kind, stage_span.kind) == (SPAN_KIND_SERVER, SPAN_KIND_INTERNAL)
    assert run_span.parent_span_id == b"" and stage_span.parent_span_id == run_span.span_id
    assert stage_span.trace_id == run_span.trace_id and len(run_span.trace_id) == 16 and len(run_span.span_id) == 8
    assert run_span.flags == stage_span.flags == 0x101
    assert (run_span.trace_id.hex(), run_span.span_id.hex()) == (r.trace_id, r.span_id)

    run_end, stage_end = records.log(EVENT.RUN_END), records.log(EVENT.STAGE_END)
    assert run_end.body == "run success: orders" and stage_end.body == "stage success: load"
    # The span and the end record carry the same attributes; the parent without rows of its own sums its children's.
    assert run_end.attributes == run_span.attributes and stage_end.attributes == stage_span.attributes
    assert run_end.attributes[ATTR.RUN_RESULT] == "success"
    assert stage_end.attributes[ATTR.STAGE_RESULT] == "success"
    for end in (run_end, stage_end):
        assert (end.attributes[ATTR.ROWS_READ], end.attributes[ATTR.ROWS_WRITTEN]) == (120, 118)
        assert end.attributes[ATTR.ROWS_REJECTED] == 2
    assert 0 < stage_end.attributes[ATTR.DURATION_SECONDS] <= run_end.attributes[ATTR.DURATION_SECONDS]
    assert run_span.end_time_unix_nano > run_span.start_time_unix_nano
    assert stage_end.trace_id == run_span.trace_id and stage_end.span_id == stage_span.span_id and stage_end.flags == 1
    assert _bodies(records)[-1] == "run success: orders"


def test_skip_cancel_and_fail_set_the_result(records: Captured) -> None:
    with pipemon.run("orders") as r:
        with r.stage("a") as a:
            a.skip("holiday")
        with r.stage("b") as b:
            b.cancel("operator")
        with r.stage("c") as c:
            c.fail(OSError("worker killed"), result="error")
    results = {e.attributes[ATTR.STAGE_NAME]: e.attributes[ATTR.STAGE_RESULT] for e in records.logs_of(EVENT.STAGE_END)}
    assert results == {"a": "skip", "b": "cancellation", "c": "error"}
    assert records.span("a").attributes[ATTR.SKIP_REASON] == "holiday"
    # The skip reason says why a run or stage was skipped (vocabulary.ts); the Node SDK's cancel() sets none.
    assert ATTR.SKIP_REASON not in records.span("b").attributes
    assert records.span("c").attributes[ATTR.ERROR_TYPE] == "OSError"
    assert a.skipped and not b.skipped


def test_skip_when_empty_ends_the_stage_as_skip_at_once(records: Captured) -> None:
    with pipemon.run("orders") as r:
        with r.stage("load", skip_when_empty=[]) as s:
            assert s.skipped and s.ended
        with r.stage("full", skip_when_empty=[1]) as full:
            assert not full.skipped
    checks = records.logs_of(EVENT.CHECK)
    assert [c.attributes[ATTR.CHECK_PASSED] for c in checks] == [False, True]
    assert checks[0].attributes[ATTR.CHECK_DETAILS] == "{'reason': 'input is empty'}"
    assert records.span("load").attributes[ATTR.STAGE_RESULT] == "skip"


def test_skip_when_empty_takes_a_data_frame(records: Captured) -> None:
    with pipemon.run("orders") as r:
        with r.stage("empty", skip_when_empty=pd.DataFrame(columns=["id"])) as empty:
            assert empty.skipped
        with r.stage("full", skip_when_empty=pd.DataFrame({"id": [1, 2, 3]})) as full:
            assert not full.skipped
        with r.stage("none_ok", skip_when_empty=pd.DataFrame({"ok": [False]})["ok"].sum()) as none_ok:
            assert none_ok.skipped
    assert records.span("empty").attributes[ATTR.STAGE_RESULT] == "skip"


def test_checks_are_records_and_span_events(records: Captured) -> None:
    with pipemon.run("orders") as r:
        assert r.check("fresh", True, lag=3) is True
        assert r.check("complete", False) is False
    passed, failed = records.logs_of(EVENT.CHECK)
    assert (passed.body, passed.severity_text, failed.body, failed.severity_text) == (
        "check fresh passed",
        "INFO",
        "check complete failed",
        "WARN",
    )
    assert passed.attributes[ATTR.CHECK_DETAILS] == "{'lag': 3}" and ATTR.CHECK_DETAILS not in failed.attributes
    events = records.span("orders").events
    assert [(e.name, e.attributes[ATTR.CHECK_NAME]) for e in events] == [
        ("pipeline.check", "fresh"),
        ("pipeline.check", "complete"),
    ]


def test_a_check_given_a_value_without_a_truth_value_fails_without_raising(records: Captured) -> None:
    with pipemon.run("orders") as r:
        # A DataFrame and an array refuse a truth value.
        assert r.check("rows_positive", pd.DataFrame({"id": [1]})) is False
        assert r.check("all_valid", np.array([True, True])) is False
        assert r.check("all_valid_all", np.array([True, True]).all()) is True
    check = records.logs_of(EVENT.CHECK)[0]
    assert (check.attributes[ATTR.CHECK_PASSED], check.severity_text) == (False, "WARN")


def test_attributes_source_capabilities_and_targets(records: Captured) -> None:
    with pipemon.run("orders", source="s3", capabilities=["auth"], attributes={"api_key": "k", "tier": 2}) as r:
        r.capability("auth", "bootstrapped")
        r.set({"region": "eu"}, batch=[1, 2])
        with r.stage("a", target={"namespace": "dw", "collection": "x"}) as s:
            s.target(collection="y")
        with r.stage("b", target="orders"):
            pass
    attributes = records.span("orders").attributes
    assert attributes[ATTR.SOURCE_SYSTEM] == "s3"
    assert attributes[ATTR.CAPABILITIES] == ["auth", "bootstrapped"]
    assert (attributes["api_key"], attributes["tier"], attributes["region"], attributes["batch"]) == (
        "***",
        2,
        "eu",
        [1, 2],
    )
    assert (records.span("a").attributes[ATTR.DB_NAMESPACE], records.span("a").attributes[ATTR.DB_COLLECTION]) == (
        "dw",
        "y",
    )
    assert ATTR.DB_NAMESPACE not in records.span("b").attributes
    assert records.span("b").attributes[ATTR.DB_COLLECTION] == "orders"


def test_inputs_and_outputs_name_each_dataset_once_in_the_order_first_named(records: Captured) -> None:
    with pipemon.run("orders", inputs=["s3://raw/orders"]) as r:
        target = {"namespace": "dw", "collection": "orders"}
        with r.stage("load", inputs=["postgres://shop:5432/shop.public.orders", ""], target=target) as s:
            s.input({"namespace": "dw", "collection": "customers"}, "postgres://shop:5432/shop.public.orders")
            s.output("s3://lake/orders", {"namespace": "dw"}, None, 7)
    run_span, stage_span = records.span("orders"), records.span("load")
    assert run_span.attributes[ATTR.LINEAGE_INPUTS] == ["s3://raw/orders"]
    assert ATTR.LINEAGE_OUTPUTS not in run_span.attributes
    # An empty name, a target without its collection and what is no dataset name nothing.
    assert stage_span.attributes[ATTR.LINEAGE_INPUTS] == ["postgres://shop:5432/shop.public.orders", "dw://customers"]
    assert stage_span.attributes[ATTR.LINEAGE_OUTPUTS] == ["s3://lake/orders"]
    # The start record has what the options named, the end record what the stage named by the end, as its span.
    assert records.log(EVENT.STAGE_START).attributes[ATTR.LINEAGE_INPUTS] == ["postgres://shop:5432/shop.public.orders"]
    assert records.log(EVENT.STAGE_END).attributes == stage_span.attributes


def test_datasets_named_after_the_end_or_unreadable_change_nothing(records: Captured) -> None:
    with pipemon.run("orders", outputs="s3://lake/orders", inputs=7) as r:  # type: ignore[arg-type]
        pass
    r.input("s3://raw/late")
    r.output("s3://lake/late")
    attributes = records.span("orders").attributes
    assert attributes[ATTR.LINEAGE_OUTPUTS] == ["s3://lake/orders"] and ATTR.LINEAGE_INPUTS not in attributes


def test_a_decorated_function_s_every_run_names_its_datasets(records: Captured) -> None:
    @pipemon.run("orders", inputs=(name for name in ["s3://raw/orders"]))
    def load() -> None:
        pass

    load()
    load()
    assert [span.attributes[ATTR.LINEAGE_INPUTS] for span in records.spans] == [["s3://raw/orders"]] * 2


class _BrokenMapping(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("a lazy mapping whose source went away")


def test_attributes_that_cannot_be_read_are_left_out_without_raising(records: Captured) -> None:
    with pipemon.run("orders") as r:
        r.set(_BrokenMapping(a=1), tier=2)
        with r.stage("load", attributes=_BrokenMapping(a=1)):
            pass
    assert records.span("orders").attributes["tier"] == 2 and "a" not in records.span("load").attributes


def test_methods_after_the_end_change_nothing_and_never_raise(records: Captured) -> None:
    with pipemon.run("orders") as r:
        pass
    r.rows(read=5)
    r.set(x=1)
    r.skip("late")
    r.fail(ValueError("late"))
    r.rows(read="many")  # type: ignore[arg-type]
    r.end()
    assert len(records.logs_of(EVENT.RUN_END)) == 1 and len(records.spans) == 1
    assert records.span("orders").attributes[ATTR.ROWS_READ] == 0


def test_rows_ignore_what_is_not_a_count(records: Captured) -> None:
    with pipemon.run("orders") as r:
        r.rows(read=3, written=-1, rejected=float("nan"))
        r.rows(read=True, written=2)  # type: ignore[arg-type]
    attributes = records.span("orders").attributes
    assert (attributes[ATTR.ROWS_READ], attributes[ATTR.ROWS_WRITTEN], attributes[ATTR.ROWS_REJECTED]) == (3, 2, 0)


def test_rows_take_numpy_s_integers(records: Captured) -> None:
    with pipemon.run("orders") as r:
        orders = pd.DataFrame({"ok": [True, False, True]})
        r.rows(read=orders["ok"].sum(), written=Fraction(5, 2))  # type: ignore[arg-type]
        r.set(valid=orders["ok"].sum(), all_valid=orders["ok"].all(), mean=orders["ok"].mean())
    attributes = records.span("orders").attributes
    assert type(orders["ok"].sum()) is np.int64
    assert (attributes[ATTR.ROWS_READ], attributes[ATTR.ROWS_WRITTEN]) == (2, 2.5)
    assert type(attributes[ATTR.ROWS_READ]) is int
    assert (attributes["valid"], attributes["all_valid"], attributes["mean"]) == (2, False, 2 / 3)
    assert (type(attributes["valid"]), type(attributes["all_valid"]), type(attributes["mean"])) == (int, bool, float)


def test_open_stages_end_with_their_run(records: Captured) -> None:
    with pipemon.run("orders") as r:
        r.stage("forgotten")
    assert records.log(EVENT.STAGE_END).attributes[ATTR.STAGE_RESULT] == "cancellation"
    assert _bodies(records)[-2:] == ["stage cancellation: forgotten", "run success: orders"]


def test_concurrent_rows_are_all_counted(records: Captured) -> None:
    with pipemon.run("orders") as r:
        threads = [threading.Thread(target=lambda: [r.rows(read=1) for _ in range(2000)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert records.span("orders").attributes[ATTR.ROWS_READ] == 8000


NODE_PAIR = """
import { run, shutdown, checks } from './dist/sdk/index.js';
await run('orders', { owner: 'team-data', expectedIntervalSeconds: 3600, inputs: ['s3://raw/orders'] }, async (r) => {
  const load = { target: { namespace: 'dw', collection: 'orders' }, outputs: ['s3://lake/orders'] };
  await r.stage('load', load, async (s) => {
    s.input({ namespace: 'dw', collection: 'customers' }, 's3://raw/orders', '');
    s.rows({ read: 120, written: 118, rejected: 2 });
    checks.nullRatio(s, 'email', ['a', null], 0.01);
  });
  await r.stage('bad', { allowFailure: true }, async () => { throw new TypeError('boom'); });
  await r.stage('stopped', async (s) => { s.cancel('operator'); });
  await r.stage('idle', async (s) => { s.skip('no new files'); });
  r.log.info('loaded', { batch: 7 });
});
await shutdown();
"""
# Ids, times and the stack differ by nature; check details are written in each language's notation.
VOLATILE = {ATTR.RUN_ID, ATTR.STAGE_RUN_ID, ATTR.DURATION_SECONDS, ATTR.EXCEPTION_STACKTRACE, ATTR.CHECK_DETAILS}


def _comparable(event: str | None, level: str, body: str, attributes: dict[str, Any]) -> tuple[Any, ...]:
    return event or None, level, body, sorted((k, v if k not in VOLATILE else "~") for k, v in attributes.items())


@pytest.mark.skipif(not (ROOT / "dist/sdk/index.js").exists() or not shutil.which("node"), reason="Node SDK not built")
def test_the_records_are_the_node_sdk_s_for_the_same_code(records: Captured, tmp_path: Path) -> None:
    output = tmp_path / "node.jsonl"
    env = {**os.environ, "PIPEMON_EXPORT": "off", "PIPEMON_LOCAL_OUTPUT": str(output)}
    subprocess.run(["node", "--input-type=module", "-e", NODE_PAIR], cwd=ROOT, env=env, check=True, timeout=60)
    node = [json.loads(line) for line in output.read_text().splitlines()]

    with pipemon.run("orders", owner="team-data", expected_interval="1h", inputs=["s3://raw/orders"]) as r:
        with r.stage("load", target="dw.orders", outputs=["s3://lake/orders"]) as s:
            s.input({"namespace": "dw", "collection": "customers"}, "s3://raw/orders", "")
            s.rows(read=120, written=118, rejected=2)
            pipemon.checks.null_ratio(s, "email", ["a", None], max_ratio=0.01)
        with r.stage("bad", allow_failure=True):
            raise TypeError("boom")
        with r.stage("stopped") as s:
            s.cancel("operator")
        with r.stage("idle") as s:
            s.skip("no new files")
        r.log.info("loaded", batch=7)

    expected = [_comparable(n.get("event"), n["level"], n["message"], n["attributes"]) for n in node]
    actual = [_comparable(p.event_name, p.severity_text, str(p.body), p.attributes) for p in records.logs]
    assert actual == expected


def _bodies(records: Captured) -> list[str]:
    return [str(record.body) for record in records.logs]
