from __future__ import annotations

import logging
from datetime import time
from typing import Any

from django.conf import settings
from django_tasks import task

from weibao.core.scheduling import periodic
from weibao.ledger import reconcile

logger = logging.getLogger(__name__)


@periodic(at=time(2, 0), name="ledger.reconcile")
@task()
def ledger_reconcile() -> dict[str, Any]:
    """Nightly: export the day's events, run every check on LEDGER_RECONCILE_ENGINE (DuckDB, or
    Spark on LEDGER_SPARK_MASTER), keep the anomalies (critical losses are notified to the
    county at once)."""
    engine = settings.LEDGER_RECONCILE_ENGINE
    master = settings.LEDGER_SPARK_MASTER if engine == "spark" else None
    try:
        result = reconcile.run(engine=engine, master=master)
    except reconcile.EngineUnavailable as exc:
        # Never fall back to DuckDB: the operator chose Spark, and a quiet substitute would hide
        # a broken worker install until someone compared the engines.
        logger.error(
            "ledger.reconcile did not run: LEDGER_RECONCILE_ENGINE=%s but %s "
            "(install it where the worker runs, or set LEDGER_RECONCILE_ENGINE=duckdb)",
            engine,
            exc,
        )
        raise
    summary = result.as_dict()
    logger.info(
        "ledger.reconcile on %s: %d findings, %d created, %d updated, %d notified",
        engine,
        sum(result.counts.values()),
        summary["created"],
        summary["updated"],
        summary["notified"],
    )
    return summary
