"""Who hears about a unit's new compliance findings: its managers and its county regulators."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

from weibao.accounts.models import Role, User
from weibao.core.notifications import notify

if TYPE_CHECKING:
    from weibao.registry.compliance import Finding
    from weibao.registry.models import Enterprise


def recipients_for(unit: Enterprise) -> list[User]:
    managers = User.objects.filter(
        enterprise=unit, is_active=True, role__in=[Role.UNIT_PRINCIPAL, Role.UNIT_SAFETY_OFFICER]
    )
    county = User.objects.filter(
        is_active=True, role=Role.COUNTY_REGULATOR, agency__jurisdiction_id=unit.jurisdiction_id
    )
    return [*managers, *county]


def notify_new_findings(unit: Enterprise, findings: list[Finding]) -> int:
    return notify(
        recipients=recipients_for(unit),
        verb="compliance.new",
        params={
            "unit": unit.name,
            "unit_id": unit.pk,
            "count": len(findings),
            "major": sum(1 for f in findings if f.level == "major"),
        },
        url=reverse("enterprise-detail", args=[unit.pk]),
    )
