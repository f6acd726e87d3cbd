"""Pages for campaigns, spot-check draws and inspections. Thin: reads come from the selectors
(always through `visible_to`), writes go through the services the API calls too."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from weibao.accounts.models import User
from weibao.core.errors import DomainError
from weibao.core.files import sniff
from weibao.inspections import selectors, services
from weibao.inspections.filters import CampaignFilter, InspectionFilter
from weibao.inspections.forms import (
    CampaignFilterForm,
    CampaignForm,
    InspectionCreateForm,
    InspectionFilterForm,
    InspectionForm,
    PhotoForm,
)
from weibao.inspections.models import Answer, Campaign, Inspection
from weibao.registry.models import EnterpriseKind, Jurisdiction, jurisdiction_prefix

PAGE_SIZE = 50
KIND_LABELS = dict(EnterpriseKind.choices)
# The inspection form's closing part (date, people, signature), after the checklist items.
FINAL_FIELDS = (
    "inspected_on",
    "site",
    "conducted_by",
    "inspectors",
    "summary",
    "representative_name",
    "signature_text",
    "signature_drawn",
)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _page(request: HttpRequest, rows: Any) -> tuple[Any, str]:
    """A page of rows, and the query string without `page` (so pager links keep the filters)."""
    query = request.GET.copy()
    query.pop("page", None)
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")), query.urlencode()


def _filtered(form: Any, filterset_class: Any, rows: QuerySet[Any]) -> QuerySet[Any]:
    """The API's FilterSet applied to the page's filter form (one meaning for each filter)."""
    if not form.is_bound:
        return rows
    if not form.is_valid():
        return rows.none()
    data = {k: getattr(v, "pk", v) for k, v in form.cleaned_data.items() if v not in (None, "")}
    filterset = filterset_class(data, queryset=rows)
    return filterset.qs if filterset.is_valid() else rows.none()


def _attach(form: Any, exc: ValidationError) -> None:
    """Show a service's validation errors on the form fields they name."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _editable(user: User, page: Any) -> set[int]:
    """Drafts on a page the user may carry on with (their rows link to the form)."""
    return {
        i.pk
        for i in page
        if i.status == Inspection.Status.DRAFT and user.has_perm("inspections.change_inspection", i)
    }


def _service_error(request: HttpRequest, exc: ValidationError | DomainError) -> None:
    text = exc.detail if isinstance(exc, DomainError) else " ".join(exc.messages)
    messages.error(request, text)


# --- campaigns ---------------------------------------------------------------------------------
@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = CampaignFilterForm(request.GET or None)
    rows = _filtered(form, CampaignFilter, selectors.campaigns(user))
    page, query = _page(request, rows.order_by("-starts_on", "name"))
    states = {c.pk: selectors.campaign_state(c) for c in page}
    return render(
        request,
        "inspections/campaign_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(c, states[c.pk]) for c in page],
            "query": query,
            "can_add": user.has_perm("inspections.add_campaign") and user.agency is not None,
        },
    )


def _draw_area(user: User, campaign: Campaign, drawn: set[str]) -> Jurisdiction | None:
    """The area the user's bureau would draw for, when it still may (the service decides)."""
    if user.agency is None or not user.has_perm("inspections.draw_campaign", campaign):
        return None
    area = user.agency.jurisdiction_id
    prefix = jurisdiction_prefix(area)
    in_campaign = any(
        area.startswith(jurisdiction_prefix(code)) or code.startswith(prefix)
        for code in campaign.scope_list
    )
    return user.agency.jurisdiction if in_campaign and area not in drawn else None


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = get_object_or_404(selectors.campaigns(user), pk=pk)
    draws = list(selectors.campaign_draws(user, campaign))
    results = selectors.draw_results(user, draws) if draws else {}
    draw_rows = [
        {"draw": d, "matches": services.draw_replay(d), "rows": results.get(d.pk, [])}
        for d in draws
    ]
    page, query = _page(
        request,
        selectors.inspections(user).filter(campaign=campaign).order_by("enterprise__name", "-id"),
    )
    return render(
        request,
        "inspections/campaign_detail.html",
        {
            "campaign": campaign,
            "state": selectors.campaign_state(campaign),
            "progress": selectors.campaign_progress(campaign, user),
            "draws": draw_rows,
            "draw_area": _draw_area(user, campaign, {d.jurisdiction_id for d in draws}),
            "page": page,
            "query": query,
            "editable": _editable(user, page),
            "kinds": [str(KIND_LABELS.get(k, k)) for k in campaign.kind_list],
            "divisions": Jurisdiction.objects.filter(code__in=campaign.scope_list).order_by("code"),
            "can_edit": user.has_perm("inspections.change_campaign", campaign),
            "can_inspect": user.has_perm("inspections.add_inspection"),
        },
    )


