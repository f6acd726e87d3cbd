"""Filters of internal reports and reporting channels, shared by the API and the pages."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field

from weibao.core.api.filters import BooleanFilter, FilterSet, IdFilter
from weibao.registry.filters import DivisionCodeFilter
from weibao.reporting.models import (
    InternalReport,
    ReportCategory,
    ReportChannel,
    ReportStatus,
    unverified_overdue_q,
)

OVERDUE_HELP = "still unverified (submitted or being verified) past the unit's time limit"
COMPLAINT_OPEN_HELP = "raised to the bureau by the reporter and not yet handled"
SEARCH_HELP = "a report number (NB2026-000012) or words of the description or place"
COUNTY_HELP = "division code: reports of units in it (430400: the city's counties too)"
SEARCH_MAX = 200
# NB + year + number, as `InternalReport.reference` writes it (case and padding do not matter).
REFERENCE_RE = re.compile(r"^NB(\d{4})-0*(\d{1,18})$", re.IGNORECASE)


@extend_schema_field({"type": "boolean", "description": OVERDUE_HELP})
class OverdueFilter(BooleanFilter):
    pass


@extend_schema_field({"type": "boolean", "description": COMPLAINT_OPEN_HELP})
class ComplaintOpenFilter(BooleanFilter):
    pass


def complaint_open_q() -> Q:
    return Q(escalated_at__isnull=False, complaint_handled_at__isnull=True)


class ReportFilter(FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=ReportStatus.choices,
        help_text="repeat for several: status=submitted&status=verifying",
    )
    category = django_filters.ChoiceFilter(choices=ReportCategory.choices)
    enterprise = IdFilter(field_name="enterprise_id", help_text="the unit's id")
    county = DivisionCodeFilter(field_name="enterprise__jurisdiction", help_text=COUNTY_HELP)
    overdue = OverdueFilter(method="filter_overdue", help_text=OVERDUE_HELP)
    complaint_open = ComplaintOpenFilter(
        method="filter_complaint_open", help_text=COMPLAINT_OPEN_HELP
    )
    submitted_after = django_filters.DateFilter(
        field_name="submitted_on", lookup_expr="gte", help_text="submitted on or after"
    )
    submitted_before = django_filters.DateFilter(
        field_name="submitted_on", lookup_expr="lte", help_text="submitted on or before"
    )
    search = django_filters.CharFilter(
        method="filter_search", max_length=SEARCH_MAX, help_text=SEARCH_HELP
    )

    class Meta:
        model = InternalReport
        fields = [
            "status",
            "category",
            "enterprise",
            "county",
            "overdue",
            "complaint_open",
            "submitted_after",
            "submitted_before",
            "search",
        ]

    def filter_overdue(self, qs: QuerySet[InternalReport], name: str, value: bool | None) -> Any:
        if value is None:
            return qs
        return qs.filter(unverified_overdue_q()) if value else qs.exclude(unverified_overdue_q())

    def filter_complaint_open(
        self, qs: QuerySet[InternalReport], name: str, value: bool | None
    ) -> Any:
        if value is None:
            return qs
        return qs.filter(complaint_open_q()) if value else qs.exclude(complaint_open_q())

    def filter_search(self, qs: QuerySet[InternalReport], name: str, value: str) -> Any:
        text = (value or "").strip()
        if not text:
            return qs
        match = REFERENCE_RE.match(text)
        if match is not None:
            year, number = match.groups()
            return qs.filter(pk=int(number), submitted_on__year=int(year))
        return qs.filter(Q(description__icontains=text) | Q(location__icontains=text))


class ChannelFilter(FilterSet):
    enterprise = IdFilter(field_name="enterprise_id", help_text="the unit's id")
    county = DivisionCodeFilter(field_name="enterprise__jurisdiction", help_text=COUNTY_HELP)
    is_open = BooleanFilter(help_text="accepting reports")

    class Meta:
        model = ReportChannel
        fields = ["enterprise", "county", "is_open"]
