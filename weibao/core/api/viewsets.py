"""The API base every resource builds on: scoped querysets, rules permissions, thin views."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from rest_framework import exceptions, mixins, viewsets
from rest_framework.request import Request
from rules.contrib.rest_framework import AutoPermissionViewSetMixin


class ScopedQueryMixin:
    """Rows come from `Model.objects.visible_to(user)`: an invisible object is a 404, never a
    403. Used alone by viewsets whose writes are service calls that refuse what the actor may
    not do; with rules permissions in ScopedViewSetMixin."""

    queryset_base: ClassVar[Any] = None  # e.g. Agency.objects.select_related("jurisdiction")

    def get_queryset(self) -> QuerySet[Any]:
        if self.queryset_base is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs queryset_base.")
        request: Request = self.request  # type: ignore[attr-defined]
        queryset: QuerySet[Any] = self.queryset_base.visible_to(request.user)
        return queryset


class ScopedViewSetMixin(ScopedQueryMixin, AutoPermissionViewSetMixin):
    """Scoped rows (ScopedQueryMixin); a visible one the user may not act on is a 403 (rules
    permission of the model)."""

    # OPTIONS is DRF's "metadata" action: it describes the endpoint and reads no row.
    permission_type_map = {**AutoPermissionViewSetMixin.permission_type_map, "metadata": None}

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated()
        raise exceptions.PermissionDenied(detail=message, code=code)


class ReadOnlyScopedViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet[Any]):
    pass


class ScopedModelViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet[Any],
):
    """Create, read, update (no delete: supervision records are closed or cancelled, not erased)."""
