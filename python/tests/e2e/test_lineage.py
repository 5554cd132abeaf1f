"""What a Python pipeline names it reads and writes reaches the receiver's lineage graph: its run's and stage's
inputs, outputs and target become the graph's edges, by the names the Node SDK would give them, and a pipeline
reading what it writes is its downstream."""

from __future__ import annotations

from typing import Any

from _e2e import Receiver, eventually, json_lines, run_python


def _edges(graph: dict[str, Any]) -> set[tuple[str, str, str, tuple[str, ...]]]:
    """(pipeline, direction, dataset name, stages) of each edge of a lineage graph."""
    names = {node["id"]: node["dataset"]["dataset"] for node in graph["nodes"] if node["kind"] == "dataset"}
    return {
        (edge["pipeline"], edge["direction"], names[f"dataset:{edge['dataset_id']}"], tuple(edge["stages"]))
        for edge in graph["edges"]
    }


def test_a_run_s_inputs_and_outputs_are_its_lineage(receiver: Receiver, env: dict, pipeline: str) -> None:
    downstream = f"{pipeline}-report"
    done = run_python(
        f"""
        import json
        import pipemon

        with pipemon.run({pipeline!r}, inputs=["s3://raw/{pipeline}"]) as r:
            print(json.dumps({{"run_id": r.run_id}}), flush=True)
            target = {{"namespace": "dw", "collection": "{pipeline}"}}
            with r.stage("load", target=target, outputs=["s3://lake/{pipeline}"]) as s:
                s.input({{"namespace": "dw", "collection": "customers-{pipeline}"}}, "s3://raw/{pipeline}")
        with pipemon.run({downstream!r}, inputs=[{{"namespace": "dw", "collection": "{pipeline}"}}]):
            pass
        report = pipemon.shutdown(10)
        print(json.dumps({{"undelivered": report.undelivered}}))
        """,
        env,
    )
    (started, report) = json_lines(done.stdout)
    assert report["undelivered"] == 0, done.stderr

    def graph() -> dict[str, Any]:
        answer = receiver.get("lineage", pipeline=pipeline, depth=1)
        assert len(answer["edges"]) == 5, answer["edges"]
        return answer

    # One edge per pipeline and dataset, whether the run itself or its stages (named) used it.
    assert _edges(eventually(graph)) == {
        (pipeline, "read", f"s3://raw/{pipeline}", ("load",)),
        (pipeline, "read", f"dw://customers-{pipeline}", ("load",)),
        (pipeline, "write", f"dw://{pipeline}", ("load",)),
        (pipeline, "write", f"s3://lake/{pipeline}", ("load",)),
        (downstream, "read", f"dw://{pipeline}", ()),
    }
    # The run's own page lists them by who used each: the run itself (stage None) or its stage.
    datasets = receiver.ended_run(started["run_id"])["datasets"]
    assert {(d["direction"], d["dataset"], d["stage"]) for d in datasets} == {
        ("read", f"dw://customers-{pipeline}", "load"),
        ("read", f"s3://raw/{pipeline}", None),
        ("read", f"s3://raw/{pipeline}", "load"),
        ("write", f"dw://{pipeline}", "load"),
        ("write", f"s3://lake/{pipeline}", "load"),
    }
    assert len(datasets) == 5
