"""API shapes for the registry: input serializers (validated, scoped) and output serializers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from weibao.accounts.models import UNIT_ROLE_CHOICES, Invitation
from weibao.core.api.serializers import (
    InputModelSerializer,
    StrictCharField,
    StrictDecimalField,
    StrictEmailField,
)
from weibao.registry.models import (
    Certificate,
    Enterprise,
    EnterpriseKind,
    ExpiryState,
    Jurisdiction,
    Permit,
    Person,
    Site,
)
from weibao.registry.models.units import EXPIRY_BEFORE_ISSUE, dates_in_order
from weibao.registry.validators import clean_identity_number, clean_uscc


def _user(serializer: serializers.Serializer[Any]) -> Any:
    return serializer.context["request"].user


class VisibleEnterpriseField(serializers.PrimaryKeyRelatedField[Enterprise]):
    """A unit id the caller may see; anything else reads as "does not exist" (no probing)."""

    def get_queryset(self) -> Any:
        return Enterprise.objects.visible_to(self.context["request"].user)


class DivisionCodeField(serializers.SlugRelatedField[Jurisdiction]):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "code")
        kwargs.setdefault("queryset", Jurisdiction.objects.all())
        kwargs.setdefault("error_messages", {"does_not_exist": _("Unknown division code {value}.")})
        super().__init__(**kwargs)


class LocationSerializer(serializers.Serializer[Any]):
    latitude = StrictDecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = StrictDecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH makes nested fields optional; a location is still both coordinates or null.
        missing = [name for name in ("latitude", "longitude") if name not in attrs]
        if missing:
            raise serializers.ValidationError(
                {name: [self.fields[name].error_messages["required"]] for name in missing}
            )
        return attrs


class LocatedOutputMixin(serializers.Serializer[Any]):
    location = serializers.SerializerMethodField()

    def get_location(self, obj: Any) -> dict[str, str] | None:
        if obj.latitude is None or obj.longitude is None:
            return None
        return {"latitude": str(obj.latitude), "longitude": str(obj.longitude)}


def _flatten_location(data: dict[str, Any]) -> dict[str, Any]:
    if "location" in data:
        location = data.pop("location")
        data["latitude"] = location["latitude"] if location else None
        data["longitude"] = location["longitude"] if location else None
    return data


# --- units ------------------------------------------------------------------------------------
class EnterpriseOutput(LocatedOutputMixin, serializers.ModelSerializer[Enterprise]):
    kinds = serializers.ListField(child=serializers.CharField(), source="kind_list")
    kinds_display = serializers.ListField(child=serializers.CharField(), source="get_kinds_display")
    jurisdiction = serializers.CharField(source="jurisdiction_id")
    jurisdiction_name = serializers.CharField(source="jurisdiction.display_name")
    status_display = serializers.CharField(source="get_status_display")

    class Meta:
        model = Enterprise
        fields = [
            "id",
            "uscc",
            "name",
            "kinds",
            "kinds_display",
            "jurisdiction",
            "jurisdiction_name",
            "address",
            "location",
            "principal",
            "phone",
            "status",
            "status_display",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EnterpriseInput(InputModelSerializer):
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EnterpriseKind.choices),
        min_length=1,
        max_length=len(EnterpriseKind.choices),
    )
    jurisdiction = DivisionCodeField()
    location = LocationSerializer(required=False, allow_null=True)

    class Meta:
        model = Enterprise
        fields = [
            "uscc",
            "name",
            "kinds",
            "jurisdiction",
            "address",
            "location",
            "principal",
            "phone",
            "status",
        ]
        # validate_uscc normalises first, then checks uniqueness with a clearer message.
        extra_kwargs: dict[str, Any] = {"uscc": {"validators": []}}

    def validate_uscc(self, value: str) -> str:
        try:
            value = clean_uscc(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        others = Enterprise.objects.filter(uscc=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError(_("A unit with this code is already registered."))
        return value

    def validate_kinds(self, value: list[str]) -> str:
        return ",".join(sorted(set(value)))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _flatten_location(attrs)


# --- permits ----------------------------------------------------------------------------------
class UnitRefOutput(serializers.Serializer[Any]):
    enterprise = serializers.IntegerField(source="enterprise_id")
    enterprise_name = serializers.CharField(source="enterprise.name")
    enterprise_uscc = serializers.CharField(source="enterprise.uscc")


class PermitOutput(UnitRefOutput, serializers.ModelSerializer[Permit]):
    kind_display = serializers.CharField(source="get_kind_display")
    state = serializers.ChoiceField(choices=ExpiryState.choices)
    state_display = serializers.CharField(source="get_state_display")
    status = serializers.ChoiceField(
        choices=Permit.Status.choices,
        help_text="in force, or suspended or revoked by a penalty decision (enforcement)",
    )
    status_display = serializers.CharField(source="get_status_display")
    suspended_until = serializers.DateField(
        allow_null=True, help_text="the end of a suspension; null otherwise"
    )
    has_attachment = serializers.SerializerMethodField()

    class Meta:
        model = Permit
        fields = [
            "id",
            "enterprise",
            "enterprise_name",
            "enterprise_uscc",
            "kind",
            "kind_display",
            "number",
            "scope",
            "issued_on",
            "expires_on",
            "state",
            "state_display",
            "status",
            "status_display",
            "suspended_until",
            "has_attachment",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_has_attachment(self, obj: Permit) -> bool:
        return bool(obj.attachment)


class DatedInput(InputModelSerializer):
    """Input for an expiring document: the expiry must follow the issue date."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        issued = attrs.get("issued_on", getattr(self.instance, "issued_on", None))
        expires = attrs.get("expires_on", getattr(self.instance, "expires_on", None))
        if not dates_in_order(issued, expires):
            raise serializers.ValidationError({"expires_on": [EXPIRY_BEFORE_ISSUE]})
        return attrs


