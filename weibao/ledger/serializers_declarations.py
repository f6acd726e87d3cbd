"""Shapes of declared magazine counts and purchase-permit allowances over the API."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.core.api.filters import MAX_ID
from weibao.ledger.declaration_services import MAX_AGE_DAYS
from weibao.ledger.models import MEASURE, MagazineCount, PermitAllowance, ProductKind
from weibao.ledger.serializers import SiteRef, UnitRef
from weibao.ledger.serializers_firing import StrictIntegerField

QUANTITY_PATTERN = r"^[0-9]{1,11}(\.[0-9]{1,3})?$"


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": QUANTITY_PATTERN},
            {"type": "integer", "minimum": 0},
        ]
    }
)
class QuantityField(serializers.DecimalField):
    """A quantity as a decimal string ("12.5") or a JSON integer (120): never a JSON fraction,
    which would lose precision on the way."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        return super().to_internal_value(str(data))


def id_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def _measure(product: str) -> str:
    return MEASURE[ProductKind(product)]


# --- declared counts -------------------------------------------------------------------------
class MagazineCountInput(serializers.Serializer[Any]):
    site = id_field(help_text="id of a magazine of your unit")
    day = serializers.DateField(
        help_text=f"the local day counted (YYYY-MM-DD): today or one of the last {MAX_AGE_DAYS}"
    )
    product = serializers.ChoiceField(choices=ProductKind.choices)
    quantity = QuantityField(
        help_text="on hand at the end of the day, at least 0: detonators in whole pieces, "
        "explosives in kg, cord and fuse in m"
    )


class UserRef(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, obj: Any) -> str:
        return str(obj.full_name or obj.username)


class MagazineCountOutput(serializers.ModelSerializer[MagazineCount]):
    site = SiteRef(read_only=True)
    enterprise = UnitRef(source="site.enterprise", read_only=True)
    product_display = serializers.CharField(source="get_product_display", read_only=True)
    measure = serializers.SerializerMethodField(help_text="piece, kg or m")
    declared_by = UserRef(
        allow_null=True, read_only=True, help_text="null: loaded by the operator, not declared"
    )

    class Meta:
        model = MagazineCount
        fields = [
            "id",
            "site",
            "enterprise",
            "day",
            "product",
            "product_display",
            "measure",
            "quantity",
            "recorded_at",
            "declared_by",
        ]
        read_only_fields = fields

    def get_measure(self, obj: MagazineCount) -> str:
        return _measure(obj.product)


# --- permit allowances -----------------------------------------------------------------------
class PermitAllowanceInput(serializers.Serializer[Any]):
    permit = id_field(help_text="id of a purchase permit of a unit you supervise")
    product = serializers.ChoiceField(choices=ProductKind.choices)
    quantity = QuantityField(
        help_text="more than 0: detonators in whole pieces, explosives in kg, cord and fuse in m"
    )

    def validate_permit(self, value: int) -> int:
        instance = self.instance
        if instance is not None and value != instance.permit_id:
            raise serializers.ValidationError(
                _("An allowance stays on its permit: remove it and add one to the other permit.")
            )
        return value


class PermitRef(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.CharField()
    expires_on = serializers.DateField()
    status = serializers.CharField()


class PermitAllowanceOutput(serializers.ModelSerializer[PermitAllowance]):
    permit = PermitRef(read_only=True)
    enterprise = UnitRef(source="permit.enterprise", read_only=True)
    product_display = serializers.CharField(source="get_product_display", read_only=True)
    measure = serializers.SerializerMethodField(help_text="piece, kg or m")

    class Meta:
        model = PermitAllowance
        fields = ["id", "permit", "enterprise", "product", "product_display", "measure", "quantity"]
        read_only_fields = fields

    def get_measure(self, obj: PermitAllowance) -> str:
        return _measure(obj.product)


__all__ = [
    "MagazineCountInput",
    "MagazineCountOutput",
    "PermitAllowanceInput",
    "PermitAllowanceOutput",
    "QuantityField",
]
