"""Pages of the hazard ledger: the list, a hazard with its timeline and the steps the user may take
now, recording a hazard, its files and documents, and the quarterly statistics. Thin: reads go
through `visible_to`, every write is a service call (the same ones the API makes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from weibao.accounts.models import User
from weibao.core.errors import DomainError
from weibao.core.files import sniff
from weibao.hazards import services
from weibao.hazards.choices import HazardLevel
from weibao.hazards.filters import HazardFilter
from weibao.hazards.forms import (
    AcceptForm,
    CancelForm,
    ExtendForm,
    FilesForm,
    FollowUpForm,
    HazardCreateForm,
    HazardFilterForm,
    PlanForm,
    RectificationForm,
    RejectForm,
    StartForm,
    StatisticsForm,
    search_q,
)
from weibao.hazards.models import (
    ACTIVE,
    PENDING,
    Hazard,
    HazardAttachment,
    HazardEvent,
    HazardStatus,
    TreatmentPlan,
)
from weibao.hazards.selectors import user_actions

PAGE_SIZE = 50
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# The services' name for uploaded files → the step forms' field.
UPLOAD_FIELDS = {"files": "uploads"}


def _attach(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's validation errors on the fields they name ("plan.funds" → funds,
    "files[1]" → uploads); anything else above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        field = key.removeprefix("plan.").split("[", 1)[0]
        field = UPLOAD_FIELDS.get(field, field)
        form.add_error(field if field in form.fields else None, errors)


# --- list -----------------------------------------------------------------------------------------
def filtered_hazards(user: User, form: HazardFilterForm) -> QuerySet[Hazard]:
    """The hazards the list shows: the API's filters and search on the rows the user may see,
    work still to do first, then by deadline."""
    rows = Hazard.objects.visible_to(user).select_related("enterprise__jurisdiction")
    if form.is_bound:
        if not form.is_valid():
            return rows.none()
        filterset = HazardFilter(form.filter_data(), queryset=rows, user=user)
        if not filterset.is_valid():
            return rows.none()
        rows = filterset.qs
        text = form.cleaned_data.get("search", "").strip()
        if text:
            rows = rows.filter(search_q(text))
    pending_first = Case(
        When(status__in=ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return rows.order_by(pending_first, "deadline", "id")


def _days_overdue(hazard: Hazard, today: date) -> int:
    return max((today - hazard.deadline).days, 0) if hazard.status in PENDING else 0


@login_required
def hazard_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = HazardFilterForm(request.GET or None, user=user)
    page = Paginator(filtered_hazards(user, form), PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "hazards/hazard_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(h, _days_overdue(h, today)) for h in page],
            "query": query.urlencode(),
            "export_url": reverse("api:hazard-export"),
            "can_add": user.has_perm("hazards.add_hazard"),
        },
    )


# --- one hazard -----------------------------------------------------------------------------------
def hazard_queryset(user: User) -> QuerySet[Hazard]:
    """One hazard with everything its page reads, in a fixed number of queries however long its
    timeline or however many its files."""
    return (
        Hazard.objects.visible_to(user)
        .select_related(
            "enterprise__jurisdiction",
            "site",
            "responsible_person",
            "inspection",
            "accepted_by",
            "created_by",
            "plan",
        )
        .prefetch_related(
            Prefetch("events", queryset=HazardEvent.objects.select_related("actor")),
            Prefetch(
                "attachments", queryset=HazardAttachment.objects.select_related("uploaded_by")
            ),
        )
    )


@dataclass(frozen=True)
class Step:
    """A step a page offers: its form (which calls the service) and what it is called."""

    form_class: type[forms.BaseForm]
    title: Any
    button: Any
    done: Any
    multipart: bool = False
    danger: bool = False


# In the order the page shows them. Keys are the URL's <action> (the API's action names).
STEPS: dict[str, Step] = {
    "start": Step(
        StartForm, _lazy("Start rectification"), _lazy("Start rectification"),
        _lazy("Rectification started."),
    ),
    "submit-rectification": Step(
        RectificationForm, _lazy("Hand in the rectification"), _lazy("Hand in for acceptance"),
        _lazy("Rectification handed in for acceptance."), multipart=True,
    ),
    "accept": Step(
        AcceptForm, _lazy("Accept and close"), _lazy("Accept and close"),
        _lazy("Accepted and closed."), multipart=True,
    ),
    "reject": Step(
        RejectForm, _lazy("Reject the rectification"), _lazy("Reject"),
        _lazy("Rectification rejected; the unit has been sent back to work."), danger=True,
    ),
    "plan": Step(
        PlanForm, _lazy("Treatment plan"), _lazy("Save the plan"), _lazy("Treatment plan saved."),
    ),
    "attachments": Step(
        FilesForm, _lazy("Add photos or documents"), _lazy("Upload"), _lazy("Files added."),
        multipart=True,
    ),
    "extend": Step(
        ExtendForm, _lazy("Extend the deadline"), _lazy("Extend"), _lazy("Deadline extended."),
    ),
    "follow-up": Step(
        FollowUpForm, _lazy("Schedule follow-up inspection"),
        _lazy("Schedule follow-up inspection"),
        _lazy("Follow-up inspection scheduled: fill it in now or later."),
    ),
    "cancel": Step(
        CancelForm, _lazy("Cancel the hazard"), _lazy("Cancel the hazard"),
        _lazy("Hazard cancelled."), danger=True,
    ),
}  # fmt: skip


def available_steps(user: User, hazard: Hazard) -> list[str]:
    """The step forms this user may use on this hazard now (the API's `allowed_actions`)."""
    steps = set(user_actions(user, hazard))
    if "start" in steps and hazard.level == HazardLevel.MAJOR:
        steps.discard("plan")  # a major hazard's start form carries the plan: one form, not two
    return [name for name in STEPS if name in steps]


def _blank_form(name: str, hazard: Hazard) -> forms.BaseForm:
    form_class = STEPS[name].form_class
    if issubclass(form_class, PlanForm):
        # The plan saved so far, to complete or correct.
        return form_class(instance=getattr(hazard, "plan", None), prefix=name)
    return form_class(prefix=name)


def _timeline(hazard: Hazard) -> list[dict[str, Any]]:
    files: dict[int | None, list[HazardAttachment]] = {}
    for attachment in hazard.attachments.all():
        files.setdefault(attachment.event_id, []).append(attachment)
    labels = dict(HazardStatus.choices)
    entries = []
    for event in hazard.events.all():
        data = event.data or {}
        inspection = (
            data.get("inspection") if event.action == HazardEvent.Action.FOLLOW_UP else None
        )
        entries.append(
            {
                "event": event,
                "from_status": labels.get(event.from_status, ""),
                "to_status": labels.get(event.to_status, ""),
                "changed": bool(event.from_status and event.from_status != event.to_status),
                "old_deadline": parse_date(str(data.get("from", ""))),
                "new_deadline": parse_date(str(data.get("to", ""))),
                "city_approved": bool(data.get("city_approved")),
                "inspection_url": reverse("inspection-detail", args=[inspection])
                if isinstance(inspection, int)
                else "",
                "files": files.get(event.pk, []),
            }
        )
    return entries


def _render_detail(
    request: HttpRequest,
    hazard: Hazard,
    bound: tuple[str, forms.BaseForm] | None = None,
) -> HttpResponse:
    user = _user(request)
    steps = available_steps(user, hazard)
    forms_by_step = {name: _blank_form(name, hazard) for name in steps}
    if bound is not None and bound[0] in forms_by_step:
        forms_by_step[bound[0]] = bound[1]
    plan = getattr(hazard, "plan", None)
    today = timezone.localdate()
    return render(
        request,
        "hazards/hazard_detail.html",
        {
            "hazard": hazard,
            "plan": plan,
            "plan_missing": plan.missing_elements() if plan is not None else [],
            "needs_plan": hazard.level == HazardLevel.MAJOR,
            "plan_elements": TreatmentPlan.ELEMENTS,
            "days_overdue": _days_overdue(hazard, today),
            "timeline": _timeline(hazard),
            "attachments": list(hazard.attachments.all()),
            "steps": [
                {
                    "name": name,
                    "step": STEPS[name],
                    "form": forms_by_step[name],
                    "open": bound is not None and bound[0] == name,
                    # A general hazard starts with one click; a follow-up is one click.
                    "one_click": name == "follow-up"
                    or (name == "start" and hazard.level != HazardLevel.MAJOR),
                }
                for name in steps
            ],
            "show_record": hazard.status == HazardStatus.CLOSED,
        },
    )


@login_required
def hazard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    hazard = get_object_or_404(hazard_queryset(_user(request)), pk=pk)
    return _render_detail(request, hazard)


@login_required
@require_POST
def hazard_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One step on a hazard. Bad input goes back onto its form; a step the status or the user
    may not take is an error message. The services are atomic: a refusal writes nothing."""
    if action not in STEPS:
        raise Http404
    user = _user(request)
    hazard = get_object_or_404(hazard_queryset(user), pk=pk)
    step = STEPS[action]
    form = step.form_class(request.POST, request.FILES, prefix=action)
    if form.is_valid():
        try:
            target = cast(Any, form).run(user, hazard)
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, str(exc) or _("You may not take this step."))
            return redirect("hazard-detail", pk=hazard.pk)
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, str(step.done))
            return redirect(target or reverse("hazard-detail", args=[hazard.pk]))
    hazard = get_object_or_404(hazard_queryset(user), pk=pk)
    if action not in available_steps(user, hazard):
        # No form of this step on the page to show the errors on.
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, " ".join(errors) or _("You may not take this step."))
        return redirect("hazard-detail", pk=hazard.pk)
    messages.error(request, _("Nothing was saved: correct the form below."))
    return _render_detail(request, hazard, (action, form))


@login_required
def hazard_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_perm("hazards.add_hazard"):
        raise PermissionDenied
    initial = {"enterprise": request.GET.get("enterprise")} if "enterprise" in request.GET else {}
    form = HazardCreateForm(request.POST or None, request.FILES or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            hazard = services.hazard_create(
                actor=user, data=form.service_data(), photos=form.cleaned_data["photos"]
            )
        except (DomainError, PermissionDenied) as exc:
            form.add_error(None, str(exc) or _("You may not record this hazard."))
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(
                request, _("Hazard %(reference)s recorded.") % {"reference": hazard.reference}
            )
            return redirect("hazard-detail", pk=hazard.pk)
    return render(request, "hazards/hazard_form.html", {"form": form})


# --- files and documents --------------------------------------------------------------------------
@login_required
def hazard_file(request: HttpRequest, pk: int, file_pk: int) -> FileResponse:
    """A hazard's photo or document, to those who see the hazard (never a public media URL)."""
    hazard = get_object_or_404(Hazard.objects.visible_to(_user(request)), pk=pk)
    attachment = get_object_or_404(HazardAttachment, pk=file_pk, hazard=hazard)
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404 from None
    content_type = sniff(handle) or "application/octet-stream"
    response = FileResponse(
        handle,
        as_attachment=not content_type.startswith("image/"),
        filename=attachment.name,
        content_type=content_type,
    )
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _download(
    content: bytes, content_type: str, filename: str, inline: bool = False
) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@login_required
def hazard_acceptance_record(request: HttpRequest, pk: int) -> HttpResponse:
    """隐患整改验收记录 of a closed hazard, as a PDF."""
    from weibao.hazards.documents import acceptance_record_pdf

    hazard = get_object_or_404(Hazard.objects.visible_to(_user(request)), pk=pk)
    try:
        pdf = acceptance_record_pdf(hazard)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("hazard-detail", pk=hazard.pk)
    return _download(pdf, PDF, f"{hazard.reference}-acceptance.pdf", inline=True)


# --- statistics -----------------------------------------------------------------------------------
def _title_unit(user: User, unit: Any) -> str | None:
    """Who the statistics are of: the unit chosen, else the user's unit or bureau."""
    if unit is not None:
        return str(unit.name)
    if user.enterprise_id is not None and user.enterprise is not None:
        return str(user.enterprise.name)
    if user.agency_id is not None and user.agency is not None:
        return str(user.agency.name)
    return None


@login_required
def hazard_statistics(request: HttpRequest) -> HttpResponse:
    """The quarterly statistics as a table, and as .xlsx or PDF (`?format=`)."""
    from weibao.hazards.statistics import (
        quarterly_statistics,
        statistics_context,
        statistics_pdf,
        statistics_xlsx,
    )

    user = _user(request)
    params = request.GET.copy()
    output = params.pop("format", [""])[-1]
    form = StatisticsForm(params or None, user=user)
    context: dict[str, Any] = {"form": form, "table": None}
    if form.is_bound and not form.is_valid():
        return render(request, "hazards/hazard_statistics.html", context)
    data = form.cleaned_data if form.is_bound else form.initial
    year, quarter = int(data["year"]), int(data["quarter"])
    unit = data.get("enterprise")
    try:
        rows = quarterly_statistics(
            user=user, year=year, quarter=quarter, enterprise_id=getattr(unit, "pk", None)
        )
    except ValidationError as exc:
        _attach(form, exc)
        return render(request, "hazards/hazard_statistics.html", context)
    stem = f"hazard-statistics-{year}q{quarter}"
    if output == "xlsx":
        return _download(statistics_xlsx(rows, year, quarter), XLSX, f"{stem}.xlsx")
    if output == "pdf":
        try:
            pdf = statistics_pdf(rows, year, quarter, title_unit=_title_unit(user, unit))
        except DomainError as exc:  # this server cannot produce PDFs right now
            messages.error(request, str(exc))
        else:
            return _download(pdf, PDF, f"{stem}.pdf")
    query = f"year={year}&quarter={quarter}" + (f"&enterprise={unit.pk}" if unit else "")
    table = statistics_context(rows, year, quarter, title_unit=_title_unit(user, unit))
    context |= {
        "table": table,
        # Each figure with its column's name: on a phone a unit is a card of labelled figures.
        "rows": [
            {
                "is_total": row["is_total"],
                "cells": list(zip(table["headers"], row["cells"], strict=True)),
            }
            for row in table["rows"]
        ],
        "query": query,
        "units": len(rows) - 1,
    }
    return render(request, "hazards/hazard_statistics.html", context)
