"""Enforcement over the API: `/api/v1/legal-provisions/`, `/api/v1/cases/` with the procedure's
steps as POST actions, the case file's documents, and `/api/v1/case-reviews/` with the results
per county. Every write is a service call (the pages call the same ones); a step the status does
not allow is a 409 naming the allowed ones."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from weibao.accounts.models import User
from weibao.core.api.errors import PROBLEM_CONTENT_TYPE
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent
from weibao.core.api.tabular import ExportMixin
from weibao.core.api.viewsets import ScopedViewSetMixin
from weibao.enforcement import selectors, services, tables
from weibao.enforcement import serializers as s
from weibao.enforcement.filters import CaseFilter, CaseReviewFilter, ProvisionFilter
from weibao.enforcement.models import Case, CaseReview, LegalProvision

PDF_CONTENT_TYPE = "application/pdf"
CONFLICT_RESPONSE = OpenApiResponse(
    response={"$ref": "#/components/schemas/Problem"},
    description="Not available in the case's current state.",
)
JSON_OR_FILES = [JSONParser, MultiPartParser]


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


# --- legal provisions -------------------------------------------------------------------------
class AdminWrites(permissions.BasePermission):
    """Reading is for every signed-in user; writing for system administrators (the service
    checks again and says the same)."""

    message = gettext_lazy("Only a system administrator edits the legal provisions.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(getattr(request.user, "is_system_admin", False))


class ProvisionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[LegalProvision],
):
    """法律条款: the provisions a case may apply and the penalties each allows. Shipped with
    `verified` false: an administrator checks each text against the official one (`verify/`);
    a later change of its legal content makes it unverified again."""

    queryset = LegalProvision.objects.select_related("verified_by")
    serializer_class = s.ProvisionOutput
    permission_classes = [permissions.IsAuthenticated, AdminWrites]
    filterset_class = ProvisionFilter
    search_fields = ["code", "law", "law_en", "article", "title", "title_en", "violation"]
    ordering_fields = ["code", "law", "article", "updated_at", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def output(self, provision: LegalProvision, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=provision.pk)
        return Response(s.ProvisionOutput(fresh).data, status=status_code)

    @extend_schema(
        request=s.ProvisionInput, responses={201: s.ProvisionOutput}, parameters=[IDEMPOTENCY]
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Add a provision (system administrators); it starts unverified."""
        data = _validated(s.ProvisionInput, request.data, self.get_serializer_context())
        provision = services.provision_save(actor=self.actor, data=data)
        return self.output(provision, status.HTTP_201_CREATED)

    @extend_schema(request=s.ProvisionInput, responses=s.ProvisionOutput)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change a provision (system administrators). A change of law, article, clause,
        violation, penalty kinds or ranges makes it unverified again."""
        provision = self.get_object()
        data = _validated(
            s.ProvisionInput,
            request.data,
            self.get_serializer_context(),
            instance=provision,
            partial=True,
        )
        provision = services.provision_save(actor=self.actor, data=data, provision=provision)
        return self.output(provision)

    @extend_schema(request=None, responses=s.ProvisionOutput)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        """Confirm the text and ranges against the official text (system administrators)."""
        provision = services.provision_verify(actor=self.actor, provision=self.get_object())
        return self.output(provision)


# --- cases ------------------------------------------------------------------------------------
def list_queryset(user: Any) -> QuerySet[Case]:
    """What a page of the list reads, `allowed_actions` included, in a fixed number of queries."""
    return (
        Case.objects.visible_to(user)
        .select_related("enterprise", "agency", "review")
        .prefetch_related("officers", "penalties")
    )


class CaseViewSet(
    ExportMixin,
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Any],
):
    """案件: administrative-penalty cases on the units you supervise (a unit: its own registered
    cases). No delete: a case ends closed or dropped, each step on its timeline (`events`)."""

    export_table = tables.CASES
    queryset_base = Case.objects.all()
    filterset_class = CaseFilter
    search_fields = ["number", "title", "enterprise__name", "enterprise__uscc"]
    ordering_fields = [
        "proposed_on",
        "registered_on",
        "decided_on",
        "deadline",
        "status",
        "number",
        "updated_at",
        "id",
    ]
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_type_map = {
        **ScopedViewSetMixin.permission_type_map,
        "register": "register",
        "investigate": "investigate",
        "notify": "notify",
        "defence": "defence",
        "hearing": "defence",
        "decide": "decide",
        "payments": "pay",
        "execute": "execute",
        "close": "close",
        "drop": "drop",
        "files": "attach",
        "review": "review",
        "document": "view",
    }
    _object: Case | None = None

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def actor(self) -> User:
        """The signed-in user (the permission classes let no one else this far)."""
        return cast(User, self.request.user)

    def get_queryset(self) -> QuerySet[Any]:
        user = self.request.user
        if self.action in ("list", "export"):
            return list_queryset(user)
        if self.action == "retrieve":
            return selectors.case_queryset(self.actor)
        # Steps: the rules need the officers; the services re-read the row under a lock.
        return (
            Case.objects.visible_to(user)
            .select_related("enterprise", "agency")
            .prefetch_related("officers")
        )

    def get_object(self) -> Case:
        # The permission check and the action both need the row: read it once.
        if self._object is None:
            self._object = super().get_object()
        return self._object

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "list":
            return s.CaseOutput
        return s.CaseDetailOutput

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)  # type: ignore[no-untyped-call]
        except DjangoPermissionDenied:
            raise exceptions.PermissionDenied(self._denial_reason()) from None

    def _denial_reason(self) -> str:
        """The services' reason, so a refusal reads the same whichever check comes first."""
        if self.action == "create":
            return _("Only a regulator opens a case, on a unit it supervises.")
        permission = self.permission_type_map.get(self.action) or "change"
        return services.denial_reason(permission, self._object)

    def validated(
        self, serializer_class: type[serializers.BaseSerializer[Any]], data: Any, **kwargs: Any
    ) -> dict[str, Any]:
        return _validated(serializer_class, data, self.get_serializer_context(), **kwargs)

    def respond(self, case: Case, status_code: int = status.HTTP_200_OK) -> Response:
        """The case after a step, in the detail shape, read afresh (and still scoped)."""
        fresh = selectors.case_queryset(self.actor).get(pk=case.pk)
        body = s.CaseDetailOutput(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status_code)

    # --- create and change ------------------------------------------------------------------
    @extend_schema(
        request=s.CaseInput, responses={201: s.CaseDetailOutput}, parameters=[IDEMPOTENCY]
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Open a case on a unit you supervise (state `proposed`, to be registered)."""
        data = self.validated(s.CaseInput, request.data)
        case = services.case_create(actor=self.actor, data=data)
        return self.respond(case, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.CaseUpdateInput,
        responses={200: s.CaseDetailOutput, (409, PROBLEM_CONTENT_TYPE): CONFLICT_RESPONSE},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change the facts, people, officers, provisions and evidence while the case is being
        built (until the intended penalty is notified); a list given replaces the recorded one."""
        case = self.get_object()
        data = self.validated(s.CaseUpdateInput, request.data, partial=True)
        case = services.case_update(actor=self.actor, case=case, data=data)
        return self.respond(case)

    # --- the procedure ------------------------------------------------------------------------
    @extend_schema(request=s.RegisterInput, responses=s.CaseDetailOutput)
    @action(detail=True, methods=["post"])
    def register(self, request: Request, pk: str | None = None) -> Response:
        """立案: needs two officers, the facts and a provision; gives the case its number (the
        bureau's next, or `number` from the paper file) and issues the approval form."""
        case = self.get_object()
        data = self.validated(s.RegisterInput, request.data)
        case = services.case_register(
            actor=self.actor, case=case, number=data.get("number", ""), note=data.get("note", "")
        )
        return self.respond(case)

    @extend_schema(request=s.NoteInput, responses=s.CaseDetailOutput)
    @action(detail=True, methods=["post"])
    def investigate(self, request: Request, pk: str | None = None) -> Response:
        """Start the investigation (registered → investigating)."""
        case = self.get_object()
        data = self.validated(s.NoteInput, request.data)
        case = services.case_investigate(actor=self.actor, case=case, note=data.get("note", ""))
        return self.respond(case)

    @extend_schema(request=s.NotifyInput, responses=s.CaseDetailOutput)
    @action(detail=True, methods=["post"])
    def notify(self, request: Request, pk: str | None = None) -> Response:
        """告知: the intended penalty, each item checked against its provision (kind allowed,
        fine in range); starts the defence period (and the hearing-request period when the
        penalty allows one) and issues the notice."""
        case = self.get_object()
        data = self.validated(s.NotifyInput, request.data)
        case = services.case_notify(
            actor=self.actor, case=case, items=data["items"], note=data.get("note", "")
        )
        return self.respond(case)

    @extend_schema(
        request={"application/json": s.DefenceInput, "multipart/form-data": s.DefenceUpload},
        responses=s.CaseDetailOutput,
    )
    @action(detail=True, methods=["post"], parser_classes=JSON_OR_FILES)
    def defence(self, request: Request, pk: str | None = None) -> Response:
        """What the party said after the notice: a statement, a hearing request within its
        period, or a written waiver of the defence period (the signed waiver as `files`, so
        multipart/form-data)."""
        case = self.get_object()
        upload = _is_multipart(request)
        data = self.validated(s.DefenceUpload if upload else s.DefenceInput, request.data)
        case = services.case_record_defence(
            actor=self.actor,
            case=case,
            statement=data.get("statement", ""),
            hearing_requested=data.get("hearing_requested", False),
            waived=data.get("waived", False),
            files=data.get("files") or (),
        )
        return self.respond(case)

    @extend_schema(
        request={"application/json": s.HearingInput, "multipart/form-data": s.HearingUpload},
        responses=s.CaseDetailOutput,
    )
    @action(detail=True, methods=["post"], parser_classes=JSON_OR_FILES)
    def hearing(self, request: Request, pk: str | None = None) -> Response:
        """The hearing the party requested: when it was held and what it established."""
        case = self.get_object()
        upload = _is_multipart(request)
        data = self.validated(s.HearingUpload if upload else s.HearingInput, request.data)
        case = services.case_record_hearing(
            actor=self.actor,
            case=case,
            held_on=data["held_on"],
            record=data["record"],
            files=data.get("files") or (),
        )
        return self.respond(case)

    @extend_schema(request=s.DecideInput, responses=s.CaseDetailOutput)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        """决定: after the defence period (or a written waiver) and any requested hearing. The
        penalty is the notified one, or lighter (`items`); a permit suspension or revocation
        changes the registry at once, and the decision is issued."""
        case = self.get_object()
        data = self.validated(s.DecideInput, request.data)
        case = services.case_decide(
            actor=self.actor, case=case, items=data.get("items"), note=data.get("note", "")
        )
        return self.respond(case)

    @extend_schema(
        request={"application/json": s.PaymentInput, "multipart/form-data": s.PaymentUpload},
        responses=s.CaseDetailOutput,
    )
    @action(detail=True, methods=["post"], parser_classes=JSON_OR_FILES)
    def payments(self, request: Request, pk: str | None = None) -> Response:
        """Record the payment of a decided fine (date and receipt number, the receipt's scan
        as `files`)."""
        case = self.get_object()
        upload = _is_multipart(request)
        data = self.validated(s.PaymentUpload if upload else s.PaymentInput, request.data)
        services.case_record_payment(
            actor=self.actor,
            case=case,
            item=data["item"],
            paid_on=data["paid_on"],
            receipt_number=data["receipt_number"],
            files=data.get("files") or (),
        )
        return self.respond(case)

    @extend_schema(request=s.NoteInput, responses=s.CaseDetailOutput)
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        """The penalty is executed: every fine paid (the other penalties took effect with the
        decision)."""
        case = self.get_object()
        data = self.validated(s.NoteInput, request.data)
        case = services.case_execute(actor=self.actor, case=case, note=data.get("note", ""))
        return self.respond(case)

    @extend_schema(request=s.NoteInput, responses=s.CaseDetailOutput)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """结案: the file is complete; its cover with the index of documents is issued."""
        case = self.get_object()
        data = self.validated(s.NoteInput, request.data)
        case = services.case_close(actor=self.actor, case=case, note=data.get("note", ""))
        return self.respond(case)

    @extend_schema(request=s.DropInput, responses=s.CaseDetailOutput)
    @action(detail=True, methods=["post"])
    def drop(self, request: Request, pk: str | None = None) -> Response:
        """Dismiss a proposal, or drop a case before the decision, with the reason."""
        case = self.get_object()
        data = self.validated(s.DropInput, request.data)
        case = services.case_drop(actor=self.actor, case=case, reason=data["reason"])
        return self.respond(case)

    # --- the case file ------------------------------------------------------------------------
    @extend_schema(request={"multipart/form-data": s.CaseFilesUpload}, responses=s.CaseDetailOutput)
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def files(self, request: Request, pk: str | None = None) -> Response:
        """Add evidence (or another uploaded document: defence, waiver, hearing record,
        receipt) to an open case: PDF, JPEG or PNG scans."""
        case = self.get_object()
        data = self.validated(s.CaseFilesUpload, request.data)
        services.case_attach(actor=self.actor, case=case, files=data["files"], kind=data["kind"])
        return self.respond(case)

    @extend_schema(
        parameters=[OpenApiParameter("document_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={
            (200, PDF_CONTENT_TYPE): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"documents/(?P<document_id>[0-9]+)",
        url_name="document",
    )
    def document(
        self, request: Request, pk: str | None = None, document_id: str | None = None
    ) -> FileResponse:
        """One document of the case file, the stored bytes as issued or uploaded."""
        case = self.get_object()
        document = (
            selectors.case_documents(self.actor).filter(case=case, pk=int(document_id or 0)).first()
        )
        if document is None:
            raise exceptions.NotFound()
        try:
            handle = document.file.open("rb")
        except OSError:
            raise exceptions.NotFound(_("The stored file is missing.")) from None
        content_type = document.content_type or "application/octet-stream"
        return FileResponse(
            handle,
            # Photos show in place; documents are downloaded.
            as_attachment=not content_type.startswith("image/"),
            filename=document.name,
            content_type=content_type,
        )

    @extend_schema(request=s.ReviewInput, responses={201: s.CaseReviewOutput})
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        """精品案件评查: a city officer who did not handle the case checks a closed case against
        the six criteria and scores it (0–100), once."""
        case = self.get_object()
        data = self.validated(s.ReviewInput, request.data)
        review = services.case_review(actor=self.actor, case=case, data=data)
        fresh = selectors.reviews_visible_to(self.actor).get(pk=review.pk)
        body = s.CaseReviewOutput(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)


# --- case reviews -----------------------------------------------------------------------------
class CaseReviewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[CaseReview],
):
    """精品案件评查: quality reviews of closed cases in your jurisdiction, and the results per
    county (`summary/`). Reviews are made on the case (`POST /cases/{id}/review/`)."""

    serializer_class = s.CaseReviewOutput
    filterset_class = CaseReviewFilter
    search_fields = ["case__number", "case__title", "case__enterprise__name"]
    ordering_fields = ["reviewed_at", "score", "id"]

    def get_queryset(self) -> QuerySet[CaseReview]:
        return selectors.reviews_visible_to(self.request.user)

    @extend_schema(filters=False, responses=s.ReviewSummaryOutput(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def summary(self, request: Request) -> Response:
        """Per county (of the case's unit): closed cases, how many were reviewed, the average
        score and the count per grade. The city sees each of its counties; a county bureau its
        own row; units and partner departments nothing."""
        user: Any = request.user
        rows = selectors.review_results(user) if user.is_regulator or user.is_system_admin else []
        return Response(s.ReviewSummaryOutput(rows, many=True).data)


def register(router: SimpleRouter) -> None:
    """Add this app's viewsets to the v1 router."""
    router.register("legal-provisions", ProvisionViewSet, basename="legal-provision")
    router.register("cases", CaseViewSet, basename="case")
    router.register("case-reviews", CaseReviewViewSet, basename="case-review")


__all__ = ["CaseReviewViewSet", "CaseViewSet", "ProvisionViewSet", "register"]