def _campaign_form(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    user = _user(request)
    assert user.agency is not None
    area = campaign.jurisdiction if campaign else user.agency.jurisdiction
    form = CampaignForm(request.POST or None, instance=campaign, user=user, area=area)
    if request.method == "POST" and form.is_valid():
        try:
            if campaign is None:
                campaign = services.campaign_create(actor=user, data=form.service_data())
            else:
                services.campaign_update(actor=user, campaign=campaign, data=form.service_data())
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("campaign-detail", pk=campaign.pk)
    return render(request, "inspections/campaign_form.html", {"form": form, "campaign": campaign})


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not (user.has_perm("inspections.add_campaign") and user.agency is not None):
        raise PermissionDenied
    return _campaign_form(request, None)


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = get_object_or_404(selectors.campaigns(user), pk=pk)
    if not (user.has_perm("inspections.change_campaign", campaign) and user.agency is not None):
        raise PermissionDenied
    return _campaign_form(request, campaign)


@login_required
def campaign_draw(request: HttpRequest, pk: int) -> HttpResponse:
    """Draw the spot checks for the user's area. A draw is final, so it is only made from a POST
    that says it was confirmed (the dialog, or this page without a script)."""
    user = _user(request)
    campaign = get_object_or_404(selectors.campaigns(user), pk=pk)
    if not user.has_perm("inspections.draw_campaign", campaign):
        raise PermissionDenied
    if request.method == "POST" and request.POST.get("confirmed") == "1":
        try:
            record = services.campaign_draw(actor=user, campaign=campaign)
        except (ValidationError, DomainError) as exc:
            _service_error(request, exc)
        else:
            count = len(record.result)
            messages.success(
                request,
                ngettext(
                    "%(count)d unit was drawn for a spot check.",
                    "%(count)d units were drawn for spot checks.",
                    count,
                )
                % {"count": count},
            )
        return redirect("campaign-detail", pk=campaign.pk)
    return render(request, "inspections/campaign_draw.html", {"campaign": campaign})


# --- inspections ------------------------------------------------------------------------------
@login_required
def inspection_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = InspectionFilterForm(request.GET or None, user=user)
    rows = _filtered(form, InspectionFilter, selectors.inspections(user))
    page, query = _page(request, rows.order_by("-created_at", "-id"))
    return render(
        request,
        "inspections/inspection_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "editable": _editable(user, page),
            "can_add": user.has_perm("inspections.add_inspection"),
        },
    )


@login_required
def inspection_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_perm("inspections.add_inspection"):
        raise PermissionDenied
    initial = {k: request.GET[k] for k in ("enterprise", "campaign", "kind") if k in request.GET}
    form = InspectionCreateForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            inspection = services.inspection_create(actor=user, data=form.service_data())
        except ValidationError as exc:
            _attach(form, exc)
        else:
            return redirect("inspection-edit", pk=inspection.pk)
    return render(request, "inspections/inspection_create.html", {"form": form})


