"""Input fields that take the documented JSON types only (DRF would turn 0 into "0")."""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers
from rest_framework.fields import empty


class StrictCharField(serializers.CharField):
    def run_validation(self, data: Any = empty) -> Any:
        # The length limit is on the text as sent (the schema's maxLength): checked before the
        # surrounding white space is trimmed, or an over-long text padded with it would pass.
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)

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


class MomentField(serializers.DateTimeField):
    """A point in time within the years a record can concern (2000-2099). Outside them a time
    is a typo, and before 1901 the local zone has no whole-minute offset (Asia/Shanghai's
    local mean time, +08:05:43), which no ISO 8601 answer can carry."""

    EARLIEST = 2000
    LATEST = 2099

    def to_internal_value(self, value: Any) -> Any:
        moment = super().to_internal_value(value)
        if not (self.EARLIEST <= moment.year <= self.LATEST):
            from django.utils.translation import gettext as _

            raise serializers.ValidationError(
                _("Give a time between the years %(first)d and %(last)d.")
                % {"first": self.EARLIEST, "last": self.LATEST}
            )
        return moment
