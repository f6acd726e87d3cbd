"""单位隐患排查治理季度统计: each unit's hazards of a quarter, as a table, an .xlsx and a PDF.

Units compile these statistics every quarter, signed by their principal (SAWS Order 16); a
bureau reads the same table over the units it supervises.

The ledger keeps each hazard's current state, not its state on every past day, so the state "at
the end of the quarter" is rebuilt from the dates recorded: accepted on (closing), handed in on
(rectification) and the deadline. Two approximations follow and are accepted: a cancelled hazard
counts as gone for good (its cancelling date is not kept), and a deadline extended after the
quarter is judged by its new date.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from weibao.core.documents import render_pdf
from weibao.core.errors import ServiceValidationError
from weibao.core.tabular import Column
from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import PENDING, Hazard, HazardStatus

MIN_YEAR = 2000
STATISTICS_TEMPLATE = "documents/hazard_statistics.html"


@dataclass(frozen=True)
class StatRow:
    """One unit's figures for a quarter (or, with `is_total`, the sum over the units)."""

    enterprise_id: int | None
    name: str
    uscc: str
    jurisdiction_code: str
    found_total: int = 0
    found_general: int = 0
    found_major: int = 0
    closed: int = 0
    closed_on_time: int = 0
    open_at_end: int = 0
    overdue_at_end: int = 0
    is_total: bool = False

    @property
    def rectification_rate(self) -> float | None:
        """Share of the quarter's hazards closed by its end (None when none were found)."""
        return self.closed / self.found_total if self.found_total else None


