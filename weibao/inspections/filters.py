"""Filters of the checklist, campaign, conflict and inspection lists (API and pages alike)."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters

from weibao.core.api.filters import BooleanFilter, FilterSet, IdFilter
from weibao.inspections.models import Campaign, Checklist, Inspection, InspectorConflict
from weibao.inspections.selectors import CampaignState, campaign_state_q
from weibao.registry.filters import DivisionCodeFilter
from weibao.registry.models import EnterpriseKind, kinds_q


def _filter_kind(qs: Any, name: str, value: str) -> Any:
    return qs.filter(kinds_q(value))


class ChecklistFilter(FilterSet):
    code = django_filters.CharFilter(help_text="All versions of one checklist.")
    kind = django_filters.ChoiceFilter(
        choices=EnterpriseKind.choices,
        method=_filter_kind,
        help_text="Checklists for this unit kind.",
    )
    current = BooleanFilter(field_name="is_current", help_text="Only the current versions.")

    class Meta:
        model = Checklist
        fields = ["code", "kind", "current"]


class CampaignFilter(FilterSet):
    active_on = django_filters.DateFilter(
        method="filter_active_on", help_text="Campaigns whose period includes this date."
    )
    state = django_filters.ChoiceFilter(
        choices=CampaignState.choices,
        method="filter_state",
        help_text="Relative to today: not started yet, running, or over.",
    )
    jurisdiction = DivisionCodeFilter(
        field_name="jurisdiction",
        help_text="Campaigns organised for this division or a division inside it.",
    )
    kind = django_filters.ChoiceFilter(
        choices=EnterpriseKind.choices,
        method=_filter_kind,
        help_text="Campaigns covering this unit kind.",
    )

    class Meta:
        model = Campaign
        fields = ["active_on", "state", "jurisdiction", "kind"]

    def filter_active_on(self, qs: Any, name: str, value: date) -> Any:
        return qs.filter(starts_on__lte=value, ends_on__gte=value)

    def filter_state(self, qs: Any, name: str, value: str) -> Any:
        return qs.filter(campaign_state_q(value))


class ConflictFilter(FilterSet):
    inspector = IdFilter(field_name="inspector_id")
    enterprise = IdFilter(field_name="enterprise_id")

    class Meta:
        model = InspectorConflict
        fields = ["inspector", "enterprise"]


class InspectionFilter(FilterSet):
    kind = django_filters.ChoiceFilter(choices=Inspection.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Inspection.Status.choices)
    enterprise = IdFilter(field_name="enterprise_id")
    campaign = IdFilter(field_name="campaign_id")
    jurisdiction = DivisionCodeFilter(
        field_name="enterprise__jurisdiction",
        help_text="Inspections of units in this division or a division inside it.",
    )
    inspected_on_after = django_filters.DateFilter(
        field_name="inspected_on", lookup_expr="gte", help_text="Inspected on or after."
    )
    inspected_on_before = django_filters.DateFilter(
        field_name="inspected_on", lookup_expr="lte", help_text="Inspected on or before."
    )

    class Meta:
        model = Inspection
        fields = [
            "kind",
            "status",
            "enterprise",
            "campaign",
            "jurisdiction",
            "inspected_on_after",
            "inspected_on_before",
        ]
