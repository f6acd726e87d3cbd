"""Pages of the enforcement app: the case list, a case with its timeline, documents, evidence
and the steps the user may take now, opening and editing a case, the documents as stored, the
quality-review results per county and the legal provisions. Thin: reads go through
`Case.objects.visible_to` (enforcement.selectors), every write is a service call (the same ones
the API makes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from weibao.accounts.models import User
from weibao.core.errors import DomainError
from weibao.core.i18n import localized
from weibao.enforcement import selectors, services
from weibao.enforcement.forms import (
    AttachForm,
    CaseFilterForm,
    CaseForm,
    CloseForm,
    DecideForm,
    DefenceForm,
    DropForm,
    ExecuteForm,
    HearingForm,
    InvestigateForm,
    NotifyForm,
    PaymentForm,
    RegisterForm,
    ReviewForm,
    StepForm,
    attach_errors,
)
from weibao.enforcement.models import (
    Case,
    CaseDocument,
    CaseEvent,
    CaseReview,
    CaseStatus,
    LegalProvision,
    PenaltyKind,
)
from weibao.registry.models import Enterprise, Permit

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _routed(name: str) -> str:
    """The URL if it resolves, else "" (the export endpoint may not be routed yet)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


# --- list -----------------------------------------------------------------------------------------
@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = CaseFilterForm(request.GET or None, user=user)
    filters = form.filters()
    rows = Case.objects.none() if filters.get("invalid") else selectors.case_list(user, filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    horizon = selectors.near_horizon(today)
    county = str(filters.get("jurisdiction") or "")
    counts = selectors.status_counts(user, county)
    query = request.GET.copy()
    query.pop("page", None)
    county_query = f"jurisdiction={county}&" if county else ""
    return render(
        request,
        "enforcement/case_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(c, selectors.deadline_label_state(c, today, horizon)) for c in page],
            "query": query.urlencode(),
            "status_counts": [
                {
                    "status": value,
                    "label": label,
                    "count": counts[value],
                    "query": f"{county_query}status={value}",
                    "current": filters.get("status") == value,
                }
                for value, label in CaseStatus.choices
            ],
            "export_url": _routed("api:case-export"),
            "can_add": user.has_perm("enforcement.add_case"),
            "can_see_reviews": user.is_regulator or user.is_system_admin,
            "near_days": settings.CASE_DEADLINE_NEAR_WORKING_DAYS,
        },
    )


# --- one case -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """A step a page offers: its form (which calls the service) and what it is called."""

    form_class: type[StepForm]
    title: Any
    button: Any
    done: Any
    multipart: bool = False
    danger: bool = False


# In the order the page shows them. Keys are the URL's <action>.
STEPS: dict[str, Step] = {
    "register": Step(
        RegisterForm, _lazy("Register the case"), _lazy("Register"), _lazy("Case registered."),
    ),
    "investigate": Step(
        InvestigateForm, _lazy("Start the investigation"), _lazy("Start the investigation"),
        _lazy("Investigation started."),
    ),
    "notify": Step(
        NotifyForm, _lazy("Notify the intended penalty"), _lazy("Issue the notice"),
        _lazy("Notice of intended penalty issued."),
    ),
    "defence": Step(
        DefenceForm, _lazy("Record the party's defence"), _lazy("Record"),
        _lazy("Defence recorded."), multipart=True,
    ),
    "hearing": Step(
        HearingForm, _lazy("Record the hearing"), _lazy("Record the hearing"),
        _lazy("Hearing recorded."), multipart=True,
    ),
    "decide": Step(
        DecideForm, _lazy("Decide the penalty"), _lazy("Issue the decision"),
        _lazy("Penalty decision issued."),
    ),
    "pay": Step(
        PaymentForm, _lazy("Record a payment"), _lazy("Record the payment"),
        _lazy("Payment recorded."), multipart=True,
    ),
    "execute": Step(
        ExecuteForm, _lazy("Record execution"), _lazy("Mark as executed"),
        _lazy("Execution recorded."),
    ),
    "close": Step(
        CloseForm, _lazy("Close the case"), _lazy("Close the case"), _lazy("Case closed."),
    ),
    "attach": Step(
        AttachForm, _lazy("Add evidence or documents"), _lazy("Upload"), _lazy("Files added."),
        multipart=True,
    ),
    "review": Step(
        ReviewForm, _lazy("Review the case's quality"), _lazy("Save the review"),
        _lazy("Review saved."),
    ),
    "drop": Step(
        DropForm, _lazy("Drop the case"), _lazy("Drop the case"), _lazy("Case dropped."),
        danger=True,
    ),
}  # fmt: skip


