"""Filters of the case, legal-provision and case-review lists, shared by the API and the pages
(one meaning for each filter)."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from weibao.core.api.filters import BooleanFilter, FilterSet, IdFilter
from weibao.enforcement.models import (
    Case,
    CaseReview,
    CaseStatus,
    LegalProvision,
    PenaltyKind,
)
from weibao.enforcement.selectors import DeadlineState, deadline_label_state, deadline_q
from weibao.registry.filters import DivisionCodeFilter, UnitOwnedFilter

# The API's names for the deadline states of `selectors.deadline_q` (the one definition, shared
# with the pages and the home panel).
DUE_SOON = "due_soon"
OVERDUE = "overdue"
DEADLINE_STATES = [
    (DUE_SOON, _("Deadline near")),
    (OVERDUE, _("Deadline passed")),
]
SELECTOR_STATES = {DUE_SOON: DeadlineState.NEAR, OVERDUE: DeadlineState.PASSED}
DEADLINE_HELP = (
    "open cases whose current deadline (confirm, decide, defence, pay) is near (due_soon: from "
    "today to settings.CASE_DEADLINE_NEAR_WORKING_DAYS working days ahead) or passed (overdue)"
)


def deadline_state(case: Case, today: date, horizon: date) -> str | None:
    """The API's deadline state of one case in memory (no query): due_soon, overdue or None."""
    state = deadline_label_state(case, today, horizon)
    return {DeadlineState.NEAR: DUE_SOON, DeadlineState.PASSED: OVERDUE}.get(state)


class CaseFilter(UnitOwnedFilter):
    status = django_filters.MultipleChoiceFilter(
        choices=CaseStatus.choices, help_text="repeat for several: status=notified&status=decided"
    )
    origin = django_filters.ChoiceFilter(choices=Case.Origin.choices)
    deadline = django_filters.ChoiceFilter(
        choices=DEADLINE_STATES, method="filter_deadline", help_text=DEADLINE_HELP
    )
    provision = IdFilter(field_name="provisions", help_text="cases applying this provision")
    officer = IdFilter(field_name="officers", help_text="cases this officer handles")
    proposed_on_after = django_filters.DateFilter(field_name="proposed_on", lookup_expr="gte")
    proposed_on_before = django_filters.DateFilter(field_name="proposed_on", lookup_expr="lte")

    class Meta:
        model = Case
        fields = [
            "jurisdiction",
            "enterprise",
            "status",
            "origin",
            "deadline",
            "provision",
            "officer",
            "proposed_on_after",
            "proposed_on_before",
        ]

    def filter_deadline(self, qs: QuerySet[Case], name: str, value: str) -> Any:
        if not value:
            return qs
        return qs.filter(deadline_q(SELECTOR_STATES[value]))


class ProvisionFilter(FilterSet):
    law = django_filters.CharFilter(
        method="filter_law", help_text="part of the law's name, in Chinese or English"
    )
    kind = django_filters.ChoiceFilter(
        choices=PenaltyKind.choices,
        method="filter_kind",
        help_text="provisions that allow this kind of penalty",
    )
    verified = BooleanFilter(help_text="whether an administrator checked the text")
    active = BooleanFilter(field_name="is_active", help_text="provisions still in use")

    class Meta:
        model = LegalProvision
        fields = ["law", "kind", "verified", "active"]

    def filter_law(self, qs: QuerySet[LegalProvision], name: str, value: str) -> Any:
        if not value:
            return qs
        return qs.filter(Q(law__icontains=value) | Q(law_en__icontains=value))

    def filter_kind(self, qs: QuerySet[LegalProvision], name: str, value: str) -> Any:
        if not value:
            return qs
        # A handful of provisions, and JSON containment is not portable to SQLite: read them.
        matching = [pk for pk, kinds in qs.values_list("pk", "allowed_kinds") if value in kinds]
        return qs.filter(pk__in=matching)


class CaseReviewFilter(FilterSet):
    jurisdiction = DivisionCodeFilter(
        field_name="case__enterprise__jurisdiction",
        help_text="reviews of cases on units in this division or a division inside it",
    )
    enterprise = IdFilter(field_name="case__enterprise_id")
    case = IdFilter(field_name="case_id")
    reviewed_after = django_filters.DateFilter(field_name="reviewed_at", lookup_expr="date__gte")
    reviewed_before = django_filters.DateFilter(field_name="reviewed_at", lookup_expr="date__lte")

    class Meta:
        model = CaseReview
        fields = ["jurisdiction", "enterprise", "case", "reviewed_after", "reviewed_before"]