def hazard_url(pk: int) -> str:
    try:
        return reverse("hazard-detail", args=[pk])
    except NoReverseMatch:
        return f"/hazards/{pk}/"


@login_required
def inspection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    inspection = get_object_or_404(
        selectors.inspection_detail(user).select_related("submitted_by"), pk=pk
    )
    hazards = [(h, hazard_url(h.pk)) for h in inspection.hazards.all()]
    submitted = inspection.status == Inspection.Status.SUBMITTED
    return render(
        request,
        "inspections/inspection_detail.html",
        {
            "inspection": inspection,
            "answers": inspection.answers.all(),
            "hazards": hazards,
            "can_edit": not submitted
            and user.has_perm("inspections.change_inspection", inspection),
            "has_notice": submitted and not inspection.is_self_inspection and bool(hazards),
        },
    )


def _json_errors(form: InspectionForm) -> dict[str, list[str]]:
    return {field or "__all__": [str(m) for m in errors] for field, errors in form.errors.items()}


def _version(inspection: Inspection) -> str:
    """What the page's script compares with its local draft to tell whether the record changed."""
    return str(int(inspection.updated_at.timestamp() * 1_000_000))


def _save(user: User, inspection: Inspection, form: InspectionForm) -> Inspection:
    """Answers, fields, signature and any photos sent with the form, all or nothing."""
    with transaction.atomic():
        saved = services.inspection_update(actor=user, inspection=inspection, **form.service_data())
        for item, upload in form.photos():
            try:
                services.answer_photo_add(actor=user, inspection=saved, item_id=item, upload=upload)
            except ValidationError as exc:
                raise ValidationError({f"photo-{item}": exc.messages}) from None
    return saved


@login_required
def inspection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The inspection record, one checklist item per screen on a phone (one long form without a
    script). Saving writes a draft; submitting saves, then locks and files the hazards."""
    user = _user(request)
    inspection = get_object_or_404(selectors.inspection_detail(user), pk=pk)
    if not user.has_perm("inspections.change_inspection", inspection):
        raise PermissionDenied
    wants_json = "application/json" in request.headers.get("Accept", "")
    if inspection.status != Inspection.Status.DRAFT:
        if wants_json:
            return JsonResponse({"ok": False, "locked": True}, status=409)
        messages.info(request, _("This inspection was submitted and is locked."))
        return redirect("inspection-detail", pk=inspection.pk)
    form = InspectionForm(
        request.POST or None,
        request.FILES or None,
        inspection=inspection,
        answers=list(inspection.answers.all()),
        user=user,
    )
    missing: list[int] = []
    if request.method == "POST":
        submitting = request.POST.get("action") == "submit"
        if form.is_valid():
            try:
                inspection = _save(user, inspection, form)
            except ValidationError as exc:
                form.attach(exc)
            except DomainError as exc:
                if wants_json:
                    return JsonResponse({"ok": False, "locked": True}, status=409)
                _service_error(request, exc)
                return redirect("inspection-detail", pk=inspection.pk)
            else:
                if wants_json:  # the script's sync only ever saves
                    return JsonResponse({"ok": True, "version": _version(inspection)})
                if not submitting:
                    messages.success(request, _("Draft saved."))
                    return redirect("inspection-edit", pk=inspection.pk)
                try:
                    inspection = services.inspection_submit(actor=user, inspection=inspection)
                except ValidationError as exc:
                    # The answers stay saved as a draft; only the submission was refused.
                    form.attach(exc)
                    inspection = selectors.inspection_detail(user).get(pk=inspection.pk)
                    form.answers = list(inspection.answers.all())
                    missing = [a.position for a in form.answers if not a.result]
                else:
                    messages.success(
                        request,
                        _("Inspection %(number)s submitted.") % {"number": inspection.number},
                    )
                    return redirect("inspection-detail", pk=inspection.pk)
        if wants_json:
            return JsonResponse({"ok": False, "errors": _json_errors(form)}, status=400)
    return render(
        request,
        "inspections/inspection_form.html",
        {
            "inspection": inspection,
            "form": form,
            "rows": form.rows(),
            "missing": missing,
            "final_errors": any(name in form.errors for name in FINAL_FIELDS),
            "version": _version(inspection),
            "result_choices": Answer.Result.choices,
            "js_strings": _js_strings(),
        },
    )


def _js_strings() -> dict[str, str]:
    """Everything the form's script says, translated here (placeholders filled in by it)."""
    return {
        "item": _("Item %(n)s of %(total)s"),
        "final": _("Date and signature"),
        "answered": _("%(done)s of %(total)s answered"),
        "restored": _("Restored unsaved changes kept on this phone."),
        "restored_conflict": _(
            "Restored unsaved changes kept on this phone. The record was also changed "
            "elsewhere since: check the answers before saving."
        ),
        "saving": _("Saving…"),
        "saved": _("All changes saved at %(time)s."),
        "local": _("Saved on this phone, will sync when online."),
        "local_photos": _(
            "Saved on this phone, will sync when online. Photos waiting to upload: %(count)s."
        ),
        "signin": _("Sign in again to sync. Your changes are kept on this phone."),
        "invalid": _("Not saved: %(errors)s"),
        "locked": _(
            "This inspection was submitted elsewhere; the changes on this phone were not applied."
        ),
        "offline_submit": _(
            "You are offline. Submitting needs a connection; your answers are kept on this phone."
        ),
        "sync_failed": _("Could not reach the server; try again."),
        "queued": _("Waiting to upload"),
        "uploaded": _("Uploaded"),
        "photo_rejected": _("Photo not accepted: %(errors)s"),
        "confirm_clear": _("Clear the drawn signature?"),
    }


