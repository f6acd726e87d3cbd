"""Internal reports over the API.

Signed in: `/api/v1/internal-reports/` (the unit's queue, the bureau's oversight, an employee's
own named reports) with the verification steps as POST actions, and `/api/v1/report-channels/`
(the unit's reporting code and reward policy). Public, without an account:
`/api/v1/public/report-channels/{token}/`, `/api/v1/public/internal-reports/` and
`/api/v1/public/internal-reports/{receipt}/` (rate limited per device and address).

Every write is a service call (the pages call the same ones); a step the status does not allow is
a 409 naming the allowed ones. The reporter's identity leaves only through `reporter/`
(services.identity_reveal: permission-checked and audited).
"""

from __future__ import annotations

import math
from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from weibao.accounts.models import User
from weibao.core.api.errors import PROBLEM_CONTENT_TYPE
from weibao.core.api.filters import OrderingFilter
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import sealed_idempotent
from weibao.core.api.viewsets import ScopedViewSetMixin
from weibao.registry.models import Site
from weibao.reporting import selectors, services, throttles
from weibao.reporting import serializers as s
from weibao.reporting.filters import ChannelFilter, ReportFilter
from weibao.reporting.models import InternalReport, ReportChannel, ReportEvent

JSON_OR_FILES = [JSONParser, MultiPartParser]
PROBLEM = {"$ref": "#/components/schemas/Problem"}
CONFLICT_RESPONSE = OpenApiResponse(
    response=PROBLEM, description="Not available in the report's current state."
)
# Responses that carry a receipt code or a reporter's identity are kept by no cache.
NO_STORE = {"Cache-Control": "no-store"}


def _is_multipart(request: Request) -> bool:
    return (request.content_type or "").split(";")[0].strip().lower() == "multipart/form-data"


def _validated(
    serializer_class: type[serializers.BaseSerializer[Any]],
    data: Any,
    context: dict[str, Any],
    **kwargs: Any,
) -> dict[str, Any]:
    form = serializer_class(data=data, context=context, **kwargs)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


def with_detail(queryset: QuerySet[InternalReport]) -> QuerySet[InternalReport]:
    """Everything the detail shape reads, in a fixed number of queries however long the
    timeline."""
    return queryset.select_related("complaint_handled_by").prefetch_related(
        "photos", Prefetch("events", queryset=ReportEvent.objects.select_related("actor"))
    )


