from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from weibao.accounts import services as account_services
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent
from weibao.core.api.services import ServiceModelViewSet
from weibao.core.api.tabular import ExportMixin
from weibao.core.files import sniff
from weibao.registry import selectors, services, tables
from weibao.registry import serializers as s
from weibao.registry.filters import (
    CertificateFilter,
    EnterpriseFilter,
    JurisdictionFilter,
    PermitFilter,
    PersonFilter,
    SiteFilter,
)
from weibao.registry.models import (
    Certificate,
    Enterprise,
    Jurisdiction,
    Permit,
    Person,
    Site,
)


class JurisdictionSerializer(serializers.ModelSerializer[Jurisdiction]):
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Jurisdiction
        fields = ["code", "name", "name_en", "display_name", "level", "level_display", "parent"]
        read_only_fields = fields


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{6}$"})
class JurisdictionViewSet(viewsets.ReadOnlyModelViewSet[Jurisdiction]):
    """Administrative divisions (GB/T 2260): reference data every signed-in user may read."""

    queryset = Jurisdiction.objects.all()
    serializer_class = JurisdictionSerializer
    filterset_class = JurisdictionFilter
    search_fields = ["name", "name_en", "code"]
    ordering_fields = ["code", "name"]
    lookup_value_regex = r"[0-9]{6}"


