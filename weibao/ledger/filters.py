"""Filters of the ledger's lists, shared by the API and the pages (one meaning for each)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from weibao.core.api.filters import FilterSet, IdFilter
from weibao.ledger.codes import uid_error
from weibao.ledger.models import Anomaly, Batch, Item, ItemState, Level, ProductKind
from weibao.registry.filters import DivisionCodeFilter


class ChipUidField(forms.CharField):
    """A chip UID in any case, upper-cased as the ledger stores it; a malformed one is an error
    naming the filter, not an empty list."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).strip().upper()

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and (problem := uid_error(value)):
            raise forms.ValidationError(problem, code="invalid")


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^[0-9A-Fa-f]{8,32}$",
        "description": "the electronic detonator's chip UID, 8 to 32 hexadecimal digits "
        "(exact, any case)",
    }
)
class ChipUidFilter(django_filters.CharFilter):
    field_class = ChipUidField


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
    chip_uid = ChipUidFilter()

    class Meta:
        model = Item
        fields = ["holder", "state", "product", "level", "site", "container", "chip_uid"]


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
