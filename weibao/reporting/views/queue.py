"""The unit's queue of reports (its principal and safety officer) and the bureau's list, a
report's page with its timeline and the steps the user may take now, its photos, and the one
way to see who reported (for those allowed, each look recorded in the audit trail).

Nothing here shows who reported: the report holds no name, the reporter's steps on the timeline
read "Reporter", and the identity is read only by `services.identity_reveal`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    DateField,
    F,
    IntegerField,
    Prefetch,
    QuerySet,
    Value,
    When,
)
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from weibao.accounts.models import User
from weibao.core.errors import DomainError
from weibao.reporting import rules, selectors, services
from weibao.reporting.forms import (
    ComplaintForm,
    ConfirmForm,
    DuplicateForm,
    RejectForm,
    ReportFilterForm,
    RewardForm,
    StartForm,
    StepForm,
    attach_errors,
)
from weibao.reporting.models import (
    UNVERIFIED,
    InternalReport,
    ReporterIdentity,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
)

PAGE_SIZE = 50
# The reporter's own steps: recorded without an actor, shown as "Reporter", never a name.
REPORTER_ACTIONS = (ReportEvent.Action.SUBMITTED, ReportEvent.Action.ESCALATED)


def user_of(request: HttpRequest) -> User:
    return cast(User, request.user)


def routed(name: str) -> str:
    """The URL if it resolves, else "" (a download may not be routed in every deployment)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def works_queue(user: User) -> bool:
    """Who the list is for: the unit's managers (their queue) and the bureaus (their units)."""
    return user.is_unit_manager or user.is_regulator or user.is_system_admin


