from __future__ import annotations

from dataclasses import asdict
from datetime import time

from django_tasks import task

from weibao.core.scheduling import periodic
from weibao.enforcement import escalation


# After the hazard follow-up (07:00), so today's newly overdue hazards are already marked.
@periodic(at=time(7, 30), name="enforcement.escalation")
@task()
def enforcement_escalation() -> dict[str, int]:
    """Daily: propose cases for units that keep leaving hazards overdue (拒不整改)."""
    return asdict(escalation.run_escalation())
