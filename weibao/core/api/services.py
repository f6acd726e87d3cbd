"""A viewset whose writes go through service functions, with separate input and output shapes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from weibao.core.api.viewsets import ScopedModelViewSet


class ServiceModelViewSet(ScopedModelViewSet):
    """Reads from visible_to(user); creates and updates through `create_object`/`update_object`,
    which call the app's services (the same ones the pages call)."""

    input_serializer_class: type[serializers.Serializer[Any]]
    output_serializer_class: type[serializers.Serializer[Any]]

    @property
    def actor(self) -> Any:
        """The signed-in user (permission classes guarantee one), as services expect it."""
        return self.request.user

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action in {"create", "update", "partial_update"}:
            return self.input_serializer_class
        return self.output_serializer_class

    def create_object(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def update_object(self, obj: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def output(self, obj: Any, **kwargs: Any) -> Response:
        return Response(
            self.output_serializer_class(obj, context=self.get_serializer_context()).data, **kwargs
        )

    def validated_input(self, request: Request, **kwargs: Any) -> dict[str, Any]:
        serializer = self.input_serializer_class(
            data=request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.create_object(self.validated_input(request))
        return self.output(obj, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        data = self.validated_input(request, instance=obj, partial=kwargs.get("partial", False))
        return self.output(self.update_object(obj, data))
