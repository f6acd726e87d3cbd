"""Files of internal reports: the unit's QR poster (PDF) and the reports spreadsheet (.xlsx).

Thin views (the pages module routes them): the poster is `documents.poster_pdf` of the channel
`services.channel_for` opens, the spreadsheet is `exports.reports_workbook` of the user's
`selectors.report_queryset`, so it holds exactly the reports the user's pages list and never
the reporter's identity.
"""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from weibao.accounts.models import User
from weibao.core.documents import PDF_CONTENT_TYPE
from weibao.core.errors import DomainError
from weibao.core.tabular import XLSX_CONTENT_TYPE
from weibao.registry.models import Enterprise
from weibao.reporting import selectors, services


def _download(content: bytes, content_type: str, filename: str, *, inline: bool) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Content-Length"] = str(len(content))
    return response


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page the download was asked from (same site only), else home."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(referer)
    return redirect("home")


def _poster_unit(request: HttpRequest, user: User) -> Enterprise:
    """Unit staff print their own unit's poster; regulators name a unit they supervise."""
    wanted = request.GET.get("enterprise", "").strip()
    if user.is_unit_user:
        if wanted and wanted != str(user.enterprise_id):
            raise Http404
        return cast(Enterprise, user.enterprise)
    if user.is_regulator or user.is_system_admin:
        if not wanted.isdigit():
            raise Http404
        unit: Enterprise = get_object_or_404(Enterprise.objects.visible_to(user), pk=int(wanted))
        return unit
    raise PermissionDenied(_("Only a unit's staff and its regulators print its poster."))


@login_required
def poster(request: HttpRequest) -> HttpResponse:
    """The unit's A4 reporting poster (PDF) with the QR code of its reporting page."""
    from weibao.reporting.documents import poster_pdf

    user = cast(User, request.user)
    language = request.GET.get("language") or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        choices = ", ".join(code for code, _name in settings.LANGUAGES)
        return HttpResponseBadRequest(
            _("Unknown language “%(language)s”; choose one of %(choices)s.")
            % {"language": language[:20], "choices": choices},
            content_type="text/plain; charset=utf-8",
        )
    unit = _poster_unit(request, user)
    channel = services.channel_for(unit)
    if not channel.is_open:
        messages.error(
            request,
            _(
                "The unit's reporting channel is closed: its poster's code would not work. "
                "Open the channel in the reward policy first."
            ),
        )
        return _back(request)
    link = request.build_absolute_uri(reverse("report-public", args=[channel.token]))
    try:
        pdf = poster_pdf(channel=channel, link=link, language=language)
    except DomainError as exc:  # this server cannot produce PDFs right now
        messages.error(request, str(exc))
        return _back(request)
    return _download(pdf, PDF_CONTENT_TYPE, f"report-poster-{unit.uscc}.pdf", inline=True)


@login_required
def reports_export(request: HttpRequest) -> HttpResponse:
    """The reports the user may see, with the list page's filters, as .xlsx, without
    identities."""
    from weibao.reporting.exports import reports_workbook
    from weibao.reporting.forms import ReportFilterForm

    user = cast(User, request.user)
    form = ReportFilterForm(request.GET or None, user=user)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(e) for e in errors)}" for name, errors in form.errors.items()
        )
        return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")
    rows = (
        selectors.report_queryset(user)
        .filter(form.filter_q(timezone.localdate()))
        .filter(form.status_q())
    )
    content = reports_workbook(rows.iterator(chunk_size=2000))
    stamp = timezone.localdate().strftime("%Y%m%d")
    return _download(content, XLSX_CONTENT_TYPE, f"internal-reports-{stamp}.xlsx", inline=False)
