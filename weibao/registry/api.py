from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from weibao.registry.models import Jurisdiction


class JurisdictionSerializer(serializers.ModelSerializer[Jurisdiction]):
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Jurisdiction
        fields = ["code", "name", "name_en", "display_name", "level", "level_display", "parent"]
        read_only_fields = fields


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{6}$"})
class DivisionCodeFilter(django_filters.ModelChoiceFilter):
    """Filter by a division code; an unknown code is a 400 naming it, not an empty list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Jurisdiction.objects.all())
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("Unknown division code %(value)s.")},
        )
        super().__init__(*args, **kwargs)


class JurisdictionFilter(django_filters.FilterSet):
    parent = DivisionCodeFilter(field_name="parent")
    level = django_filters.ChoiceFilter(choices=Jurisdiction.Level.choices)

    class Meta:
        model = Jurisdiction
        fields = ["level", "parent"]


class JurisdictionViewSet(viewsets.ReadOnlyModelViewSet[Jurisdiction]):
    """Administrative divisions (GB/T 2260): reference data every signed-in user may read."""

    queryset = Jurisdiction.objects.all()
    serializer_class = JurisdictionSerializer
    filterset_class = JurisdictionFilter
    search_fields = ["name", "name_en", "code"]
    ordering_fields = ["code", "name"]
    lookup_value_regex = r"[0-9]{6}"
