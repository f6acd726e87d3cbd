"""API shapes of legal provisions: the output, the administrator's input, the reference a case
shows."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from weibao.core.api.serializers import InputModelSerializer
from weibao.enforcement.models import LegalProvision, PenaltyKind
from weibao.inspections.serializers.common import StrictBooleanField


class ProvisionOutput(serializers.ModelSerializer[LegalProvision]):
    law_display = serializers.CharField(
        source="display_law", help_text="the law's name in the request's language"
    )
    article_label = serializers.CharField(help_text="article and clause, as cited")
    title_display = serializers.CharField(
        source="display_title", help_text="the short title in the request's language"
    )
    allowed_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=PenaltyKind.choices)
    )
    allowed_kinds_display = serializers.SerializerMethodField()
    verified_by = serializers.IntegerField(source="verified_by_id", allow_null=True)
    verified_by_name = serializers.SerializerMethodField()

    class Meta:
        model = LegalProvision
        fields = [
            "id",
            "code",
            "law",
            "law_en",
            "law_display",
            "article",
            "clause",
            "article_label",
            "title",
            "title_en",
            "title_display",
            "violation",
            "violation_en",
            "allowed_kinds",
            "allowed_kinds_display",
            "fine_min",
            "fine_max",
            "person_fine_min",
            "person_fine_max",
            "verified",
            "verified_by",
            "verified_by_name",
            "verified_at",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_allowed_kinds_display(self, obj: LegalProvision) -> list[str]:
        return [str(PenaltyKind(kind).label) for kind in obj.allowed_kinds]

    def get_verified_by_name(self, obj: LegalProvision) -> str | None:
        return str(obj.verified_by) if obj.verified_by is not None else None


class StrictSlugField(serializers.SlugField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class ProvisionInput(InputModelSerializer):
    """A provision's text and the penalties it allows. Any change of legal content (law,
    article, clause, violation, kinds, ranges) makes it unverified again."""

    serializer_field_mapping = {
        **InputModelSerializer.serializer_field_mapping,
        models.SlugField: StrictSlugField,
        models.BooleanField: StrictBooleanField,
    }

    allowed_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=PenaltyKind.choices),
        min_length=1,
        max_length=len(PenaltyKind.choices),
        help_text="penalty kinds the provision allows, each once",
    )

    class Meta:
        model = LegalProvision
        fields = [
            "code",
            "law",
            "law_en",
            "article",
            "clause",
            "title",
            "title_en",
            "violation",
            "violation_en",
            "allowed_kinds",
            "fine_min",
            "fine_max",
            "person_fine_min",
            "person_fine_max",
            "is_active",
        ]
        extra_kwargs: dict[str, Any] = {
            "fine_min": {"min_value": 0},
            "fine_max": {"min_value": 0},
            "person_fine_min": {"min_value": 0},
            "person_fine_max": {"min_value": 0},
            "is_active": {"required": False},
        }

    def validate_allowed_kinds(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError(_("A penalty kind is listed twice."))
        return value


class ProvisionRefOutput(serializers.ModelSerializer[LegalProvision]):
    law = serializers.CharField(source="display_law")
    title = serializers.CharField(source="display_title")
    article_label = serializers.CharField()

    class Meta:
        model = LegalProvision
        fields = ["id", "code", "law", "article", "clause", "article_label", "title", "verified"]
        read_only_fields = fields
