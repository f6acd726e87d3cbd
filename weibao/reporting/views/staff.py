"""Pages for signed-in people: an employee reports from their account and follows what they
reported under their name; the unit's managers set the reward policy (the others read it); the
bureaus see per unit and per county how the units run their reward systems."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from weibao.core.errors import DomainError
from weibao.reporting import rules, selectors, services
from weibao.reporting.forms import (
    CONFIRMED_STATUS,
    AccountReportForm,
    PeriodForm,
    PolicyForm,
    RotateForm,
    attach_errors,
)
from weibao.reporting.models import ReportStatus
from weibao.reporting.selectors import OversightRow
from weibao.reporting.views.public import policy_context, render_receipt
from weibao.reporting.views.queue import PAGE_SIZE, routed, user_of


# --- the employee ---------------------------------------------------------------------------------
@login_required
def report_create(request: HttpRequest) -> HttpResponse:
    """A signed-in member of the unit reports a hazard (anonymous unless they untick it)."""
    user = user_of(request)
    enterprise = user.enterprise if user.is_unit_user else None
    if enterprise is None:
        raise PermissionDenied
    form = AccountReportForm(request.POST or None, request.FILES or None, enterprise=enterprise)
    if request.method == "POST" and form.is_valid():
        try:
            report, code = services.report_submit_account(
                actor=user, data=form.service_data(), photos=form.cleaned_data["photos"]
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You may not report to this unit."))
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return render_receipt(request, report, code, enterprise)
    channel = services.channel_for(enterprise)
    return render(
        request,
        "reporting/report_form.html",
        {"form": form, "unit": enterprise, **policy_context(channel)},
    )


@login_required
def report_mine(request: HttpRequest) -> HttpResponse:
    """What the user reported under their name (anonymous reports are followed by code)."""
    user = user_of(request)
    if not user.is_unit_user:
        raise PermissionDenied
    page = Paginator(selectors.my_reports(user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reporting/report_mine.html", {"page": page})


# --- the reward policy ----------------------------------------------------------------------------
@login_required
def report_policy(request: HttpRequest) -> HttpResponse:
    """The unit's reporting link, poster and reward policy: its managers change them, every
    account of the unit reads them."""
    user = user_of(request)
    enterprise = user.enterprise if user.is_unit_user else None
    if enterprise is None:
        raise PermissionDenied
    channel = services.channel_for(enterprise)
    can_edit = bool(rules.may_verify(user, channel))
    form = PolicyForm(instance=channel) if can_edit else None
    rotate_form = RotateForm() if can_edit else None
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        try:
            if request.POST.get("action") == "rotate":
                rotate_form = RotateForm(request.POST)
                if rotate_form.is_valid():
                    services.channel_rotate(actor=user, channel=channel)
                    messages.success(
                        request,
                        _("New reporting code made: print and hang the new poster."),
                    )
                    return redirect("report-policy")
            else:
                form = PolicyForm(request.POST, instance=channel)
                if form.is_valid():
                    services.channel_save(actor=user, channel=channel, data=form.cleaned_data)
                    messages.success(request, _("Reward policy saved."))
                    return redirect("report-policy")
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, str(exc) or _("You may not change the policy."))
            return redirect("report-policy")
        except ValidationError as exc:
            if form is not None:
                attach_errors(form, exc)
        channel.refresh_from_db()
    return render(
        request,
        "reporting/policy.html",
        {
            "channel": channel,
            "unit": enterprise,
            "can_edit": can_edit,
            "form": form,
            "rotate_form": rotate_form,
            "link": request.build_absolute_uri(reverse("report-public", args=[channel.token])),
            "poster_url": routed("report-poster") if can_edit else "",
            "export_url": routed("report-export") if can_edit else "",
        },
    )


# --- the bureaus' oversight -----------------------------------------------------------------------
def _links(row: OversightRow, key: str, period: dict[str, str]) -> dict[str, str]:
    """Each figure of a row as a link to the list showing the reports it counts."""
    base = {key: row.key, **period} if row.key else dict(period)
    url = reverse("report-list")

    def link(**extra: str) -> str:
        return f"{url}?{urlencode({**base, **extra})}"

    return {
        "received": link(),
        "in_time": link(in_time="true"),
        "confirmed": link(status=CONFIRMED_STATUS),
        "rewarded": link(status=ReportStatus.REWARDED),
        "overdue": link(overdue="true"),
        "complaints": link(complaint="open"),
    }


def _period_params(start: date | None, end: date | None) -> dict[str, str]:
    params = {}
    if start:
        params["submitted_from"] = start.isoformat()
    if end:
        params["submitted_to"] = end.isoformat()
    return params


def _without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required
def report_oversight(request: HttpRequest) -> HttpResponse:
    """Per county and per unit: received, verified in time, confirmed, rewarded and paid, left
    unverified past the limit, complaints open. This year by default."""
    user = user_of(request)
    if not (user.is_regulator or user.is_system_admin):
        raise PermissionDenied
    form = PeriodForm(request.GET or None)
    start, end = form.period()
    context: dict[str, Any] = {"form": form, "units": [], "counties": [], "total": None}
    if not form.errors:
        units, counties, total = selectors.oversight(user, start=start, end=end)
        period = _period_params(start, end)
        # Units needing attention first (reports past the limit, open complaints); a city has
        # thousands of units, so they come a page at a time.
        units.sort(key=lambda row: (-row.overdue, -row.complaints_open))
        page = Paginator(units, PAGE_SIZE).get_page(request.GET.get("page"))
        context |= {
            "page": page,
            "query": _without_page(request),
            "units": [(row, _links(row, "enterprise", period)) for row in page.object_list],
            "counties": [(row, _links(row, "jurisdiction", period)) for row in counties],
            "total": (total, _links(total, "", period)),
            "start": start,
            "end": end,
        }
    return render(request, "reporting/oversight.html", context)
