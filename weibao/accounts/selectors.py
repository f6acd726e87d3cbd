"""Reads for accounts, always through visible_to."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import Agency, User
from weibao.core.models import AuditEntry


@dataclass(frozen=True)
class Tile:
    label: str
    count: int
    url_name: str


def home_summary(user: User) -> list[Tile]:
    """What the home page counts for this user: only rows they may see."""
    tiles: list[Tile] = []
    if user.is_regulator or user.is_system_admin or user.is_partner:
        counts = Agency.objects.visible_to(user).aggregate(
            bureaus=Count("pk", filter=Q(kind__in=list(Agency.REGULATOR_KINDS))),
            partners=Count("pk", filter=Q(kind__in=list(Agency.PARTNER_KINDS))),
        )
        tiles.append(Tile(str(_("Public-security bureaus")), counts["bureaus"], "agencies"))
        tiles.append(Tile(str(_("Partner departments")), counts["partners"], "agencies"))
    if user.is_regulator or user.is_system_admin:
        tiles.append(Tile(str(_("Users")), User.objects.visible_to(user).count(), ""))
    if user.has_perm("core.view_auditentry"):
        tiles.append(
            Tile(
                str(_("Recorded changes")),
                AuditEntry.objects.visible_to(user).count(),
                "audit-list",
            )
        )
    return tiles
