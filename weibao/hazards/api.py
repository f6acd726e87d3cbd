"""The hazard ledger over the API: `/api/v1/hazards/`, its life-cycle steps as POST actions, files,
the acceptance record and the quarterly statistics. Every write is a service call (the pages call
the same ones); a step the status does not allow is a 409 naming the allowed ones."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from weibao.accounts.models import User
from weibao.core.api.errors import PROBLEM_CONTENT_TYPE
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent
from weibao.core.api.tabular import XLSX_RESPONSE, ExportMixin, XlsxRenderer, xlsx_response
from weibao.core.api.viewsets import ScopedViewSetMixin
from weibao.core.files import sniff
from weibao.hazards import serializers as s
from weibao.hazards import services, tables
from weibao.hazards.filters import HazardFilter
from weibao.hazards.models import Hazard, HazardAttachment, HazardEvent

PDF_CONTENT_TYPE = "application/pdf"
PDF_RESPONSE = {(200, PDF_CONTENT_TYPE): OpenApiTypes.BINARY}
CONFLICT_RESPONSE = OpenApiResponse(
    response={"$ref": "#/components/schemas/Problem"},
    description="Not available in the hazard's current state.",
)
JSON_OR_FILES = [JSONParser, MultiPartParser]


class PdfRenderer(XlsxRenderer):
    """Lets `?format=pdf` (or Accept: application/pdf) choose the PDF; errors stay JSON."""

    media_type = PDF_CONTENT_TYPE
    format = "pdf"


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=PDF_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Length"] = str(len(content))
    return response


def _is_multipart(request: Request) -> bool:
    return (request.content_type or "").split(";")[0].strip().lower() == "multipart/form-data"


def with_detail(queryset: QuerySet[Hazard]) -> QuerySet[Hazard]:
    """Everything the detail shape reads, in a fixed number of queries however long the
    timeline."""
    return queryset.select_related("accepted_by", "plan").prefetch_related(
        Prefetch("events", queryset=HazardEvent.objects.select_related("actor")),
        Prefetch("attachments", queryset=HazardAttachment.objects.select_related("uploaded_by")),
    )


class HazardViewSet(
    ExportMixin,
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Any],
):
    """隐患台账: the hazards of the units you supervise, or of your own unit.

    No update or delete: a hazard changes only through its life-cycle steps, each recorded on
    its timeline (`events`)."""

    export_table = tables.HAZARDS
    queryset_base = Hazard.objects.select_related(
        "enterprise", "site", "responsible_person", "inspection"
    )
    filterset_class = HazardFilter
    search_fields = ["description", "enterprise__name", "enterprise__uscc"]
    ordering_fields = ["deadline", "found_on", "level", "status", "id"]
    parser_classes = [JSONParser]
    permission_type_map = {
        **ScopedViewSetMixin.permission_type_map,
        "start": "start",
        "plan": "plan",
        "submit_rectification": "submit_rectification",
        "accept": "accept",
        "reject": "reject",
        "extend": "extend",
        "cancel": "cancel",
        "follow_up": "follow_up",
        # The service decides (the unit while it rectifies, the bureau that supervises it).
        "attachments": "view",
        "attachment_file": "view",
        "acceptance_record": "view",
        "statistics": "view",
    }
    _object: Hazard | None = None

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def actor(self) -> User:
        """The signed-in user (the permission classes let no one else this far)."""
        return cast(User, self.request.user)

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        return with_detail(queryset) if self.action == "retrieve" else queryset

    def get_object(self) -> Hazard:
        # The permission check and the action both need the row: read it once.
        if self._object is None:
            self._object = super().get_object()
        return self._object

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "create":
            return s.HazardInput
        if self.action == "list":
            return s.HazardOutput
        return s.HazardDetailOutput

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)  # type: ignore[no-untyped-call]
        except DjangoPermissionDenied:
            reason = self._denial_reason()
            if reason is None:
                raise
            raise exceptions.PermissionDenied(reason) from None

    def _denial_reason(self) -> str | None:
        """The services' reason, so a refusal reads the same whichever check comes first."""
        hazard = self._object
        return None if hazard is None else services.denial_reason(self.action, hazard)

    def validated(
        self, serializer_class: type[serializers.Serializer[Any]], data: Any
    ) -> dict[str, Any]:
        form = serializer_class(data=data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        return dict(form.validated_data)

    def respond(self, hazard: Hazard, status_code: int = status.HTTP_200_OK) -> Response:
        """The hazard after a step, in the detail shape, read afresh (and still scoped)."""
        fresh = with_detail(self.queryset_base.visible_to(self.request.user)).get(pk=hazard.pk)
        body = s.HazardDetailOutput(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status_code)

    # --- create -------------------------------------------------------------------------------
    @extend_schema(
        request=s.HazardInput, responses={201: s.HazardDetailOutput}, parameters=[IDEMPOTENCY]
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Record a hazard: a regulator for a unit it supervises (source inspection, referral or
        rule), or a unit's principal or safety officer for its own (self-inspection). Without a
        deadline or working_days the default by level applies."""
        data = self.validated(s.HazardInput, request.data)
        hazard = services.hazard_create(actor=self.actor, data=data)
        return self.respond(hazard, status.HTTP_201_CREATED)

    # --- life-cycle steps ---------------------------------------------------------------------
    @extend_schema(request=s.StartInput, responses=s.HazardDetailOutput)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        """Start the rectification (open → rectifying). A major hazard needs its treatment plan
        with the five elements first: send it here as `plan` or save it at `plan/`."""
        hazard = self.get_object()
        data = self.validated(s.StartInput, request.data)
        hazard = services.hazard_start(actor=self.actor, hazard=hazard, plan=data.get("plan"))
        return self.respond(hazard)

    @extend_schema(request=s.PlanInput, responses=s.HazardDetailOutput)
    @action(detail=True, methods=["put", "post"])
    def plan(self, request: Request, pk: str | None = None) -> Response:
        """Save the treatment plan (治理方案), while the hazard is open or being rectified."""
        hazard = self.get_object()
        data = self.validated(s.PlanInput, request.data)
        services.hazard_plan_save(actor=self.actor, hazard=hazard, data=data)
        return self.respond(hazard)

    @extend_schema(
        request={
            "application/json": s.RectificationInput,
            "multipart/form-data": s.RectificationUpload,
        },
        responses=s.HazardDetailOutput,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="submit-rectification",
        parser_classes=JSON_OR_FILES,
    )
    def submit_rectification(self, request: Request, pk: str | None = None) -> Response:
        """Hand in the rectification for acceptance, with what was done (`note`) and, as
        multipart/form-data, evidence `files` (photos or PDFs)."""
        hazard = self.get_object()
        upload = _is_multipart(request)
        data = self.validated(
            s.RectificationUpload if upload else s.RectificationInput, request.data
        )
        hazard = services.hazard_submit_rectification(
            actor=self.actor, hazard=hazard, note=data["note"], files=data.get("files") or ()
        )
        return self.respond(hazard)

    @extend_schema(
        request={"application/json": s.AcceptInput, "multipart/form-data": s.AcceptUpload},
        responses=s.HazardDetailOutput,
    )
    @action(detail=True, methods=["post"], parser_classes=JSON_OR_FILES)
    def accept(self, request: Request, pk: str | None = None) -> Response:
        """Accept the rectification and close the hazard (the supervising bureau; the unit
        itself for its own general hazards), with an opinion and optional files."""
        hazard = self.get_object()
        upload = _is_multipart(request)
        data = self.validated(s.AcceptUpload if upload else s.AcceptInput, request.data)
        hazard = services.hazard_accept(
            actor=self.actor,
            hazard=hazard,
            opinion=data.get("opinion", ""),
            files=data.get("files") or (),
        )
        return self.respond(hazard)

    @extend_schema(request=s.ReasonInput, responses=s.HazardDetailOutput)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Refuse the rectification with a reason: the hazard goes back to rectifying."""
        hazard = self.get_object()
        data = self.validated(s.ReasonInput, request.data)
        hazard = services.hazard_reject(actor=self.actor, hazard=hazard, reason=data["reason"])
        return self.respond(hazard)

    @extend_schema(request=s.ExtendInput, responses=s.HazardDetailOutput)
    @action(detail=True, methods=["post"])
    def extend(self, request: Request, pk: str | None = None) -> Response:
        """A later deadline (a date or working days) with a reason. Beyond the free extensions
        (settings.HAZARD_FREE_EXTENSIONS) only the city bureau extends."""
        hazard = self.get_object()
        data = self.validated(s.ExtendInput, request.data)
        hazard = services.hazard_extend(
            actor=self.actor,
            hazard=hazard,
            reason=data["reason"],
            deadline=data.get("deadline"),
            working_days=data.get("working_days"),
        )
        return self.respond(hazard)

    @extend_schema(request=s.ReasonInput, responses=s.HazardDetailOutput)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a hazard recorded in error, with the reason (kept on the ledger)."""
        hazard = self.get_object()
        data = self.validated(s.ReasonInput, request.data)
        hazard = services.hazard_cancel(actor=self.actor, hazard=hazard, reason=data["reason"])
        return self.respond(hazard)

    # --- files --------------------------------------------------------------------------------
    @extend_schema(
        request={"multipart/form-data": s.FilesUpload},
        responses=s.HazardDetailOutput,
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def attachments(self, request: Request, pk: str | None = None) -> Response:
        """Add photos or documents while the hazard is open or being rectified."""
        hazard = self.get_object()
        data = self.validated(s.FilesUpload, request.data)
        services.hazard_attach(actor=self.actor, hazard=hazard, files=data["files"])
        return self.respond(hazard)

    @extend_schema(
        parameters=[
            OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, PDF_CONTENT_TYPE): OpenApiTypes.BINARY,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)",
        url_name="attachment-file",
    )
    def attachment_file(
        self, request: Request, pk: str | None = None, attachment_id: str | None = None
    ) -> FileResponse:
        """One file of the hazard, served with the type its content shows."""
        hazard = self.get_object()
        attachment = hazard.attachments.filter(pk=int(attachment_id or 0)).first()
        if attachment is None:
            raise exceptions.NotFound()
        try:
            handle = attachment.file.open("rb")
        except OSError:
            raise exceptions.NotFound(_("The stored file is missing.")) from None
        content_type = sniff(handle) or "application/octet-stream"
        return FileResponse(
            handle,
            # Photos show in place; anything else is downloaded.
            as_attachment=not content_type.startswith("image/"),
            filename=attachment.name,
            content_type=content_type,
        )

    # --- documents and follow-up --------------------------------------------------------------
    @extend_schema(responses={**PDF_RESPONSE, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE})
    # Only the PDF renderer: `Accept: application/pdf` must not be a 406 (errors stay JSON).
    @action(
        detail=True, methods=["get"], url_path="acceptance-record", renderer_classes=[PdfRenderer]
    )
    def acceptance_record(self, request: Request, pk: str | None = None) -> HttpResponse:
        """隐患整改验收记录 as a PDF, in the request's language; 409 unless the hazard is closed."""
        from weibao.hazards.documents import acceptance_record_pdf

        hazard = self.get_object()
        return pdf_response(acceptance_record_pdf(hazard), f"{hazard.reference}-acceptance.pdf")

    @extend_schema(
        request=s.FollowUpInput, responses={201: s.FollowUpOutput}, parameters=[IDEMPOTENCY]
    )
    @action(detail=True, methods=["post"], url_path="follow-up")
    @idempotent
    def follow_up(self, request: Request, pk: str | None = None) -> Response:
        """Schedule a follow-up inspection of the unit (a draft, with you as first inspector)."""
        hazard = self.get_object()
        data = self.validated(s.FollowUpInput, request.data)
        inspection = services.hazard_schedule_follow_up(
            actor=self.actor, hazard=hazard, planned_on=data.get("planned_on")
        )
        return Response({"inspection": inspection.pk}, status=status.HTTP_201_CREATED)

    # --- statistics ---------------------------------------------------------------------------
    @extend_schema(
        parameters=[s.StatisticsQuery],
        responses={
            (200, "application/json"): s.StatisticsOutput,
            **XLSX_RESPONSE,
            **PDF_RESPONSE,
        },
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        filter_backends=[],
        renderer_classes=[JSONRenderer, XlsxRenderer, PdfRenderer],
    )
    def statistics(self, request: Request) -> Response | HttpResponse:
        """单位隐患排查治理季度统计: per unit you may see (or one `enterprise`), then the totals;
        JSON, or `format=xlsx` / `format=pdf` (with lines for the principal's signature)."""
        from weibao.hazards.statistics import (
            quarter_bounds,
            quarterly_statistics,
            statistics_pdf,
            statistics_xlsx,
        )

        query = self.validated(s.StatisticsQuery, request.query_params)
        this_year, this_quarter = s.today_quarter()
        year = query.get("year", this_year)
        quarter = query.get("quarter", this_quarter)
        start, end = quarter_bounds(year, quarter)
        unit = query.get("enterprise")
        rows = quarterly_statistics(
            user=request.user,
            year=year,
            quarter=quarter,
            enterprise_id=unit.pk if unit is not None else None,
        )
        chosen = request.accepted_renderer.format
        stem = f"hazard-statistics-{year}q{quarter}"
        if chosen == "xlsx":
            return xlsx_response(statistics_xlsx(rows, year, quarter), f"{stem}.xlsx")
        if chosen == "pdf":
            content = statistics_pdf(rows, year, quarter, title_unit=self._title_unit(unit))
            return pdf_response(content, f"{stem}.pdf")
        body = {"year": year, "quarter": quarter, "start": start, "end": end, "rows": rows}
        return Response(s.StatisticsOutput(body).data)

    def _title_unit(self, unit: Any) -> str | None:
        """Who the statistics are of: the unit asked for, the caller's unit or bureau."""
        user: Any = self.request.user
        if unit is not None:
            return str(unit.name)
        if user.enterprise_id is not None:
            return str(user.enterprise.name)
        if user.agency_id is not None:
            return str(user.agency.name)
        return None


def register(router: SimpleRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("hazards", HazardViewSet, basename="hazard")
