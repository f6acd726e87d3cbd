"""API shapes for checklists, campaigns, their draws and progress, and conflicts of interest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import validate_slug
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.core.api.serializers import InputModelSerializer, StrictCharField
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.hazards.models import HazardStatus
from weibao.inspections.models import (
    Campaign,
    Checklist,
    ChecklistItem,
    Inspection,
    InspectorConflict,
)
from weibao.inspections.selectors import CampaignState, campaign_state
from weibao.inspections.serializers.common import (
    PersonRefOutput,
    StrictBooleanField,
    VisibleChecklistField,
    VisibleEnterpriseField,
    VisibleUserField,
    kinds_field,
    person_ref,
)
from weibao.registry.models import EnterpriseKind
from weibao.registry.serializers import DivisionCodeField, UnitRefOutput


# --- checklists ---------------------------------------------------------------------------------
class ChecklistItemOutput(serializers.ModelSerializer[ChecklistItem]):
    display_text = serializers.CharField()
    category_display = serializers.CharField(source="get_category_display")
    hazard_level_display = serializers.CharField(source="get_hazard_level_display")

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "position",
            "text",
            "text_en",
            "display_text",
            "category",
            "category_display",
            "legal_basis",
            "hazard_level",
            "hazard_level_display",
        ]
        read_only_fields = fields


class ChecklistOutput(serializers.ModelSerializer[Checklist]):
    display_title = serializers.CharField()
    kinds = serializers.ListField(child=serializers.CharField(), source="kind_list")
    kinds_display = serializers.ListField(child=serializers.CharField(), source="get_kinds_display")
    item_count = serializers.SerializerMethodField()

    class Meta:
        model = Checklist
        fields = [
            "id",
            "code",
            "version",
            "title",
            "title_en",
            "display_title",
            "kinds",
            "kinds_display",
            "description",
            "is_current",
            "item_count",
            "created_at",
        ]
        read_only_fields = fields

    def get_item_count(self, obj: Checklist) -> int:
        count = getattr(obj, "item_count", None)
        return int(count) if count is not None else len(obj.items.all())


class ChecklistDetailOutput(ChecklistOutput):
    items = ChecklistItemOutput(many=True)

    class Meta(ChecklistOutput.Meta):
        fields = [*ChecklistOutput.Meta.fields, "items"]
        read_only_fields = fields


class ChecklistItemInput(serializers.Serializer[Any]):
    text = StrictCharField(max_length=2000)
    text_en = StrictCharField(max_length=2000)
    category = serializers.ChoiceField(choices=HazardCategory.choices)
    legal_basis = StrictCharField(max_length=300, required=False, allow_blank=True, default="")
    hazard_level = serializers.ChoiceField(choices=HazardLevel.choices)


class ChecklistInput(serializers.Serializer[Any]):
    code = StrictCharField(max_length=60, validators=[validate_slug])
    title = StrictCharField(max_length=200)
    title_en = StrictCharField(max_length=200)
    kinds = kinds_field()
    description = StrictCharField(required=False, allow_blank=True, default="")
    items = ChecklistItemInput(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]


# --- campaigns ----------------------------------------------------------------------------------
class CampaignOutput(serializers.ModelSerializer[Campaign]):
    jurisdiction = serializers.CharField(source="jurisdiction_id")
    jurisdiction_name = serializers.CharField(source="jurisdiction.display_name")
    agency_name = serializers.CharField(source="agency.display_name")
    scope = serializers.ListField(child=serializers.CharField(), source="scope_list")
    kinds = serializers.ListField(child=serializers.CharField(), source="kind_list")
    kinds_display = serializers.SerializerMethodField()
    checklist_title = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    state_display = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "jurisdiction",
            "jurisdiction_name",
            "agency",
            "agency_name",
            "scope",
            "kinds",
            "kinds_display",
            "starts_on",
            "ends_on",
            "state",
            "state_display",
            "checklist",
            "checklist_title",
            "self_inspection_required",
            "self_inspection_due",
            "spot_check_ratio",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_kinds_display(self, obj: Campaign) -> list[str]:
        labels = dict(EnterpriseKind.choices)
        return [str(labels.get(k, k)) for k in obj.kind_list]

    def get_checklist_title(self, obj: Campaign) -> str | None:
        return str(obj.checklist) if obj.checklist is not None else None

    @extend_schema_field(serializers.ChoiceField(choices=CampaignState.choices))
    def get_state(self, obj: Campaign) -> str:
        return str(campaign_state(obj).value)

    def get_state_display(self, obj: Campaign) -> str:
        return str(campaign_state(obj).label)


class CampaignInput(InputModelSerializer):
    jurisdiction = DivisionCodeField(
        required=False,
        help_text="The division the campaign is organised for; default: your bureau's.",
    )
    scope = serializers.ListField(
        child=DivisionCodeField(),
        required=False,
        allow_empty=False,
        max_length=60,
        help_text="Divisions covered (inside `jurisdiction`); default: all of it.",
    )
    kinds = kinds_field()
    checklist = VisibleChecklistField(
        required=False,
        allow_null=True,
        help_text="Empty: each unit is inspected with the current checklist for its kind.",
    )
    self_inspection_required = StrictBooleanField(required=False)

    class Meta:
        model = Campaign
        fields = [
            "name",
            "description",
            "jurisdiction",
            "scope",
            "kinds",
            "starts_on",
            "ends_on",
            "checklist",
            "self_inspection_required",
            "self_inspection_due",
            "spot_check_ratio",
        ]
        # The model's default is the float 0.2, which its own decimal validation refuses.
        extra_kwargs: dict[str, Any] = {"spot_check_ratio": {"default": Decimal("0.200")}}


class DrawInput(serializers.Serializer[Any]):
    jurisdiction = DivisionCodeField(
        required=False,
        help_text="The area to draw for (inside the campaign); default: your bureau's.",
    )
    seed = StrictCharField(
        required=False,
        max_length=64,
        help_text="Reproduce a draw: the same seed over the same data draws the same units. "
        "Default: a fresh random seed (recorded).",
    )


class DrawnUnitOutput(serializers.Serializer[Any]):
    unit = serializers.IntegerField()
    unit_name = serializers.CharField()
    inspectors = PersonRefOutput(many=True)
    inspection = serializers.IntegerField(allow_null=True)


class DrawOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    jurisdiction = serializers.CharField(source="jurisdiction_id")
    jurisdiction_name = serializers.CharField(source="jurisdiction.display_name")
    seed = serializers.CharField()
    ratio = serializers.DecimalField(max_digits=4, decimal_places=3)
    population_size = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField()
    drawn_by = serializers.SerializerMethodField()
    drawn_at = serializers.DateTimeField()
    replayable = serializers.SerializerMethodField()

    def get_population_size(self, obj: Any) -> int:
        return len(obj.population)

    @extend_schema_field(DrawnUnitOutput(many=True))
    def get_result(self, obj: Any) -> list[dict[str, Any]]:
        results: dict[int, list[dict[str, Any]]] = self.context["draw_results"]
        return results.get(obj.pk, [])

    @extend_schema_field(PersonRefOutput)
    def get_drawn_by(self, obj: Any) -> dict[str, Any] | None:
        return person_ref(obj.drawn_by)

    def get_replayable(self, obj: Any) -> bool:
        """Whether re-running the draw from its recorded inputs gives the recorded result."""
        from weibao.inspections.services import draw_replay

        return draw_replay(obj)


class CountOutput(serializers.Serializer[Any]):
    count = serializers.IntegerField()


class KindCountOutput(CountOutput):
    kind = serializers.ChoiceField(choices=Inspection.Kind.choices)
    kind_display = serializers.CharField()


class LevelCountOutput(CountOutput):
    level = serializers.ChoiceField(choices=HazardLevel.choices)
    level_display = serializers.CharField()


class StatusCountOutput(CountOutput):
    status = serializers.ChoiceField(choices=HazardStatus.choices)
    status_display = serializers.CharField()


class SelfInspectionProgress(serializers.Serializer[Any]):
    # The metaclass takes declared fields off the class: `required` stays the Field flag.
    required = serializers.IntegerField(help_text="Units that must self-inspect.")  # type: ignore[assignment]
    submitted = serializers.IntegerField(help_text="Units with a submitted self-inspection.")
    due = serializers.DateField(allow_null=True)


class SpotCheckProgress(serializers.Serializer[Any]):
    drawn = serializers.IntegerField()
    submitted = serializers.IntegerField()


class HazardProgress(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    by_level = LevelCountOutput(many=True)
    by_status = StatusCountOutput(many=True)


class ProgressOutput(serializers.Serializer[Any]):
    campaign = serializers.IntegerField()
    state = serializers.ChoiceField(choices=CampaignState.choices)
    units_in_scope = serializers.IntegerField(help_text="Units covered that you may see.")
    self_inspections = SelfInspectionProgress()
    spot_checks = SpotCheckProgress()
    inspections_submitted = KindCountOutput(many=True)
    hazards = HazardProgress(help_text="Hazards found in the campaign's inspections.")


# --- conflicts of interest ----------------------------------------------------------------------
class ConflictOutput(UnitRefOutput, serializers.ModelSerializer[InspectorConflict]):
    inspector_name = serializers.CharField(source="inspector")

    class Meta:
        model = InspectorConflict
        fields = [
            "id",
            "inspector",
            "inspector_name",
            "enterprise",
            "enterprise_name",
            "enterprise_uscc",
            "reason",
            "created_at",
        ]
        read_only_fields = fields


class ConflictInput(serializers.Serializer[Any]):
    inspector = VisibleUserField()
    enterprise = VisibleEnterpriseField()
    reason = StrictCharField(max_length=300)
