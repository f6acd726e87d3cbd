"""Helpers shared by the inspection models: division codes and comma lists."""

from __future__ import annotations

from typing import Any


def ancestor_codes(code: str) -> list[str]:
    """The province and city codes above a county code (GB/T 2260), without the code itself."""
    if not code or len(code) != 6:
        return []
    candidates = [code[:2] + "0000", code[:4] + "00"]
    return [c for c in dict.fromkeys(candidates) if c != code]


def user_home_code(user: Any) -> str:
    """The division a signed-in user works in: their bureau's, or their unit's."""
    if getattr(user, "agency_id", None) and user.agency is not None:
        return str(user.agency.jurisdiction_id)
    if getattr(user, "enterprise_id", None) and user.enterprise is not None:
        return str(user.enterprise.jurisdiction_id)
    return ""


def split_codes(value: str) -> list[str]:
    return [c for c in (value or "").split(",") if c]