# Dropping a case that is still a proposal is dismissing the proposal (same service).
DISMISS = Step(
    DropForm,
    _lazy("Dismiss the proposal"),
    _lazy("Dismiss"),
    _lazy("Proposal dismissed."),
    danger=True,
)


def available_steps(user: User, case: Case) -> list[str]:
    """The step forms this user may use on this case now."""
    return [name for name in selectors.user_actions(user, case) if name in STEPS]


def _status_label(value: str) -> str:
    return str(dict(CaseStatus.choices).get(value, value))


def _event_details(event: CaseEvent) -> list[str]:
    """What an event's recorded data says, in words (payments, review, registry changes)."""
    data = event.data or {}
    lines: list[str] = []
    if event.action == CaseEvent.Action.PAY:
        lines.append(
            _("%(amount)s yuan paid on %(date)s, receipt %(receipt)s.")
            % {
                "amount": f"{Decimal(str(data.get('amount') or 0)):,.2f}",
                "date": data.get("paid_on", ""),
                "receipt": data.get("receipt_number", ""),
            }
        )
    elif event.action == CaseEvent.Action.REVIEW and "score" in data:
        grade = str(data.get("grade", ""))
        label = CaseReview.Grade(grade).label if grade in CaseReview.Grade.values else grade
        lines.append(_("Score %(score)s: %(grade)s.") % {"score": data["score"], "grade": label})
    elif event.action == CaseEvent.Action.HEARING and data.get("held_on"):
        lines.append(_("Held on %(date)s.") % {"date": data["held_on"]})
    elif event.action == CaseEvent.Action.NOTIFY and data.get("hearing_available"):
        lines.append(_("The party may request a hearing."))
    elif event.action == CaseEvent.Action.DEFENCE:
        if data.get("waived"):
            lines.append(_("The party waived the defence period in writing."))
        if data.get("hearing_requested"):
            lines.append(_("The party requested a hearing."))
    for change in data.get("registry") or []:
        if "permit" in change:
            status = str(change.get("status", ""))
            label = Permit.Status(status).label if status in Permit.Status.values else status
            lines.append(_("Permit status changed to %(status)s.") % {"status": label})
        elif "unit" in change:
            labels = dict(Enterprise.Status.choices)
            lines.append(
                _("Unit status changed from %(old)s to %(new)s.")
                % {
                    "old": labels.get(change.get("from", ""), change.get("from", "")),
                    "new": labels.get(change.get("to", ""), change.get("to", "")),
                }
            )
    return lines


def _timeline(case: Case, documents: list[CaseDocument]) -> list[dict[str, Any]]:
    """The steps with their documents, linked only where the user may open the document (the
    party sees its registration, never the bureau's approval form issued with it)."""
    shown = {d.pk for d in documents}
    return [
        {
            "event": event,
            "document": event.document if event.document_id in shown else None,
            "from_status": _status_label(event.from_status) if event.from_status else "",
            "to_status": _status_label(event.to_status) if event.to_status else "",
            "changed": bool(event.from_status and event.from_status != event.to_status),
            "details": _event_details(event),
        }
        for event in case.events.all()
    ]