@login_required
@require_POST
def inspection_photo_add(request: HttpRequest, pk: int) -> JsonResponse:
    """One photo for one item, as the form's script sends queued photos once online."""
    user = _user(request)
    visible = Inspection.objects.visible_to(user).select_related("enterprise")
    inspection = get_object_or_404(visible, pk=pk)
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"ok": False, "errors": form.errors.get_json_data()}, status=400)
    try:
        photo = services.answer_photo_add(
            actor=user,
            inspection=inspection,
            item_id=form.cleaned_data["item"],
            upload=form.cleaned_data["file"],
        )
    except ValidationError as exc:
        return JsonResponse({"ok": False, "errors": exc.messages}, status=400)
    except DomainError as exc:
        return JsonResponse({"ok": False, "locked": True, "errors": [exc.detail]}, status=409)
    url = reverse("inspection-photo", args=[inspection.pk, photo.pk])
    return JsonResponse({"ok": True, "id": photo.pk, "url": url}, status=201)


def _file(field: FieldFile) -> FileResponse:
    """A stored image, to signed-in users who see its record (never a public media URL)."""
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=sniff(handle) or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
def inspection_photo(request: HttpRequest, pk: int, photo_pk: int) -> FileResponse:
    inspection = get_object_or_404(Inspection.objects.visible_to(_user(request)), pk=pk)
    photo = selectors.inspection_photo(inspection, photo_pk)
    if photo is None:
        raise Http404
    return _file(photo.file)


@login_required
def inspection_signature(request: HttpRequest, pk: int) -> FileResponse:
    inspection = get_object_or_404(Inspection.objects.visible_to(_user(request)), pk=pk)
    return _file(inspection.signature_image)


@login_required
def inspection_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """责令限期整改通知书 of a submitted regulator inspection, as a PDF."""
    from weibao.hazards.documents import rectification_notice_pdf

    inspection = get_object_or_404(Inspection.objects.visible_to(_user(request)), pk=pk)
    try:
        pdf = rectification_notice_pdf(inspection)
    except DomainError as exc:
        _service_error(request, exc)
        return redirect("inspection-detail", pk=inspection.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"rectification-notice-{inspection.number or inspection.pk}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response
