"""Spark and DuckDB give identical findings on the same export (run by .ci/run and
`make test-spark`; needs pyspark, the `spark` extra, and Java)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from weibao.ledger import export, reconcile
from weibao.ledger.models import Anomaly
from weibao.ledger.tests.test_reconcile import ingest_history
from weibao.tests.factories import World

pytestmark = [pytest.mark.spark, pytest.mark.django_db]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    # Skipped here, not when the module is collected: other runs (-m browser) collect this
    # module too, and a collection-time skip would count as a skipped test there.
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime")
    from weibao.ledger.reconcile import spark_engine

    session = spark_engine.session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_finds_exactly_what_duckdb_finds(world: World, tmp_path: Path, spark: Any) -> None:
    history = ingest_history(world)
    export.ledger_export(export_dir=tmp_path)
    early = timezone.make_aware(
        datetime.combine(history.first_day + timedelta(days=5), day_time(12, 0))
    )
    found = {}
    for as_of in (None, early):
        started = time.perf_counter()
        on_duckdb = reconcile.find(engine="duckdb", export_dir=tmp_path, as_of=as_of)
        middle = time.perf_counter()
        on_spark = reconcile.find(engine="spark", export_dir=tmp_path, as_of=as_of)
        done = time.perf_counter()
        print(f"as_of={as_of}: duckdb {middle - started:.2f}s, spark {done - middle:.2f}s")
        assert on_spark == on_duckdb
        found[as_of] = {f.key for f in on_spark}
    assert found[None] == history.expected
    assert found[early] < history.expected  # the early cut sees less


def test_run_on_spark_keeps_the_anomalies(world: World, tmp_path: Path, spark: Any) -> None:
    history = ingest_history(world)
    result = reconcile.run(engine="spark", export_dir=tmp_path)
    assert result.engine == "spark"
    assert set(Anomaly.objects.values_list("key", flat=True)) == history.expected
