"""Writes for campaigns, conflicts of interest and spot-check draws."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from weibao.accounts.models import User
from weibao.core.errors import DomainError, ServiceValidationError
from weibao.core.scoping import covers, prefix_q
from weibao.inspections import draw as random_draw
from weibao.inspections.models import (
    Campaign,
    CampaignDraw,
    Inspection,
    InspectorConflict,
)
from weibao.inspections.services.inspections import REGULATOR_ROLES, inspection_create, save_checked
from weibao.registry.models import Enterprise, Jurisdiction, jurisdiction_prefix


# --- campaigns ---------------------------------------------------------------------------------
def _check_area(actor: User, code: str, field: str = "jurisdiction") -> None:
    if not covers(actor, code):
        raise ServiceValidationError(
            {field: [_("Division %(code)s is outside your jurisdiction.") % {"code": code}]}
        )


@transaction.atomic
def campaign_create(*, actor: User, data: dict[str, Any]) -> Campaign:
    """A campaign organised by the actor's bureau for its area (or part of it)."""
    if not (actor.is_regulator and actor.agency is not None):
        raise PermissionDenied(_("Only a public-security bureau organises campaigns."))
    data = dict(data)
    jurisdiction = data.pop("jurisdiction", None) or actor.agency.jurisdiction
    _check_area(actor, jurisdiction.pk)
    campaign = Campaign(jurisdiction=jurisdiction, agency=actor.agency, created_by=actor)
    return _campaign_write(campaign, data)


@transaction.atomic
def campaign_update(*, actor: User, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    if not actor.has_perm("inspections.change_campaign", campaign):
        raise PermissionDenied(_("Only the organising bureau or the bureau above changes it."))
    if "jurisdiction" in data:
        _check_area(actor, data["jurisdiction"].pk)
    return _campaign_write(campaign, dict(data))


def _campaign_write(campaign: Campaign, data: dict[str, Any]) -> Campaign:
    if "scope" in data:
        campaign.scope_codes = ",".join(j.pk for j in data.pop("scope"))
    if "kinds" in data:
        campaign.kinds = ",".join(data.pop("kinds"))
    for field, value in data.items():
        setattr(campaign, field, value)
    if not campaign.scope_codes and campaign.jurisdiction_id:
        campaign.scope_codes = campaign.jurisdiction_id
    save_checked(campaign)
    return campaign


@transaction.atomic
def conflict_create(
    *, actor: User, inspector: User, enterprise: Enterprise, reason: str
) -> InspectorConflict:
    if not (
        actor.is_system_admin or (actor.is_regulator and covers(actor, enterprise.jurisdiction_id))
    ):
        raise PermissionDenied(_("This unit is outside your jurisdiction."))
    if inspector.role not in REGULATOR_ROLES:
        raise ServiceValidationError(
            {"inspector": [_("Only inspectors have conflicts to record.")]}
        )
    if InspectorConflict.objects.filter(inspector=inspector, enterprise=enterprise).exists():
        raise ServiceValidationError(
            {"inspector": [_("This conflict of interest is already recorded.")]}
        )
    conflict = InspectorConflict(inspector=inspector, enterprise=enterprise, reason=reason)
    save_checked(conflict)
    return conflict


@transaction.atomic
def campaign_draw(
    *,
    actor: User,
    campaign: Campaign,
    jurisdiction: Jurisdiction | None = None,
    seed: str | None = None,
) -> CampaignDraw:
    """Draw the campaign's spot checks for one area (default: the actor's bureau's area), pair
    each unit with two of that bureau's officers, and create their draft inspections."""
    if not (actor.is_regulator and actor.agency is not None):
        raise PermissionDenied(_("Only a public-security bureau draws spot checks."))
    area = jurisdiction or actor.agency.jurisdiction
    _check_area(actor, area.pk)
    prefix = jurisdiction_prefix(area.pk)
    in_campaign = any(
        area.pk.startswith(jurisdiction_prefix(code)) or code.startswith(prefix)
        for code in campaign.scope_list
    )
    if not in_campaign:
        raise ServiceValidationError({"jurisdiction": [_("This area is not in the campaign.")]})
    if CampaignDraw.objects.filter(campaign=campaign, jurisdiction=area).exists():
        raise DomainError(
            _("The spot checks for this campaign and area were already drawn; a draw is final.")
        )
    units = list(
        campaign.units_in_scope()
        .filter(prefix_q("jurisdiction__code", prefix))
        .order_by("pk")
        .values_list("pk", "risk_weight")
    )
    if not units:
        raise ServiceValidationError(
            {"jurisdiction": [_("No unit of the campaign is in this area.")]}
        )
    pool = list(
        User.objects.filter(
            is_active=True, role__in=REGULATOR_ROLES, agency__jurisdiction_id=area.pk
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    unit_ids = [pk for pk, _weight in units]
    conflicts = sorted(
        InspectorConflict.objects.filter(
            enterprise_id__in=unit_ids, inspector_id__in=pool
        ).values_list("inspector_id", "enterprise_id")
    )
    seed = seed or secrets.token_hex(16)
    population = [(pk, float(weight)) for pk, weight in units]
    try:
        pairings = random_draw.draw(
            seed=seed,
            ratio=campaign.spot_check_ratio,
            population=population,
            pool=pool,
            conflicts=conflicts,
        )
    except random_draw.DrawImpossible as exc:
        unit = Enterprise.objects.get(pk=exc.unit)
        raise ServiceValidationError(
            {
                "inspectors": [
                    _("Fewer than two officers without a conflict of interest for %(unit)s.")
                    % {"unit": unit.name}
                ]
            }
        ) from None
    record = CampaignDraw(
        campaign=campaign,
        jurisdiction=area,
        seed=seed,
        ratio=campaign.spot_check_ratio,
        population=[list(p) for p in population],
        inspector_pool=pool,
        conflicts=[list(c) for c in conflicts],
        result=[[p.unit, list(p.inspectors)] for p in pairings],
        drawn_by=actor,
    )
    save_checked(record)
    enterprises = Enterprise.objects.in_bulk([p.unit for p in pairings])
    officers = User.objects.in_bulk(pool)
    for pairing in pairings:
        inspection_create(
            actor=actor,
            data={
                "kind": Inspection.Kind.SPOT_CHECK,
                "enterprise": enterprises[pairing.unit],
                "campaign": campaign,
                "draw": record,
                "checklist": campaign.checklist,
                "inspectors": [officers[i] for i in pairing.inspectors],
            },
            include_actor=False,
        )
    return record


def draw_replay(record: CampaignDraw) -> bool:
    """Whether re-running a stored draw from its recorded inputs gives the stored result."""
    pairings = random_draw.draw(
        seed=record.seed,
        ratio=record.ratio,
        population=[(int(u), float(w)) for u, w in record.population],
        pool=record.inspector_pool,
        conflicts=[(int(i), int(u)) for i, u in record.conflicts],
    )
    return bool([[p.unit, list(p.inspectors)] for p in pairings] == record.result)
