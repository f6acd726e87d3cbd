from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from weibao.core.api.filters import BooleanFilter, FilterSet
from weibao.core.api.viewsets import ReadOnlyScopedViewSet
from weibao.core.models import Notification


class NotificationOutput(serializers.ModelSerializer[Notification]):
    text = serializers.CharField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "verb", "params", "text", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationFilter(FilterSet):
    unread = BooleanFilter(field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = ["unread"]


class NotificationViewSet(ReadOnlyScopedViewSet):
    """Your own notifications, newest first, rendered in your language."""

    queryset_base = Notification.objects.all()
    serializer_class = NotificationOutput
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]
    permission_type_map = {
        **ReadOnlyScopedViewSet.permission_type_map,
        "read": "view",
        "read_all": None,
    }

    @extend_schema(request=None, responses=NotificationOutput)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        note = self.get_object()
        if note.read_at is None:
            note.read_at = timezone.now()
            note.save(update_fields=["read_at"])
        return Response(NotificationOutput(note).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("ReadAll", fields={"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        marked = self.get_queryset().filter(read_at__isnull=True).update(read_at=timezone.now())
        return Response({"marked": marked})
