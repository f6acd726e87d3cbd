"""What units and bureaus declare to the ledger, over the API:

- `/api/v1/ledger/magazine-counts/`: the daily counts of the magazines (日清). A unit's
  principal or safety officer POSTs one count (a JSON object) or several (a JSON array, at most
  500, all or none); declaring again for the same magazine, day and product corrects it.
  Regulators read those of the units they supervise.
- `/api/v1/ledger/permit-allowances/`: how much of each product a purchase permit allows. The
  bureau supervising the permit's unit creates, changes and removes them; the unit reads its own.

Reconciliation compares the counts with the books (`count_mismatch`) and the purchases with the
allowances (`over_permit`). Writes are the services in `declaration_services`.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from weibao.core.api.filters import FilterSet, IdFilter
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent
from weibao.ledger import declaration_services as services
from weibao.ledger import serializers_declarations as s
from weibao.ledger.api_firing import ScopedViewSet
from weibao.ledger.models import MagazineCount, PermitAllowance, ProductKind
from weibao.registry.models import Permit


def _invalid(message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({"non_field_errors": [message]})


# --- declared counts -------------------------------------------------------------------------
class MagazineCountFilter(FilterSet):
    site = IdFilter(field_name="site_id", help_text="id of the magazine")
    unit = IdFilter(field_name="site__enterprise_id", help_text="id of the magazine's unit")
    product = django_filters.ChoiceFilter(choices=ProductKind.choices)
    day_after = django_filters.DateFilter(
        field_name="day", lookup_expr="gte", help_text="days on or after this one (YYYY-MM-DD)"
    )
    day_before = django_filters.DateFilter(
        field_name="day", lookup_expr="lt", help_text="days before this one (YYYY-MM-DD)"
    )

    class Meta:
        model = MagazineCount
        fields = ["site", "unit", "product", "day_after", "day_before"]


DECLARATION = PolymorphicProxySerializer(
    component_name="MagazineCountDeclaration",
    serializers=[s.MagazineCountInput, s.MagazineCountInput(many=True)],
    resource_type_field_name=None,
    many=False,
)
DECLARED = PolymorphicProxySerializer(
    component_name="MagazineCountDeclared",
    serializers=[s.MagazineCountOutput, s.MagazineCountOutput(many=True)],
    resource_type_field_name=None,
    many=False,
)


class MagazineCountViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    """日清: the counts declared for the magazines of the units you supervise, or of your own
    unit, newest day first."""

    queryset_base = MagazineCount.objects.select_related("site__enterprise", "declared_by")
    serializer_class = s.MagazineCountOutput
    filterset_class = MagazineCountFilter
    ordering_fields = ["day", "recorded_at", "site", "product", "quantity", "id"]

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().order_by("-day", "site_id", "product", "id")

    @extend_schema(
        request=DECLARATION,
        responses={
            201: OpenApiResponse(
                DECLARED,
                description="Declared, at least one count new: the count (for an object sent) "
                "or the counts in the order sent (for an array).",
            ),
            200: OpenApiResponse(
                DECLARED, description="Every count sent corrected one declared before."
            ),
        },
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Declare the count on hand at the end of a day in a magazine of your unit (its
        principal or safety officer): one JSON object, or a JSON array of at most 500 taken
        whole or not at all (errors name the element: `[3].quantity`). Declaring again for the
        same magazine, day and product replaces the quantity; the audit trail keeps the
        earlier one."""
        services.require_declarer(self.actor)
        data = request.data
        if isinstance(data, list):
            if not data:
                raise _invalid(_("Declare at least one count."))
            if len(data) > services.MAX_COUNTS:
                raise _invalid(
                    _("Declare at most %(limit)d counts at a time.")
                    % {"limit": services.MAX_COUNTS}
                )
            many = s.MagazineCountInput(data=data, many=True)
            many.is_valid(raise_exception=True)
            entries = [services.CountEntry(**row) for row in many.validated_data]
            declared = services.counts_declare(actor=self.actor, entries=entries)
            body: Any = s.MagazineCountOutput(declared.counts, many=True).data
        elif isinstance(data, dict):
            one = s.MagazineCountInput(data=data)
            one.is_valid(raise_exception=True)
            entry = services.CountEntry(**one.validated_data)
            declared = services.counts_declare(actor=self.actor, entries=[entry], numbered=False)
            body = s.MagazineCountOutput(declared.counts[0]).data
        else:
            raise _invalid(_("Send one count as a JSON object, or several as a JSON array."))
        code = status.HTTP_201_CREATED if declared.created else status.HTTP_200_OK
        return Response(body, status=code)


# --- permit allowances -----------------------------------------------------------------------
class PermitAllowanceFilter(FilterSet):
    permit = IdFilter(field_name="permit_id", help_text="id of the purchase permit")
    unit = IdFilter(field_name="permit__enterprise_id", help_text="id of the permit's holder")
    product = django_filters.ChoiceFilter(choices=ProductKind.choices)

    class Meta:
        model = PermitAllowance
        fields = ["permit", "unit", "product"]


class PermitAllowanceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """How much of each product the purchase permits of the units you supervise allow (or your
    own unit's). Purchases above it are found by reconciliation (`over_permit`)."""

    queryset_base = PermitAllowance.objects.select_related("permit__enterprise")
    serializer_class = s.PermitAllowanceOutput
    filterset_class = PermitAllowanceFilter
    ordering_fields = ["permit", "product", "quantity", "id"]

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().order_by("permit_id", "product", "id")

    def _permit(self, pk: int) -> Permit:
        permits = Permit.objects.visible_to(self.actor).select_related("enterprise")
        found: Permit | None = permits.filter(pk=pk).first()
        if found is None:
            raise exceptions.ValidationError({"permit": [_("No permit you may see has this id.")]})
        return found

    @extend_schema(
        request=s.PermitAllowanceInput,
        responses={201: s.PermitAllowanceOutput},
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Set how much of a product a purchase permit allows (a regulator supervising the
        permit's unit). One allowance per permit and product: a second is a 400 on
        `product`; change the first instead."""
        services.require_allowance_role(self.actor)
        form = s.PermitAllowanceInput(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        allowance = services.allowance_create(
            actor=self.actor,
            permit=self._permit(data["permit"]),
            product=data["product"],
            quantity=data["quantity"],
        )
        return Response(s.PermitAllowanceOutput(allowance).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PermitAllowanceInput, responses=s.PermitAllowanceOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change the quantity (or the product); the permit stays."""
        allowance = self.get_object()
        services.require_allowance_role(self.actor)
        form = s.PermitAllowanceInput(
            allowance, data=request.data, partial=kwargs.get("partial", False)
        )
        form.is_valid(raise_exception=True)
        data = form.validated_data
        allowance = services.allowance_update(
            actor=self.actor,
            allowance=allowance,
            product=data.get("product"),
            quantity=data.get("quantity"),
        )
        return Response(s.PermitAllowanceOutput(allowance).data)

    @extend_schema(request=s.PermitAllowanceInput, responses=s.PermitAllowanceOutput)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Remove an allowance; a permit left with none is no longer checked."""
        allowance = self.get_object()
        services.allowance_delete(actor=self.actor, allowance=allowance)
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router: SimpleRouter) -> None:
    router.register(
        "ledger/magazine-counts", MagazineCountViewSet, basename="ledger-magazine-count"
    )
    router.register(
        "ledger/permit-allowances", PermitAllowanceViewSet, basename="ledger-permit-allowance"
    )