def _evidence(case: Case) -> list[dict[str, Any]]:
    """The escalation job's evidence (what it saw when it proposed the case), as the documents
    print it, each entry with a link to its hazard."""
    from weibao.enforcement.documents import evidence_rows

    raw = case.evidence if isinstance(case.evidence, list) else [case.evidence]
    entries = []
    for item, row in zip(raw, evidence_rows(case.evidence), strict=False):
        hazard_id = item.get("hazard_id", item.get("hazard")) if isinstance(item, dict) else None
        entries.append(
            {
                **row,
                "hazard_url": reverse("hazard-detail", args=[hazard_id])
                if isinstance(hazard_id, int)
                else "",
            }
        )
    return entries


def _deadline_state(case: Case) -> str:
    today = timezone.localdate()
    return selectors.deadline_label_state(case, today, selectors.near_horizon(today))


def _render_detail(
    request: HttpRequest,
    case: Case,
    bound: tuple[str, StepForm] | None = None,
) -> HttpResponse:
    user = _user(request)
    actions = selectors.user_actions(user, case)
    steps = [name for name in actions if name in STEPS]
    forms_by_step: dict[str, StepForm] = {
        name: STEPS[name].form_class(case=case, prefix=name) for name in steps
    }
    if bound is not None and bound[0] in forms_by_step:
        forms_by_step[bound[0]] = bound[1]
    documents = list(case.documents.all())
    penalties = list(case.penalties.all())
    party = selectors.is_party(user)
    proposal = case.status == CaseStatus.PROPOSED
    fines = [p for p in penalties if p.is_fine]
    return render(
        request,
        "enforcement/case_detail.html",
        {
            "case": case,
            "deadline_state": _deadline_state(case),
            "can_edit": "edit" in actions,
            "officers": list(case.officers.all()),
            "provisions": list(case.provisions.all()),
            "penalties": penalties,
            "fines_total": sum((p.amount or Decimal(0) for p in fines), Decimal(0)),
            "hazards": list(case.hazards.all()),
            "inspections": list(case.inspections.all()),
            "evidence": [] if party else _evidence(case),
            "evidence_files": [d for d in documents if d.kind == CaseDocument.Kind.EVIDENCE],
            "documents": documents,
            "review": None if party else selectors.review_of(case),
            "timeline": _timeline(case, documents),
            "steps": [
                {
                    "name": name,
                    "step": DISMISS if name == "drop" and proposal else STEPS[name],
                    "form": forms_by_step[name],
                    "open": bound is not None and bound[0] == name,
                    "penalties": getattr(forms_by_step[name], "penalties", None),
                }
                for name in steps
            ],
        },
    )


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(selectors.case_queryset(_user(request)), pk=pk)
    return _render_detail(request, case)


def _form_errors(form: forms.BaseForm) -> list[str]:
    errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    formset = getattr(form, "penalties", None)
    if formset is not None:
        errors += [str(e) for f in formset.forms for fe in f.errors.values() for e in fe]
    return errors


