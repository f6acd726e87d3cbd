"""The pages a reporter uses without an account: the reporting form the poster's QR code opens,
the status page reached by receipt code, and raising a report to the county bureau from it.

They work on any phone without JavaScript, keep CSRF protection on (the token's cookie works for
anonymous visitors too), and never put a receipt code in a URL: codes travel in POST bodies and
come back in pages that are not cached."""

from __future__ import annotations

from math import ceil
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from weibao.core.errors import DomainError
from weibao.registry.models import Enterprise
from weibao.reporting import selectors, services, throttles
from weibao.reporting.forms import EscalateForm, ReceiptForm, ReportForm, attach_errors
from weibao.reporting.models import InternalReport, ReportChannel

DEVICE_COOKIE_AGE = 365 * 24 * 3600


def _private(response: HttpResponse) -> HttpResponse:
    # A receipt code or a report's status must not stay in a shared cache or the back button's.
    add_never_cache_headers(response)
    return response


def _remember_device(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The random device id the rate limits count by (nothing else reads it)."""
    cookie = request.COOKIES.get(throttles.DEVICE_COOKIE, "")
    if not cookie or throttles.device_id(request) != cookie:
        response.set_cookie(
            throttles.DEVICE_COOKIE,
            throttles.new_device_id(),
            max_age=DEVICE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def limited(request: HttpRequest, wait: int, *, lookup: bool = False) -> HttpResponse:
    """429 with Retry-After and a message that says what to do."""
    response = render(
        request,
        "reporting/public_limited.html",
        {"minutes": max(1, ceil(wait / 60)), "lookup": lookup},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return _private(response)


def policy_context(channel: ReportChannel) -> dict[str, Any]:
    return {"channel": channel, "max_photos": settings.REPORT_MAX_PHOTOS}


def render_receipt(
    request: HttpRequest, report: InternalReport, code: str, enterprise: Enterprise
) -> HttpResponse:
    """The receipt code, shown once in the answer to the submission (not a redirect: the code
    must not end up in a URL or the browser's history)."""
    response = render(
        request,
        "reporting/receipt.html",
        {"report": report, "code": code, "unit": enterprise},
    )
    return _private(response)


def _open_channel(token: str) -> ReportChannel | None:
    channel: ReportChannel | None = (
        ReportChannel.objects.select_related("enterprise")
        .filter(token=token[:40], is_open=True)
        .first()
    )
    return channel


@require_http_methods(["GET", "HEAD", "POST"])
def report_public(request: HttpRequest, token: str) -> HttpResponse:
    """The reporting form the poster's QR code opens (no login)."""
    channel = _open_channel(token)
    if channel is None:
        return render(request, "reporting/public_unknown.html", status=404)
    enterprise = channel.enterprise
    if request.method == "POST":
        wait = throttles.wait_seconds(request, throttles.submit_limit())
        if wait is not None:
            return limited(request, wait)
        form = ReportForm(request.POST, request.FILES, enterprise=enterprise)
        if form.is_valid():
            try:
                report, code = services.report_submit_public(
                    token=token, data=form.service_data(), photos=form.cleaned_data["photos"]
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                # Only accepted reports count: a form sent back with an error costs nothing.
                throttles.count(request, throttles.submit_limit())
                return _remember_device(request, render_receipt(request, report, code, enterprise))
    else:
        form = ReportForm(enterprise=enterprise)
    response = render(
        request,
        "reporting/public_form.html",
        {"form": form, "unit": enterprise, **policy_context(channel)},
    )
    return _remember_device(request, _private(response))


# --- following a report by its receipt code -----------------------------------------------------
def _not_found(request: HttpRequest) -> HttpResponse:
    """The one answer for an unknown, malformed or empty code: the same page, whatever was typed
    (nothing of the code is echoed back)."""
    response = render(
        request,
        "reporting/status_form.html",
        {"form": ReceiptForm(), "not_found": True},
        status=404,
    )
    return _private(response)


def _status_page(
    request: HttpRequest,
    report: InternalReport,
    code: str,
    *,
    escalate_form: EscalateForm | None = None,
    error: str = "",
    done: str = "",
) -> HttpResponse:
    status = selectors.public_status(report)
    if escalate_form is None and status["may_escalate"]:
        escalate_form = EscalateForm(initial={"receipt": code})
    response = render(
        request,
        "reporting/status.html",
        {
            "status": status,
            "escalate_form": escalate_form if status["may_escalate"] else None,
            "error": error,
            "done": done,
        },
    )
    return _private(response)


def _over_lookup_limit(request: HttpRequest) -> HttpResponse | None:
    """Every lookup counts (found or not), so codes cannot be tried in bulk."""
    wait = throttles.wait_seconds(request, throttles.lookup_limit())
    if wait is not None:
        return limited(request, wait, lookup=True)
    throttles.count(request, throttles.lookup_limit())
    return None


@require_http_methods(["GET", "HEAD", "POST"])
def report_status(request: HttpRequest) -> HttpResponse:
    """GET: type the receipt code; POST: the report's status, the unit's reply, the reward."""
    if request.method != "POST":
        return _private(render(request, "reporting/status_form.html", {"form": ReceiptForm()}))
    refused = _over_lookup_limit(request)
    if refused is not None:
        return refused
    code = str(request.POST.get("receipt", ""))
    report = selectors.report_by_receipt(code)
    if report is None:
        return _not_found(request)
    return _status_page(request, report, code)


@require_POST
def report_escalate(request: HttpRequest) -> HttpResponse:
    """The reporter raises a report the unit left unverified past its limit to the county
    bureau (the code comes back in the form's hidden field, never in the URL)."""
    refused = _over_lookup_limit(request)
    if refused is not None:
        return refused
    code = str(request.POST.get("receipt", ""))
    form = EscalateForm(request.POST)
    if not form.is_valid():
        report = selectors.report_by_receipt(code)
        if report is None:
            return _not_found(request)
        return _status_page(request, report, code, escalate_form=form)
    try:
        report = services.report_escalate(receipt=code, note=form.cleaned_data["note"])
    except services.ReceiptNotFound:
        return _not_found(request)
    except DomainError as exc:
        found = selectors.report_by_receipt(code)
        if found is None:
            return _not_found(request)
        return _status_page(request, found, code, error=str(exc))
    except ValidationError as exc:
        attach_errors(form, exc)
        found = selectors.report_by_receipt(code)
        if found is None:
            return _not_found(request)
        return _status_page(request, found, code, escalate_form=form)
    return _status_page(
        request,
        report,
        code,
        done=_("Your report has been raised to the county bureau. Check back here for its reply."),
    )
