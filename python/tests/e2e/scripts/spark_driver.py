"""A Spark driver monitored by pipemon: a local SparkSession, a run whose stage builds a DataFrame in memory,
hands it to a monitored function that does nothing with it, then counts it into the stage's rows. Prints the
run's id, and the Spark jobs there were before the monitored call, after it, and after the count (a job)."""

from __future__ import annotations

import json
import os
from typing import Any

from pyspark.sql import DataFrame, SparkSession

import pipemon


@pipemon.monitored
def enrich(orders: DataFrame) -> DataFrame:
    # Nothing touches the DataFrame here: a job run during this call is the preview's.
    return orders


def jobs(spark: SparkSession) -> list[int]:
    return sorted(spark.sparkContext.statusTracker().getJobIdsForGroup())


def main() -> dict[str, Any]:
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("pipemon-e2e")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    pipemon.start(service_name="spark-driver")
    try:
        with pipemon.run(os.environ["PIPELINE"]) as r:
            print(json.dumps({"run_id": r.run_id}), flush=True)
            with r.stage("load", target="dw.orders") as s:
                orders = spark.createDataFrame(
                    [(i, f"user{i}@example.com", i * 1.5) for i in range(100)], ["id", "email", "amount"]
                )
                before = jobs(spark)
                enrich(orders)
                after = jobs(spark)
                s.rows(written=orders.count())
                counted = jobs(spark)
        report = pipemon.shutdown(10)
    finally:
        spark.stop()
    return {"before": before, "after": after, "counted": counted, "undelivered": report.undelivered}


if __name__ == "__main__":
    print(json.dumps(main()), flush=True)
