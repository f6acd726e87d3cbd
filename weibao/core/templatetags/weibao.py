from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def audit_rows(entry: Any) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every field an audit entry mentions, in a stable order."""
    before = entry.before or {}
    after = entry.after or {}
    return [(field, before.get(field), after.get(field)) for field in sorted({*before, *after})]
