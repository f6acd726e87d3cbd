from __future__ import annotations

from dataclasses import asdict
from datetime import time

from django_tasks import task

from weibao.core.scheduling import periodic
from weibao.enforcement import escalation, services


# After the hazard follow-up (07:00), so today's newly overdue hazards are already marked.
@periodic(at=time(7, 30), name="enforcement.escalation")
@task()
def enforcement_escalation() -> dict[str, int]:
    """Daily: propose cases for units that keep leaving hazards overdue (拒不整改)."""
    return asdict(escalation.run_escalation())


# Early, so the morning's pages and jobs see the registry as it stands today.
@periodic(at=time(0, 30), name="enforcement.suspensions")
@task()
def enforcement_suspensions() -> dict[str, int]:
    """Daily: permits and units whose decided suspension has ended are in force again."""
    return services.lift_expired_suspensions()
