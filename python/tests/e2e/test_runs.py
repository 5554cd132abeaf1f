"""The quick start, run as a user runs it (a Python process with the environment's settings), read back through
the receiver's query API: the run and its stage with rows and target, the check, the log record, as the Node
SDK's come back; a raised exception ends the run and stage as failure and reaches the caller unchanged; a
stage allowed to fail fails alone."""

from __future__ import annotations

from _e2e import Receiver, json_lines, run_python


def test_the_quick_start_arrives_as_run_stage_rows_check_and_log(receiver: Receiver, env: dict, pipeline: str) -> None:
    done = run_python(
        f"""
        import json
        import pipemon

        pipemon.start(service_name="orders-etl")
        emails = [f"user{{i}}@example.com" for i in range(100)]
        with pipemon.run({pipeline!r}, owner="team-data", expected_interval="1h") as r:
            print(json.dumps({{"run_id": r.run_id}}), flush=True)
            with r.stage("load", target="dw.orders") as s:
                s.rows(read=120, written=118, rejected=2)
                pipemon.checks.null_ratio(s, "email", emails, max_ratio=0.01)
            r.log.info("loaded", batch=7)
        report = pipemon.shutdown(10)
        print(json.dumps({{"undelivered": report.undelivered}}))
        """,
        env,
    )
    (started, report) = json_lines(done.stdout)
    assert report["undelivered"] == 0, done.stderr

    detail = receiver.ended_run(started["run_id"])
    assert detail["pipeline"] == pipeline
    assert detail["result"] == "success"
    assert detail["error"] is None
    assert detail["service_name"] == "orders-etl"
    assert detail["rows"] == {"read": 120, "written": 118, "rejected": 2}
    assert detail["attributes"]["pipemon.pipeline.owner"] == "team-data"
    assert detail["attributes"]["pipemon.pipeline.expected_interval_seconds"] == 3600

    (stage,) = detail["stages"]
    assert stage["stage"] == "load"
    assert (stage["state"], stage["result"]) == ("ended", "success")
    assert stage["rows"] == {"read": 120, "written": 118, "rejected": 2}
    assert stage["target"] is not None and "dw" in str(stage["target"]) and "orders" in str(stage["target"])

    (check,) = detail["checks"]
    assert (check["name"], check["passed"], check["stage"]) == ("null_ratio", True, "load")

    (loaded,) = [log for log in receiver.logs(run_id=started["run_id"]) if log["body"] == "loaded"]
    assert loaded["attributes"]["batch"] == 7
    assert loaded["severity_text"] == "INFO"
    # The run's and stage's spans form one trace, the stage under the run.
    (root,) = detail["spans"]
    assert [child["name"] for child in root["children"]] == ["load"]


def test_a_raised_exception_ends_run_and_stage_as_failure_and_reaches_the_caller(
    receiver: Receiver, env: dict, pipeline: str
) -> None:
    done = run_python(
        f"""
        import json
        import pipemon

        raised = ValueError('column "amount" is null in 12 rows')
        try:
            with pipemon.run({pipeline!r}) as r:
                print(json.dumps({{"run_id": r.run_id}}), flush=True)
                with r.stage("validate"):
                    raise raised
        except ValueError as caught:
            print(json.dumps({{"same": caught is raised}}))
        pipemon.shutdown(10)
        """,
        env,
    )
    (started, caught) = json_lines(done.stdout)
    assert caught == {"same": True}

    detail = receiver.ended_run(started["run_id"])
    message = 'column "amount" is null in 12 rows'
    assert detail["result"] == "failure"
    assert detail["error"]["type"] == "ValueError"
    assert detail["error"]["message"] == message
    (stage,) = detail["stages"]
    assert (stage["stage"], stage["result"]) == ("validate", "failure")
    assert stage["error"]["type"] == "ValueError"


def test_a_stage_allowed_to_fail_fails_alone(receiver: Receiver, env: dict, pipeline: str) -> None:
    done = run_python(
        f"""
        import json
        import pipemon

        with pipemon.run({pipeline!r}) as r:
            print(json.dumps({{"run_id": r.run_id}}), flush=True)
            with r.stage("enrich", allow_failure=True):
                raise RuntimeError("geocoder answered 503")
            with r.stage("load") as s:
                s.rows(written=5)
        pipemon.shutdown(10)
        """,
        env,
    )
    (started,) = json_lines(done.stdout)

    detail = receiver.ended_run(started["run_id"])
    assert (detail["result"], detail["error"]) == ("success", None)
    stages = {stage["stage"]: stage for stage in detail["stages"]}
    assert stages["enrich"]["result"] == "failure"
    assert stages["enrich"]["failure_allowed"] is True
    error = stages["enrich"]["error"]
    assert (error["type"], error["message"]) == ("RuntimeError", "geocoder answered 503")
    assert stages["load"]["result"] == "success"
