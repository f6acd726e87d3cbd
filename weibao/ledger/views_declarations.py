"""Pages for what units and bureaus declare to the ledger: the daily count form on a magazine's
books (its unit's principal or safety officer), and the purchase permits with their allowances
(read by regulators and the unit, set by the bureau supervising the unit). Thin: the writes are
the services the API calls (`declaration_services`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from weibao.accounts.models import User
from weibao.core.widgets import DatePicker
from weibao.ledger import declaration_services as services
from weibao.ledger import selectors
from weibao.ledger.books import MEASURE_LABELS, Book
from weibao.ledger.models import DETONATORS, MEASURE, PermitAllowance, ProductKind
from weibao.registry.models import Enterprise, Permit, Site

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if not selectors.may_read_ledger(user):
        raise PermissionDenied
    return user


def _product_label(product: str) -> str:
    return _("%(product)s (%(measure)s)") % {
        "product": ProductKind(product).label,
        "measure": MEASURE_LABELS[MEASURE[ProductKind(product)]],
    }


def _attach(form: forms.Form, exc: ValidationError, names: dict[str, str]) -> None:
    """A service's errors on the form's fields: `names` maps the service's keys (`[0].quantity`,
    `day`) to the form's; anything else goes above the form."""
    for key, errors in exc.message_dict.items():
        target = names.get(key)
        form.add_error(target if target in form.fields else None, errors)


# --- the daily count (日清) --------------------------------------------------------------------
def _quantity_name(product: str) -> str:
    return f"q_{product}"


