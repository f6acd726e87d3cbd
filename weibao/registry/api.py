from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from weibao.registry.models import Jurisdiction


class JurisdictionSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent_id", allow_null=True, read_only=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Jurisdiction
        fields = ["code", "name", "name_en", "display_name", "level", "level_display", "parent"]


@extend_schema_field({"type": "string", "pattern": r"^\d{6}$"})
class DivisionCodeFilter(django_filters.CharFilter):
    pass


class JurisdictionFilter(django_filters.FilterSet):
    parent = DivisionCodeFilter(field_name="parent_id")
    level = django_filters.ChoiceFilter(choices=Jurisdiction.Level.choices)

    class Meta:
        model = Jurisdiction
        fields = ["level", "parent"]


class JurisdictionViewSet(viewsets.ReadOnlyModelViewSet):
    """Administrative divisions (GB/T 2260): reference data every signed-in user may read."""

    queryset = Jurisdiction.objects.all()
    serializer_class = JurisdictionSerializer
    filterset_class = JurisdictionFilter
    search_fields = ["name", "name_en", "code"]
    ordering_fields = ["code", "name"]
    lookup_value_regex = r"[0-9]{6}"
