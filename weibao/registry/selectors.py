"""Reads for the registry pages and API, always through visible_to."""

from __future__ import annotations

from django.db.models import QuerySet

from weibao.accounts.models import User
from weibao.core.models import AuditEntry
from weibao.registry import compliance
from weibao.registry.models import Enterprise


def enterprise_findings(unit: Enterprise) -> list[compliance.Finding]:
    loaded = compliance.with_registry(Enterprise.objects.filter(pk=unit.pk)).get()
    return compliance.evaluate(loaded, compliance.enabled_rules())


def enterprise_detail(user: User, pk: int) -> Enterprise:
    """Everything the unit page shows, in a fixed number of queries (404 if not visible)."""
    from django.shortcuts import get_object_or_404

    queryset = (
        Enterprise.objects.visible_to(user)
        .select_related("jurisdiction")
        .prefetch_related("permits", "sites", "people", "people__certificates")
    )
    unit: Enterprise = get_object_or_404(queryset, pk=pk)
    return unit


def enterprise_history(user: User, unit: Enterprise, limit: int = 20) -> QuerySet[AuditEntry]:
    """The unit's own changes (its permits, sites and people have their own history links)."""
    return (
        AuditEntry.objects.visible_to(user)
        .filter(object_type="registry.enterprise", object_id=str(unit.pk))
        .order_by("-seq")[:limit]
    )


def unit_accounts(unit: Enterprise) -> QuerySet[User]:
    accounts: QuerySet[User] = User.objects.filter(enterprise=unit).order_by("role", "username")
    return accounts
