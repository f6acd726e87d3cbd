from __future__ import annotations

import re
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class OrderingFilter(filters.OrderingFilter):
    """`?ordering=name,-expires_on` over the view's `ordering_fields`; an unknown field is a 400
    naming the allowed ones (DRF would silently ignore it and sort some other way)."""

    def _allowed(self, view: Any) -> list[str]:
        return list(getattr(view, "ordering_fields", None) or [])

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        raw = request.query_params.get(self.ordering_param)
        if raw:
            allowed = set(self._allowed(view))
            fields = [f.strip() for f in raw.split(",")]
            unknown = [f for f in fields if f.lstrip("-") not in allowed]
            if unknown:
                raise ValidationError(
                    {
                        self.ordering_param: [
                            _("Cannot order by %(fields)s; use %(allowed)s (prefix - to reverse).")
                            % {"fields": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))}
                        ]
                    }
                )
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        allowed = self._allowed(view)
        if allowed:
            one = "-?(" + "|".join(re.escape(f) for f in allowed) + ")"
            for p in params:
                p["schema"] = {"type": "string", "pattern": f"^{one}(,{one})*$"}
        return params


MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number the database can hold (a larger one is a 400, not a crash)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no); anything else is an error, not a silently dropped filter."""

    TRUE = frozenset({"true", "1", "yes"})
    FALSE = frozenset({"false", "0", "no"})

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(_("Use true or false."), code="invalid")


@extend_schema_field({"type": "boolean"})
class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterSet(django_filters.FilterSet):
    """Base for every API filter set: strict booleans."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
    }
