"""Reads for accounts, always through visible_to."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from weibao.accounts.models import Agency, User
from weibao.core.models import AuditEntry


@dataclass(frozen=True)
class Tile:
    label: str
    count: int
    url_name: str
    query: str = ""  # appended to the link, e.g. "permit_state=expired"


def _routed(url_name: str) -> str:
    """The URL name if it resolves, else "" (a tile without a link): the page may not exist yet
    in every deployment, and the home page must not fail because of it."""
    try:
        reverse(url_name)
    except NoReverseMatch:
        return ""
    return url_name


def hazard_tiles(user: User) -> list[Tile]:
    """Deadlines and acceptance: what a unit or a bureau has to act on."""
    from weibao.hazards.selectors import hazard_counts

    counts = hazard_counts(user)
    days = settings.HAZARD_REMIND_DAYS_BEFORE
    link = _routed("hazard-list")
    due_label = ngettext(
        "Hazards due within %(days)d day", "Hazards due within %(days)d days", days
    ) % {"days": days}
    tiles = [
        # The list's due_within also counts overdue hazards; the tile counts those separately.
        Tile(due_label, counts["due_soon"], link, f"due_within={days}&overdue=false"),
        Tile(str(_("Overdue hazards")), counts["overdue"], link, "overdue=true"),
    ]
    if user.is_regulator or user.is_system_admin or user.is_unit_manager:
        tiles.append(
            Tile(
                str(_("Awaiting acceptance")),
                counts["awaiting_acceptance"],
                link,
                "to_accept=true",
            )
        )
    return tiles


def report_tiles(user: User) -> list[Tile]:
    """Internal hazard reports: the unit's managers verify them in time; the bureaus watch for
    reports left unverified past the limit and for reporters' complaints. One query."""
    from weibao.reporting.models import UNVERIFIED, InternalReport, unverified_overdue_q

    link = _routed("report-list")
    if user.is_unit_manager:
        counts = InternalReport.objects.visible_to(user).aggregate(
            waiting=Count("pk", filter=Q(status__in=UNVERIFIED)),
            overdue=Count("pk", filter=unverified_overdue_q()),
        )
        return [
            Tile(
                str(_("Reports waiting for verification")),
                counts["waiting"],
                link,
                "status=unverified",
            ),
            Tile(str(_("Reports past the time limit")), counts["overdue"], link, "overdue=true"),
        ]
    if user.is_regulator or user.is_system_admin:
        counts = InternalReport.objects.visible_to(user).aggregate(
            overdue=Count("pk", filter=unverified_overdue_q()),
            complaints=Count(
                "pk", filter=Q(escalated_at__isnull=False, complaint_handled_at__isnull=True)
            ),
        )
        return [
            Tile(
                str(_("Internal reports unverified past the limit")),
                counts["overdue"],
                link,
                "overdue=true",
            ),
            Tile(
                str(_("Complaints raised by reporters")),
                counts["complaints"],
                link,
                "complaint=open",
            ),
        ]
    return []


def home_summary(user: User) -> list[Tile]:
    """What the home page counts for this user: only rows they may see."""
    from weibao.registry.models import Enterprise, ExpiryState, Permit, expiry_state_q

    tiles: list[Tile] = []
    units = Enterprise.objects.visible_to(user)
    if user.is_unit_user:
        permits = Permit.objects.visible_to(user).aggregate(
            expiring=Count("pk", filter=expiry_state_q(ExpiryState.EXPIRING)),
            expired=Count("pk", filter=expiry_state_q(ExpiryState.EXPIRED)),
        )
        tiles.append(Tile(str(_("Permits expiring soon")), permits["expiring"], ""))
        tiles.append(Tile(str(_("Expired permits")), permits["expired"], ""))
        tiles.extend(hazard_tiles(user))
        tiles.extend(report_tiles(user))
    elif user.is_regulator or user.is_system_admin:

        def holding(state: str) -> Q:
            permits = Permit.objects.filter(enterprise=OuterRef("pk")).filter(expiry_state_q(state))
            return Q(Exists(permits))

        counts = units.aggregate(
            total=Count("pk"),
            expired=Count("pk", filter=holding(ExpiryState.EXPIRED)),
            expiring=Count("pk", filter=holding(ExpiryState.EXPIRING)),
        )
        tiles.append(Tile(str(_("Units")), counts["total"], "enterprise-list"))
        tiles.append(
            Tile(
                str(_("Units with an expired permit")),
                counts["expired"],
                "enterprise-list",
                f"permit_state={ExpiryState.EXPIRED}",
            )
        )
        tiles.append(
            Tile(
                str(_("Units with a permit expiring soon")),
                counts["expiring"],
                "enterprise-list",
                f"permit_state={ExpiryState.EXPIRING}",
            )
        )
        tiles.extend(hazard_tiles(user))
        tiles.extend(report_tiles(user))
    else:
        tiles.append(Tile(str(_("Units")), units.count(), "enterprise-list"))
    if user.is_regulator or user.is_system_admin or user.is_partner:
        agencies = Agency.objects.visible_to(user).aggregate(
            bureaus=Count("pk", filter=Q(kind__in=sorted(Agency.REGULATOR_KINDS))),
            partners=Count("pk", filter=Q(kind__in=sorted(Agency.PARTNER_KINDS))),
        )
        tiles.append(Tile(str(_("Public-security bureaus")), agencies["bureaus"], "agencies"))
        tiles.append(Tile(str(_("Partner departments")), agencies["partners"], "agencies"))
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
