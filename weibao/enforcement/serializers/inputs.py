"""What the case endpoints take: the case itself, each step's input (JSON, or multipart with
scans) and penalty items. Types are strict (JSON strings, integers, booleans); references resolve
through `visible_to(user)`, so an id out of sight reads as "does not exist"."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.accounts.models import User
from weibao.core.api.serializers import StrictCharField, StrictDecimalField
from weibao.enforcement.models import Case, CaseDocument, LegalProvision, PenaltyItem, PenaltyKind
from weibao.hazards.models import Hazard
from weibao.hazards.serializers import (
    StrictIdMixin,
    StrictIntegerField,
    VisibleEnterpriseField,
    VisiblePersonField,
    files_field,
)
from weibao.inspections.models import Inspection
from weibao.inspections.serializers.common import StrictBooleanField
from weibao.registry.models import Permit

UPLOAD_KINDS = [
    (kind.value, kind.label) for kind in CaseDocument.Kind if kind not in CaseDocument.GENERATED
]

MAX_TEXT = 20000
MAX_ITEMS = 20


def _request_user(field: serializers.Field[Any, Any, Any, Any]) -> Any:
    return field.context["request"].user


@extend_schema_field(OpenApiTypes.INT)
class ProvisionField(StrictIdMixin, serializers.PrimaryKeyRelatedField[LegalProvision]):
    """A legal provision (reference data every signed-in user reads)."""

    def get_queryset(self) -> Any:
        return LegalProvision.objects.all()


@extend_schema_field(OpenApiTypes.INT)
class VisibleOfficerField(StrictIdMixin, serializers.PrimaryKeyRelatedField[User]):
    def get_queryset(self) -> Any:
        return User.objects.visible_to(_request_user(self))


@extend_schema_field(OpenApiTypes.INT)
class VisibleHazardField(StrictIdMixin, serializers.PrimaryKeyRelatedField[Hazard]):
    def get_queryset(self) -> Any:
        return Hazard.objects.visible_to(_request_user(self))


@extend_schema_field(OpenApiTypes.INT)
class VisibleInspectionField(StrictIdMixin, serializers.PrimaryKeyRelatedField[Inspection]):
    def get_queryset(self) -> Any:
        return Inspection.objects.visible_to(_request_user(self))


@extend_schema_field(OpenApiTypes.INT)
class VisiblePermitField(StrictIdMixin, serializers.PrimaryKeyRelatedField[Permit]):
    def get_queryset(self) -> Any:
        return Permit.objects.visible_to(_request_user(self))


class PenaltyIdMixin:
    def get_queryset(self) -> Any:
        visible = Case.objects.visible_to(_request_user(self))  # type: ignore[arg-type]
        return PenaltyItem.objects.filter(case__in=visible)


@extend_schema_field(OpenApiTypes.INT)
class PenaltyField(StrictIdMixin, PenaltyIdMixin, serializers.PrimaryKeyRelatedField[PenaltyItem]):
    pass


@extend_schema_field(OpenApiTypes.INT)
class PenaltyFormField(PenaltyIdMixin, serializers.PrimaryKeyRelatedField[PenaltyItem]):
    """The same from a multipart form (where every value is text)."""


def _ids(field: serializers.Field[Any, Any, Any, Any], limit: int, text: str) -> Any:
    return serializers.ListField(child=field, required=False, max_length=limit, help_text=text)


def text_field(required: bool = False, max_length: int = MAX_TEXT, **kwargs: Any) -> Any:
    if required:
        return StrictCharField(max_length=max_length, **kwargs)
    return StrictCharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class CaseUpdateInput(serializers.Serializer[Any]):
    """What may change while the case is built (until the notice of intended penalty); a list
    given replaces the one recorded."""

    title = text_field(required=True, max_length=200, help_text="cause of action (案由)")
    facts = text_field()
    persons = _ids(VisiblePersonField(), 50, "the unit's people concerned")
    persons_note = text_field(help_text="other persons concerned")
    officers = _ids(
        VisibleOfficerField(), 10, "handling officers (at least two before registration)"
    )
    provisions = _ids(ProvisionField(), MAX_ITEMS, "legal provisions applied")
    hazards = _ids(VisibleHazardField(), 200, "the unit's hazards in evidence")
    inspections = _ids(VisibleInspectionField(), 100, "inspections of the unit in evidence")


class CaseInput(CaseUpdateInput):
    enterprise = VisibleEnterpriseField(help_text="the unit the case is against")


class RegisterInput(serializers.Serializer[Any]):
    number = text_field(
        max_length=60, help_text="a case number from the paper file; default: the bureau's next"
    )
    note = text_field()


class NoteInput(serializers.Serializer[Any]):
    note = text_field()


class PenaltyItemInput(serializers.Serializer[Any]):
    provision = ProvisionField(help_text="one of the provisions the case applies")
    kind = serializers.ChoiceField(choices=PenaltyKind.choices)
    amount = StrictDecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="yuan, for a fine only",
    )
    person = VisiblePersonField(
        required=False, allow_null=True, help_text="the person fined (person_fine)"
    )
    permit = VisiblePermitField(
        required=False, allow_null=True, help_text="the permit suspended or revoked"
    )
    until = serializers.DateField(
        required=False, allow_null=True, help_text="the end of a suspension"
    )
    description = text_field(max_length=300)


class NotifyInput(serializers.Serializer[Any]):
    items = PenaltyItemInput(  # type: ignore[call-arg]
        many=True, max_length=MAX_ITEMS, help_text="the intended penalty"
    )
    note = text_field()


class DecideInput(serializers.Serializer[Any]):
    items = PenaltyItemInput(  # type: ignore[call-arg]
        many=True,
        required=False,
        max_length=MAX_ITEMS,
        help_text="the decided penalty when lighter than notified; default: as notified",
    )
    note = text_field()


class DefenceInput(serializers.Serializer[Any]):
    statement = text_field(help_text="what the party stated (陈述申辩)")
    hearing_requested = StrictBooleanField(required=False, default=False)
    waived = StrictBooleanField(
        required=False,
        default=False,
        help_text="the party waived its defence in writing (send the signed waiver as files)",
    )


class DefenceUpload(serializers.Serializer[Any]):
    statement = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True)
    hearing_requested = serializers.BooleanField(required=False, default=False)
    waived = serializers.BooleanField(required=False, default=False)
    files = files_field(required=False)


class HearingInput(serializers.Serializer[Any]):
    held_on = serializers.DateField()
    record = text_field(required=True, help_text="what the hearing established")


class HearingUpload(serializers.Serializer[Any]):
    held_on = serializers.DateField()
    record = serializers.CharField(max_length=MAX_TEXT)
    files = files_field(required=False)


class PaymentInput(serializers.Serializer[Any]):
    item = PenaltyField(help_text="the fine paid (a penalty item of this case)")
    paid_on = serializers.DateField()
    receipt_number = text_field(required=True, max_length=60)


class PaymentUpload(serializers.Serializer[Any]):
    item = PenaltyFormField(help_text="the fine paid (a penalty item of this case)")
    paid_on = serializers.DateField()
    receipt_number = serializers.CharField(max_length=60)
    files = files_field(required=False)


class DropInput(serializers.Serializer[Any]):
    reason = text_field(required=True)


class CaseFilesUpload(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=UPLOAD_KINDS, default=CaseDocument.Kind.EVIDENCE)
    files = files_field(required=True)


class ReviewInput(serializers.Serializer[Any]):
    facts_clear = StrictBooleanField()
    evidence_sufficient = StrictBooleanField()
    procedure_lawful = StrictBooleanField()
    basis_correct = StrictBooleanField()
    penalty_appropriate = StrictBooleanField()
    documents_complete = StrictBooleanField()
    score = StrictIntegerField(min_value=0, max_value=100)
    comments = text_field()