# --- units and what they own ------------------------------------------------------------------
class EnterpriseViewSet(ExportMixin, ServiceModelViewSet):
    """Licensed units (从业单位) within your jurisdiction, or your own unit."""

    export_table = tables.UNITS
    queryset_base = Enterprise.objects.select_related("jurisdiction")
    permission_type_map = {
        **ServiceModelViewSet.permission_type_map,
        "compliance": "view",
        "invitations": "invite",
    }
    input_serializer_class = s.EnterpriseInput
    output_serializer_class = s.EnterpriseOutput
    filterset_class = EnterpriseFilter
    search_fields = ["name", "uscc"]
    ordering_fields = ["name", "uscc", "jurisdiction", "status", "updated_at"]

    @extend_schema(
        request=s.EnterpriseInput, responses={201: s.EnterpriseOutput}, parameters=[IDEMPOTENCY]
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=s.EnterpriseInput, responses=s.EnterpriseOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> Enterprise:
        return services.enterprise_create(actor=self.actor, data=data)

    def update_object(self, obj: Enterprise, data: dict[str, Any]) -> Enterprise:
        return services.enterprise_update(actor=self.actor, enterprise=obj, data=data)

    @extend_schema(request=s.InvitationInput, responses={201: s.InvitationOutput})
    @action(detail=True, methods=["post"])
    def invitations(self, request: Request, pk: str | None = None) -> Response:
        """Invite a principal, safety officer or employee; the link (with its one-time token)
        is returned once and e-mailed if an address is given."""
        unit = self.get_object()
        form = s.InvitationInput(data=request.data)
        form.is_valid(raise_exception=True)
        invitation, token = account_services.invitation_create(
            actor=self.actor, enterprise=unit, **form.validated_data
        )
        link = request.build_absolute_uri(reverse("invitation-accept", args=[token]))
        body = s.InvitationOutput(invitation).data
        return Response({**body, "link": link}, status=201)

    @extend_schema(responses=s.ComplianceOutput)
    @action(detail=True, methods=["get"])
    def compliance(self, request: Request, pk: str | None = None) -> Response:
        """Compliance findings computed now from the unit's registry, each with rule and basis."""
        unit = self.get_object()
        findings = selectors.enterprise_findings(unit)
        return Response(
            s.ComplianceOutput(
                {
                    "enterprise": unit.pk,
                    "evaluated_at": timezone.now(),
                    "major": sum(1 for f in findings if f.level == "major"),
                    "general": sum(1 for f in findings if f.level == "general"),
                    "findings": findings,
                }
            ).data
        )


class PermitViewSet(ExportMixin, ServiceModelViewSet):
    """Permits and licences of the units you may see, with their derived state."""

    export_table = tables.PERMITS
    queryset_base = Permit.objects.select_related("enterprise")
    input_serializer_class = s.PermitInput
    output_serializer_class = s.PermitOutput
    filterset_class = PermitFilter
    search_fields = ["number", "enterprise__name", "enterprise__uscc"]
    ordering_fields = ["expires_on", "issued_on", "kind", "number"]
    permission_type_map = {
        **ServiceModelViewSet.permission_type_map,
        "attachment": "view",
        "upload": "change",
    }

    @extend_schema(request=s.PermitInput, responses={201: s.PermitOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=s.PermitInput, responses=s.PermitOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> Permit:
        return services.permit_create(actor=self.actor, data=data)

    def update_object(self, obj: Permit, data: dict[str, Any]) -> Permit:
        return services.permit_update(actor=self.actor, permit=obj, data=data)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
        }
    )
    @action(detail=True, methods=["get"])
    def attachment(self, request: Request, pk: str | None = None) -> FileResponse:
        """Download the permit's scan (never served publicly)."""
        permit = self.get_object()
        if not permit.attachment:
            raise NotFound(_("This permit has no scan."))
        scan = permit.attachment.open("rb")
        return FileResponse(
            scan,
            as_attachment=True,
            filename=permit.attachment.name.rsplit("/", 1)[-1],
            # By content, as it was checked on upload, not by whatever name the file came with.
            content_type=sniff(scan) or "application/pdf",
        )

    @extend_schema(request={"multipart/form-data": s.AttachmentInput}, responses=s.PermitOutput)
    @action(
        detail=True,
        methods=["post"],
        url_path="attachment/upload",
        parser_classes=[MultiPartParser],
    )
    def upload(self, request: Request, pk: str | None = None) -> Response:
        """Attach a scan (PDF, JPEG or PNG, size-limited) to the permit."""
        permit = self.get_object()
        form = s.AttachmentInput(data=request.data)
        form.is_valid(raise_exception=True)
        permit = services.permit_attach(
            actor=self.actor, permit=permit, upload=form.validated_data["file"]
        )
        return self.output(permit)


class SiteViewSet(ExportMixin, ServiceModelViewSet):
    """Sites and magazines, with their design capacity."""

    export_table = tables.SITES
    queryset_base = Site.objects.select_related("enterprise")
    input_serializer_class = s.SiteInput
    output_serializer_class = s.SiteOutput
    filterset_class = SiteFilter
    search_fields = ["name", "enterprise__name"]
    ordering_fields = ["name", "kind"]

    @extend_schema(request=s.SiteInput, responses={201: s.SiteOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=s.SiteInput, responses=s.SiteOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> Site:
        return services.site_create(actor=self.actor, data=data)

    def update_object(self, obj: Site, data: dict[str, Any]) -> Site:
        return services.site_update(actor=self.actor, site=obj, data=data)


class PersonViewSet(ExportMixin, ServiceModelViewSet):
    """People in certified posts; identity numbers are masked unless you hold the permission."""

    export_table = tables.PEOPLE
    queryset_base = Person.objects.select_related("enterprise").prefetch_related("certificates")
    input_serializer_class = s.PersonInput
    output_serializer_class = s.PersonOutput
    filterset_class = PersonFilter
    search_fields = ["name", "enterprise__name"]
    ordering_fields = ["name", "post", "appointed_on"]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["unmask_identity"] = self.request.user.has_perm("registry.view_identity_number")
        return context

    @extend_schema(request=s.PersonInput, responses={201: s.PersonOutput}, parameters=[IDEMPOTENCY])
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=s.PersonInput, responses=s.PersonOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> Person:
        certificates = data.pop("certificates", [])
        return services.person_create(actor=self.actor, data=data, certificates=certificates)

    def update_object(self, obj: Person, data: dict[str, Any]) -> Person:
        return services.person_update(actor=self.actor, person=obj, data=data)


class CertificateViewSet(ExportMixin, ServiceModelViewSet):
    """Certificates held by people in certified posts."""

    export_table = tables.CERTIFICATES
    queryset_base = Certificate.objects.all()
    input_serializer_class = s.CertificateInput
    output_serializer_class = s.CertificateOutput
    filterset_class = CertificateFilter
    ordering_fields = ["expires_on", "issued_on"]

    @extend_schema(
        request=s.CertificateInput, responses={201: s.CertificateOutput}, parameters=[IDEMPOTENCY]
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=s.CertificateInput, responses=s.CertificateOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> Certificate:
        return services.certificate_create(actor=self.actor, data=data)

    def update_object(self, obj: Certificate, data: dict[str, Any]) -> Certificate:
        return services.certificate_update(actor=self.actor, certificate=obj, data=data)