class CountForm(forms.Form):
    """The count on hand at the end of one day, one box per product (left empty: not declared)."""

    day = forms.DateField(label=_lazy("day"), widget=DatePicker())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["day"].initial = timezone.localdate()
        for product in ProductKind.values:
            whole = product in DETONATORS
            self.fields[_quantity_name(product)] = forms.DecimalField(
                label=_product_label(product),
                required=False,
                max_digits=14,
                decimal_places=3,
                widget=forms.NumberInput(
                    attrs={
                        "min": "0",
                        "step": "1" if whole else "0.001",
                        "inputmode": "numeric" if whole else "decimal",
                    }
                ),
            )

    def quantities(self) -> list[tuple[str, Decimal]]:
        return [
            (product, self.cleaned_data[_quantity_name(product)])
            for product in ProductKind.values
            if self.cleaned_data.get(_quantity_name(product)) is not None
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.quantities():
            raise ValidationError(_("Enter the count of at least one product."))
        return data

    def prefill(self, book: Book) -> None:
        """Show what was already declared for the form's day (today), if the book shows it."""
        day: date = self.fields["day"].initial
        for line in book.lines:
            if line.day == day and line.declared is not None:
                self.fields[_quantity_name(line.product)].initial = line.declared


def count_form(request: HttpRequest, user: User, site: Site) -> CountForm | None:
    """The form for those who may declare the magazine's counts (None for everyone else)."""
    if not services.may_declare(user, site):
        return None
    return CountForm(request.POST if request.method == "POST" else None, prefix="count")


def declare(*, user: User, site: Site, form: CountForm) -> bool:
    """Declare what the form holds; False (with the errors on the form) if refused."""
    if not form.is_valid():
        return False
    quantities = form.quantities()
    entries = [
        services.CountEntry(
            site=site.pk, day=form.cleaned_data["day"], product=product, quantity=quantity
        )
        for product, quantity in quantities
    ]
    names = {"non_field_errors": "", "__all__": ""}
    for index, (product, _quantity) in enumerate(quantities):
        names[f"[{index}].day"] = "day"
        names[f"[{index}].quantity"] = _quantity_name(product)
        names[f"[{index}].product"] = _quantity_name(product)
    try:
        services.counts_declare(actor=user, entries=entries)
    except ValidationError as exc:
        _attach(form, exc, names)
        return False
    return True


# --- purchase permits and their allowances ---------------------------------------------------
class PermitFilterForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=_lazy("unit"), queryset=Enterprise.objects.none(), required=False
    )
    number = forms.CharField(label=_lazy("permit number"), max_length=100, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.is_unit_user:
            del self.fields["unit"]
        else:
            holders = Permit.objects.filter(kind=Permit.Kind.PURCHASE).values("enterprise_id")
            unit = cast(forms.ModelChoiceField, self.fields["unit"])  # type: ignore[type-arg]
            unit.queryset = (
                Enterprise.objects.visible_to(user).filter(pk__in=holders).order_by("name")
            )


def _allowances() -> Prefetch[Any]:
    return Prefetch("allowances", queryset=PermitAllowance.objects.order_by("product"))


def _with_measures(allowances: Any) -> list[PermitAllowance]:
    """The allowances, each with the label of its measure (`measure_label`) for the page."""
    rows = list(allowances)
    for allowance in rows:
        measure = MEASURE[ProductKind(allowance.product)]
        allowance.measure_label = MEASURE_LABELS[measure]
    return rows


@login_required
def permit_list(request: HttpRequest) -> HttpResponse:
    """Purchase permits you may see, each with its allowances."""
    user = _user(request)
    form = PermitFilterForm(request.GET or None, user=user)
    permits = (
        Permit.objects.visible_to(user)
        .filter(kind=Permit.Kind.PURCHASE)
        .select_related("enterprise")
        .prefetch_related(_allowances())
        .order_by("-expires_on", "number", "pk")
    )
    if form.is_bound and not form.is_valid():
        permits = permits.none()
    elif form.is_bound:
        if form.cleaned_data.get("unit") is not None:
            permits = permits.filter(enterprise=form.cleaned_data["unit"])
        if form.cleaned_data["number"].strip():
            permits = permits.filter(Q(number__icontains=form.cleaned_data["number"].strip()))
    page = Paginator(permits, PAGE_SIZE).get_page(request.GET.get("page"))
    for permit in page:
        permit.allowance_rows = _with_measures(permit.allowances.all())
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ledger/permit_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


class AllowanceForm(forms.Form):
    product = forms.ChoiceField(label=_lazy("product"), choices=ProductKind.choices)
    quantity = forms.DecimalField(
        label=_lazy("quantity allowed"),
        max_digits=14,
        decimal_places=3,
        help_text=_lazy("Detonators in pieces, explosives in kg, cord and fuse in m."),
        widget=forms.NumberInput(attrs={"min": "0", "step": "0.001", "inputmode": "decimal"}),
    )


def _set_allowance(
    *, user: User, permit: Permit, allowances: list[PermitAllowance], form: AllowanceForm
) -> bool:
    """Create the allowance of the form's product, or change the one the permit has."""
    if not form.is_valid():
        return False
    product, quantity = form.cleaned_data["product"], form.cleaned_data["quantity"]
    current = next((a for a in allowances if a.product == product), None)
    try:
        if current is None:
            services.allowance_create(actor=user, permit=permit, product=product, quantity=quantity)
        else:
            services.allowance_update(actor=user, allowance=current, quantity=quantity)
    except ValidationError as exc:
        _attach(form, exc, {"product": "product", "quantity": "quantity"})
        return False
    return True


@login_required
def permit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A purchase permit with its allowances; the bureau supervising its unit sets them here."""
    user = _user(request)
    permit = get_object_or_404(
        Permit.objects.visible_to(user).select_related("enterprise"),
        pk=pk,
        kind=Permit.Kind.PURCHASE,
    )
    allowances = _with_measures(permit.allowances.order_by("product"))
    keeper = services.may_keep_allowances(user, permit)
    form = AllowanceForm(request.POST or None, prefix="allowance") if keeper else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if "remove" in request.POST:
            chosen = next((a for a in allowances if str(a.pk) == request.POST["remove"]), None)
            if chosen is None:
                messages.error(request, _("That allowance is no longer there."))
            else:
                services.allowance_delete(actor=user, allowance=chosen)
                messages.success(request, _("The allowance was removed."))
            return redirect("ledger-permit", pk=permit.pk)
        if _set_allowance(user=user, permit=permit, allowances=allowances, form=form):
            messages.success(request, _("The allowance was saved."))
            return redirect("ledger-permit", pk=permit.pk)
    over = (
        selectors.anomalies_visible(user)
        .filter(key=f"over_permit:{permit.number}")
        .defer("evidence")
        .first()
    )
    return render(
        request,
        "ledger/permit_detail.html",
        {"permit": permit, "allowances": allowances, "form": form, "over_permit": over},
    )
