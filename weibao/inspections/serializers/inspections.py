"""API shapes for inspections: the record, its answers, photos and hazards; drafts' inputs."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.core.api.serializers import StrictCharField
from weibao.core.files import validate_photo
from weibao.hazards.models import Hazard
from weibao.inspections.models import Answer, AnswerPhoto, Inspection
from weibao.inspections.serializers.common import (
    PersonRefOutput,
    StrictIntegerField,
    VisibleCampaignField,
    VisibleChecklistField,
    VisibleEnterpriseField,
    VisibleHazardField,
    VisibleSiteField,
    VisibleUserField,
    person_ref,
)
from weibao.registry.serializers import LocatedOutputMixin, LocationSerializer, UnitRefOutput


# --- inspections --------------------------------------------------------------------------------
class HazardRefOutput(serializers.ModelSerializer[Hazard]):
    reference = serializers.CharField()
    level_display = serializers.CharField(source="get_level_display")
    status_display = serializers.CharField(source="get_status_display")

    class Meta:
        model = Hazard
        fields = ["id", "reference", "level", "level_display", "status", "status_display"]
        read_only_fields = fields


class PhotoOutput(serializers.ModelSerializer[AnswerPhoto]):
    url = serializers.SerializerMethodField()

    class Meta:
        model = AnswerPhoto
        fields = ["id", "url", "uploaded_at"]
        read_only_fields = fields

    def get_url(self, obj: AnswerPhoto) -> str:
        """Where to fetch the photo (signed-in, scoped like the inspection)."""
        inspection_id = self.context.get("inspection_id") or obj.answer.inspection_id
        path = reverse("api:inspection-photo", args=[inspection_id, obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class UnansweredChoiceField(serializers.ChoiceField):
    """An answer's result, or null while the item has not been answered yet."""

    def to_representation(self, value: Any) -> Any:
        return value or None


class AnswerOutput(serializers.ModelSerializer[Answer]):
    item = serializers.IntegerField(source="item_id")
    result = UnansweredChoiceField(choices=Answer.Result.choices, allow_null=True)
    display_text = serializers.CharField()
    category_display = serializers.CharField(source="get_category_display")
    hazard_level_display = serializers.CharField(source="get_hazard_level_display")
    result_display = serializers.CharField(source="get_result_display")
    photos = serializers.SerializerMethodField()

    class Meta:
        model = Answer
        fields = [
            "item",
            "position",
            "text",
            "text_en",
            "display_text",
            "category",
            "category_display",
            "legal_basis",
            "hazard_level",
            "hazard_level_display",
            "result",
            "result_display",
            "note",
            "deadline",
            "photos",
        ]
        read_only_fields = fields

    @extend_schema_field(PhotoOutput(many=True))
    def get_photos(self, obj: Answer) -> Any:
        context = {**self.context, "inspection_id": obj.inspection_id}
        return PhotoOutput(obj.photos.all(), many=True, context=context).data


class InspectionOutput(UnitRefOutput, LocatedOutputMixin, serializers.ModelSerializer[Inspection]):
    kind_display = serializers.CharField(source="get_kind_display")
    status_display = serializers.CharField(source="get_status_display")
    site_name = serializers.SerializerMethodField()
    checklist_title = serializers.CharField(source="checklist")
    campaign_name = serializers.SerializerMethodField()
    agency_name = serializers.SerializerMethodField()
    inspectors = serializers.SerializerMethodField()
    has_signature_image = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = [
            "id",
            "number",
            "kind",
            "kind_display",
            "status",
            "status_display",
            "enterprise",
            "enterprise_name",
            "enterprise_uscc",
            "site",
            "site_name",
            "checklist",
            "checklist_title",
            "campaign",
            "campaign_name",
            "draw",
            "follow_up_of",
            "agency",
            "agency_name",
            "inspectors",
            "inspector_names",
            "conducted_by",
            "planned_on",
            "inspected_on",
            "location",
            "summary",
            "representative_name",
            "signature_text",
            "has_signature_image",
            "created_at",
            "updated_at",
            "submitted_at",
        ]
        read_only_fields = fields

    def get_site_name(self, obj: Inspection) -> str | None:
        return obj.site.name if obj.site is not None else None

    def get_campaign_name(self, obj: Inspection) -> str | None:
        return obj.campaign.name if obj.campaign is not None else None

    def get_agency_name(self, obj: Inspection) -> str | None:
        return obj.agency.display_name if obj.agency is not None else None

    @extend_schema_field(PersonRefOutput(many=True))
    def get_inspectors(self, obj: Inspection) -> list[dict[str, Any] | None]:
        return [person_ref(u) for u in obj.inspectors.all()]

    def get_has_signature_image(self, obj: Inspection) -> bool:
        return bool(obj.signature_image)