@login_required
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One step on a case. Bad input goes back onto its form; a step the status or the user
    may not take is an error message. The services are atomic: a refusal writes nothing."""
    if action not in STEPS:
        raise Http404
    user = _user(request)
    case = get_object_or_404(selectors.case_queryset(user), pk=pk)
    step = DISMISS if action == "drop" and case.status == CaseStatus.PROPOSED else STEPS[action]
    form = step.form_class(request.POST, request.FILES, case=case, prefix=action)
    if form.is_valid():
        try:
            form.run(user)
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, str(exc) or _("You may not take this step."))
            return redirect("case-detail", pk=case.pk)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, str(step.done))
            return redirect("case-detail", pk=case.pk)
    case = get_object_or_404(selectors.case_queryset(user), pk=pk)
    if action not in available_steps(user, case):
        # No form of this step on the page to show the errors on.
        messages.error(request, " ".join(_form_errors(form)) or _("You may not take this step."))
        return redirect("case-detail", pk=case.pk)
    messages.error(request, _("Nothing was saved: correct the form below."))
    return _render_detail(request, case, (action, form))


# --- opening and changing a case ------------------------------------------------------------------
@login_required
def case_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_perm("enforcement.add_case"):
        raise PermissionDenied
    initial = {"enterprise": request.GET.get("enterprise")} if "enterprise" in request.GET else {}
    form = CaseForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_create(actor=user, data=form.service_data())
        except (DomainError, PermissionDenied) as exc:
            form.add_error(None, str(exc) or _("You may not open this case."))
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(
                request, _("Case %(reference)s opened.") % {"reference": case.reference}
            )
            return redirect("case-detail", pk=case.pk)
    return render(request, "enforcement/case_form.html", {"form": form, "case": None})


@login_required
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    case = get_object_or_404(selectors.case_queryset(user), pk=pk)
    if "edit" not in selectors.user_actions(user, case):
        if not user.has_perm("enforcement.change_case", case):
            raise PermissionDenied
        messages.error(
            request, _("The case can be changed only until the intended penalty is notified.")
        )
        return redirect("case-detail", pk=case.pk)
    form = CaseForm(request.POST or None, user=user, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            services.case_update(actor=user, case=case, data=form.service_data())
        except (DomainError, PermissionDenied) as exc:
            form.add_error(None, str(exc) or _("You may not change this case."))
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("case-detail", pk=case.pk)
    return render(request, "enforcement/case_form.html", {"form": form, "case": case})


# --- documents ------------------------------------------------------------------------------------
INLINE_TYPES = ("application/pdf", "image/")


@login_required
def case_document(request: HttpRequest, pk: int, doc_pk: int) -> FileResponse:
    """A document of the case file as stored (issued or uploaded), to those who see the case
    (never a public media URL)."""
    user = _user(request)
    case = get_object_or_404(Case.objects.visible_to(user), pk=pk)
    document = get_object_or_404(selectors.case_documents(user), pk=doc_pk, case=case)
    try:
        handle = document.file.open("rb")
    except OSError:
        raise Http404 from None
    content_type = document.content_type or "application/octet-stream"
    response = FileResponse(
        handle,
        as_attachment=not content_type.startswith(INLINE_TYPES),
        filename=document.name,
        content_type=content_type,
    )
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- quality review -------------------------------------------------------------------------------
@login_required
def case_reviews(request: HttpRequest) -> HttpResponse:
    """Quality-review results per county: the city sees each of its counties, a county
    officer its own."""
    user = _user(request)
    if not (user.is_regulator or user.is_system_admin):
        raise PermissionDenied
    results = selectors.review_results(user)
    reviewed = sum(r.reviewed for r in results)
    total = {
        "closed": sum(r.closed for r in results),
        "reviewed": reviewed,
        "average": selectors.average_score(sum(r.score_total for r in results), reviewed),
        "grades": {
            grade: sum(r.grades[grade] for r in results) for grade in CaseReview.Grade.values
        },
    }
    return render(
        request,
        "enforcement/case_reviews.html",
        {
            "results": results,
            "total": total,
            "grades": CaseReview.Grade.choices,
            "recent": selectors.recent_reviews(user),
        },
    )


# --- legal provisions -----------------------------------------------------------------------------
@login_required
def provision_list(request: HttpRequest) -> HttpResponse:
    """The legal provisions cases apply, with the penalties each allows; read-only here
    (administrators edit and verify them in the API or the admin)."""
    rows = list(LegalProvision.objects.order_by("-is_active", "code"))
    kinds = dict(PenaltyKind.choices)
    return render(
        request,
        "enforcement/provision_list.html",
        {
            "rows": [
                (
                    p,
                    [kinds.get(k, k) for k in (p.allowed_kinds or [])],
                    localized(p.violation, p.violation_en),
                )
                for p in rows
            ],
            "unverified": sum(1 for p in rows if not p.verified),
        },
    )
