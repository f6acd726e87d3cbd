"""Input and output shapes for firing devices, blasting projects, forbidden zones, the chip-UID
blacklist and firing authorizations."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.core.api.serializers import MomentField, StrictCharField
from weibao.ledger.codes import UID_RE, uid_error
from weibao.ledger.firing import MAX_RADIUS_M, Refusal
from weibao.ledger.models import (
    BlacklistedUid,
    BlastingProject,
    Device,
    FiringAuthorization,
    ForbiddenZone,
)
from weibao.registry.models import Enterprise, Jurisdiction

DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
PROJECT_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,59}$")
NONCE_RE = re.compile(r"^[\x21-\x7e]{1,64}$")


class StrictFloatField(serializers.FloatField):
    """A JSON number (not "26.9", not true), finite."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if not math.isfinite(data):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not "5", not 5.0)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


def latitude_field(**kwargs: Any) -> StrictFloatField:
    return StrictFloatField(min_value=-90, max_value=90, **kwargs)


def longitude_field(**kwargs: Any) -> StrictFloatField:
    return StrictFloatField(min_value=-180, max_value=180, **kwargs)


def radius_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_RADIUS_M, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class VisibleEnterpriseField(serializers.PrimaryKeyRelatedField[Enterprise]):
    """A unit id (JSON integer) the caller may see; anything else reads as "does not exist"."""

    def get_queryset(self) -> Any:
        return Enterprise.objects.visible_to(self.context["request"].user)

    def to_internal_value(self, data: Any) -> Enterprise:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{6}$"})
class DivisionCodeField(serializers.SlugRelatedField[Jurisdiction]):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "code")
        kwargs.setdefault("queryset", Jurisdiction.objects.all())
        kwargs.setdefault("error_messages", {"does_not_exist": _("Unknown division code {value}.")})
        super().__init__(**kwargs)


def _window_in_order(attrs: dict[str, Any], instance: Any) -> None:
    starts = attrs.get("starts_at", getattr(instance, "starts_at", None))
    ends = attrs.get("ends_at", getattr(instance, "ends_at", None))
    if starts is not None and ends is not None and starts >= ends:
        raise serializers.ValidationError({"ends_at": [_("The end must be after the start.")]})


class UnitRefOutput(serializers.Serializer[Any]):
    enterprise = serializers.IntegerField(source="enterprise_id")
    enterprise_name = serializers.CharField(source="enterprise.name")
    enterprise_uscc = serializers.CharField(source="enterprise.uscc")


# --- devices ----------------------------------------------------------------------------------
class DeviceInput(serializers.Serializer[Any]):
    device_id = StrictCharField(
        max_length=64,
        validators=[
            RegexValidator(
                DEVICE_ID_RE, _("1 to 64 letters, digits, dots, colons, dashes or underscores.")
            )
        ],
    )
    enterprise = VisibleEnterpriseField(
        required=False, help_text="The unit; a unit's own staff may leave it out."
    )


class DeviceOutput(UnitRefOutput, serializers.ModelSerializer[Device]):
    class Meta:
        model = Device
        fields = [
            "id",
            "device_id",
            "enterprise",
            "enterprise_name",
            "enterprise_uscc",
            "blacklisted",
            "blacklist_reason",
            "registered_at",
        ]
        read_only_fields = fields


class DeviceRegisteredOutput(DeviceOutput):
    token = serializers.CharField(
        help_text="Send as `Authorization: Device <token>`. Shown this once; only its hash is kept."
    )

    class Meta(DeviceOutput.Meta):
        fields = [*DeviceOutput.Meta.fields, "token"]
        read_only_fields = fields


class DeviceReasonInput(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=200)


# --- projects ---------------------------------------------------------------------------------
class BlastingProjectInput(serializers.Serializer[Any]):
    code = StrictCharField(
        max_length=60,
        validators=[
            RegexValidator(
                PROJECT_CODE_RE, _("Letters, digits, dots, slashes, dashes or underscores.")
            )
        ],
        help_text="Unique; what ingest rows and firing devices name. It cannot change later.",
    )
    name = StrictCharField(max_length=200)
    latitude = latitude_field(help_text="Centre of the permitted zone (WGS-84).")
    longitude = longitude_field()
    radius_m = radius_field()
    starts_at = MomentField()
    ends_at = MomentField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _window_in_order(attrs, self.instance)
        return attrs


