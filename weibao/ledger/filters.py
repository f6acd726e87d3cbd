"""Filters of the ledger's lists, shared by the API and the pages (one meaning for each)."""

from __future__ import annotations

import django_filters

from weibao.core.api.filters import FilterSet, IdFilter
from weibao.ledger.models import Anomaly, Batch, Item, ItemState, Level, ProductKind
from weibao.registry.filters import DivisionCodeFilter


class ItemFilter(FilterSet):
    holder = IdFilter(field_name="holder_id", help_text="id of the unit holding it")
    state = django_filters.MultipleChoiceFilter(
        choices=ItemState.choices, help_text="repeat for several: state=in_store&state=issued"
    )
    product = django_filters.ChoiceFilter(choices=ProductKind.choices)
    level = django_filters.ChoiceFilter(choices=Level.choices)
    site = IdFilter(
        field_name="site_id", help_text="id of the magazine it is in (or was last taken from)"
    )
    container = django_filters.CharFilter(help_text="code of the box or case it is packed in")

    class Meta:
        model = Item
        fields = ["holder", "state", "product", "level", "site", "container"]


class BatchFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Batch.Status.choices)
    source = django_filters.ChoiceFilter(choices=Batch.Source.choices)
    enterprise = IdFilter(field_name="enterprise_id")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Batch
        fields = ["status", "source", "enterprise", "since", "until"]


class AnomalyFilter(FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=Anomaly.Kind.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Anomaly.Severity.choices)
    status = django_filters.MultipleChoiceFilter(
        choices=Anomaly.Status.choices, help_text="repeat for several: status=open&status=explained"
    )
    enterprise = IdFilter(field_name="enterprise_id", help_text="id of the owner unit")
    county = DivisionCodeFilter(
        field_name="enterprise__jurisdiction",
        help_text="division code: the owner units inside it (430400: the whole city)",
    )
    site = IdFilter(field_name="site_id")
    detected_after = django_filters.IsoDateTimeFilter(field_name="detected_at", lookup_expr="gte")
    detected_before = django_filters.IsoDateTimeFilter(field_name="detected_at", lookup_expr="lt")

    class Meta:
        model = Anomaly
        fields = [
            "kind",
            "severity",
            "status",
            "enterprise",
            "county",
            "site",
            "detected_after",
            "detected_before",
        ]
