"""The API base every resource builds on: scoped querysets, rules permissions, thin views."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions, mixins, viewsets
from rules.contrib.rest_framework import AutoPermissionViewSetMixin


class ScopedViewSetMixin(AutoPermissionViewSetMixin):
    """Rows come from `Model.objects.visible_to(user)`: an invisible object is a 404, never a 403;
    a visible one the user may not act on is a 403 (rules permission of the model)."""

    queryset_base: Any = None  # e.g. Agency.objects.select_related("jurisdiction")

    def get_queryset(self) -> Any:
        if self.queryset_base is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs queryset_base.")
        return self.queryset_base.visible_to(self.request.user)

    def permission_denied(self, request: Any, message: Any = None, code: Any = None) -> None:
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated()
        raise exceptions.PermissionDenied(detail=message, code=code)


class ReadOnlyScopedViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedModelViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Create, read, update (no delete: supervision records are closed or cancelled, not erased)."""
