from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from weibao.core import context


class RequestContextMiddleware:
    """Give every request an id (echoed as X-Request-ID) and make it the audit context."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = context.new_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        with context.acting_as(request=request, request_id=request_id, label="web"):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
