from __future__ import annotations

from dataclasses import asdict
from datetime import time

from django_tasks import task

from weibao.core.scheduling import periodic
from weibao.registry import compliance


@periodic(at=time(6, 0), name="registry.compliance_scan")
@task()
def compliance_scan() -> dict[str, int]:
    """Daily: re-evaluate every unit and notify units and counties of new findings."""
    return asdict(compliance.scan())