class BlastingProjectOutput(UnitRefOutput, serializers.ModelSerializer[BlastingProject]):
    class Meta:
        model = BlastingProject
        fields = [
            "id",
            "code",
            "name",
            "enterprise",
            "enterprise_name",
            "enterprise_uscc",
            "latitude",
            "longitude",
            "radius_m",
            "starts_at",
            "ends_at",
            "created_at",
        ]
        read_only_fields = fields


# --- forbidden zones --------------------------------------------------------------------------
class ForbiddenZoneInput(serializers.Serializer[Any]):
    jurisdiction = DivisionCodeField()
    name = StrictCharField(max_length=200)
    latitude = latitude_field()
    longitude = longitude_field()
    radius_m = radius_field()
    starts_at = MomentField(required=False, allow_null=True)
    ends_at = MomentField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _window_in_order(attrs, self.instance)
        return attrs


class ForbiddenZoneOutput(serializers.ModelSerializer[ForbiddenZone]):
    jurisdiction = serializers.CharField(source="jurisdiction_id")
    jurisdiction_name = serializers.CharField(source="jurisdiction.display_name")

    class Meta:
        model = ForbiddenZone
        fields = [
            "id",
            "jurisdiction",
            "jurisdiction_name",
            "name",
            "latitude",
            "longitude",
            "radius_m",
            "starts_at",
            "ends_at",
        ]
        read_only_fields = fields


# --- chip UID blacklist -----------------------------------------------------------------------
def _clean_uid(value: str) -> str:
    uid = value.strip().upper()
    error = uid_error(uid)
    if error:
        raise serializers.ValidationError(error)
    return uid


class BlacklistedUidInput(serializers.Serializer[Any]):
    uid = StrictCharField(max_length=32)
    reason = StrictCharField(max_length=200)

    def validate_uid(self, value: str) -> str:
        return _clean_uid(value)


class BlacklistedUidOutput(serializers.ModelSerializer[BlacklistedUid]):
    class Meta:
        model = BlacklistedUid
        fields = ["id", "uid", "reason", "created_at"]
        read_only_fields = fields


# --- firing authorization ---------------------------------------------------------------------
@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "pattern": "^[0-9A-Fa-f]{8,32}$"},
        "minItems": 1,
        "maxItems": settings.LEDGER_FIRING_MAX_UIDS,
        "uniqueItems": True,
    }
)
class UidListField(serializers.Field):  # type: ignore[type-arg]
    """Chip UIDs, upper-cased, each asked once. One pass over the list: a ListField of
    CharFields would cost a dozen calls per UID, and a request holds up to a thousand."""

    default_error_messages = {
        "not_a_list": _("Expected a list of chip UIDs."),
        "empty": _("Ask for at least one UID."),
        "too_many": _("Ask for at most %(limit)d UIDs at once."),
        "repeated": _("Each UID may be asked once; repeated: %(uids)s."),
    }

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list):
            self.fail("not_a_list")
        if not data:
            self.fail("empty")
        limit = settings.LEDGER_FIRING_MAX_UIDS
        if len(data) > limit:
            raise serializers.ValidationError(self.error_messages["too_many"] % {"limit": limit})
        uids: list[str] = []
        errors: dict[int, list[str]] = {}
        for index, raw in enumerate(data):
            uid = raw.strip().upper() if isinstance(raw, str) else ""
            if not UID_RE.match(uid):
                errors[index] = [str(uid_error(uid))]
            uids.append(uid)
        if errors:
            raise serializers.ValidationError(errors)  # type: ignore[arg-type]
        if len(set(uids)) != len(uids):
            seen: set[str] = set()
            repeated: dict[str, None] = {}
            for uid in uids:
                if uid in seen:
                    repeated[uid] = None
                seen.add(uid)
            raise serializers.ValidationError(
                self.error_messages["repeated"] % {"uids": ", ".join(repeated)}
            )
        return uids

    def to_representation(self, value: Any) -> Any:
        return value