COUNTS = (
    "found_total",
    "found_general",
    "found_major",
    "closed",
    "closed_on_time",
    "open_at_end",
    "overdue_at_end",
)


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a quarter; ServiceValidationError naming "year" or "quarter"."""
    errors: dict[str, list[Any]] = {}
    last_year = timezone.localdate().year
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= last_year:
        errors["year"] = [
            _("Choose a year from %(first)d to %(last)d.") % {"first": MIN_YEAR, "last": last_year}
        ]
    if isinstance(quarter, bool) or not isinstance(quarter, int) or not 1 <= quarter <= 4:
        errors["quarter"] = [_("Choose a quarter from 1 to 4.")]
    if errors:
        raise ServiceValidationError(errors)
    start = date(year, 3 * quarter - 2, 1)
    following = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, following - timedelta(days=1)


def quarterly_statistics(
    *, user: Any, year: int, quarter: int, enterprise_id: int | None = None
) -> list[StatRow]:
    """Per unit the user may see (or only `enterprise_id`), ordered by division and name, then
    a last row with the totals (always present, zeros when no unit has anything to report).

    A unit appears when it found hazards in the quarter or still had some open at its end.
    Found counts leave out cancelled hazards (recorded in error); closed counts those found in
    the quarter and accepted by its end, on time those accepted by their deadline. Open and
    overdue count every hazard of the unit found by the quarter's end, whenever found; overdue
    is judged at the quarter's end, or today for the quarter under way.
    """
    start, end = quarter_bounds(year, quarter)
    as_of = min(end, timezone.localdate())
    hazards = Hazard.objects.visible_to(user).filter(found_on__lte=end)
    if enterprise_id is not None:
        hazards = hazards.filter(enterprise_id=enterprise_id)

    found = Q(found_on__gte=start) & ~Q(status=HazardStatus.CANCELLED)
    closed = found & Q(status=HazardStatus.CLOSED, accepted_on__lte=end)
    still_open = ~Q(status__in=[HazardStatus.CLOSED, HazardStatus.CANCELLED]) | Q(
        status=HazardStatus.CLOSED, accepted_on__gt=end
    )
    # Work still owed at the time: pending now, or handed in only after the quarter.
    owed = Q(status__in=PENDING) | Q(rectified_on__isnull=True) | Q(rectified_on__gt=as_of)
    groups = (
        hazards.values(
            "enterprise_id", "enterprise__name", "enterprise__uscc", "enterprise__jurisdiction_id"
        )
        .annotate(
            found_total=Count("pk", filter=found),
            found_general=Count("pk", filter=found & Q(level=HazardLevel.GENERAL)),
            found_major=Count("pk", filter=found & Q(level=HazardLevel.MAJOR)),
            closed=Count("pk", filter=closed),
            closed_on_time=Count("pk", filter=closed & Q(accepted_on__lte=F("deadline"))),
            open_at_end=Count("pk", filter=still_open),
            overdue_at_end=Count("pk", filter=still_open & Q(deadline__lt=as_of) & owed),
        )
        .filter(Q(found_total__gt=0) | Q(open_at_end__gt=0))
        .order_by("enterprise__jurisdiction_id", "enterprise__name", "enterprise_id")
    )
    rows = [
        StatRow(
            enterprise_id=g["enterprise_id"],
            name=g["enterprise__name"],
            uscc=g["enterprise__uscc"],
            jurisdiction_code=g["enterprise__jurisdiction_id"],
            **{name: g[name] for name in COUNTS},
        )
        for g in groups
    ]
    totals = StatRow(
        enterprise_id=None,
        name=_("Total"),
        uscc="",
        jurisdiction_code="",
        is_total=True,
        **{name: sum(getattr(r, name) for r in rows) for name in COUNTS},
    )
    return [*rows, totals]


# --- output -------------------------------------------------------------------------------------
# Chinese aliases: the header under Chinese before the catalogue has the label (tabular.Column).
COLUMNS: tuple[Column, ...] = (
    Column("name", gettext_lazy("Unit"), aliases=("单位名称",), width=30),
    Column("uscc", gettext_lazy("Unified social credit code"), aliases=("统一社会信用代码",)),
    Column("jurisdiction_code", gettext_lazy("Division code"), aliases=("行政区划代码",)),
    Column("found_total", gettext_lazy("Hazards found"), aliases=("排查隐患数",)),
    Column("found_general", gettext_lazy("General hazards"), aliases=("一般隐患",)),
    Column("found_major", gettext_lazy("Major hazards"), aliases=("重大隐患",)),
    Column("closed", pgettext_lazy("hazard statistics", "Closed"), aliases=("已整改销号",)),
    Column("closed_on_time", gettext_lazy("Closed on time"), aliases=("按期整改",)),
    Column("rectification_rate", gettext_lazy("Rectification rate"), aliases=("整改率",), width=10),
    Column("open_at_end", gettext_lazy("Open at quarter end"), aliases=("季末未整改",)),
    Column("overdue_at_end", gettext_lazy("Overdue at quarter end"), aliases=("季末逾期",)),
)
NUMERIC = frozenset(COUNTS) | {"rectification_rate"}


def statistics_title(year: int, quarter: int) -> str:
    return _("Hazard investigation and treatment statistics, %(year)d Q%(quarter)d") % {
        "year": year,
        "quarter": quarter,
    }


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _text_cell(value: Any) -> Any:
    # Unit names are typed by people: a leading "=" must stay text, never become a formula.
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def statistics_xlsx(rows: Sequence[StatRow], year: int, quarter: int) -> bytes:
    """The statistics as a workbook: title row, frozen header row, a row per unit, totals."""
    workbook = Workbook()
    sheet: Any = workbook.active
    sheet.title = _("Statistics")[:31]
    title = statistics_title(year, quarter)
    sheet.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    bold = Font(bold=True)
    for index, column in enumerate(COLUMNS, start=1):
        header = column.header()
        cell = sheet.cell(row=2, column=index, value=header)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        width = max(column.width, _display_width(header) + 2, 8)
        sheet.column_dimensions[get_column_letter(index)].width = min(width, 40)
    sheet.freeze_panes = "A3"
    for number, row in enumerate(rows, start=3):
        for index, column in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=number, column=index, value=_text_cell(column.value(row)))
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
            if column.key == "rectification_rate":
                cell.number_format = "0.0%"
            if row.is_total:
                cell.font = bold
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _pdf_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1%}"
    return "" if value is None else str(value)


def _pdf_cells(row: StatRow) -> list[dict[str, Any]]:
    return [
        {"text": _pdf_text(column.value(row)), "numeric": column.key in NUMERIC}
        for column in COLUMNS
    ]


def statistics_context(
    rows: Sequence[StatRow], year: int, quarter: int, title_unit: str | None = None
) -> dict[str, Any]:
    """What the statistics PDF shows (also usable for an HTML preview)."""
    start, end = quarter_bounds(year, quarter)
    return {
        "title": statistics_title(year, quarter),
        "title_unit": title_unit,
        "start": start,
        "end": end,
        "headers": [column.header() for column in COLUMNS],
        "rows": [{"is_total": r.is_total, "cells": _pdf_cells(r)} for r in rows],
        "compiled_on": timezone.localdate(),
    }


def statistics_pdf(
    rows: Sequence[StatRow], year: int, quarter: int, title_unit: str | None = None
) -> bytes:
    """The statistics as an A4 landscape PDF with lines for the principal's signature.
    `title_unit`: the reporting unit (or bureau) named above the table."""
    return render_pdf(STATISTICS_TEMPLATE, statistics_context(rows, year, quarter, title_unit))


__all__ = [
    "StatRow",
    "quarter_bounds",
    "quarterly_statistics",
    "statistics_context",
    "statistics_pdf",
    "statistics_title",
    "statistics_xlsx",
]
