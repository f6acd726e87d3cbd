"""Firing authorization over the API.

Signed in (user token or session):
- `/api/v1/ledger/devices/`: firing devices of the units you supervise, or of your own unit.
  POST registers one (the unit's principal or safety officer, or a supervising regulator) and
  answers its token once; `blacklist/` and `unblacklist/` (regulators, with a reason).
- `/api/v1/ledger/projects/`: blasting projects (permitted zone and time window); a blasting
  contractor's principal or safety officer creates and changes its own.
- `/api/v1/ledger/forbidden-zones/`: regulators keep them in their jurisdiction; every unit
  reads all of them.
- `/api/v1/ledger/blacklisted-uids/`: the national chip-UID blacklist (regulators only).
- `GET /api/v1/ledger/firing-authorizations/`: the requests answered, with their signed answers.

Device (`Authorization: Device <token>`): `POST /api/v1/ledger/firing-authorizations/`, always
answered 200 with a signed answer when the request is well formed (a refusal is a signed
`{"granted": false, "error": ...}`), 400 when it is not; see `weibao.ledger.firing`.

Public: `GET /api/v1/ledger/signing-keys/`, the public keys that verify the answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from weibao.accounts.models import User
from weibao.core.api.errors import PROBLEM_CONTENT_TYPE
from weibao.core.api.filters import BooleanFilter, FilterSet, IdFilter
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent, sealed_idempotent
from weibao.core.api.viewsets import ScopedQueryMixin
from weibao.ledger import firing, services, signing
from weibao.ledger import serializers_firing as s
from weibao.ledger.authentication import DeviceAuthentication, IsDevice
from weibao.ledger.models import (
    BlacklistedUid,
    BlastingProject,
    Device,
    FiringAuthorization,
    ForbiddenZone,
)

NO_STORE = {"Cache-Control": "no-store"}
CONFLICT_RESPONSE = OpenApiResponse(
    response={"$ref": "#/components/schemas/Problem"},
    description="Not available in the device's current state.",
)


def _validated(
    serializer_class: type[serializers.Serializer[Any]], request: Request, **kwargs: Any
) -> dict[str, Any]:
    form = serializer_class(data=request.data, context={"request": request}, **kwargs)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


class ScopedViewSet(ScopedQueryMixin, viewsets.GenericViewSet[Any]):
    """Rows from `visible_to(user)` (an invisible row is a 404); writes are service calls, which
    refuse what the actor may not do (403)."""

    @property
    def actor(self) -> User:
        """The signed-in user (the permission classes let no one else this far)."""
        return self.request.user  # type: ignore[return-value]


# --- devices ----------------------------------------------------------------------------------
class DeviceFilter(FilterSet):
    enterprise = IdFilter(field_name="enterprise_id")
    blacklisted = BooleanFilter()

    class Meta:
        model = Device
        fields = ["enterprise", "blacklisted"]


class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """起爆器: firing devices of the units you supervise, or of your own unit."""

    queryset_base = Device.objects.select_related("enterprise")
    serializer_class = s.DeviceOutput
    filterset_class = DeviceFilter
    search_fields = ["device_id", "enterprise__name", "enterprise__uscc"]
    ordering_fields = ["device_id", "registered_at", "id"]

    @extend_schema(
        request=s.DeviceInput,
        responses={201: s.DeviceRegisteredOutput},
        parameters=[IDEMPOTENCY],
    )
    @sealed_idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Register a firing device to a blasting contractor. The answer holds the device's
        token, this once: the device sends it as `Authorization: Device <token>`."""
        data = _validated(s.DeviceInput, request)
        unit = data.get("enterprise") or self.actor.enterprise
        if unit is None:
            raise exceptions.ValidationError({"enterprise": [_("This field is required.")]})
        device, token = services.device_register(
            actor=self.actor, enterprise=unit, device_id=data["device_id"]
        )
        body = {**s.DeviceOutput(device).data, "token": token}
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)

    def _step(self, request: Request, step: Any) -> Response:
        device = self.get_object()
        data = _validated(s.DeviceReasonInput, request)
        device = step(actor=self.actor, device=device, reason=data["reason"])
        return Response(s.DeviceOutput(device).data)

    @extend_schema(
        request=s.DeviceReasonInput,
        responses={200: s.DeviceOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def blacklist(self, request: Request, pk: str | None = None) -> Response:
        """Refuse every authorization from this device (regulators supervising the unit)."""
        return self._step(request, services.device_blacklist)

    @extend_schema(
        request=s.DeviceReasonInput,
        responses={200: s.DeviceOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def unblacklist(self, request: Request, pk: str | None = None) -> Response:
        """Lift the blacklisting (regulators supervising the unit)."""
        return self._step(request, services.device_unblacklist)


# --- projects ---------------------------------------------------------------------------------
class ProjectFilter(FilterSet):
    enterprise = IdFilter(field_name="enterprise_id")
    code = django_filters.CharFilter()

    class Meta:
        model = BlastingProject
        fields = ["enterprise", "code"]


class ProjectViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ScopedViewSet
):
    """爆破作业项目: the blasting projects of the units you supervise, or your unit's own."""

    queryset_base = BlastingProject.objects.select_related("enterprise")
    serializer_class = s.BlastingProjectOutput
    filterset_class = ProjectFilter
    search_fields = ["code", "name", "enterprise__name"]
    ordering_fields = ["starts_at", "ends_at", "code", "id"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    @extend_schema(
        request=s.BlastingProjectInput,
        responses={201: s.BlastingProjectOutput},
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A blasting project of your own unit (a blasting contractor's principal or safety
        officer): centre, radius (1 to 20,000 m) and time window of the permitted zone."""
        data = _validated(s.BlastingProjectInput, request)
        project = services.project_create(actor=self.actor, data=data)
        return Response(s.BlastingProjectOutput(project).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.BlastingProjectInput, responses=s.BlastingProjectOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change the name, zone or window (the code stays)."""
        project = self.get_object()
        data = _validated(
            s.BlastingProjectInput, request, instance=project, partial=kwargs.get("partial", False)
        )
        project = services.project_update(actor=self.actor, project=project, data=data)
        return Response(s.BlastingProjectOutput(project).data)

    @extend_schema(request=s.BlastingProjectInput, responses=s.BlastingProjectOutput)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)


# --- forbidden zones --------------------------------------------------------------------------
class ZoneViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ScopedViewSet
):
    """禁爆区: no firing inside. Regulators keep those of their jurisdiction; units read all."""

    queryset_base = ForbiddenZone.objects.select_related("jurisdiction")
    serializer_class = s.ForbiddenZoneOutput
    search_fields = ["name"]
    ordering_fields = ["name", "jurisdiction", "starts_at", "id"]

    @extend_schema(
        request=s.ForbiddenZoneInput,
        responses={201: s.ForbiddenZoneOutput},
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A forbidden zone in your jurisdiction; without dates it is always in force."""
        data = _validated(s.ForbiddenZoneInput, request)
        zone = services.zone_create(actor=self.actor, data=data)
        return Response(s.ForbiddenZoneOutput(zone).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ForbiddenZoneInput, responses=s.ForbiddenZoneOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        zone = self.get_object()
        data = _validated(
            s.ForbiddenZoneInput, request, instance=zone, partial=kwargs.get("partial", False)
        )
        zone = services.zone_update(actor=self.actor, zone=zone, data=data)
        return Response(s.ForbiddenZoneOutput(zone).data)

    @extend_schema(request=s.ForbiddenZoneInput, responses=s.ForbiddenZoneOutput)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)


# --- chip UID blacklist -----------------------------------------------------------------------
class IsRegulator(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return False
        return user.is_regulator or user.is_system_admin


class BlacklistedUidViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Any]
):
    """The national chip-UID blacklist (recalled or stolen detonators): regulators only."""

    queryset = BlacklistedUid.objects.order_by("-created_at", "-id")
    serializer_class = s.BlacklistedUidOutput
    permission_classes = [permissions.IsAuthenticated, IsRegulator]
    search_fields = ["uid", "reason"]
    ordering_fields = ["uid", "created_at", "id"]

    @extend_schema(
        request=s.BlacklistedUidInput,
        responses={201: s.BlacklistedUidOutput},
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _validated(s.BlacklistedUidInput, request)
        entry = services.uid_blacklist(
            actor=request.user,  # type: ignore[arg-type]
            uid=data["uid"],
            reason=data["reason"],
        )
        return Response(s.BlacklistedUidOutput(entry).data, status=status.HTTP_201_CREATED)


# --- firing authorizations --------------------------------------------------------------------
class FiringAuthorizationFilter(FilterSet):
    device = IdFilter(field_name="device_id")
    enterprise = IdFilter(field_name="enterprise_id")
    project = IdFilter(field_name="project_id")
    refused = BooleanFilter(method="filter_refused", label="refused")

    class Meta:
        model = FiringAuthorization
        fields = ["device", "enterprise", "project", "refused"]

    def filter_refused(self, queryset: QuerySet[Any], name: str, value: bool | None) -> Any:
        if value is None:
            return queryset
        return queryset.exclude(error="") if value else queryset.filter(error="")


class FiringAuthorizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """起爆授权: requests from firing devices and the signed answers they got. Devices POST here
    with their own token; regulators and units read what concerns them."""

    queryset_base = FiringAuthorization.objects.select_related("device", "enterprise", "project")
    filterset_class = FiringAuthorizationFilter
    ordering_fields = ["requested_at", "id"]

    def _requested_action(self) -> str | None:
        # Authenticators are chosen before `action` is set: find it from the method.
        method = str(getattr(getattr(self, "request", None), "method", "") or "").lower()
        action_map = getattr(self, "action_map", None) or {}
        name: str | None = getattr(self, "action", None) or action_map.get(method)
        return name

    def get_authenticators(self) -> list[BaseAuthentication]:
        if self._requested_action() == "create":
            return [DeviceAuthentication()]
        return super().get_authenticators()

    def get_permissions(self) -> Sequence[Any]:
        if self._requested_action() == "create":
            return [IsDevice()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        # The answers can hold a thousand results: only the detail reads them.
        return queryset if self.action == "retrieve" else queryset.defer("answer")

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "retrieve":
            return s.FiringAuthorizationDetailOutput
        return s.FiringAuthorizationOutput

    @extend_schema(
        request=s.FiringRequestInput,
        responses={
            200: OpenApiResponse(
                s.SignedAnswerOutput,
                description="Signed answer: granted with a result per UID, or refused with "
                "one error code.",
            )
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Ask for work codes for the detonators about to be fired (device token only). Every
        well-formed request is answered 200 with a signed answer and recorded; a malformed one
        (positions out of range, repeated or malformed UIDs) is a 400."""
        device = request.auth
        assert isinstance(device, Device)
        data = _validated(s.FiringRequestInput, request)
        record = firing.authorize(device=device, request=firing.FiringRequest(**data))
        return Response(record.answer, headers=NO_STORE)


# --- public keys ------------------------------------------------------------------------------
class SigningKeysView(APIView):
    """The public keys that verify firing answers (no sign-in: devices fetch them once and
    verify offline). Canonical JSON and an example are in `weibao.ledger.signing`."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "SigningKeyList",
            {
                "count": serializers.IntegerField(),
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
                "results": s.SigningKeyOutput(many=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        keys = [key.as_json() for key in signing.published_keys()]
        body = {"count": len(keys), "next": None, "previous": None, "results": keys}
        return Response(body, headers={"Cache-Control": "public, max-age=300"})


def register(router: SimpleRouter) -> None:
    router.register("ledger/devices", DeviceViewSet, basename="ledger-device")
    router.register("ledger/projects", ProjectViewSet, basename="ledger-project")
    router.register("ledger/forbidden-zones", ZoneViewSet, basename="ledger-forbidden-zone")
    router.register(
        "ledger/blacklisted-uids", BlacklistedUidViewSet, basename="ledger-blacklisted-uid"
    )
    router.register(
        "ledger/firing-authorizations",
        FiringAuthorizationViewSet,
        basename="ledger-firing-authorization",
    )


urlpatterns = [
    path("ledger/signing-keys/", SigningKeysView.as_view(), name="ledger-signing-keys"),
]
