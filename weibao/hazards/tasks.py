from __future__ import annotations

from dataclasses import asdict
from datetime import time

from django_tasks import task

from weibao.core.scheduling import periodic
from weibao.hazards import followup


@periodic(at=time(7, 0), name="hazards.followup")
@task()
def hazard_followup() -> dict[str, int]:
    """Daily: remind units of deadlines, report newly overdue hazards to units and counties."""
    return asdict(followup.run_followup())
