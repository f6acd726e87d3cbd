"""The books (台账): per day and product, what came in, what went out and what is on hand, for a
unit and for one of its magazines; as pages and as .xlsx.

Computed from the events alone with SQL aggregates (each event carries the product and quantity
it moved, a box's being what it held then), never by walking items: one grouped query for the
days of the range, one for the balance brought forward, and for a magazine one more for the
counts its custodian declared. On hand at the end of a day is the day before's plus in minus out.

What counts as a movement:
- a unit: in when it produces (the first production of a code; a code produced again is
  evidence of reuse, not stock), receives or finds; out when it ships, fires, destroys or loses.
  Issuing to its own blaster and the return are inside the unit and do not move its stock.
- a magazine: in when something is produced into it, stored in it, returned to it or found in
  it; out when something leaves it shipped or issued, or is destroyed or lost from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, DecimalField, Exists, OuterRef, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.core.tabular import Column, write_xlsx
from weibao.ledger.models import MEASURE, EventKind, MagazineCount, ProductKind
from weibao.ledger.models import Event as LedgerEvent
from weibao.registry.models import Enterprise, Site

# The longest range one book shows (a year and a day: a leap year fits).
MAX_DAYS = 366
DEFAULT_DAYS = 30

UNIT_IN = (EventKind.RECEIVED, EventKind.FOUND)
UNIT_OUT = (EventKind.SHIPPED, EventKind.FIRED, EventKind.DESTROYED, EventKind.LOST)
SITE_IN = (EventKind.STORED_IN, EventKind.RETURNED, EventKind.FOUND)
SITE_OUT = (EventKind.SHIPPED, EventKind.ISSUED, EventKind.DESTROYED, EventKind.LOST)

MEASURE_LABELS = {"piece": _("pieces"), "kg": _("kg"), "m": _("m")}
ZERO = Decimal("0.000")
AMOUNT: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=3)


@dataclass
class BookLine:
    day: date | None  # None: the balance brought forward
    product: str
    inflow: Decimal = ZERO
    outflow: Decimal = ZERO
    on_hand: Decimal = ZERO
    declared: Decimal | None = None

    @property
    def product_label(self) -> str:
        return str(ProductKind(self.product).label)

    @property
    def measure(self) -> str:
        return str(MEASURE_LABELS[MEASURE[ProductKind(self.product)]])

    @property
    def difference(self) -> Decimal | None:
        return None if self.declared is None else self.declared - self.on_hand


@dataclass
class Book:
    kind: str  # "unit" or "site"
    enterprise: Enterprise
    site: Site | None
    start: date
    end: date  # inclusive
    opening: dict[str, Decimal] = field(default_factory=dict)
    lines: list[BookLine] = field(default_factory=list)
    closing: dict[str, Decimal] = field(default_factory=dict)

    @property
    def opening_lines(self) -> list[BookLine]:
        return [
            BookLine(day=None, product=p, on_hand=q) for p, q in sorted(self.opening.items()) if q
        ]

    @property
    def closing_lines(self) -> list[BookLine]:
        return [
            BookLine(day=self.end, product=p, on_hand=q) for p, q in sorted(self.closing.items())
        ]

    @property
    def mismatches(self) -> int:
        return sum(1 for line in self.lines if line.difference)


# --- the range -------------------------------------------------------------------------------
def default_range(today: date | None = None) -> tuple[date, date]:
    end = today or timezone.localdate()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


# --- the sums --------------------------------------------------------------------------------
def _first_production() -> Q:
    """A `produced` event that is the code's first (a later one is a reused code, kept as
    evidence only)."""
    earlier = LedgerEvent.objects.filter(
        code=OuterRef("code"), kind=EventKind.PRODUCED, id__lt=OuterRef("id")
    )
    return Q(~Exists(earlier), kind=EventKind.PRODUCED)


def _amount(condition: Q) -> Sum:
    return Sum(
        Case(When(condition, then="quantity"), default=Value(ZERO), output_field=AMOUNT),
        output_field=AMOUNT,
    )


def _compute(
    book: Book, base: Q, inflow: Q, outflow: Q, declared: dict[tuple[date, str], Decimal]
) -> Book:
    start_at, end_at = _bounds(book.start, book.end)
    events = LedgerEvent.objects.filter(base).filter(inflow | outflow)
    opening = (
        events.filter(at__lt=start_at)
        .values("product")
        .annotate(i=_amount(inflow), o=_amount(outflow))
        .order_by("product")
    )
    book.opening = {r["product"]: (r["i"] or ZERO) - (r["o"] or ZERO) for r in opening}
    days = (
        events.filter(at__gte=start_at, at__lt=end_at)
        .annotate(day=TruncDate("at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .values("day", "product")
        .annotate(i=_amount(inflow), o=_amount(outflow))
        .order_by("day", "product")
    )
    moved: dict[tuple[date, str], tuple[Decimal, Decimal]] = {
        (r["day"], r["product"]): (r["i"] or ZERO, r["o"] or ZERO) for r in days
    }
    balance = dict(book.opening)
    for day, product in sorted(set(moved) | set(declared)):
        got, gone = moved.get((day, product), (ZERO, ZERO))
        balance[product] = balance.get(product, ZERO) + got - gone
        book.lines.append(
            BookLine(
                day=day,
                product=product,
                inflow=got,
                outflow=gone,
                on_hand=balance[product],
                declared=declared.get((day, product)),
            )
        )
    book.closing = balance
    return book


def unit_book(*, enterprise: Enterprise, start: date, end: date) -> Book:
    """A unit's books over [start, end] (local days, inclusive)."""
    book = Book(kind="unit", enterprise=enterprise, site=None, start=start, end=end)
    inflow = Q(kind__in=UNIT_IN) | _first_production()
    outflow = Q(kind__in=UNIT_OUT)
    return _compute(book, Q(enterprise_id=enterprise.pk), inflow, outflow, {})


