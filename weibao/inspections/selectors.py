"""Reads for the inspections pages and API, always through visible_to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import models
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import User
from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import Hazard, HazardStatus
from weibao.inspections.models import (
    Answer,
    AnswerPhoto,
    Campaign,
    CampaignDraw,
    Checklist,
    ChecklistItem,
    Inspection,
    InspectorConflict,
)
from weibao.registry.models import Enterprise


class CampaignState(models.TextChoices):
    """Where a campaign's period lies relative to today (derived, never stored)."""

    UPCOMING = "upcoming", _("Upcoming")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


def campaign_state(campaign: Campaign, today: date | None = None) -> CampaignState:
    today = today or timezone.localdate()
    if campaign.starts_on > today:
        return CampaignState.UPCOMING
    if campaign.ends_on < today:
        return CampaignState.ENDED
    return CampaignState.ACTIVE


def campaign_state_q(state: str, today: date | None = None) -> Q:
    today = today or timezone.localdate()
    if state == CampaignState.UPCOMING:
        return Q(starts_on__gt=today)
    if state == CampaignState.ENDED:
        return Q(ends_on__lt=today)
    return Q(starts_on__lte=today, ends_on__gte=today)


# --- querysets the API and pages list from -----------------------------------------------------
def checklists(user: User) -> QuerySet[Checklist]:
    # A GROUP BY drops the model's default ordering: say it again.
    queryset: QuerySet[Checklist] = (
        Checklist.objects.visible_to(user)
        .annotate(item_count=Count("items"))
        .order_by("code", "-version")
    )
    return queryset


def checklist_detail(user: User) -> QuerySet[Checklist]:
    queryset: QuerySet[Checklist] = Checklist.objects.visible_to(user).prefetch_related(
        Prefetch("items", queryset=ChecklistItem.objects.order_by("position"))
    )
    return queryset


def campaigns(user: User) -> QuerySet[Campaign]:
    queryset: QuerySet[Campaign] = Campaign.objects.visible_to(user).select_related(
        "jurisdiction", "agency", "checklist"
    )
    return queryset


def conflicts(user: User) -> QuerySet[InspectorConflict]:
    queryset: QuerySet[InspectorConflict] = (
        InspectorConflict.objects.visible_to(user)
        .select_related("inspector", "enterprise")
        .order_by("-created_at", "-id")
    )
    return queryset


def inspections(user: User) -> QuerySet[Inspection]:
    queryset: QuerySet[Inspection] = (
        Inspection.objects.visible_to(user)
        .select_related("enterprise", "site", "checklist", "campaign", "agency")
        .prefetch_related(
            Prefetch("inspectors", queryset=User.objects.only("pk", "username", "full_name"))
        )
    )
    return queryset


def inspection_detail(user: User) -> QuerySet[Inspection]:
    """Everything the detail shows, in a fixed number of queries whatever the checklist size."""
    answers = Answer.objects.order_by("position").prefetch_related(
        Prefetch("photos", queryset=AnswerPhoto.objects.order_by("id"))
    )
    return inspections(user).prefetch_related(
        Prefetch("answers", queryset=answers),
        Prefetch("hazards", queryset=Hazard.objects.visible_to(user).order_by("id")),
    )


def inspection_photo(inspection: Inspection, photo_id: int) -> AnswerPhoto | None:
    """A photo of one of the inspection's answers (the inspection was found through
    visible_to, so the photo is visible too)."""
    return AnswerPhoto.objects.filter(pk=photo_id, answer__inspection=inspection).first()


# --- draws --------------------------------------------------------------------------------------
def campaign_draws(user: User, campaign: Campaign) -> QuerySet[CampaignDraw]:
    queryset: QuerySet[CampaignDraw] = (
        CampaignDraw.objects.visible_to(user)
        .filter(campaign=campaign)
        .select_related("jurisdiction", "drawn_by")
        .order_by("-drawn_at", "-id")
    )
    return queryset


def draw_results(user: User, draws: Sequence[CampaignDraw]) -> dict[int, list[dict[str, Any]]]:
    """Each draw's stored result with names and the inspections it created, in three queries
    for any number of draws. Names come through visible_to: someone who sees a draw sees its
    area, but nothing outside it is ever named."""
    unit_ids: set[int] = set()
    user_ids: set[int] = set()
    for record in draws:
        for unit, inspectors in record.result:
            unit_ids.add(int(unit))
            user_ids.update(int(i) for i in inspectors)
    units = dict(
        Enterprise.objects.visible_to(user).filter(pk__in=unit_ids).values_list("pk", "name")
    )
    people = {
        u.pk: str(u)
        for u in User.objects.visible_to(user)
        .filter(pk__in=user_ids)
        .only("pk", "username", "full_name")
    }
    made = {
        (draw_id, unit): pk
        for pk, draw_id, unit in Inspection.objects.visible_to(user)
        .filter(draw__in=[d.pk for d in draws])
        .values_list("pk", "draw_id", "enterprise_id")
    }
    return {
        record.pk: [
            {
                "unit": int(unit),
                "unit_name": units.get(int(unit), ""),
                "inspectors": [{"id": int(i), "name": people.get(int(i), "")} for i in inspectors],
                "inspection": made.get((record.pk, int(unit))),
            }
            for unit, inspectors in record.result
        ]
        for record in draws
    }


# --- campaign progress --------------------------------------------------------------------------
def _rows(counts: Iterable[dict[str, Any]], key: str, labels: dict[str, Any]) -> list[Any]:
    totals: dict[str, int] = {}
    for row in counts:
        totals[row[key]] = totals.get(row[key], 0) + row["n"]
    return [
        {key: code, f"{key}_display": str(labels.get(code, code)), "count": n}
        for code, n in sorted(totals.items())
    ]


def campaign_progress(campaign: Campaign, user: User) -> dict[str, Any]:
    """How far the campaign has come, counted over what the user may see, in four aggregate
    queries whatever the number of units."""
    units = campaign.units_in_scope().filter(
        pk__in=Enterprise.objects.visible_to(user).values("pk")
    )
    unit_count = units.count()
    visible = Inspection.objects.visible_to(user).filter(campaign=campaign)
    submitted = Q(status=Inspection.Status.SUBMITTED)
    own = visible.aggregate(
        self_units=Count(
            "enterprise",
            distinct=True,
            filter=submitted & Q(kind=Inspection.Kind.SELF_INSPECTION),
        ),
        spot_drawn=Count("pk", filter=Q(kind=Inspection.Kind.SPOT_CHECK)),
        spot_submitted=Count("pk", filter=submitted & Q(kind=Inspection.Kind.SPOT_CHECK)),
    )
    by_kind = visible.filter(submitted).values("kind").annotate(n=Count("pk")).order_by()
    hazards = list(
        Hazard.objects.visible_to(user)
        .filter(inspection__campaign=campaign)
        .values("level", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {
        "campaign": campaign.pk,
        "state": campaign_state(campaign),
        "units_in_scope": unit_count,
        "self_inspections": {
            "required": unit_count if campaign.self_inspection_required else 0,
            "submitted": own["self_units"],
            "due": campaign.self_inspection_due,
        },
        "spot_checks": {"drawn": own["spot_drawn"], "submitted": own["spot_submitted"]},
        "inspections_submitted": _rows(by_kind, "kind", dict(Inspection.Kind.choices)),
        "hazards": {
            "total": sum(row["n"] for row in hazards),
            "by_level": _rows(hazards, "level", dict(HazardLevel.choices)),
            "by_status": _rows(hazards, "status", dict(HazardStatus.choices)),
        },
    }
