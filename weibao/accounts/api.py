from __future__ import annotations

from typing import Any, cast

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from weibao.accounts import services
from weibao.accounts.models import Agency, User
from weibao.core.api.filters import FilterSet
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent
from weibao.core.api.serializers import InputModelSerializer, StrictCharField
from weibao.core.api.services import ServiceModelViewSet
from weibao.registry.filters import DivisionCodeFilter
from weibao.registry.models import Jurisdiction


class AgencyOutput(serializers.ModelSerializer[Agency]):
    jurisdiction = serializers.CharField(source="jurisdiction_id", read_only=True)
    jurisdiction_name = serializers.CharField(source="jurisdiction.display_name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Agency
        fields = [
            "id",
            "name",
            "name_en",
            "display_name",
            "kind",
            "kind_display",
            "jurisdiction",
            "jurisdiction_name",
            "phone",
            "is_active",
            "created_at",
            "updated_at",
        ]


class AgencyInput(InputModelSerializer):
    jurisdiction = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Jurisdiction.objects.all(),
        error_messages={"does_not_exist": _("Unknown division code {value}.")},
    )

    class Meta:
        model = Agency
        fields = ["name", "name_en", "kind", "jurisdiction", "phone", "is_active"]


class AgencyFilter(FilterSet):
    jurisdiction = DivisionCodeFilter(field_name="jurisdiction")
    kind = django_filters.ChoiceFilter(choices=Agency.Kind.choices)

    class Meta:
        model = Agency
        fields = ["kind", "jurisdiction", "is_active"]


@extend_schema(responses=AgencyOutput)
class AgencyViewSet(ServiceModelViewSet):
    """Public-security bureaus and partner departments you may see."""

    queryset_base = Agency.objects.select_related("jurisdiction")
    input_serializer_class = AgencyInput
    output_serializer_class = AgencyOutput
    filterset_class = AgencyFilter
    search_fields = ["name", "name_en"]
    ordering_fields = ["name", "jurisdiction", "kind"]

    @extend_schema(request=AgencyInput, responses={201: AgencyOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=AgencyInput, responses=AgencyOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> Agency:
        return services.agency_create(data=data)

    def update_object(self, obj: Agency, data: dict[str, Any]) -> Agency:
        return services.agency_update(agency=obj, data=data)


class UnitRefOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    uscc = serializers.CharField()


class MeOutput(serializers.ModelSerializer[User]):
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    agency = AgencyOutput(read_only=True, allow_null=True)
    enterprise = UnitRefOutput(read_only=True, allow_null=True)
    email = serializers.CharField(read_only=True)  # may be empty, so not format: email
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "email",
            "phone",
            "language",
            "role",
            "role_display",
            "agency",
            "enterprise",
            "permissions",
        ]

    def get_permissions(self, user: User) -> list[str]:
        checks = ["accounts.add_agency", "accounts.view_user", "core.view_auditentry"]
        return [p for p in checks if user.has_perm(p)]


class MeView(APIView):
    """The signed-in user, their agency and what they may do."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        user = User.objects.select_related("agency__jurisdiction", "enterprise").get(
            pk=request.user.pk
        )
        return Response(MeOutput(user).data)


class TokenInput(serializers.Serializer[Any]):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=256, trim_whitespace=False)


TokenOutput = inline_serializer(
    "TokenOutput", fields={"token": serializers.CharField(), "user": MeOutput()}
)


class TokenView(APIView):
    """Exchange a user name and password for the user's API token (`Authorization: Token …`)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=TokenInput, responses={200: TokenOutput}, auth=[])
    def post(self, request: Request) -> Response:
        form = TokenInput(data=request.data)
        form.is_valid(raise_exception=True)
        user = services.user_authenticate(
            request=request._request,
            username=form.validated_data["username"],
            password=form.validated_data["password"],
        )
        token = services.token_issue(user=user)
        return Response({"token": token.key, "user": MeOutput(user).data})


class TokenRevokeView(APIView):
    """Revoke the calling user's API token (sign out every integration using it)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        services.token_revoke(user=cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)
