"""Filters of the hazard ledger, shared by the API and the pages (one meaning for each filter)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from weibao.core.api.filters import BooleanFilter, IdFilter
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.hazards.models import PENDING, Hazard, HazardStatus, overdue_q
from weibao.registry.filters import UnitOwnedFilter

# A "due within" horizon beyond a year is a typo rather than a plan; keeps the date arithmetic
# far from its limits.
MAX_DUE_WITHIN_DAYS = 3660


OVERDUE_HELP = "past the deadline with the unit's work not handed in (open or rectifying)"
DUE_WITHIN_HELP = (
    "still owed by the unit (open or rectifying) with the deadline at most this many days from "
    "today (overdue ones included)"
)


# (A filter whose schema is overridden takes its description from the override only.)
@extend_schema_field({"type": "boolean", "description": OVERDUE_HELP})
class OverdueFilter(BooleanFilter):
    pass


@extend_schema_field(
    {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_DUE_WITHIN_DAYS,
        "description": DUE_WITHIN_HELP,
    }
)
class DueWithinFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_DUE_WITHIN_DAYS)
        super().__init__(*args, **kwargs)


TO_ACCEPT_HELP = (
    "awaiting acceptance by you: for a bureau, hazards it found and every major one; for a "
    "unit's principal or safety officer, the unit's own general hazards"
)


@extend_schema_field({"type": "boolean", "description": TO_ACCEPT_HELP})
class ToAcceptFilter(BooleanFilter):
    pass


class HazardFilter(UnitOwnedFilter):
    site = IdFilter(field_name="site_id")
    inspection = IdFilter(field_name="inspection_id")
    level = django_filters.ChoiceFilter(choices=HazardLevel.choices)
    status = django_filters.MultipleChoiceFilter(
        choices=HazardStatus.choices, help_text="repeat for several: status=open&status=rectifying"
    )
    source = django_filters.ChoiceFilter(choices=Hazard.Source.choices)
    category = django_filters.ChoiceFilter(choices=HazardCategory.choices)
    overdue = OverdueFilter(method="filter_overdue", help_text=OVERDUE_HELP)
    due_within = DueWithinFilter(method="filter_due_within", help_text=DUE_WITHIN_HELP)
    found_on_after = django_filters.DateFilter(field_name="found_on", lookup_expr="gte")
    found_on_before = django_filters.DateFilter(field_name="found_on", lookup_expr="lte")
    to_accept = ToAcceptFilter(method="filter_to_accept", help_text=TO_ACCEPT_HELP)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Pages pass the user; the API's filter backend passes the request.
        self.user = user or getattr(self.request, "user", None)

    class Meta:
        model = Hazard
        fields = [
            "jurisdiction",
            "enterprise",
            "site",
            "inspection",
            "level",
            "status",
            "source",
            "category",
            "overdue",
            "due_within",
            "found_on_after",
            "found_on_before",
            "to_accept",
        ]

    def filter_to_accept(self, qs: QuerySet[Hazard], name: str, value: bool | None) -> Any:
        from weibao.hazards.selectors import awaiting_acceptance_q

        if value is None or self.user is None:
            return qs
        q = awaiting_acceptance_q(self.user)
        return qs.filter(q) if value else qs.exclude(q)

    def filter_overdue(self, qs: QuerySet[Hazard], name: str, value: bool | None) -> Any:
        if value is None:
            return qs
        return qs.filter(overdue_q()) if value else qs.exclude(overdue_q())

    def filter_due_within(self, qs: QuerySet[Hazard], name: str, value: int | None) -> Any:
        if value is None:
            return qs
        horizon = timezone.localdate() + timedelta(days=int(value))
        return qs.filter(status__in=PENDING, deadline__lte=horizon)