class FiringRequestInput(serializers.Serializer[Any]):
    device_id = StrictCharField(max_length=64)
    latitude = latitude_field(help_text="WGS-84 decimal degrees, -90 to 90.")
    longitude = longitude_field(help_text="WGS-84 decimal degrees, -180 to 180.")
    project = StrictCharField(max_length=60, help_text="The blasting project's code.")
    unit = StrictCharField(max_length=18, help_text="The unit's USCC.")
    uids = UidListField(help_text="Chip UIDs (hexadecimal, case ignored), each once.")
    at = MomentField(
        required=False,
        help_text="Planned firing time (default: now); within the work-code validity of now.",
    )
    nonce = StrictCharField(
        max_length=64,
        required=False,
        validators=[RegexValidator(NONCE_RE, _("1 to 64 printable ASCII characters."))],
        help_text="Echoed in the signed payload, so the device can match answer to request.",
    )

    def validate_at(self, value: Any) -> Any:
        limit = timedelta(minutes=settings.LEDGER_WORK_CODE_MINUTES)
        if abs(value - timezone.now()) > limit:
            raise serializers.ValidationError(
                _("The firing time must be within %(minutes)d minutes of now.")
                % {"minutes": settings.LEDGER_WORK_CODE_MINUTES}
            )
        return value


class UidResultOutput(serializers.Serializer[Any]):
    uid = serializers.CharField()
    work_code = serializers.CharField(required=False)
    expires_at = serializers.DateTimeField(required=False)
    error = serializers.ChoiceField(
        choices=["unknown", "used", "blacklisted", "not_held_by_unit", "lost"], required=False
    )


class FiringPayloadOutput(serializers.Serializer[Any]):
    granted = serializers.BooleanField(
        help_text="The request passed the device, unit, project, zone and time checks; each "
        "UID's own result says whether it got a work code."
    )
    error = serializers.ChoiceField(choices=Refusal.choices, required=False)
    device_id = serializers.CharField()
    unit = serializers.CharField()
    project = serializers.CharField()
    latitude = serializers.CharField(help_text="As a decimal string (no floats are signed).")
    longitude = serializers.CharField()
    at = serializers.DateTimeField()
    issued_at = serializers.DateTimeField()
    nonce = serializers.CharField(required=False)
    results = UidResultOutput(many=True, required=False)
    work_codes = serializers.IntegerField(required=False)


class SignedAnswerOutput(serializers.Serializer[Any]):
    payload = FiringPayloadOutput()
    signature = serializers.CharField(help_text="Ed25519 over the payload's canonical JSON.")
    key_id = serializers.CharField()
    algorithm = serializers.ChoiceField(choices=["Ed25519"])


class FiringAuthorizationOutput(UnitRefOutput, serializers.ModelSerializer[FiringAuthorization]):
    device = serializers.IntegerField(source="device_id")
    device_id = serializers.CharField(source="device.device_id")
    project_code = serializers.CharField(source="project.code", default=None, allow_null=True)
    error_display = serializers.SerializerMethodField()

    class Meta:
        model = FiringAuthorization
        fields = [
            "id",
            "device",
            "device_id",
            "enterprise",
            "enterprise_name",
            "enterprise_uscc",
            "project",
            "project_code",
            "requested_at",
            "latitude",
            "longitude",
            "uid_count",
            "granted",
            "error",
            "error_display",
        ]
        read_only_fields = fields

    def get_error_display(self, obj: FiringAuthorization) -> str:
        labels = dict(Refusal.choices)
        return str(labels.get(obj.error, obj.error)) if obj.error else ""


@extend_schema_field(SignedAnswerOutput)
class SignedAnswerField(serializers.JSONField):
    """The answer exactly as signed and sent (re-rendering it would break the signature)."""


class FiringAuthorizationDetailOutput(FiringAuthorizationOutput):
    answer = SignedAnswerField()

    class Meta(FiringAuthorizationOutput.Meta):
        fields = [*FiringAuthorizationOutput.Meta.fields, "answer"]
        read_only_fields = fields


class SigningKeyOutput(serializers.Serializer[Any]):
    key_id = serializers.CharField()
    algorithm = serializers.ChoiceField(choices=["Ed25519"])
    public_key = serializers.CharField(help_text="The raw 32-byte public key, base64.")
    public_key_pem = serializers.CharField()
    current = serializers.BooleanField(help_text="Signs new answers (else: retired, still valid).")
