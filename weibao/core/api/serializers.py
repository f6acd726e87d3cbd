"""Input fields that take the documented JSON types only (DRF would turn 0 into "0")."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictDecimalField(serializers.DecimalField):
    """Decimals travel as strings ("26.893000"), both ways, so no precision is lost in JSON."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class InputModelSerializer(serializers.ModelSerializer[Any]):
    """Base of every model input serializer: text fields accept JSON strings only."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.DecimalField: StrictDecimalField,
    }