# --- internal reports (signed in) ---------------------------------------------------------------
class InternalReportViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Any],
):
    """内部报告: the reports of the units you supervise; for a unit's principal or safety officer
    its own queue; for an employee the reports they made under their name.

    No update or delete: a report changes only through its steps, each on its timeline
    (`events`). Nothing here names the reporter; see `reporter/`."""

    filterset_class = ReportFilter
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["submitted_at", "verify_by", "status", "id"]
    parser_classes = [JSONParser]
    permission_type_map = {
        **ScopedViewSetMixin.permission_type_map,
        # The service decides (a unit's own accounts report to it).
        "create": None,
        "start": "start",
        "confirm": "confirm",
        "reject": "reject",
        "duplicate": "mark_duplicate",
        "reward": "reward",
        "handle_complaint": "handle_complaint",
        # The service decides and records each look.
        "reporter": "view",
        "photo": "view",
        "oversight": None,
    }
    _object: InternalReport | None = None

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def actor(self) -> User:
        """The signed-in user (the permission classes let no one else this far)."""
        return cast(User, self.request.user)

    def get_queryset(self) -> QuerySet[Any]:
        queryset = selectors.report_queryset(self.request.user)
        return with_detail(queryset) if self.action == "retrieve" else queryset

    def get_object(self) -> InternalReport:
        # The permission check and the action both need the row: read it once.
        if self._object is None:
            self._object = super().get_object()
        return self._object

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "list":
            return s.ReportOutput
        return s.ReportDetailOutput

    def get_parsers(self) -> list[BaseParser]:
        # Parsers are chosen before `action` is set: find it from the method.
        method = str(getattr(getattr(self, "request", None), "method", "") or "").lower()
        name = getattr(self, "action", None) or (getattr(self, "action_map", None) or {}).get(
            method
        )
        if name == "create":
            return [parser() for parser in JSON_OR_FILES]
        return super().get_parsers()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)  # type: ignore[no-untyped-call]
        except DjangoPermissionDenied:
            # The services' reason, so a refusal reads the same whichever check comes first.
            if self.action == "handle_complaint":
                reason = _("Only a regulator supervising this unit handles the complaint.")
            else:
                reason = _("Only the unit's principal or safety officer verifies its reports.")
            raise exceptions.PermissionDenied(reason) from None

    def validated(
        self, serializer_class: type[serializers.BaseSerializer[Any]], data: Any
    ) -> dict[str, Any]:
        return _validated(serializer_class, data, self.get_serializer_context())

    def respond(self, report: InternalReport) -> Response:
        """The report after a step, in the detail shape, read afresh (and still scoped)."""
        fresh = with_detail(selectors.report_queryset(self.request.user)).get(pk=report.pk)
        return Response(s.ReportDetailOutput(fresh, context=self.get_serializer_context()).data)

    # --- report -------------------------------------------------------------------------------
    @extend_schema(
        request={"application/json": s.ReportInput, "multipart/form-data": s.ReportUpload},
        responses={201: s.ReceiptOutput},
        parameters=[IDEMPOTENCY],
    )
    @sealed_idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Report a hazard in your own unit (any account of the unit), as JSON or as
        multipart/form-data with `photos`. A named report is linked to your account (you see it
        here); an anonymous one is not linked at all. The receipt code is in this answer only."""
        if not self.actor.is_unit_user:
            raise exceptions.PermissionDenied(_("Only a unit's own staff report hazards to it."))
        form = s.ReportUpload if _is_multipart(request) else s.ReportInput
        data = self.validated(form, request.data)
        photos = data.pop("photos", None) or ()
        report, code = services.report_submit_account(actor=self.actor, data=data, photos=photos)
        body = {
            "id": report.pk,
            "reference": report.reference,
            "receipt": code,
            "verify_by": report.verify_by,
        }
        return Response(
            s.ReceiptOutput(body).data, status=status.HTTP_201_CREATED, headers=NO_STORE
        )

    # --- the unit verifies --------------------------------------------------------------------
    @extend_schema(
        request=s.ReportNoteInput,
        responses={200: s.ReportDetailOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        """Start verifying (submitted → verifying), with an optional note."""
        report = self.get_object()
        data = self.validated(s.ReportNoteInput, request.data)
        report = services.report_start(actor=self.actor, report=report, note=data.get("note", ""))
        return self.respond(report)

    @extend_schema(
        request=s.ConfirmInput,
        responses={200: s.ReportDetailOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        """Confirmed (verifying → confirmed): the hazard goes on the ledger (source
        internal_report, with the report's photos) and the reward is proposed from the policy."""
        report = self.get_object()
        data = self.validated(s.ConfirmInput, request.data)
        report = services.report_confirm(
            actor=self.actor,
            report=report,
            level=data["level"],
            hazard_category=data["hazard_category"],
            reply=data.get("reply", ""),
            description=data.get("description", ""),
            deadline=data.get("deadline"),
            working_days=data.get("working_days"),
            site=data.get("site"),
            responsible_person=data.get("responsible_person"),
        )
        return self.respond(report)

    @extend_schema(
        request=s.RejectInput,
        responses={200: s.ReportDetailOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Not confirmed (verifying → rejected), with the reason the reporter reads."""
        report = self.get_object()
        data = self.validated(s.RejectInput, request.data)
        report = services.report_reject(actor=self.actor, report=report, reason=data["reason"])
        return self.respond(report)

    @extend_schema(
        request=s.DuplicateInput,
        responses={200: s.ReportDetailOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk: str | None = None) -> Response:
        """The same hazard was reported before (verifying → duplicate): linked to the earliest
        report of it, which must be an earlier report of the same unit."""
        report = self.get_object()
        data = self.validated(s.DuplicateInput, request.data)
        report = services.report_mark_duplicate(
            actor=self.actor,
            report=report,
            original=data["duplicate_of"],
            reply=data.get("reply", ""),
        )
        return self.respond(report)

    @extend_schema(
        request=s.RewardInput,
        responses={200: s.ReportDetailOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def reward(self, request: Request, pk: str | None = None) -> Response:
        """The reward is paid (confirmed → rewarded), once, at most the policy's cap."""
        report = self.get_object()
        data = self.validated(s.RewardInput, request.data)
        report = services.report_reward(
            actor=self.actor,
            report=report,
            amount=data["amount"],
            paid_on=data.get("paid_on") or timezone.localdate(),
            reference=data.get("reference", ""),
        )
        return self.respond(report)

    # --- the bureau -------------------------------------------------------------------------
    @extend_schema(
        request=s.ReplyInput,
        responses={200: s.ReportDetailOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"], url_path="handle-complaint")
    def handle_complaint(self, request: Request, pk: str | None = None) -> Response:
        """The bureau answers a report the reporter raised to it (a regulator supervising the
        unit); the reporter reads the reply on the status page."""
        report = self.get_object()
        data = self.validated(s.ReplyInput, request.data)
        report = services.report_handle_complaint(
            actor=self.actor, report=report, reply=data["reply"]
        )
        return self.respond(report)

    @extend_schema(responses=s.IdentityOutput)
    @action(detail=True, methods=["get"])
    def reporter(self, request: Request, pk: str | None = None) -> Response:
        """Who made a named report: for regulators supervising the unit who hold the explicit
        permission `reporting.view_reporter_identity` (and for the unit's managers when the
        reporter consented). Every look is written to the audit trail; anyone else gets 403."""
        identity = services.identity_reveal(actor=self.actor, report=self.get_object())
        return Response(s.IdentityOutput(identity).data, headers=NO_STORE)

    @extend_schema(
        parameters=[OpenApiParameter("photo_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"photos/(?P<photo_id>[0-9]+)",
        url_name="photo",
    )
    def photo(
        self, request: Request, pk: str | None = None, photo_id: str | None = None
    ) -> FileResponse:
        """One photo of the report (stored re-encoded, without metadata)."""
        report = self.get_object()
        photo = report.photos.filter(pk=int(photo_id or 0)).first()
        if photo is None:
            raise exceptions.NotFound()
        try:
            handle = photo.file.open("rb")
        except OSError:
            raise exceptions.NotFound(_("The stored file is missing.")) from None
        response = FileResponse(handle, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response

    # --- oversight --------------------------------------------------------------------------
    @extend_schema(parameters=[s.OversightQuery], responses=s.OversightOutput)
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def oversight(self, request: Request) -> Response:
        """Per unit and per county: reports received in the period (by submission date),
        decided and verified in time, confirmed, rewarded and the amounts paid, unverified past
        the time limit now, open complaints. Regulators see the units they supervise; a unit's
        principal or safety officer sees their own unit's row."""
        user = self.actor
        if not (user.is_regulator or user.is_system_admin or user.is_unit_manager):
            raise exceptions.PermissionDenied(
                _("The oversight figures are for regulators and the unit's managers.")
            )
        query = self.validated(s.OversightQuery, request.query_params)
        units, counties, total = selectors.oversight(
            user, start=query.get("start"), end=query.get("end")
        )
        body = {"units": units, "counties": counties, "total": total}
        return Response(s.OversightOutput(body).data)


# --- reporting channels (signed in) --------------------------------------------------------------
class ReportChannelViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Any],
):
    """内部报告渠道与奖励办法: a unit's reporting code (its QR poster links to `link`) and the
    reward policy it sets. A unit's principal or safety officer changes it; every account of the
    unit and the supervising bureaus read it. A unit that never opened one is not listed: see
    `mine/`."""

    queryset_base = ReportChannel.objects.select_related("enterprise").order_by("id")
    serializer_class = s.ChannelOutput
    filterset_class = ChannelFilter
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["updated_at", "id"]
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_type_map = {
        **ScopedViewSetMixin.permission_type_map,
        "partial_update": "change",
        "rotate": "change",
        "mine": None,
    }

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)  # type: ignore[no-untyped-call]
        except DjangoPermissionDenied:
            raise exceptions.PermissionDenied(
                _("Only the unit's principal or safety officer sets its policy.")
            ) from None

    def respond(self, channel: ReportChannel) -> Response:
        fresh = self.get_queryset().get(pk=channel.pk)
        return Response(s.ChannelOutput(fresh, context=self.get_serializer_context()).data)

    @extend_schema(request=s.ChannelInput, responses=s.ChannelOutput)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change the policy (the unit's principal or safety officer): rewards by level, the
        cap (neither reward above it), the time limit for verification, how rewards are
        collected, and whether the channel accepts reports."""
        channel = self.get_object()
        data = _validated(s.ChannelInput, request.data, self.get_serializer_context())
        channel = services.channel_save(actor=self.actor, channel=channel, data=data)
        return self.respond(channel)

    @extend_schema(request=None, responses=s.ChannelOutput)
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str | None = None) -> Response:
        """A new reporting code: posters with the old one stop working (print new ones)."""
        channel = services.channel_rotate(actor=self.actor, channel=self.get_object())
        return self.respond(channel)

    @extend_schema(responses=s.ChannelOutput)
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def mine(self, request: Request) -> Response:
        """Your unit's channel, opened with the default policy the first time it is asked for
        (any account of a unit; others get 403)."""
        user = self.actor
        if not user.is_unit_user or user.enterprise is None:
            raise exceptions.PermissionDenied(
                _("Only a unit's own accounts have a reporting channel.")
            )
        channel = services.channel_for(user.enterprise)
        return self.respond(channel)


# --- public (no account) -----------------------------------------------------------------------
class RateLimited(exceptions.Throttled):
    """429 with Retry-After and a message in the request's language."""

    def __init__(self, wait: int, detail: str) -> None:
        exceptions.APIException.__init__(self, detail, "throttled")
        self.wait = wait


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def check_submit_limit(request: Request) -> None:
    wait = throttles.wait_seconds(request._request, throttles.submit_limit())
    if wait is not None:
        minutes = _minutes(wait)
        raise RateLimited(
            wait,
            # The same words as the reporting page (one translation).
            ngettext(
                "Too many reports were sent from this phone or network. Please try again in "
                "about %(minutes)s minute. Nothing of this attempt was saved.",
                "Too many reports were sent from this phone or network. Please try again in "
                "about %(minutes)s minutes. Nothing of this attempt was saved.",
                minutes,
            )
            % {"minutes": minutes},
        )


def count_lookup(request: Request) -> None:
    """Every receipt lookup counts, found or not, so codes cannot be tried in bulk."""
    limit = throttles.lookup_limit()
    wait = throttles.wait_seconds(request._request, limit)
    if wait is not None:
        minutes = _minutes(wait)
        raise RateLimited(
            wait,
            ngettext(
                "Too many receipt codes were checked from this network. Please try again in "
                "about %(minutes)s minute.",
                "Too many receipt codes were checked from this network. Please try again in "
                "about %(minutes)s minutes.",
                minutes,
            )
            % {"minutes": minutes},
        )
    throttles.count(request._request, limit)


def receipt_not_found() -> exceptions.NotFound:
    """The one answer for an unknown and a malformed code alike."""
    return exceptions.NotFound(_("No report has this receipt code. Check the code and try again."))


RECEIPT = OpenApiParameter(
    "receipt",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="the receipt code given when the report was made (case, spaces and dashes do "
    "not matter)",
)
TOKEN = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="the code in the poster's link"
)
NOT_FOUND = OpenApiResponse(response=PROBLEM, description="No report has this receipt code.")
TOO_MANY = OpenApiResponse(
    response=PROBLEM, description="Too many requests from this device or network; see Retry-After."
)


class PublicView(APIView):
    """No account, no session: nothing here is tied to who calls."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]


class PublicChannelView(PublicView):
    @extend_schema(
        operation_id="public_report_channel_retrieve",
        parameters=[TOKEN],
        responses={200: s.PublicChannelOutput},
    )
    def get(self, request: Request, token: str) -> Response:
        """What the reporting page shows for a unit's code: the unit, its sites to choose from
        and its reward policy. An unknown code, or a unit's channel that is closed, is a 404."""
        channel = (
            ReportChannel.objects.select_related("enterprise")
            .filter(token=token[:40], is_open=True)
            .first()
        )
        if channel is None:
            raise exceptions.NotFound(
                _("This reporting code is not valid; scan the unit's poster again.")
            )
        sites = Site.objects.filter(enterprise_id=channel.enterprise_id).order_by("name", "id")
        body = {
            "unit": channel.enterprise.name,
            "is_open": channel.is_open,
            "sites": [{"id": site.pk, "name": site.name} for site in sites],
            "policy": channel,
        }
        return Response(s.PublicChannelOutput(body).data)


def _public_site(token: str, site_id: int | None) -> Site | None:
    """The chosen site, which must be one of the unit's behind the code. (An unknown code is
    left for the service to refuse, on `unit_token`.)"""
    if site_id is None:
        return None
    channel = ReportChannel.objects.filter(token=token[:40]).first()
    if channel is None:
        return None
    site: Site | None = Site.objects.filter(pk=site_id, enterprise_id=channel.enterprise_id).first()
    if site is None:
        raise exceptions.ValidationError({"site": [_("Choose one of the unit's sites.")]})
    return site


class PublicReportCreateView(PublicView):
    parser_classes = JSON_OR_FILES

    @extend_schema(
        operation_id="public_internal_report_create",
        request={
            "application/json": s.PublicReportInput,
            "multipart/form-data": s.PublicReportUpload,
        },
        responses={201: s.PublicReceiptOutput, (429, PROBLEM_CONTENT_TYPE): TOO_MANY},
        parameters=[
            IDEMPOTENCY,
            OpenApiParameter(
                throttles.DEVICE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="a random id the app keeps (16-64 of A-Z a-z 0-9 _ -): the rate "
                "limit counts per device as well as per address",
            ),
        ],
    )
    @sealed_idempotent
    def post(self, request: Request) -> Response:
        """Report a hazard through a unit's QR code, without an account: `unit_token` and the
        report, as JSON or as multipart/form-data with `photos`. Name and phone are optional;
        the answer's receipt code follows the report (keep it: it is not shown again). Rate
        limited per device and per address (429 with Retry-After)."""
        check_submit_limit(request)
        form = s.PublicReportUpload if _is_multipart(request) else s.PublicReportInput
        data = _validated(form, request.data, {"request": request})
        token = data.pop("unit_token")
        photos = data.pop("photos", None) or ()
        data["site"] = _public_site(token, data.pop("site", None))
        report, code = services.report_submit_public(token=token, data=data, photos=photos)
        throttles.count(request._request, throttles.submit_limit())
        body = {
            "receipt": code,
            "reference": report.reference,
            "status": report.status,
            "verify_by": report.verify_by,
        }
        return Response(
            s.PublicReceiptOutput(body).data, status=status.HTTP_201_CREATED, headers=NO_STORE
        )


class PublicReportStatusView(PublicView):
    @extend_schema(
        operation_id="public_internal_report_retrieve",
        parameters=[RECEIPT],
        responses={
            200: s.PublicStatusOutput,
            (404, PROBLEM_CONTENT_TYPE): NOT_FOUND,
            (429, PROBLEM_CONTENT_TYPE): TOO_MANY,
        },
    )
    def get(self, request: Request, receipt: str) -> Response:
        """Follow a report by its receipt code: status, the unit's reply, the reward and the
        bureau's answer, nothing else. An unknown and a malformed code get the same 404; every
        lookup counts towards a per-address limit (429 with Retry-After)."""
        count_lookup(request)
        report = selectors.report_by_receipt(receipt)
        if report is None:
            raise receipt_not_found()
        return Response(
            s.PublicStatusOutput(selectors.public_status(report)).data, headers=NO_STORE
        )


class PublicReportEscalateView(PublicView):
    @extend_schema(
        operation_id="public_internal_report_escalate",
        parameters=[RECEIPT],
        request=s.ReportNoteInput,
        responses={
            200: s.PublicStatusOutput,
            (404, PROBLEM_CONTENT_TYPE): NOT_FOUND,
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                response=PROBLEM,
                description="The unit's time limit has not passed, the unit has decided, or "
                "the report was already raised.",
            ),
            (429, PROBLEM_CONTENT_TYPE): TOO_MANY,
        },
    )
    def post(self, request: Request, receipt: str) -> Response:
        """Raise a report the unit left unverified past its time limit to the county bureau,
        with an optional `note`; the bureau handles it like a complaint. Once only."""
        count_lookup(request)
        data = _validated(s.ReportNoteInput, request.data, {"request": request})
        try:
            report = services.report_escalate(receipt=receipt, note=data.get("note", ""))
        except services.ReceiptNotFound:
            raise receipt_not_found() from None
        return Response(
            s.PublicStatusOutput(selectors.public_status(report)).data, headers=NO_STORE
        )


def register(router: SimpleRouter) -> None:
    """Register the reporting viewsets on the /api/v1/ router."""
    router.register("internal-reports", InternalReportViewSet, basename="internal-report")
    router.register("report-channels", ReportChannelViewSet, basename="report-channel")


public_urlpatterns: list[Any] = [
    path(
        "public/report-channels/<str:token>/",
        PublicChannelView.as_view(),
        name="public-report-channel-detail",
    ),
    path(
        "public/internal-reports/",
        PublicReportCreateView.as_view(),
        name="public-internal-report-list",
    ),
    path(
        "public/internal-reports/<str:receipt>/",
        PublicReportStatusView.as_view(),
        name="public-internal-report-detail",
    ),
    path(
        "public/internal-reports/<str:receipt>/escalate/",
        PublicReportEscalateView.as_view(),
        name="public-internal-report-escalate",
    ),
]
