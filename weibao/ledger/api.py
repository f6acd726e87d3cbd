"""The ledger over the API: filing events (`POST /api/v1/ledger/events/`), the batches they came
in, items with their whole life, and the anomalies reconciliation found with their status.

Filing: a unit's principal or safety officer (an enterprise system signs in as one, with a
token) files its own unit's events; a system administrator files anyone's. Regulators read, they
do not file. A batch is accepted whole (201) or rejected whole (422, kept with its per-row
report at `/ledger/batches/{id}/`); a body that cannot be read as a batch at all (type, size,
encoding, header, number of rows) is a 400 naming what is wrong, and no batch is kept.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, cast

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from weibao.accounts.models import User
from weibao.core.api.errors import PROBLEM_CONTENT_TYPE, DomainError, problem
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent
from weibao.core.api.schema import PROBLEM_SCHEMA
from weibao.ledger import anomaly_services, api_declarations, selectors
from weibao.ledger import serializers as s
from weibao.ledger.filters import AnomalyFilter, BatchFilter, ItemFilter
from weibao.ledger.ingest import COLUMNS, IngestError, csv_rows, decode, ingest_rows
from weibao.ledger.models import Batch
from weibao.registry.models import Enterprise

# A body above this many bytes is refused from its Content-Length, before a byte is read
# (100,000 events of every column fit in well under half of it, as JSON).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
READ_CHUNK = 1024 * 1024
CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSON_TYPE = "application/json"
CODE_PATTERN = r"[0-9A-Za-z\-]{1,32}"


def max_batch_bytes() -> int:
    return int(getattr(settings, "LEDGER_MAX_BATCH_BYTES", DEFAULT_MAX_BYTES))


class BatchUnreadable(DomainError):
    """The body cannot be read as a batch: nothing is kept."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "batch_unreadable"


def unreadable(field: str, message: str) -> BatchUnreadable:
    return BatchUnreadable(message, errors={field: [message]})


REJECTED_SCHEMA: dict[str, Any] = {
    **PROBLEM_SCHEMA,
    "description": (
        "The batch was rejected whole: nothing was written. It is kept for inspection at "
        "`/api/v1/ledger/batches/{batch}/`. `row_errors` lists the first 1,000 rows in error "
        "({row, field, code, message}; row 1 is the first event, the CSV header is row 0); "
        "`errors` says the same keyed `row 12 · field`; `error_count` is the full number."
    ),
    "properties": {
        **dict(PROBLEM_SCHEMA["properties"]),  # type: ignore[call-overload]
        "batch": {"type": "integer"},
        "rows": {"type": "integer"},
        "error_count": {"type": "integer"},
        "row_errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer"},
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["row", "field", "code", "message"],
            },
        },
    },
}
CSV_EXAMPLE = (
    "code,event,at,unit,site,product,chip_uid\n"
    "5361314A00001,produced,2026-03-14T08:00:00+08:00,91430405MA4L000017,12,"
    "electronic_detonator,00000000000000A1\n"
)


# --- filing events ---------------------------------------------------------------------------
def filing_unit(user: User) -> Enterprise | None:
    """The unit whose events `user` may file (None: any unit, for an administrator)."""
    if user.is_system_admin:
        return None
    if user.is_unit_manager:
        return cast(Enterprise, user.enterprise)
    if user.is_regulator:
        raise exceptions.PermissionDenied(_("Regulators read the ledger; units file events."))
    raise exceptions.PermissionDenied(
        _("Events are filed by a unit's principal or safety officer (or its system).")
    )


def _csv_rows_so_far(data: bytes) -> int:
    """Data rows in the complete lines of a CSV prefix (blank lines skipped, as ingest does)."""
    try:
        text = decode(data)
    except IngestError:
        return 0  # the whole body's decoding will name the problem
    rows = 0
    try:
        for values in csv.reader(io.StringIO(text)):
            if values and not (len(values) == 1 and not values[0].strip()):
                rows += 1
    except csv.Error:
        return 0
    return max(rows - 1, 0)


