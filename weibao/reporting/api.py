"""API of internal reports (filled in by the API work)."""

from __future__ import annotations

from typing import Any


def register(router: Any) -> None:
    """Register the reporting viewsets on the /api/v1/ router."""


public_urlpatterns: list[Any] = []
