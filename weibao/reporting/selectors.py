"""Reads on internal reports, already scoped (`visible_to`), with what their pages need loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from weibao.core.i18n import localized
from weibao.reporting import receipts
from weibao.reporting.models import (
    CONFIRMED,
    DECIDED,
    InternalReport,
    ReportChannel,
    ReportEvent,
    ReportStatus,
    unverified_overdue_q,
)


def report_queryset(user: Any) -> QuerySet[InternalReport]:
    return (
        InternalReport.objects.visible_to(user)
        .select_related("enterprise", "site", "hazard", "duplicate_of")
        .order_by("-submitted_at", "-id")
    )


def report_by_receipt(code: str) -> InternalReport | None:
    """The report a receipt code follows. One hash and one indexed query whatever the code, so
    an unknown code is answered like a known one (no enumeration by timing)."""
    report: InternalReport | None = (
        InternalReport.objects.select_related("enterprise", "site", "duplicate_of")
        .filter(receipt_hash=receipts.digest(code))
        .first()
    )
    if report is None or not receipts.normalize(code):
        return None
    return report


def report_events(report: InternalReport) -> list[ReportEvent]:
    return list(report.events.select_related("actor").order_by("at", "id"))


def public_status(report: InternalReport) -> dict[str, Any]:
    """What a receipt holder sees: status, the unit's reply, the reward, the bureau's answer.
    Nothing about who handled it or what else the unit holds."""
    today = timezone.localdate()
    overdue = report.status in (ReportStatus.SUBMITTED, ReportStatus.VERIFYING) and (
        report.verify_by < today
    )
    channel = ReportChannel.objects.filter(enterprise_id=report.enterprise_id).first()
    return {
        "reference": report.reference,
        "unit": report.enterprise.name,
        "status": report.status,
        "status_display": report.get_status_display(),
        "category": report.category,
        "category_display": report.get_category_display(),
        "submitted_on": report.submitted_on,
        "verify_by": report.verify_by,
        "overdue": overdue,
        "reply": report.reply,
        "duplicate_of": report.duplicate_of.reference if report.duplicate_of else None,
        "reward_proposed": report.reward_proposed,
        "reward_amount": report.reward_amount,
        "reward_paid_on": report.reward_paid_on,
        "payout_instructions": channel.payout_instructions if channel else "",
        "may_escalate": overdue and report.escalated_at is None,
        "escalated_at": report.escalated_at,
        "complaint_reply": report.complaint_reply,
        "complaint_handled_at": report.complaint_handled_at,
    }


def reports_needing_verification(user: Any) -> QuerySet[InternalReport]:
    """The unit's queue: reports waiting for a decision, oldest limit first."""
    return (
        report_queryset(user)
        .filter(status__in=(ReportStatus.SUBMITTED, ReportStatus.VERIFYING))
        .order_by("verify_by", "id")
    )


def reports_overdue(user: Any, today: date | None = None) -> QuerySet[InternalReport]:
    return report_queryset(user).filter(unverified_overdue_q(today))


def open_complaints(user: Any) -> QuerySet[InternalReport]:
    return report_queryset(user).filter(
        escalated_at__isnull=False, complaint_handled_at__isnull=True
    )


def my_reports(user: Any) -> QuerySet[InternalReport]:
    """Reports a signed-in reporter made under their name (anonymous ones are not linked)."""
    return (
        InternalReport.objects.filter(identity__user_id=user.pk)
        .select_related("enterprise")
        .order_by("-submitted_at", "-id")
    )


# --- oversight ------------------------------------------------------------------------------
@dataclass
class OversightRow:
    """One unit's or one county's figures for a period."""

    key: str
    label: str
    received: int = 0
    decided: int = 0
    verified_in_time: int = 0
    confirmed: int = 0
    rewarded: int = 0
    reward_total: Decimal = field(default_factory=lambda: Decimal("0"))
    overdue: int = 0
    complaints_open: int = 0

    @property
    def in_time_rate(self) -> float | None:
        return None if not self.decided else self.verified_in_time / self.decided

    def add(self, other: OversightRow) -> None:
        for name in (
            "received",
            "decided",
            "verified_in_time",
            "confirmed",
            "rewarded",
            "reward_total",
            "overdue",
            "complaints_open",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def oversight(
    user: Any, *, start: date | None = None, end: date | None = None, today: date | None = None
) -> tuple[list[OversightRow], list[OversightRow], OversightRow]:
    """Per unit and per county: reports received in the period, how many the unit decided within
    its time limit, confirmed, rewarded (and the amounts), and how many are unverified past the
    limit now. One grouped query, whatever the number of units."""
    today = today or timezone.localdate()
    rows = InternalReport.objects.visible_to(user)
    if start is not None:
        rows = rows.filter(submitted_on__gte=start)
    if end is not None:
        rows = rows.filter(submitted_on__lte=end)
    grouped = (
        rows.values(
            "enterprise_id",
            "enterprise__name",
            "enterprise__jurisdiction_id",
            "enterprise__jurisdiction__name",
            "enterprise__jurisdiction__name_en",
        )
        .annotate(
            received=Count("id"),
            decided=Count("id", filter=Q(status__in=DECIDED)),
            verified_in_time=Count(
                "id", filter=Q(status__in=DECIDED, decided_on__lte=F("verify_by"))
            ),
            confirmed=Count("id", filter=Q(status__in=CONFIRMED)),
            rewarded=Count("id", filter=Q(status=ReportStatus.REWARDED)),
            reward_total=Sum("reward_amount", filter=Q(status=ReportStatus.REWARDED)),
            overdue=Count("id", filter=unverified_overdue_q(today)),
            complaints_open=Count(
                "id", filter=Q(escalated_at__isnull=False, complaint_handled_at__isnull=True)
            ),
        )
        .order_by("enterprise__jurisdiction_id", "enterprise__name")
    )
    units: list[OversightRow] = []
    counties: dict[str, OversightRow] = {}
    total = OversightRow(key="", label="")
    for row in grouped:
        unit = OversightRow(
            key=str(row["enterprise_id"]),
            label=row["enterprise__name"],
            received=row["received"],
            decided=row["decided"],
            verified_in_time=row["verified_in_time"],
            confirmed=row["confirmed"],
            rewarded=row["rewarded"],
            reward_total=row["reward_total"] or Decimal("0"),
            overdue=row["overdue"],
            complaints_open=row["complaints_open"],
        )
        units.append(unit)
        code = row["enterprise__jurisdiction_id"]
        county = counties.setdefault(
            code,
            OversightRow(
                key=code,
                label=localized(
                    row["enterprise__jurisdiction__name"],
                    row["enterprise__jurisdiction__name_en"],
                ),
            ),
        )
        county.add(unit)
        total.add(unit)
    return units, list(counties.values()), total
