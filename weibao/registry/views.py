from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from weibao.accounts.models import User
from weibao.registry import selectors, services
from weibao.registry.filters import EnterpriseFilter
from weibao.registry.forms import (
    CertificateForm,
    ContactForm,
    EnterpriseFilterForm,
    EnterpriseForm,
    PermitForm,
    PersonForm,
    ServiceForm,
    SiteForm,
)
from weibao.registry.models import Enterprise


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def filtered_enterprises(user: User, form: EnterpriseFilterForm) -> Any:
    """The units the list page shows: the API's filters (one meaning per filter) on the rows the
    user may see, plus the same name/USCC search as the API's `search`."""
    rows = Enterprise.objects.visible_to(user).select_related("jurisdiction")
    if not form.is_valid():
        return rows.none()
    data = {k: v for k, v in form.cleaned_data.items() if v and k != "search"}
    filterset = EnterpriseFilter(data, queryset=rows)
    if not filterset.is_valid():
        return rows.none()
    rows = filterset.qs
    text = form.cleaned_data["search"].strip()
    if text:
        rows = rows.filter(Q(name__icontains=text) | Q(uscc__icontains=text))
    return rows.order_by("jurisdiction_id", "name")


@login_required
def enterprise_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = EnterpriseFilterForm(request.GET or None, user=user)
    rows = filtered_enterprises(user, form if request.GET else EnterpriseFilterForm({}, user=user))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "registry/enterprise_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_add": user.has_perm("registry.add_enterprise"),
            "can_import": user.has_perm("registry.import_enterprise"),
        },
    )


@login_required
def enterprise_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from weibao.enforcement.selectors import unit_cases

    user = _user(request)
    unit = selectors.enterprise_detail(user, pk)
    return render(
        request,
        "registry/enterprise_detail.html",
        {
            "unit": unit,
            "findings": selectors.enterprise_findings(unit),
            "history": selectors.enterprise_history(user, unit),
            "cases": unit_cases(user, unit),
            "accounts": selectors.unit_accounts(unit)
            if (user.is_regulator or user.is_unit_manager or user.is_system_admin)
            else [],
            "unmask": user.has_perm("registry.view_identity_number"),
            "can_edit": user.has_perm("registry.change_enterprise", unit),
            "can_edit_all": user.has_perm("registry.change_all_enterprise", unit),
            "can_invite": user.has_perm("registry.invite_enterprise", unit),
            "can_manage": user.has_perm("registry.manage_enterprise", unit),
        },
    )


@login_required
def enterprise_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_perm("registry.add_enterprise"):
        raise PermissionDenied
    form = EnterpriseForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.enterprise_create(actor=user, data=form.service_data())
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("Unit registered."))
            return redirect("enterprise-detail", pk=unit.pk)
    return render(request, "registry/enterprise_form.html", {"form": form, "unit": None})


@login_required
def enterprise_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    unit = selectors.enterprise_detail(user, pk)
    if not user.has_perm("registry.change_enterprise", unit):
        raise PermissionDenied
    full = user.has_perm("registry.change_all_enterprise", unit)
    form_class: Any = EnterpriseForm if full else ContactForm
    kwargs: dict[str, Any] = {"user": user} if full else {}
    form = form_class(request.POST or None, instance=unit, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            services.enterprise_update(actor=user, enterprise=unit, data=form.service_data())
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("enterprise-detail", pk=unit.pk)
    return render(request, "registry/enterprise_form.html", {"form": form, "unit": unit})


def _attach(form: Any, exc: ValidationError) -> None:
    """Show a service's validation errors on the form fields they name."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


IMPORT_KINDS = {
    "enterprises": _lazy("Units"),
    "permits": _lazy("Permits"),
    "people": _lazy("People and certificates"),
}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_lazy("What to import"), choices=list(IMPORT_KINDS.items()))
    file = forms.FileField(label=_lazy("Excel (.xlsx) or CSV file"))


@login_required
def registry_import(request: HttpRequest) -> HttpResponse:
    """Upload a filled-in template; any invalid row rejects the whole file with a report."""
    from weibao.registry.imports import ImportRejected, import_file

    user = _user(request)
    if not user.has_perm("registry.import_enterprise"):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    report: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = import_file(
                actor=user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
            )
        except ImportRejected as exc:
            report = list(exc.errors)
        else:
            messages.success(
                request,
                ngettext("Imported %(count)d row.", "Imported %(count)d rows.", result.created)
                % {"count": result.created},
            )
            return redirect("enterprise-list")
    return render(
        request, "registry/import.html", {"form": form, "report": report, "kinds": IMPORT_KINDS}
    )


# What a unit page can add: form, service, and the label of the page.
ADDABLE: dict[str, tuple[type[ServiceForm], Any, Any]] = {
    "permit": (PermitForm, services.permit_create, _lazy("Add a permit")),
    "site": (SiteForm, services.site_create, _lazy("Add a site or magazine")),
    "person": (PersonForm, services.person_create, _lazy("Add a person")),
}


@login_required
def unit_add(request: HttpRequest, pk: int, what: str) -> HttpResponse:
    """Add a permit, site or person to a unit: the same services the API uses."""
    user = _user(request)
    unit = selectors.enterprise_detail(user, pk)
    if what not in ADDABLE:
        raise Http404
    form_class, create, title = ADDABLE[what]
    if not user.has_perm(f"registry.add_{what}", unit):
        raise PermissionDenied
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        upload = data.pop("attachment", None)
        try:
            with transaction.atomic():
                obj = create(actor=user, data={**data, "enterprise": unit})
                if upload:
                    services.permit_attach(actor=user, permit=obj, upload=upload)
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("enterprise-detail", pk=unit.pk)
    return render(request, "registry/unit_add.html", {"form": form, "unit": unit, "title": title})


@login_required
def certificate_add(request: HttpRequest, pk: int, person_pk: int) -> HttpResponse:
    user = _user(request)
    unit = selectors.enterprise_detail(user, pk)
    person = next((p for p in unit.people.all() if p.pk == person_pk), None)
    if person is None:
        raise Http404
    if not user.has_perm("registry.add_certificate", person):
        raise PermissionDenied
    form = CertificateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.certificate_create(actor=user, data={**form.service_data(), "person": person})
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("enterprise-detail", pk=unit.pk)
    title = _("Add a certificate for %(name)s") % {"name": person.name}
    return render(request, "registry/unit_add.html", {"form": form, "unit": unit, "title": title})