def read_body(request: Request, *, is_csv: bool, limit: int) -> bytes:
    """The body, refused by its Content-Length when over the byte cap, and for CSV by counting
    rows while it streams in (a body of a million rows stops after the first `limit`)."""
    cap = max_batch_bytes()
    raw_length = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw_length)
    except ValueError:
        raise unreadable("Content-Length", _("Content-Length is not a number.")) from None
    too_large = _("The body is larger than %(mb)d MB; split the batch.") % {
        "mb": cap // (1024 * 1024) or 1
    }
    if length > cap:
        raise unreadable("body", too_large)
    too_many = _("A batch holds at most %(limit)d rows; split the file.") % {"limit": limit}
    http = request._request
    chunks: list[bytes] = []
    size = lines = 0
    check_at = limit + 1  # the header line
    while True:
        chunk = http.read(READ_CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            raise unreadable("body", too_large)
        if is_csv:
            lines += chunk.count(b"\n")
            if lines > check_at:
                # Line breaks may sit inside quoted fields: count real rows before refusing.
                data = b"".join(chunks)
                chunks = [data]
                rows = _csv_rows_so_far(data[: data.rfind(b"\n") + 1])
                if rows > limit:
                    raise unreadable("rows", too_many)
                check_at = lines + (limit - rows) + 1
    body = b"".join(chunks)
    # Read from the stream past Django's in-memory cap (DATA_UPLOAD_MAX_MEMORY_SIZE applies to
    # forms; this endpoint has its own); keep it where `request.body` looks, for the
    # idempotency fingerprint.
    http._body = body
    return body


def json_rows(body: bytes, limit: int) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        message = _("The body is not valid JSON (%(error)s).") % {"error": exc}
        raise unreadable("body", message) from None
    if not isinstance(data, list):
        raise unreadable("body", _("Send a JSON array of events (or a CSV file)."))
    if len(data) > limit:
        raise unreadable(
            "rows", _("A batch holds at most %(limit)d rows; split the file.") % {"limit": limit}
        )
    unknown: dict[str, int] = {}
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise unreadable(f"[{index}]", _("Each event is a JSON object."))
        for key in row:
            if key not in COLUMNS:
                unknown.setdefault(key, index)
    if unknown:
        message = _("Unknown field; the fields are: %(columns)s.") % {"columns": ", ".join(COLUMNS)}
        raise BatchUnreadable(
            message,
            errors={
                f"[{index}].{key}"[:100]: [message] for key, index in list(unknown.items())[:20]
            },
        )
    return data


class LedgerEventsView(APIView):
    """File a batch of ledger events."""

    parser_classes = [JSONParser]  # the body is read by `post` itself (CSV or JSON)

    @extend_schema(
        operation_id="ledger_events_create",
        parameters=[IDEMPOTENCY],
        request={
            "application/json": s.EventRowInput(many=True),
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            201: s.BatchAcceptedOutput,
            (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                response={"$ref": "#/components/schemas/Problem"},
                description="The body cannot be read as a batch (media type, size, encoding, "
                "CSV header or JSON fields, more rows than LEDGER_MAX_BATCH_ROWS): `errors` "
                "names the field; nothing was kept.",
            ),
            (422, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                response=REJECTED_SCHEMA,
                description="Rejected whole, with the per-row report (or the Idempotency-Key "
                "was used with another body).",
            ),
        },
        examples=[OpenApiExample("CSV", value=CSV_EXAMPLE, media_type="text/csv")],
    )
    def post(self, request: Request) -> Response:
        """File events: a JSON array of event objects, or a CSV file (`Content-Type: text/csv`,
        UTF-8 or GBK, detected; header of the column names) of at most LEDGER_MAX_BATCH_ROWS
        (100,000) events. The batch is accepted whole (201, applied to the items' current
        state at once) or rejected whole (422 with the rows in error; nothing written). A unit
        files only its own events (`unit` is its USCC); events on a box or case apply to
        everything packed inside."""
        user = cast(User, request.user)
        unit = filing_unit(user)
        media = (request.content_type or "").split(";")[0].strip().lower()
        if media != JSON_TYPE and media not in CSV_TYPES:
            raise exceptions.UnsupportedMediaType(media or "-")
        limit = int(settings.LEDGER_MAX_BATCH_ROWS)
        read_body(request, is_csv=media in CSV_TYPES, limit=limit)
        return self._file(request, unit=unit, media=media, limit=limit)

    @idempotent
    def _file(
        self, request: Request, *, unit: Enterprise | None, media: str, limit: int
    ) -> Response:
        body = request._request.body
        rows: Any
        if media in CSV_TYPES:
            try:
                text = decode(body)
            except IngestError as exc:
                raise unreadable("encoding", str(exc)) from None
            rows = csv_rows(text)
        else:
            rows = json_rows(body, limit)
        try:
            result = ingest_rows(
                rows, enterprise=unit, user=request.user, source=Batch.Source.API, max_rows=limit
            )
        except IngestError as exc:
            raise unreadable(exc.field, str(exc)) from None
        batch = result.batch
        if result.accepted:
            body_out = {
                "batch": batch.pk,
                "status": batch.status,
                "rows": result.rows,
                "seconds": round(result.seconds, 4),
            }
            return Response(body_out, status=status.HTTP_201_CREATED)
        reported = batch.errors
        detail = _(
            "%(count)d of %(rows)d rows have errors; nothing was written. The batch is kept as "
            "%(batch)d."
        ) % {"count": result.error_count, "rows": result.rows, "batch": batch.pk}
        errors: dict[str, list[str]] = {}
        for error in reported:
            errors.setdefault(f"row {error['row']} · {error['field']}", []).append(error["message"])
        body_out = problem(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail=detail,
            code="batch_rejected",
            errors=errors,
            batch=batch.pk,
            rows=result.rows,
            error_count=result.error_count,
            row_errors=reported,
        )
        return Response(
            body_out,
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            content_type=PROBLEM_CONTENT_TYPE,
        )


# --- reading ---------------------------------------------------------------------------------
class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Any]):
    """Ingest batches, accepted and rejected, newest first: a unit's own; a regulator's, those of
    the units in its jurisdiction. The detail holds the rejected rows' report."""

    filterset_class = BatchFilter
    ordering_fields = ["created_at", "id", "rows", "error_count"]

    def get_queryset(self) -> QuerySet[Batch]:
        rows = selectors.batches_visible(self.request.user)
        return rows.defer("errors") if self.action == "list" else rows

    def get_serializer_class(self) -> Any:
        return s.BatchDetailOutput if self.action == "retrieve" else s.BatchOutput


class ItemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Any]):
    """Items (detonators, packages, rolls, boxes, cases) by their current state."""

    filterset_class = ItemFilter
    serializer_class = s.ItemOutput
    ordering_fields = ["code", "last_event_at", "state"]
    lookup_field = "code"
    lookup_value_regex = CODE_PATTERN

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.items_visible(self.request.user).order_by("code")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Items held by (or on their way to) the units you may see: a unit's own; a
        regulator's, those held in its jurisdiction."""
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=s.ItemTraceOutput)
    def retrieve(self, request: Request, code: str) -> Response:
        """An item's current state and its whole life: its own events and those of the boxes
        and cases it was packed in while it was inside, oldest first. Readable by the
        regulators of any unit that held it (or had it shipped to it), and by those units;
        a unit that never held it gets a 404."""
        trace = selectors.trace_for(request.user, code.upper())
        if trace is None:
            raise Http404
        return Response(s.trace_data(trace))


class AnomalyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Any]
):
    """What reconciliation found, with its evidence: the owner unit's own; a regulator's, those of
    the units in its jurisdiction."""

    filterset_class = AnomalyFilter
    ordering_fields = ["detected_at", "last_seen_at", "severity", "status", "id"]

    def get_queryset(self) -> QuerySet[Any]:
        rows = selectors.anomalies_visible(self.request.user)
        return rows.defer("evidence") if self.action == "list" else rows

    def get_serializer_class(self) -> Any:
        if self.action == "change_status":
            return s.AnomalyStatusInput
        return s.AnomalyDetailOutput if self.action == "retrieve" else s.AnomalyOutput

    @extend_schema(
        request=s.AnomalyStatusInput,
        responses={
            200: s.AnomalyDetailOutput,
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                response={"$ref": "#/components/schemas/Problem"},
                description="Already in that status, or not open (a unit explains only open "
                "ones); `allowed` lists what you may set now.",
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str | None = None) -> Response:
        """Set the status: `explained` or `closed` with an `explanation`, `confirmed_loss`, or
        `open` again. The bureau supervising the owner unit sets any; the owner unit's
        principal or safety officer may only explain an open anomaly."""
        anomaly = self.get_object()
        form = s.AnomalyStatusInput(data=request.data)
        form.is_valid(raise_exception=True)
        anomaly = anomaly_services.anomaly_set_status(
            actor=request.user,
            anomaly=anomaly,
            status=form.validated_data["status"],
            explanation=form.validated_data.get("explanation", ""),
        )
        fresh = selectors.anomalies_visible(request.user).get(pk=anomaly.pk)
        return Response(s.AnomalyDetailOutput(fresh).data)


def register(router: SimpleRouter) -> None:
    """Add the ledger's viewsets to the v1 router."""
    router.register("ledger/batches", BatchViewSet, basename="ledger-batch")
    router.register("ledger/items", ItemViewSet, basename="ledger-item")
    router.register("ledger/anomalies", AnomalyViewSet, basename="ledger-anomaly")
    api_declarations.register(router)  # magazine counts, permit allowances


urlpatterns: list[Any] = [
    path("ledger/events/", LedgerEventsView.as_view(), name="ledger-events"),
]
