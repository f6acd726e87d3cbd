"""Shared input fields: strict types, and references resolved through `visible_to(user)` (an id
the caller may not see reads as "does not exist")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.accounts.models import User
from weibao.hazards.models import Hazard
from weibao.inspections.models import Campaign, Checklist
from weibao.registry.models import EnterpriseKind, Site
from weibao.registry.serializers import VisibleEnterpriseField as _VisibleEnterpriseField


def _user(serializer: serializers.Field[Any, Any, Any, Any]) -> Any:
    return serializer.context["request"].user


class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only (DRF would also take "yes", 1, "on")."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


@extend_schema_field(OpenApiTypes.INT)
class VisibleUserField(serializers.PrimaryKeyRelatedField[User]):
    """A user id the caller may see (regulators: officers of their jurisdiction)."""

    def get_queryset(self) -> Any:
        return User.objects.visible_to(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class VisibleEnterpriseField(_VisibleEnterpriseField):
    pass


@extend_schema_field(OpenApiTypes.INT)
class VisibleSiteField(serializers.PrimaryKeyRelatedField[Site]):
    def get_queryset(self) -> Any:
        return Site.objects.visible_to(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class VisibleChecklistField(serializers.PrimaryKeyRelatedField[Checklist]):
    def get_queryset(self) -> Any:
        return Checklist.objects.visible_to(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class VisibleCampaignField(serializers.PrimaryKeyRelatedField[Campaign]):
    def get_queryset(self) -> Any:
        return Campaign.objects.visible_to(_user(self))


@extend_schema_field(OpenApiTypes.INT)
class VisibleHazardField(serializers.PrimaryKeyRelatedField[Hazard]):
    def get_queryset(self) -> Any:
        return Hazard.objects.visible_to(_user(self))


def kinds_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=EnterpriseKind.choices),
        min_length=1,
        max_length=len(EnterpriseKind.choices),
    )


class PersonRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


def person_ref(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": str(user)}