# --- the list -------------------------------------------------------------------------------------
def _ordered(rows: QuerySet[InternalReport]) -> QuerySet[InternalReport]:
    """Reports still waiting first, the nearest time limit first; then the newest."""
    waiting = Case(
        When(status__in=UNVERIFIED, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    limit = Case(When(status__in=UNVERIFIED, then=F("verify_by")), output_field=DateField())
    return rows.order_by(waiting.asc(), limit.asc(nulls_last=True), "-submitted_at", "-id")


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if user.is_unit_user and not user.is_unit_manager:
        return redirect("report-mine")  # an employee follows their own reports
    if not works_queue(user):
        raise PermissionDenied
    form = ReportFilterForm(request.GET or None, user=user)
    today = timezone.localdate()
    base: QuerySet[InternalReport]
    if form.is_bound and not form.is_valid():
        base = InternalReport.objects.none()
    else:
        base = selectors.report_queryset(user).filter(form.filter_q(today))
    counts = {
        row["status"]: row["n"] for row in base.order_by().values("status").annotate(n=Count("id"))
    }
    rows = _ordered(base.filter(form.status_q()))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    others = query.copy()
    others.pop("status", None)
    current = query.get("status", "")

    def status_link(value: str) -> str:
        linked = others.copy()
        linked["status"] = value
        return linked.urlencode()

    export = routed("report-export")
    if export and query:
        export += "?" + query.urlencode()  # the same filters as the list
    poster = routed("report-poster")
    if user.is_unit_user:
        poster = poster if user.is_unit_manager else ""
    else:
        chosen = form.cleaned_data.get("enterprise") if form.is_bound and form.is_valid() else None
        poster = f"{poster}?{urlencode({'enterprise': chosen.pk})}" if poster and chosen else ""
    return render(
        request,
        "reporting/report_list.html",
        {
            "form": form,
            "page": page,
            "rows": list(page),
            "today": today,
            "query": query.urlencode(),
            "status_counts": [
                {
                    "status": value,
                    "label": label,
                    "count": counts.get(value, 0),
                    "query": status_link(value),
                    "current": current == value,
                }
                for value, label in ReportStatus.choices
            ],
            "total": sum(counts.values()),
            "export_url": export,
            "is_unit": user.is_unit_user,
            "policy_url": reverse("report-policy") if user.is_unit_user else "",
            "poster_url": poster,
            "oversight_url": reverse("report-oversight")
            if (user.is_regulator or user.is_system_admin)
            else "",
        },
    )


# --- one report -----------------------------------------------------------------------------------
def detail_queryset(user: User) -> QuerySet[InternalReport]:
    """One report with everything its page reads, in a fixed number of queries however long its
    timeline or however many its photos."""
    return (
        selectors.report_queryset(user)
        .select_related(
            "enterprise__jurisdiction", "decided_by", "rewarded_by", "complaint_handled_by"
        )
        .prefetch_related(
            "photos",
            Prefetch("events", queryset=ReportEvent.objects.select_related("actor")),
            Prefetch("duplicates", queryset=InternalReport.objects.order_by("submitted_at", "id")),
        )
    )


@dataclass(frozen=True)
class Step:
    """A step the page offers: its form (which calls the service) and what it is called."""

    form_class: type[StepForm]
    title: Any
    button: Any
    done: Any
    danger: bool = False
    one_click: bool = False


# In the order the page shows them. Keys are the URL's <action> (the API's action names).
STEPS: dict[str, Step] = {
    "start": Step(
        StartForm, _lazy("Start verifying"), _lazy("Start verifying"),
        _lazy("Verification started."), one_click=True,
    ),
    "confirm": Step(
        ConfirmForm, _lazy("Confirm as a hazard"), _lazy("Confirm and put it on the ledger"),
        _lazy("Confirmed: the hazard is on the ledger."),
    ),
    "duplicate": Step(
        DuplicateForm, _lazy("Mark as a duplicate"), _lazy("Mark as a duplicate"),
        _lazy("Marked as a duplicate."),
    ),
    "reject": Step(
        RejectForm, _lazy("Not confirmed"), _lazy("Mark as not confirmed"),
        _lazy("Marked as not confirmed; the reporter reads the reason."), danger=True,
    ),
    "reward": Step(
        RewardForm, _lazy("Record the reward"), _lazy("Record the reward"),
        _lazy("Reward recorded."),
    ),
    "complaint": Step(
        ComplaintForm, _lazy("Answer the reporter's complaint"), _lazy("Send the answer"),
        _lazy("Complaint answered; the reporter reads it on the status page."),
    ),
}  # fmt: skip


def available_steps(user: User, report: InternalReport) -> list[str]:
    """The step forms this user may use on this report now."""
    names: set[str] = set()
    if rules.may_verify(user, report):
        names.update(services.allowed_actions(report))
    if report.complaint_open and rules.may_handle_complaint(user, report):
        names.add("complaint")
    return [name for name in STEPS if name in names]


def _timeline(report: InternalReport) -> list[dict[str, Any]]:
    labels = dict(ReportStatus.choices)
    entries = []
    for event in report.events.all():
        if event.action in REPORTER_ACTIONS:
            who = _("Reporter")
        elif event.actor is not None:
            who = str(event.actor)
        else:
            who = _("the system")
        entries.append(
            {
                "event": event,
                "who": who,
                "from_status": labels.get(event.from_status, ""),
                "to_status": labels.get(event.to_status, ""),
                "changed": bool(event.from_status and event.from_status != event.to_status),
            }
        )
    return entries


def _render_detail(
    request: HttpRequest,
    report: InternalReport,
    bound: tuple[str, StepForm] | None = None,
    revealed: ReporterIdentity | None = None,
) -> HttpResponse:
    user = user_of(request)
    steps = available_steps(user, report)
    forms_by_step: dict[str, StepForm] = {
        name: STEPS[name].form_class(report=report, prefix=name) for name in steps
    }
    if bound is not None and bound[0] in forms_by_step:
        forms_by_step[bound[0]] = bound[1]
    # An anonymous report has no identity row: no need to ask.
    may_reveal = not report.anonymous and rules.may_see_identity(user, report)
    return render(
        request,
        "reporting/report_detail.html",
        {
            "report": report,
            "is_overdue": report.is_overdue,
            "photos": list(report.photos.all()),
            "timeline": _timeline(report),
            "duplicates": list(report.duplicates.all()) if works_queue(user) else [],
            "steps": [
                {
                    "name": name,
                    "step": STEPS[name],
                    "form": forms_by_step[name],
                    "open": bound is not None and bound[0] == name,
                }
                for name in steps
            ],
            "may_reveal": may_reveal and revealed is None,
            "revealed": revealed,
            "back_url": reverse("report-list") if works_queue(user) else reverse("report-mine"),
        },
    )


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(detail_queryset(user_of(request)), pk=pk)
    return _render_detail(request, report)


def _form_errors(form: StepForm) -> list[str]:
    return [str(e) for field_errors in form.errors.values() for e in field_errors]


@login_required
@require_POST
def report_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One step on a report. Bad input goes back onto its form; a step the status or the user
    may not take is an error message. The services are atomic: a refusal writes nothing."""
    if action not in STEPS:
        raise Http404
    user = user_of(request)
    report = get_object_or_404(detail_queryset(user), pk=pk)
    step = STEPS[action]
    form = step.form_class(request.POST, report=report, prefix=action)
    if form.is_valid():
        try:
            form.run(user)
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, str(exc) or _("You may not take this step."))
            return redirect("report-detail", pk=report.pk)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, str(step.done))
            return redirect("report-detail", pk=report.pk)
    report = get_object_or_404(detail_queryset(user), pk=pk)
    if action not in available_steps(user, report):
        # No form of this step on the page to show the errors on.
        messages.error(request, " ".join(_form_errors(form)) or _("You may not take this step."))
        return redirect("report-detail", pk=report.pk)
    messages.error(request, _("Nothing was saved: correct the form below."))
    return _render_detail(request, report, (action, form))


@login_required
@require_POST
def report_reporter(request: HttpRequest, pk: int) -> HttpResponse:
    """Who reported, on this response only, for those `rules.may_see_identity` allows; the
    service writes the audit entry of the look."""
    user = user_of(request)
    report = get_object_or_404(detail_queryset(user), pk=pk)
    identity = services.identity_reveal(actor=user, report=report)  # PermissionDenied → 403
    response = _render_detail(request, report, revealed=identity)
    add_never_cache_headers(response)
    return response


@login_required
def report_photo(request: HttpRequest, pk: int, photo_pk: int) -> FileResponse:
    """A report's photo, to those who see the report (never a public media URL)."""
    report = get_object_or_404(InternalReport.objects.visible_to(user_of(request)), pk=pk)
    photo = get_object_or_404(ReportPhoto, pk=photo_pk, report=report)
    try:
        handle = photo.file.open("rb")
    except OSError:
        raise Http404 from None
    # Stored re-encoded as JPEG (reporting.photos), whatever was uploaded.
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response
