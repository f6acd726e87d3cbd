from __future__ import annotations

from datetime import time
from typing import Any

from django_tasks import task

from weibao.core.scheduling import periodic
from weibao.ledger import reconcile


@periodic(at=time(2, 0), name="ledger.reconcile")
@task()
def ledger_reconcile() -> dict[str, Any]:
    """Nightly: export the day's events, run every check on DuckDB, keep the anomalies (critical
    losses are notified to the county at once)."""
    return reconcile.run().as_dict()
