"""Spreadsheets over the API: `GET <list>/export/` on scoped list endpoints, and an app's imports
at `POST /api/v1/imports/{kind}/` with their templates at `GET /api/v1/imports/{kind}/template/`.

An export is the list itself (same scope, filters, search and ordering) without pagination, as
one .xlsx. An import answers 201 `{"created": n}` or a 400 problem document listing every
problem by row and column; a refused file writes nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from django.http import HttpResponse
from django.template.defaultfilters import capfirst
from django.urls import URLPattern, re_path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from weibao.core.api.errors import PROBLEM_CONTENT_TYPE, DomainError
from weibao.core.api.idempotency import PARAMETER as IDEMPOTENCY
from weibao.core.api.idempotency import idempotent
from weibao.core.api.schema import PROBLEM_SCHEMA
from weibao.core.tabular import (
    XLSX_CONTENT_TYPE,
    Importer,
    ImportRejected,
    Table,
    template_xlsx,
    write_xlsx,
)

if TYPE_CHECKING:
    from rest_framework.viewsets import GenericViewSet

    _ViewSetBase = GenericViewSet[Any]
else:
    _ViewSetBase = object

# An export is one request and one file: beyond this many rows, ask for narrower filters.
EXPORT_MAX_ROWS = 100_000
EXPORT_CHUNK = 2000


class XlsxRenderer(BaseRenderer):
    """Lets a client ask for the file by its type (Accept: …spreadsheetml.sheet) without a 406;
    errors still go out as JSON problem documents."""

    media_type = XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


RENDERERS = [JSONRenderer, XlsxRenderer]
XLSX_RESPONSE = {(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY}


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Length"] = str(len(content))
    return response


class ExportMixin(_ViewSetBase):
    """Adds `GET <list>/export/` to a scoped list viewset: the rows the list would show (scope,
    filters, search, ordering), all of them up to EXPORT_MAX_ROWS, as one .xlsx."""

    export_table: ClassVar[Table]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Reading an export is reading the list: the rules "view" permission, on every viewset
        # however it spells out its own map.
        permission_map = getattr(cls, "permission_type_map", None)
        if permission_map is not None and "export" not in permission_map:
            setattr(cls, "permission_type_map", {**permission_map, "export": "view"})  # noqa: B010

    @extend_schema(filters=True, responses=XLSX_RESPONSE)
    @action(detail=False, methods=["get"], pagination_class=None, renderer_classes=RENDERERS)
    def export(self, request: Request) -> HttpResponse:
        """Export to Excel (.xlsx): the rows of the list with the same filters, search and
        ordering, unpaginated (at most 100,000 rows); headers in the request's language."""
        table = self.export_table
        rows = self.filter_queryset(self.get_queryset())
        if table.select_related:
            rows = rows.select_related(*table.select_related)
        if table.prefetch_related:
            rows = rows.prefetch_related(*table.prefetch_related)
        if rows[EXPORT_MAX_ROWS : EXPORT_MAX_ROWS + 1].exists():
            raise ValidationError(
                {
                    "export": [
                        _("More than %(limit)d rows match; narrow the filters.")
                        % {"limit": EXPORT_MAX_ROWS}
                    ]
                }
            )
        content = write_xlsx(
            table.export_columns(request.user),
            rows.iterator(chunk_size=EXPORT_CHUNK),
            sheet_title=capfirst(str(table.title)),
        )
        stamp = timezone.localdate().strftime("%Y%m%d")
        return xlsx_response(content, f"{table.name}-{stamp}.xlsx")


# --- imports --------------------------------------------------------------------------------------
class ImportUpload(serializers.Serializer[Any]):
    # An empty file is reported like any other unreadable one, in the import's own report.
    file = serializers.FileField(
        allow_empty_file=True, help_text="The filled-in template: .xlsx or .csv (UTF-8 or GBK)."
    )


class ImportResultOutput(serializers.Serializer[Any]):
    created = serializers.IntegerField(help_text="Rows imported.")


IMPORT_PROBLEM_SCHEMA: dict[str, Any] = {
    **PROBLEM_SCHEMA,
    "description": (
        "Nothing was written. When the file itself was refused (type `…:import-rejected`), "
        "`rows` lists every problem: the row of the file (null for the file as a whole), the "
        "column header and the message, in the request's language; `errors` says the same "
        "keyed `row 12 · <column>`. A request without a usable `file` part is an ordinary "
        "validation problem."
    ),
    "properties": {
        **dict(PROBLEM_SCHEMA["properties"]),  # type: ignore[call-overload]
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer", "nullable": True},
                    "column": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["row", "column", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}


class ImportRefused(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "import_rejected"


def _error_key(error: dict[str, Any]) -> str:
    if error["row"] is None:
        return error["column"] or "file"
    if error["column"]:
        return f"row {error['row']} · {error['column']}"
    return f"row {error['row']}"


def refused(exc: ImportRejected) -> ImportRefused:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(_error_key(error), []).append(error["message"])
    count = len(exc.errors)
    detail = ngettext(
        "%(n)s problem; nothing was imported.", "%(n)s problems; nothing was imported.", count
    ) % {"n": count}
    return ImportRefused(detail, errors=errors, rows=exc.errors)


def import_urls(importer: Importer, prefix: str = "imports") -> list[URLPattern]:
    """The import and template endpoints of an app's importer, for the API's URL list."""
    kinds = list(importer.kinds)
    kind = OpenApiParameter(
        "kind",
        OpenApiTypes.STR,
        OpenApiParameter.PATH,
        enum=kinds,
        description="What the file holds.",
    )

    class ImportView(APIView):
        parser_classes = [MultiPartParser]

        def check_permissions(self, request: Request) -> None:
            super().check_permissions(request)
            if not request.user.has_perm(importer.permission):
                raise PermissionDenied()

        @extend_schema(
            operation_id="imports_create",
            parameters=[kind, IDEMPOTENCY],
            request={"multipart/form-data": ImportUpload},
            responses={
                201: ImportResultOutput,
                (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                    response=IMPORT_PROBLEM_SCHEMA,
                    description="Invalid request or refused file; nothing was written.",
                ),
            },
        )
        @idempotent
        def post(self, request: Request, kind: str) -> Response:
            """Import a filled-in template (.xlsx or .csv; headers in Chinese or English):
            every row or, if any row has a problem, none, with every problem listed."""
            form = ImportUpload(data=request.data)
            form.is_valid(raise_exception=True)
            try:
                result = importer.run(
                    actor=request.user, kind=kind, upload=form.validated_data["file"]
                )
            except ImportRejected as exc:
                raise refused(exc) from None
            return Response({"created": result.created}, status=status.HTTP_201_CREATED)

    class TemplateView(APIView):
        renderer_classes = RENDERERS

        @extend_schema(
            operation_id="imports_template_retrieve", parameters=[kind], responses=XLSX_RESPONSE
        )
        def get(self, request: Request, kind: str) -> HttpResponse:
            """The template to fill in: Chinese headers and one example row."""
            table = importer.kinds[kind]
            content = template_xlsx(table.columns, sheet_title=capfirst(str(table.title)))
            return xlsx_response(content, f"{table.name}-template.xlsx")

    pattern = "|".join(kinds)
    return [
        re_path(rf"^{prefix}/(?P<kind>{pattern})/$", ImportView.as_view(), name="import"),
        re_path(
            rf"^{prefix}/(?P<kind>{pattern})/template/$",
            TemplateView.as_view(),
            name="import-template",
        ),
    ]
