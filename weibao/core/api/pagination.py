from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

MAX_PAGE_SIZE = 500


def _positive_int(raw: str, field: str, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({field: [_("A whole number is required.")]}) from None
    if value < 1:
        raise ValidationError({field: [_("Must be 1 or more.")]})
    if maximum is not None and value > maximum:
        raise ValidationError({field: [_("Must be at most %(maximum)d.") % {"maximum": maximum}]})
    return value


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (1–500). Bad values are a 400 naming the parameter rather than
    DRF's silent clamping, so an integrator learns at once that they asked for something else."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return int(self.page_size or 50)
        return _positive_int(raw, self.page_size_query_param, self.max_page_size)

    def get_page_number(self, request: Any, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw in (None, ""):
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        return _positive_int(raw, self.page_query_param)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for p in params:
            if p["name"] == self.page_query_param:
                p["schema"] = {"type": "integer", "minimum": 1}
            elif p["name"] == self.page_size_query_param:
                p["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return params
