"""API for this app (registered on the v1 router by `register`)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


def register(router: SimpleRouter) -> None:
    """Add this app's viewsets to the v1 router."""
