"""Pages of the enforcement app (cases, provisions, reviews)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []  # type: ignore[type-arg]
