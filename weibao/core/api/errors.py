"""One place that turns errors into RFC 9457 problem documents (application/problem+json).

Messages are translated through the active language, which LocaleMiddleware takes from the
request's Accept-Language.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Stable problem types for errors that do not come from a DRF exception (Django's 404/500).
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    500: "server_error",
}

TITLES = {
    400: _("Invalid request"),
    401: _("Authentication required"),
    403: _("Permission denied"),
    404: _("Not found"),
    405: _("Method not allowed"),
    406: _("Not acceptable"),
    409: _("Conflict"),
    415: _("Unsupported media type"),
    422: _("Unprocessable request"),
    429: _("Too many requests"),
    500: _("Server error"),
}


class DomainError(Exception):
    """A rule of the domain refused the request; services raise it, the API answers 409/422."""

    status_code: int = status.HTTP_409_CONFLICT
    code = "conflict"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


def problem(
    status_code: int,
    *,
    detail: Any = None,
    code: str | None = None,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "urn:weibao:problem:"
        + (code or STATUS_CODES.get(status_code, str(status_code))).replace("_", "-"),
        "title": force_str(TITLES.get(status_code, _("Error"))),
        "status": status_code,
        "detail": force_str(detail)
        if detail is not None
        else force_str(TITLES.get(status_code, "")),
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"field" or "field.sub" or "items[0].field": [messages]}
    (the same keys the services use, so a client parses one style)."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # ListField errors come as {index: detail}
                child = f"{prefix[:-1]}[{key}]."
            else:
                name = api_settings.NON_FIELD_ERRORS_KEY if key == "non_field_errors" else str(key)
                child = f"{prefix}{name}." if prefix or name else ""
            for k, v in _flatten(value, child).items():
                out.setdefault(k, []).extend(v)
    elif (
        isinstance(detail, list)
        and detail
        and not all(isinstance(d, (str, exceptions.ErrorDetail)) for d in detail)
    ):
        for index, value in enumerate(detail):
            for k, v in _flatten(value, f"{prefix[:-1]}[{index}].").items():
                out.setdefault(k, []).extend(v)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        key = prefix[:-1] if prefix else api_settings.NON_FIELD_ERRORS_KEY
        out.setdefault(key, []).extend(force_str(m) for m in messages)
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        # Services refuse with a reason in words; keep it (else DRF's generic message).
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = {
                ("non_field_errors" if k == "__all__" else k): v
                for k, v in exc.message_dict.items()
            }
        else:
            fields = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(fields)

    if isinstance(exc, DomainError):
        body = problem(exc.status_code, detail=exc.detail, code=exc.code, **exc.extra)
        return Response(body, status=exc.status_code, content_type=PROBLEM_CONTENT_TYPE)

    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django log it and answer through handler500

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]

    code = exc.default_code
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        body = problem(
            exc.status_code,
            detail=_("Some of the data sent is not valid; see errors."),
            code="validation_error",
            errors=errors,
        )
    else:
        detail = exc.detail
        if isinstance(detail, (list, dict)):
            body = problem(exc.status_code, code=code, errors=_flatten(detail))
        else:
            code = getattr(detail, "code", None) or code
            body = problem(exc.status_code, detail=detail, code=code)
    return Response(
        body, status=exc.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )


def problem_response(request: HttpRequest, status_code: int, detail: Any = None) -> JsonResponse:
    return JsonResponse(
        problem(status_code, detail=detail),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
