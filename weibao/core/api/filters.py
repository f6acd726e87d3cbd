from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
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
