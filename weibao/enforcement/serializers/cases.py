"""API shapes of a case: the list row and the detail (unit, officers, provisions, penalties,
evidence, documents, timeline, review).

`allowed_actions` on every case says what the caller may do now: `selectors.user_actions` (the
procedure's next steps the rules let this user take, plus the side steps), under the names of
the API's actions. It reads only what the list and detail querysets load, so a page of cases
costs no extra query.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.accounts.models import User
from weibao.enforcement.filters import DEADLINE_STATES, deadline_state
from weibao.enforcement.models import Case, CaseDocument, CaseEvent, CaseStatus, PenaltyItem
from weibao.enforcement.selectors import (
    ACTION_ORDER,
    is_party,
    near_horizon,
    review_of,
    user_actions,
)
from weibao.enforcement.serializers.provisions import ProvisionRefOutput
from weibao.enforcement.serializers.reviews import CaseReviewCoreOutput
from weibao.registry.models import Enterprise

# The pages' step names (selectors.ACTION_ORDER) → the API's: the action's URL, or `update` for
# PATCH on the case.
API_ACTION_NAMES = {"edit": "update", "pay": "payments", "attach": "files"}
ACTION_CHOICES = [
    (API_ACTION_NAMES.get(action, action), API_ACTION_NAMES.get(action, action))
    for action in ACTION_ORDER
]


def _name(user: User | None) -> str | None:
    return str(user) if user is not None else None


class OfficerRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _refs(rows: Any) -> list[dict[str, Any]]:
    return [{"id": row.pk, "name": str(row)} for row in rows]


class CaseHazardRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class CaseInspectionRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()


class CasePersonRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    post = serializers.CharField()
    post_display = serializers.CharField(source="get_post_display")


class StatusOrNullField(serializers.ChoiceField):
    """A case status, or null where an event has none (the case's first event)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=CaseStatus.choices, allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return value or None


class CaseOutput(serializers.ModelSerializer[Case]):
    reference = serializers.CharField(help_text="the case number once registered, else TY…")
    enterprise = serializers.IntegerField(source="enterprise_id")
    enterprise_name = serializers.CharField(source="enterprise.name")
    uscc = serializers.CharField(source="enterprise.uscc")
    jurisdiction = serializers.CharField(
        source="enterprise.jurisdiction_id", help_text="the unit's division code (GB/T 2260)"
    )
    agency = serializers.IntegerField(source="agency_id")
    agency_name = serializers.CharField(source="agency.display_name")
    origin_display = serializers.CharField(source="get_origin_display")
    status_display = serializers.CharField(source="get_status_display")
    deadline_state = serializers.SerializerMethodField(
        help_text="due_soon or overdue while the case waits for a step with a deadline; else null"
    )
    officers = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField(
        help_text="what you may do now: the procedure's next steps (register, investigate, "
        "notify, decide, execute, close, drop) and side steps (update, defence, hearing, "
        "payments, files, review)"
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "number",
            "title",
            "enterprise",
            "enterprise_name",
            "uscc",
            "jurisdiction",
            "agency",
            "agency_name",
            "origin",
            "origin_display",
            "status",
            "status_display",
            "deadline",
            "deadline_state",
            "proposed_on",
            "registered_on",
            "decided_on",
            "closed_on",
            "dropped_on",
            "officers",
            "allowed_actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=DEADLINE_STATES, allow_null=True))
    def get_deadline_state(self, obj: Case) -> str | None:
        # One horizon per response (chinese-calendar is consulted once, not per row).
        if "_today" not in self.context:
            self.context["_today"] = timezone.localdate()
            self.context["_horizon"] = near_horizon(self.context["_today"])
        return deadline_state(obj, self.context["_today"], self.context["_horizon"])

    @extend_schema_field(OfficerRefOutput(many=True))
    def get_officers(self, obj: Case) -> list[dict[str, Any]]:
        return _refs(obj.officers.all())

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=ACTION_CHOICES))
    )
    def get_allowed_actions(self, obj: Case) -> list[str]:
        actions = user_actions(self.context["request"].user, obj)
        return [API_ACTION_NAMES.get(action, action) for action in actions]


class UnitSummaryOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    uscc = serializers.CharField()
    jurisdiction = serializers.CharField(source="jurisdiction_id")
    jurisdiction_name = serializers.CharField(source="jurisdiction.display_name")
    address = serializers.CharField()
    principal = serializers.CharField()
    status = serializers.ChoiceField(choices=Enterprise.Status.choices)
    status_display = serializers.CharField(source="get_status_display")