class PermitInput(DatedInput):
    enterprise = VisibleEnterpriseField()

    class Meta:
        model = Permit
        fields = ["enterprise", "kind", "number", "scope", "issued_on", "expires_on"]
        validators: list[Any] = []  # uniqueness is reported by the model, per field


class AttachmentInput(serializers.Serializer[Any]):
    file = serializers.FileField()


# --- sites ------------------------------------------------------------------------------------
class SiteOutput(LocatedOutputMixin, UnitRefOutput, serializers.ModelSerializer[Site]):
    kind_display = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Site
        fields = [
            "id",
            "enterprise",
            "enterprise_name",
            "enterprise_uscc",
            "name",
            "kind",
            "kind_display",
            "address",
            "location",
            "capacity_kg",
            "capacity_detonators",
            "security_notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SiteInput(InputModelSerializer):
    enterprise = VisibleEnterpriseField()
    location = LocationSerializer(required=False, allow_null=True)

    class Meta:
        model = Site
        fields = [
            "enterprise",
            "name",
            "kind",
            "address",
            "location",
            "capacity_kg",
            "capacity_detonators",
            "security_notes",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _flatten_location(attrs)


# --- people and certificates ------------------------------------------------------------------
class CertificateOutput(serializers.ModelSerializer[Certificate]):
    kind_display = serializers.CharField(source="get_kind_display")
    state = serializers.ChoiceField(choices=ExpiryState.choices)
    state_display = serializers.CharField(source="get_state_display")

    class Meta:
        model = Certificate
        fields = [
            "id",
            "person",
            "kind",
            "kind_display",
            "number",
            "issued_on",
            "expires_on",
            "state",
            "state_display",
        ]
        read_only_fields = fields


class CertificateFields(DatedInput):
    class Meta:
        model = Certificate
        fields = ["kind", "number", "issued_on", "expires_on"]


class VisiblePersonField(serializers.PrimaryKeyRelatedField[Person]):
    def get_queryset(self) -> Any:
        return Person.objects.visible_to(self.context["request"].user)


class CertificateInput(CertificateFields):
    person = VisiblePersonField()

    class Meta(CertificateFields.Meta):
        fields = ["person", *CertificateFields.Meta.fields]


class PersonOutput(UnitRefOutput, serializers.ModelSerializer[Person]):
    identity_number = serializers.SerializerMethodField()
    post_display = serializers.CharField(source="get_post_display")
    certificates = CertificateOutput(many=True)

    class Meta:
        model = Person
        fields = [
            "id",
            "enterprise",
            "enterprise_name",
            "enterprise_uscc",
            "name",
            "identity_number",
            "post",
            "post_display",
            "appointed_on",
            "phone",
            "is_active",
            "certificates",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_identity_number(self, obj: Person) -> str:
        """Whole only for regulators granted registry.view_identity_number; masked otherwise."""
        if self.context.get("unmask_identity"):
            return obj.identity_number
        return obj.masked_identity_number


class PersonInput(InputModelSerializer):
    enterprise = VisibleEnterpriseField()
    certificates = CertificateFields(many=True, required=False)

    class Meta:
        model = Person
        fields = [
            "enterprise",
            "name",
            "identity_number",
            "post",
            "appointed_on",
            "phone",
            "is_active",
            "certificates",
        ]
        validators: list[Any] = []

    def validate_identity_number(self, value: str) -> str:
        try:
            return clean_identity_number(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        enterprise = attrs.get("enterprise", getattr(self.instance, "enterprise", None))
        number = attrs.get("identity_number")
        if enterprise is not None and number:
            clash = Person.objects.filter(enterprise=enterprise, identity_number=number)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"identity_number": [_("This person is already registered for the unit.")]}
                )
        if self.instance is not None and "certificates" in attrs:
            raise serializers.ValidationError(
                {"certificates": [_("Change certificates at /api/v1/certificates/.")]}
            )
        return attrs


class FindingOutput(serializers.Serializer[Any]):
    rule = serializers.CharField()
    level = serializers.ChoiceField(choices=[("general", "general"), ("major", "major")])
    level_display = serializers.SerializerMethodField()
    title = serializers.CharField()
    legal_basis = serializers.CharField()
    subject = serializers.CharField()
    detail = serializers.CharField()

    def get_level_display(self, obj: Any) -> str:
        from weibao.registry.models import ComplianceRule

        return str(ComplianceRule.Level(obj.level).label)


class ComplianceOutput(serializers.Serializer[Any]):
    enterprise = serializers.IntegerField()
    evaluated_at = serializers.DateTimeField()
    major = serializers.IntegerField()
    general = serializers.IntegerField()
    findings = FindingOutput(many=True)


class InvitationInput(serializers.Serializer[Any]):
    full_name = StrictCharField(max_length=100)
    role = serializers.ChoiceField(choices=UNIT_ROLE_CHOICES)
    email = StrictEmailField(required=False, allow_blank=True, default="")


class InvitationOutput(serializers.ModelSerializer[Invitation]):
    link = serializers.CharField(read_only=True, default="")
    # Optional: an empty string when the link is handed over in person (not an e-mail format).
    email = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "enterprise",
            "full_name",
            "role",
            "email",
            "created_at",
            "expires_at",
            "link",
        ]
        read_only_fields = fields