class InspectionDetailOutput(InspectionOutput):
    answers = AnswerOutput(many=True)
    hazards = HazardRefOutput(many=True, help_text="Hazards the submitted inspection recorded.")

    class Meta(InspectionOutput.Meta):
        fields = [*InspectionOutput.Meta.fields, "answers", "hazards"]
        read_only_fields = fields


def _flatten_location(data: dict[str, Any]) -> dict[str, Any]:
    if "location" in data:
        location = data.pop("location")
        data["latitude"] = location["latitude"] if location else None
        data["longitude"] = location["longitude"] if location else None
    return data


class InspectionInput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=Inspection.Kind.choices, default="routine")
    enterprise = VisibleEnterpriseField()
    site = VisibleSiteField(required=False, allow_null=True)
    checklist = VisibleChecklistField(
        required=False,
        allow_null=True,
        help_text="Default: the campaign's, else the current checklist for the unit's kinds.",
    )
    campaign = VisibleCampaignField(required=False, allow_null=True)
    follow_up_of = VisibleHazardField(
        required=False, allow_null=True, help_text="For a follow-up: the hazard checked again."
    )
    inspectors = serializers.ListField(
        child=VisibleUserField(),
        required=False,
        max_length=10,
        help_text="Officers inspecting with you (you are added yourself).",
    )
    planned_on = serializers.DateField(required=False, allow_null=True)
    inspected_on = serializers.DateField(required=False, allow_null=True)
    conducted_by = StrictCharField(max_length=200, required=False, allow_blank=True)
    summary = StrictCharField(required=False, allow_blank=True)


class AnswerInput(serializers.Serializer[Any]):
    item = StrictIntegerField(min_value=1, help_text="The checklist item's id.")
    result = serializers.ChoiceField(
        choices=Answer.Result.choices, required=False, allow_blank=True
    )
    note = StrictCharField(required=False, allow_blank=True, max_length=2000)
    deadline = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="For a failed item; empty: the default deadline for its level.",
    )


class InspectionUpdateInput(serializers.Serializer[Any]):
    site = VisibleSiteField(required=False, allow_null=True)
    inspectors = serializers.ListField(
        child=VisibleUserField(),
        required=False,
        max_length=10,
        help_text="Replaces the inspectors (regulator inspections).",
    )
    planned_on = serializers.DateField(required=False, allow_null=True)
    inspected_on = serializers.DateField(required=False, allow_null=True)
    location = LocationSerializer(required=False, allow_null=True)
    conducted_by = StrictCharField(max_length=200, required=False, allow_blank=True)
    summary = StrictCharField(required=False, allow_blank=True)
    representative_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    signature_text = StrictCharField(max_length=100, required=False, allow_blank=True)
    answers = AnswerInput(  # type: ignore[call-arg]
        many=True,
        required=False,
        max_length=500,
        help_text="Answers to change, by checklist item; items not listed keep theirs.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _flatten_location(attrs)


class FileInput(serializers.Serializer[Any]):
    # Checked here too (the services check again) so the error names the `file` part.
    file = serializers.FileField(
        help_text="JPEG or PNG, size-limited.", validators=[validate_photo]
    )
