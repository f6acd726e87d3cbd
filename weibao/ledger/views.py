"""Pages of the traceability ledger: the home (search a code), an item's life on a timeline and a
map, the books of a unit and of a magazine (with .xlsx), and the anomalies with their evidence.
Thin: reads go through the selectors (scoped), the status change through the service the API
calls."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy

from weibao.accounts.models import User
from weibao.core.api.errors import DomainError
from weibao.core.api.tabular import xlsx_response
from weibao.core.widgets import DatePicker
from weibao.ledger import anomaly_services, books, selectors
from weibao.ledger import views_declarations as declarations
from weibao.ledger.filters import AnomalyFilter
from weibao.ledger.models import Anomaly
from weibao.registry.models import Enterprise, Site, kinds_q

PAGE_SIZE = 50
# Anomalies whose subject is a magazine or a permit, not an item's code.
SUBJECT_NOT_A_CODE = frozenset(
    {Anomaly.Kind.OVER_CAPACITY, Anomaly.Kind.COUNT_MISMATCH, Anomaly.Kind.OVER_PERMIT}
)
# Units with books: those the civil-explosives regime covers.
LEDGER_KINDS = (
    Enterprise.Kind.EXPLOSIVES_PRODUCTION,
    Enterprise.Kind.EXPLOSIVES_SALE,
    Enterprise.Kind.BLASTING,
    Enterprise.Kind.EXPLOSIVES_STORAGE,
    Enterprise.Kind.EXPLOSIVES_TRANSPORT,
)


def _user(request: HttpRequest) -> User:
    user = cast(User, request.user)
    if not selectors.may_read_ledger(user):
        raise PermissionDenied
    return user


# --- home ------------------------------------------------------------------------------------
class SearchForm(forms.Form):
    code = forms.CharField(
        label=_lazy("Item, box or case code, or chip UID"), max_length=32, required=False
    )


@login_required
def ledger_home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = SearchForm(request.GET or None)
    not_found = ""
    if form.is_valid() and form.cleaned_data["code"].strip():
        entered = form.cleaned_data["code"].strip().upper()
        code = selectors.traceable_code(user, entered)
        if code is not None:
            return redirect("ledger-item", code=code)
        # What was typed, never the code behind a UID: that would reveal another unit's item.
        not_found = entered
    open_by_severity = selectors.anomalies_visible(user).aggregate(
        **{
            severity: Count("pk", filter=Q(status=Anomaly.Status.OPEN, severity=severity))
            for severity in Anomaly.Severity.values
        }
    )
    batches = list(selectors.batches_visible(user).defer("errors")[:5])
    return render(
        request,
        "ledger/home.html",
        {
            "form": form,
            "not_found": not_found,
            "open_by_severity": [
                (severity, Anomaly.Severity(severity).label, open_by_severity[severity])
                for severity in reversed(Anomaly.Severity.values)
            ],
            "batches": batches,
        },
    )


# --- an item ---------------------------------------------------------------------------------
@login_required
def item_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    trace = selectors.trace_for(user, code.upper())
    if trace is None:
        raise Http404
    return render(
        request,
        "ledger/item_detail.html",
        {"trace": trace, "item": trace.item, "positions": trace.positions()},
    )


# --- books -----------------------------------------------------------------------------------
class BookForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=_lazy("unit"), queryset=Enterprise.objects.none(), required=False
    )
    start = forms.DateField(
        label=pgettext_lazy("date range", "from"), required=False, widget=DatePicker()
    )
    end = forms.DateField(
        label=pgettext_lazy("date range", "to"), required=False, widget=DatePicker()
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.is_unit_user:
            del self.fields["unit"]
        else:
            ledger_units = Q()
            for kind in LEDGER_KINDS:
                ledger_units |= kinds_q(kind)
            unit = cast(forms.ModelChoiceField, self.fields["unit"])  # type: ignore[type-arg]
            unit.queryset = (
                Enterprise.objects.visible_to(user).filter(ledger_units).order_by("name")
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _start, default_end = books.default_range()
        end = data.get("end") or default_end
        start = data.get("start") or (end - timedelta(days=books.DEFAULT_DAYS - 1))
        if start > end:
            raise ValidationError(_("The start comes after the end."))
        if (end - start).days >= books.MAX_DAYS:
            raise ValidationError(
                _("Show at most %(days)d days at a time.") % {"days": books.MAX_DAYS}
            )
        data["start"], data["end"] = start, end
        return data


def _range(form: BookForm) -> tuple[date, date]:
    if form.is_valid():
        return form.cleaned_data["start"], form.cleaned_data["end"]
    return books.default_range()


def _book_response(
    request: HttpRequest, book: books.Book, template: str, context: dict[str, Any]
) -> HttpResponse:
    if request.GET.get("format") == "xlsx":
        return xlsx_response(books.book_xlsx(book), books.book_filename(book))
    query = request.GET.copy()
    query["format"] = "xlsx"
    return render(
        request,
        template,
        {**context, "book": book, "xlsx_query": query.urlencode(), "columns": book.kind},
    )


@login_required
def unit_books(request: HttpRequest) -> HttpResponse:
    """A unit's books: a unit's own; a regulator picks one of the units it supervises."""
    user = _user(request)
    form = BookForm(request.GET or None, user=user)
    start, end = _range(form)
    unit: Enterprise | None
    if user.is_unit_user:
        unit = cast(Enterprise, user.enterprise)
    else:
        unit = form.cleaned_data.get("unit") if form.is_valid() else None
    context: dict[str, Any] = {"form": form, "unit": unit}
    if unit is None:
        return render(request, "ledger/books.html", {**context, "book": None})
    context["magazines"] = list(
        Site.objects.filter(enterprise=unit, kind=Site.Kind.MAGAZINE).order_by("name")
    )
    book = books.unit_book(enterprise=unit, start=start, end=end)
    return _book_response(request, book, "ledger/books.html", context)


@login_required
def site_books(request: HttpRequest, pk: int) -> HttpResponse:
    """A magazine's books, beside the counts its custodian declared; its unit's principal or
    safety officer declares them here."""
    user = _user(request)
    site = get_object_or_404(
        Site.objects.visible_to(user).select_related("enterprise"), pk=pk, kind=Site.Kind.MAGAZINE
    )
    count_form = declarations.count_form(request, user, site)
    if request.method == "POST":
        if count_form is None:
            raise PermissionDenied
        if declarations.declare(user=user, site=site, form=count_form):
            messages.success(request, _("The counts were declared."))
            return redirect(request.get_full_path())
    form = BookForm(request.GET or None, user=user)
    if "unit" in form.fields:
        del form.fields["unit"]
    start, end = _range(form)
    book = books.site_book(site=site, start=start, end=end)
    if count_form is not None and not count_form.is_bound:
        count_form.prefill(book)
    context = {"form": form, "unit": site.enterprise, "count_form": count_form}
    return _book_response(request, book, "ledger/site_books.html", context)


# --- anomalies -------------------------------------------------------------------------------
@login_required
def anomaly_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    filterset = AnomalyFilter(request.GET or None, queryset=selectors.anomalies_visible(user))
    valid = not filterset.is_bound or filterset.is_valid()
    rows = filterset.qs.defer("evidence") if valid else Anomaly.objects.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ledger/anomaly_list.html",
        {"filter": filterset, "page": page, "query": query.urlencode()},
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_lazy("new status"))
    explanation = forms.CharField(
        label=_lazy("explanation"),
        required=False,
        max_length=anomaly_services.MAX_EXPLANATION,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_lazy("Required to explain or to close."),
    )

    def __init__(self, *args: Any, choices: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["status"])
        field.choices = [(c, Anomaly.Status(c).label) for c in choices]


def evidence_blocks(evidence: Any) -> list[dict[str, Any]]:
    """Evidence as the page shows it: each entry a text, a list, or a table of rows (lists of
    objects become tables with the union of their keys as columns)."""
    if not isinstance(evidence, dict):
        return [{"name": "", "kind": "text", "value": evidence}]
    blocks: list[dict[str, Any]] = []
    for name, value in evidence.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns: list[str] = []
            for row in value:
                columns += [k for k in row if k not in columns]
            table = [[row.get(c, "") for c in columns] for row in value]
            blocks.append({"name": name, "kind": "table", "columns": columns, "rows": table})
        elif isinstance(value, list):
            blocks.append({"name": name, "kind": "list", "value": value})
        elif isinstance(value, dict):
            blocks.append({"name": name, "kind": "pairs", "value": list(value.items())})
        else:
            blocks.append({"name": name, "kind": "text", "value": value})
    return blocks


@login_required
def anomaly_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    anomaly = get_object_or_404(selectors.anomalies_visible(user), pk=pk)
    choices = anomaly_services.statuses_for(user, anomaly)
    form = StatusForm(request.POST or None, choices=choices) if choices else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                anomaly_services.anomaly_set_status(
                    actor=user,
                    anomaly=anomaly,
                    status=form.cleaned_data["status"],
                    explanation=form.cleaned_data["explanation"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, _("The anomaly's status was changed."))
                return redirect("ledger-anomaly-detail", pk=anomaly.pk)
    subject_url = None
    if anomaly.kind not in SUBJECT_NOT_A_CODE:
        subject_url = reverse("ledger-item", args=[anomaly.subject])
    elif anomaly.kind == Anomaly.Kind.OVER_PERMIT and isinstance(
        anomaly.evidence.get("permit_id"), int
    ):
        subject_url = reverse("ledger-permit", args=[anomaly.evidence["permit_id"]])
    return render(
        request,
        "ledger/anomaly_detail.html",
        {
            "anomaly": anomaly,
            "form": form,
            "evidence": evidence_blocks(anomaly.evidence),
            "subject_url": subject_url,
        },
    )
