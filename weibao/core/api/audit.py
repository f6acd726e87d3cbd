from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import serializers

from weibao.core.api.filters import FilterSet, IdFilter
from weibao.core.api.viewsets import ReadOnlyScopedViewSet
from weibao.core.models import AuditEntry


class AuditEntryOutput(serializers.ModelSerializer[AuditEntry]):
    action_display = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "seq",
            "created_at",
            "actor_id",
            "actor_label",
            "request_id",
            "action",
            "action_display",
            "object_type",
            "object_id",
            "object_repr",
            "scope_code",
            "before",
            "after",
            "prev_hash",
            "hash",
        ]


class AuditEntryFilter(FilterSet):
    object_type = django_filters.CharFilter(help_text="app_label.model, e.g. accounts.agency")
    object_id = django_filters.CharFilter()
    actor_id = IdFilter()
    request_id = django_filters.CharFilter()
    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices)
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["object_type", "object_id", "actor_id", "request_id", "action"]


class AuditEntryViewSet(ReadOnlyScopedViewSet):
    """The change history (tamper-evident, hash-chained) of objects within your jurisdiction."""

    queryset_base = AuditEntry.objects.all()
    serializer_class = AuditEntryOutput
    filterset_class = AuditEntryFilter
    ordering_fields = ["seq", "created_at"]
    lookup_field = "seq"
    lookup_value_regex = r"[0-9]{1,18}"
    permission_type_map = {"list": "view", "retrieve": "view", "metadata": None}

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return super().get_queryset().order_by("-seq")
