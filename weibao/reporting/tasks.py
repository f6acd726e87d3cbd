from __future__ import annotations

from dataclasses import asdict
from datetime import time

from django_tasks import task

from weibao.core.scheduling import periodic
from weibao.reporting import followup


@periodic(at=time(7, 10), name="reporting.followup")
@task()
def report_followup() -> dict[str, int]:
    """Daily: remind units of today's verification limits; report reports left past them."""
    return asdict(followup.run_report_followup())
