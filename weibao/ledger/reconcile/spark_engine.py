"""The checks on Apache Spark (pyspark, an optional extra): `local[*]` or a cluster URL.

The export directory must be readable by the executors under the same path (on a cluster:
a shared file system or an object store path in LEDGER_EXPORT_DIR).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from weibao.ledger.export import event_files, snapshot_file
from weibao.ledger.reconcile.checks import BASE_VIEWS, DERIVED, Params
from weibao.ledger.reconcile.findings import Finding, run_checks

LOCAL_SHUFFLE_PARTITIONS = 16


def available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def session(master: str | None = None) -> Any:
    """The active Spark session, or a new one on `master` (default LEDGER_SPARK_MASTER)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    url = master or settings.LEDGER_SPARK_MASTER
    builder = (
        SparkSession.builder.master(url)
        .appName("weibao-reconcile")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", settings.LEDGER_SPARK_DRIVER_MEMORY)
        # The checks' shuffles are small once aggregated; adaptive execution sizes them.
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if url.startswith("local"):
        # Spark's default of 200 shuffle partitions is meant for clusters; on one machine it
        # only adds scheduling (adaptive execution merges partitions, never splits them).
        builder = builder.config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
    return builder.getOrCreate()


def find(
    export_dir: Path,
    params: Params,
    *,
    kinds: Iterable[str] | None = None,
    master: str | None = None,
    spark: Any = None,
) -> list[Finding]:
    """Run the checks; stops the session afterwards only if it started one."""
    from pyspark.sql import SparkSession

    started = spark is None and SparkSession.getActiveSession() is None
    spark = spark or session(master)
    try:
        for name in BASE_VIEWS:
            files = (
                event_files(export_dir) if name == "events" else [snapshot_file(name, export_dir)]
            )
            spark.read.parquet(*[str(f) for f in files]).createOrReplaceTempView(name)
        spark.sql(params.sql()).createOrReplaceTempView("params")
        cached = []
        for name, sql in DERIVED:
            frame = spark.sql(sql)
            frame.cache()
            frame.createOrReplaceTempView(name)
            cached.append(frame)

        def query(sql: str) -> tuple[list[str], Sequence[Sequence[Any]]]:
            frame = spark.sql(sql)
            return list(frame.columns), [tuple(row) for row in frame.collect()]

        found = run_checks(query, kinds)
        for frame in cached:
            frame.unpersist()
        return found
    finally:
        if started:
            spark.stop()