def site_book(*, site: Site, start: date, end: date) -> Book:
    """A magazine's books over [start, end], beside the counts its custodian declared."""
    book = Book(kind="site", enterprise=site.enterprise, site=site, start=start, end=end)
    inflow = Q(kind__in=SITE_IN) | _first_production()
    outflow = Q(kind__in=SITE_OUT)
    declared = {
        (day, product): quantity
        for day, product, quantity in MagazineCount.objects.filter(
            site=site, day__gte=start, day__lte=end
        ).values_list("day", "product", "quantity")
    }
    return _compute(book, Q(site_id=site.pk), inflow, outflow, declared)


# --- the spreadsheet -------------------------------------------------------------------------
def _day(line: BookLine) -> Any:
    return line.day if line.day is not None else str(_("Brought forward"))


def book_columns(book: Book) -> list[Column]:
    columns = [
        Column("day", _("day"), getter=_day, width=14),
        Column("product", _("product"), getter=lambda line: line.product_label, width=16),
        Column("measure", _("measured in"), getter=lambda line: line.measure),
        Column("inflow", _("in"), getter=lambda line: line.inflow if line.day else None),
        Column("outflow", _("out"), getter=lambda line: line.outflow if line.day else None),
        Column("on_hand", _("on hand"), getter=lambda line: line.on_hand),
    ]
    if book.kind == "site":
        columns += [
            Column("declared", _("declared count"), getter=lambda line: line.declared),
            Column("difference", _("difference"), getter=lambda line: line.difference),
        ]
    return columns


def book_xlsx(book: Book) -> bytes:
    """The book as one sheet: the balance brought forward, then every day and product."""
    title = book.site.name if book.site is not None else book.enterprise.name
    return write_xlsx(
        book_columns(book), [*book.opening_lines, *book.lines], sheet_title=title[:31]
    )


def book_filename(book: Book) -> str:
    subject = f"site-{book.site.pk}" if book.site is not None else f"unit-{book.enterprise.pk}"
    return f"ledger-book-{subject}-{book.start:%Y%m%d}-{book.end:%Y%m%d}.xlsx"