class PenaltyOutput(serializers.ModelSerializer[PenaltyItem]):
    kind_display = serializers.CharField(source="get_kind_display")
    provision = serializers.IntegerField(source="provision_id")
    provision_label = serializers.SerializerMethodField()
    person = serializers.IntegerField(source="person_id", allow_null=True)
    person_name = serializers.SerializerMethodField()
    permit = serializers.IntegerField(source="permit_id", allow_null=True)
    permit_number = serializers.SerializerMethodField()

    class Meta:
        model = PenaltyItem
        fields = [
            "id",
            "provision",
            "provision_label",
            "kind",
            "kind_display",
            "amount",
            "person",
            "person_name",
            "permit",
            "permit_number",
            "until",
            "description",
            "paid_on",
            "receipt_number",
            "executed_on",
        ]
        read_only_fields = fields

    def get_provision_label(self, obj: PenaltyItem) -> str:
        return str(obj.provision)

    def get_person_name(self, obj: PenaltyItem) -> str | None:
        return obj.person.name if obj.person is not None else None

    def get_permit_number(self, obj: PenaltyItem) -> str | None:
        return obj.permit.number if obj.permit is not None else None


class CaseDocumentOutput(serializers.ModelSerializer[CaseDocument]):
    kind_display = serializers.CharField(source="get_kind_display")
    issued_by = serializers.IntegerField(source="issued_by_id", allow_null=True)
    issued_by_name = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="download address (signed-in, scoped)")

    class Meta:
        model = CaseDocument
        fields = [
            "id",
            "kind",
            "kind_display",
            "number",
            "name",
            "content_type",
            "size",
            "sha256",
            "generated",
            "issued_by",
            "issued_by_name",
            "issued_at",
            "url",
        ]
        read_only_fields = fields

    def get_issued_by_name(self, obj: CaseDocument) -> str | None:
        return _name(obj.issued_by)

    def get_url(self, obj: CaseDocument) -> str:
        path = reverse("api:case-document", args=[obj.case_id, obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class CaseEventOutput(serializers.ModelSerializer[CaseEvent]):
    action_display = serializers.CharField(source="get_action_display")
    from_status = StatusOrNullField()
    to_status = StatusOrNullField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_name = serializers.SerializerMethodField()
    # (The serializer metaclass takes declared fields off the class: no clash with .data.)
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="step details, e.g. a payment's amount and receipt, registry changes"
    )
    document = serializers.SerializerMethodField(
        help_text="the document the step issued or kept (null when the reader may not open it)"
    )

    class Meta:
        model = CaseEvent
        fields = [
            "id",
            "action",
            "action_display",
            "from_status",
            "to_status",
            "actor",
            "actor_name",
            "at",
            "note",
            "data",
            "document",
        ]
        read_only_fields = fields

    def get_actor_name(self, obj: CaseEvent) -> str | None:
        return _name(obj.actor)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_document(self, obj: CaseEvent) -> int | None:
        """The party is not shown the id of an internal paper (e.g. the approval form)."""
        document = obj.document
        if document is None:
            return None
        request = self.context.get("request")
        if request is not None and is_party(request.user):
            return document.pk if document.kind in CaseDocument.PARTY_KINDS else None
        return document.pk


class CaseDetailOutput(CaseOutput):
    unit = UnitSummaryOutput(source="enterprise")
    persons = CasePersonRefOutput(many=True)
    provisions = ProvisionRefOutput(many=True)
    penalties = PenaltyOutput(many=True)
    hazards = serializers.SerializerMethodField()
    inspections = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField(
        help_text="what the escalation job saw when it proposed the case (rule, hazard, …); "
        "empty for the unit's own staff"
    )
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    created_by_name = serializers.SerializerMethodField()
    documents = CaseDocumentOutput(many=True)
    events = CaseEventOutput(many=True)
    review = serializers.SerializerMethodField()

    class Meta(CaseOutput.Meta):
        fields = [
            *CaseOutput.Meta.fields,
            "unit",
            "facts",
            "persons",
            "persons_note",
            "provisions",
            "penalties",
            "hazards",
            "inspections",
            "evidence",
            "decision_due",
            "notified_on",
            "defence_deadline",
            "hearing_available",
            "hearing_deadline",
            "defence_statement",
            "defence_waived",
            "hearing_requested",
            "hearing_held_on",
            "hearing_record",
            "payment_due",
            "executed_on",
            "drop_reason",
            "created_by",
            "created_by_name",
            "documents",
            "events",
            "review",
        ]
        read_only_fields = fields

    @extend_schema_field(CaseHazardRefOutput(many=True))
    def get_hazards(self, obj: Case) -> list[dict[str, Any]]:
        return [{"id": h.pk, "reference": h.reference} for h in obj.hazards.all()]

    @extend_schema_field(CaseInspectionRefOutput(many=True))
    def get_inspections(self, obj: Case) -> list[dict[str, Any]]:
        return [{"id": i.pk, "number": i.number} for i in obj.inspections.all()]

    def get_created_by_name(self, obj: Case) -> str | None:
        return _name(obj.created_by)

    def _party(self) -> bool:
        request = self.context.get("request")
        return request is not None and is_party(request.user)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_evidence(self, obj: Case) -> list[Any]:
        if self._party():
            return []
        return obj.evidence if isinstance(obj.evidence, list) else [obj.evidence]

    @extend_schema_field(CaseReviewCoreOutput(allow_null=True))
    def get_review(self, obj: Case) -> dict[str, Any] | None:
        review = None if self._party() else review_of(obj)
        return CaseReviewCoreOutput(review).data if review is not None else None
