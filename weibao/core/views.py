from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from weibao.core.api.errors import problem_response
from weibao.core.models import AuditEntry, Notification


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = "ok"
    except Exception:
        database = "unavailable"
    healthy = database == "ok"
    return JsonResponse(
        {
            "status": "ok" if healthy else "error",
            "database": database,
            "database_vendor": connection.vendor,
        },
        status=200 if healthy else 503,
    )


@login_required
def audit_list(request: HttpRequest, object_type: str = "", object_id: str = "") -> HttpResponse:
    if not request.user.has_perm("core.view_auditentry"):
        raise PermissionDenied
    entries = AuditEntry.objects.visible_to(request.user).order_by("-seq")
    if object_type:
        entries = entries.filter(object_type=object_type, object_id=object_id)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "core/audit_list.html",
        {"page": page, "object_type": object_type, "object_id": object_id},
    )


def _api_path(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler404(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if _api_path(request):
        return problem_response(request, 404)
    return render(request, "404.html", status=404)


def handler500(request: HttpRequest) -> HttpResponse:
    if _api_path(request):
        return problem_response(request, 500)
    # No context processors: whatever broke the request may break them too.
    return HttpResponseServerError(loader.get_template("500.html").render())


def handler403(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if _api_path(request):
        return problem_response(request, 403)
    return render(request, "403.html", status=403)


def handler400(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if _api_path(request):
        return problem_response(request, 400)
    return render(request, "400.html", status=400)


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    rows = Notification.objects.visible_to(request.user)
    if request.method == "POST":
        rows.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("notifications")
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})
