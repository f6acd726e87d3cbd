"""API for checklists, campaigns and their spot-check draws, conflicts of interest and inspections
(registered on the v1 router by `register`). Thin: every write is a service call."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from weibao.core.api.errors import PROBLEM_CONTENT_TYPE
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent
from weibao.core.api.schema import PROBLEM_SCHEMA
from weibao.core.api.services import ServiceModelViewSet
from weibao.core.files import sniff
from weibao.inspections import selectors, services
from weibao.inspections import serializers as s
from weibao.inspections.filters import (
    CampaignFilter,
    ChecklistFilter,
    ConflictFilter,
    InspectionFilter,
)
from weibao.inspections.models import (
    Campaign,
    CampaignDraw,
    Checklist,
    Inspection,
    InspectorConflict,
)

READ_ONLY = ["get", "head", "options"]


class _BinaryRenderer(BaseRenderer):
    """Lets a client ask for a file by its type without a 406; errors still go out as JSON
    problem documents."""

    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return bytes(JSONRenderer().render(data, accepted_media_type, renderer_context))


class PdfRenderer(_BinaryRenderer):
    media_type = "application/pdf"
    format = "pdf"


class JpegRenderer(_BinaryRenderer):
    media_type = "image/jpeg"
    format = "jpg"


class PngRenderer(_BinaryRenderer):
    media_type = "image/png"
    format = "png"


def _problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=PROBLEM_SCHEMA, description=description)


class _CachedObjectMixin:
    """The rules permission check and the action both call get_object: load the row once."""

    def get_object(self) -> Any:
        if not hasattr(self, "_object"):
            self._object = super().get_object()  # type: ignore[misc]
        return self._object


# --- checklists ---------------------------------------------------------------------------------
class ChecklistViewSet(_CachedObjectMixin, ServiceModelViewSet):
    """Checklists (检查表), versioned: reference data every signed-in user reads. A change is a
    new version published by the city bureau; inspections keep the version they were made with."""

    queryset_base = Checklist.objects.all()
    http_method_names = ["get", "post", "head", "options"]
    input_serializer_class = s.ChecklistInput
    output_serializer_class = s.ChecklistDetailOutput
    filterset_class = ChecklistFilter
    search_fields = ["code", "title", "title_en"]
    ordering_fields = ["code", "version", "created_at"]

    def get_queryset(self) -> QuerySet[Checklist]:
        if self.action == "list":
            return selectors.checklists(self.actor)
        return selectors.checklist_detail(self.actor)

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return s.ChecklistOutput
        return super().get_serializer_class()

    @extend_schema(
        request=s.ChecklistInput,
        responses={201: s.ChecklistDetailOutput},
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Publish a checklist: the first version of a new code, or the next version of an
        existing one (which becomes the current version)."""
        return super().create(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> Checklist:
        from weibao.inspections.checklists import checklist_publish

        items = data.pop("items")
        checklist = checklist_publish(actor=self.actor, data=data, items=items)
        return selectors.checklist_detail(self.actor).get(pk=checklist.pk)


# --- campaigns ----------------------------------------------------------------------------------
class CampaignViewSet(_CachedObjectMixin, ServiceModelViewSet):
    """Campaigns (专项行动) you organise or that reach your area, with their spot-check draws
    (双随机) and progress."""

    queryset_base = Campaign.objects.all()
    permission_type_map = {
        **ServiceModelViewSet.permission_type_map,
        "draw": "draw",
        "draws": "view",
        "progress": "view",
    }
    input_serializer_class = s.CampaignInput
    output_serializer_class = s.CampaignOutput
    filterset_class = CampaignFilter
    search_fields = ["name"]
    ordering_fields = ["starts_on", "ends_on", "name", "created_at"]

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.campaigns(self.actor)

    @extend_schema(
        request=s.CampaignInput, responses={201: s.CampaignOutput}, parameters=[IDEMPOTENCY]
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Organise a campaign for your bureau's area (or a division inside it)."""
        return super().create(request, *args, **kwargs)

    @extend_schema(request=s.CampaignInput, responses=s.CampaignOutput)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().update(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> Campaign:
        campaign = services.campaign_create(actor=self.actor, data=data)
        return self.get_queryset().get(pk=campaign.pk)

    def update_object(self, obj: Campaign, data: dict[str, Any]) -> Campaign:
        campaign = services.campaign_update(actor=self.actor, campaign=obj, data=data)
        return self.get_queryset().get(pk=campaign.pk)

    def _draw_response(self, draws: list[CampaignDraw], **kwargs: Any) -> Response:
        context = {
            **self.get_serializer_context(),
            "draw_results": selectors.draw_results(self.actor, draws),
        }
        data = s.DrawOutput(draws, many=True, context=context).data
        return Response(data[0] if kwargs.pop("one", False) else data, **kwargs)

    @extend_schema(request=s.DrawInput, responses={201: s.DrawOutput})
    @action(detail=True, methods=["post"])
    def draw(self, request: Request, pk: str | None = None) -> Response:
        """Draw the campaign's spot checks for one area (default: your bureau's): units at random
        (weighted by risk), each paired with two officers without a conflict of interest, and a
        draft inspection for each. Final: an area is drawn once per campaign (409 after)."""
        campaign = self.get_object()
        form = s.DrawInput(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        record = services.campaign_draw(actor=self.actor, campaign=campaign, **form.validated_data)
        draws = list(selectors.campaign_draws(self.actor, campaign).filter(pk=record.pk))
        return self._draw_response(draws, one=True, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.DrawOutput(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def draws(self, request: Request, pk: str | None = None) -> Response:
        """The campaign's draws you may see (regulators of the area drawn), newest first, each
        re-run from its recorded inputs (`replayable`)."""
        campaign = self.get_object()
        return self._draw_response(list(selectors.campaign_draws(self.actor, campaign)))

    @extend_schema(responses=s.ProgressOutput, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def progress(self, request: Request, pk: str | None = None) -> Response:
        """Progress over the units and inspections you may see: self-inspections, spot checks,
        inspections submitted by kind, and the hazards they found by level and status."""
        campaign = self.get_object()
        return Response(s.ProgressOutput(selectors.campaign_progress(campaign, self.actor)).data)


# --- conflicts of interest ----------------------------------------------------------------------
class ConflictViewSet(_CachedObjectMixin, ServiceModelViewSet):
    """Conflicts of interest (回避): officers who must not inspect a unit. Regulators only; the
    draw and every inspection respect them."""

    queryset_base = InspectorConflict.objects.all()
    http_method_names = ["get", "post", "head", "options"]
    permission_type_map = {**ServiceModelViewSet.permission_type_map, "list": "view"}
    input_serializer_class = s.ConflictInput
    output_serializer_class = s.ConflictOutput
    filterset_class = ConflictFilter
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[InspectorConflict]:
        return selectors.conflicts(self.actor)

    @extend_schema(
        request=s.ConflictInput, responses={201: s.ConflictOutput}, parameters=[IDEMPOTENCY]
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Record that an officer must not inspect a unit (and why)."""
        return super().create(request, *args, **kwargs)

    def create_object(self, data: dict[str, Any]) -> InspectorConflict:
        return services.conflict_create(actor=self.actor, **data)


# --- inspections --------------------------------------------------------------------------------
ITEM_ID = OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH)
PHOTO_ID = OpenApiParameter("photo_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class InspectionViewSet(_CachedObjectMixin, ServiceModelViewSet):
    """Inspections (检查) of units: a bureau's (routine, campaign, spot check, complaint, follow-up)
    or the unit's own self-inspection. A unit sees a bureau's inspection once it is submitted."""

    queryset_base = Inspection.objects.all()
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_type_map = {
        **ServiceModelViewSet.permission_type_map,
        "submit": "submit",
        "photos": "change",
        "photo": "view",
        "signature": "change",
        "rectification_notice": "view",
    }
    input_serializer_class = s.InspectionInput
    output_serializer_class = s.InspectionDetailOutput
    filterset_class = InspectionFilter
    search_fields = ["number", "enterprise__name", "enterprise__uscc"]
    ordering_fields = ["inspected_on", "planned_on", "created_at", "submitted_at", "number"]

    def get_queryset(self) -> QuerySet[Inspection]:
        user = self.actor
        if self.action == "list":
            return selectors.inspections(user)
        if self.action == "retrieve":
            return selectors.inspection_detail(user)
        queryset: QuerySet[Inspection] = Inspection.objects.visible_to(user).select_related(
            "enterprise"
        )
        return queryset

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return s.InspectionOutput
        if self.action == "partial_update":
            return s.InspectionUpdateInput
        return super().get_serializer_class()

    def _detail_response(self, inspection: Inspection, **kwargs: Any) -> Response:
        """The full record as the detail shows it (reloaded: a service may have changed it)."""
        loaded = selectors.inspection_detail(self.actor).get(pk=inspection.pk)
        return self.output(loaded, **kwargs)

    @extend_schema(
        request=s.InspectionInput,
        responses={201: s.InspectionDetailOutput},
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Start a draft inspection with one blank answer per item of its checklist."""
        inspection = services.inspection_create(
            actor=self.actor, data=self.validated_input(request)
        )
        return self._detail_response(inspection, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.InspectionUpdateInput,
        responses={
            200: s.InspectionDetailOutput,
            (409, PROBLEM_CONTENT_TYPE): _problem("The inspection was submitted and is locked."),
        },
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change a draft: its fields, its inspectors, and answers by checklist item. A submitted
        inspection is locked (409)."""
        inspection = self.get_object()
        form = s.InspectionUpdateInput(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        answers = [dict(a) for a in data.pop("answers", [])]
        services.inspection_update(
            actor=self.actor, inspection=inspection, data=data, answers=answers
        )
        return self._detail_response(inspection)

    @extend_schema(request=None, responses=s.InspectionDetailOutput)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Submit: lock the record, number it and put every failed item on the hazard ledger.
        400 lists what is still missing; 409 once submitted."""
        inspection = services.inspection_submit(actor=self.actor, inspection=self.get_object())
        return self._detail_response(inspection)

    @extend_schema(
        request={"multipart/form-data": s.FileInput},
        responses={201: s.PhotoOutput},
        parameters=[ITEM_ID],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"answers/(?P<item_id>[0-9]{1,18})/photos",
        url_name="answer-photos",
        parser_classes=[MultiPartParser],
    )
    def photos(self, request: Request, pk: str | None = None, item_id: str = "") -> Response:
        """Add a photo (JPEG or PNG, size-limited) to the answer for one checklist item; a
        failed item's photos become its hazard's evidence."""
        inspection = self.get_object()
        form = s.FileInput(data=request.data)
        form.is_valid(raise_exception=True)
        photo = services.answer_photo_add(
            actor=self.actor,
            inspection=inspection,
            item_id=int(item_id),
            upload=form.validated_data["file"],
        )
        context = {**self.get_serializer_context(), "inspection_id": inspection.pk}
        return Response(s.PhotoOutput(photo, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
        },
        parameters=[PHOTO_ID],
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"photos/(?P<photo_id>[0-9]{1,18})",
        url_name="photo",
        renderer_classes=[JSONRenderer, JpegRenderer, PngRenderer],
    )
    def photo(self, request: Request, pk: str | None = None, photo_id: str = "") -> FileResponse:
        """One photo of the inspection (served only to those who see the inspection)."""
        found = selectors.inspection_photo(self.get_object(), int(photo_id))
        if found is None:
            raise NotFound()
        stream = found.file.open("rb")
        return FileResponse(
            stream,
            filename=found.file.name.rsplit("/", 1)[-1],
            # By content, as it was checked on upload.
            content_type=sniff(stream) or "application/octet-stream",
        )

    @extend_schema(request={"multipart/form-data": s.FileInput}, responses=s.InspectionDetailOutput)
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def signature(self, request: Request, pk: str | None = None) -> Response:
        """The unit representative's drawn signature (PNG or JPEG), replacing any earlier one."""
        inspection = self.get_object()
        form = s.FileInput(data=request.data)
        form.is_valid(raise_exception=True)
        services.inspection_update(
            actor=self.actor,
            inspection=inspection,
            data={},
            signature_image=form.validated_data["file"],
        )
        return self._detail_response(inspection)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (409, PROBLEM_CONTENT_TYPE): _problem(
                "No notice for this inspection: a draft, a self-inspection, or no hazards found."
            ),
            (503, PROBLEM_CONTENT_TYPE): _problem("PDFs cannot be produced at the moment."),
        }
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="rectification-notice",
        renderer_classes=[JSONRenderer, PdfRenderer],
    )
    def rectification_notice(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The rectification notice (责令限期整改通知书) of a submitted bureau inspection that found
        hazards, as a PDF in the request's language."""
        from weibao.hazards.documents import rectification_notice_pdf

        inspection = self.get_object()
        content = rectification_notice_pdf(inspection)
        response = HttpResponse(content, content_type="application/pdf")
        name = inspection.number or str(inspection.pk)
        response["Content-Disposition"] = f'inline; filename="rectification-notice-{name}.pdf"'
        return response


def register(router: SimpleRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("checklists", ChecklistViewSet, basename="checklist")
    router.register("campaigns", CampaignViewSet, basename="campaign")
    router.register("inspector-conflicts", ConflictViewSet, basename="inspector-conflict")
    router.register("inspections", InspectionViewSet, basename="inspection")
