"""Internal reports as a spreadsheet (内部报告台账): what the unit and the bureau file and check.

The columns follow a report from submission to reward and escalation, and hold nothing that
names or can reach the reporter: no name, phone, account, consent, receipt or photo. Export only
(reports come in through the reporting page, never by importing a file). `REPORTS` is the same
table for the API's `export/` action.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

from django.template.defaultfilters import capfirst, yesno
from django.utils.translation import gettext_lazy

from weibao.core.tabular import Column, Table, write_xlsx
from weibao.reporting.models import InternalReport


def _place(report: InternalReport) -> str:
    parts = [report.site.name if report.site is not None else "", report.location]
    return " · ".join(part for part in parts if part)


def _in_time(report: InternalReport) -> str:
    in_time = report.verified_in_time
    return "" if in_time is None else str(yesno(in_time))


def _hazard(report: InternalReport) -> str:
    return report.hazard.reference if report.hazard is not None else ""


# Chinese aliases: the header under Chinese before the catalogue has the label (tabular.Column).
REPORT_COLUMNS = (
    Column("reference", gettext_lazy("report number"), aliases=("报告编号",), width=14),
    Column(
        "enterprise_name",
        gettext_lazy("unit"),
        aliases=("从业单位",),
        getter=attrgetter("enterprise.name"),
        width=30,
    ),
    Column(
        "category",
        gettext_lazy("category"),
        aliases=("隐患类别",),
        getter=lambda r: r.get_category_display(),
        width=18,
    ),
    Column(
        "place", gettext_lazy("site or place"), aliases=("场所或地点",), getter=_place, width=30
    ),
    Column(
        "status",
        gettext_lazy("status"),
        aliases=("状态",),
        getter=lambda r: r.get_status_display(),
        width=12,
    ),
    Column(
        "submitted_on", gettext_lazy("submitted on"), aliases=("报告日期",), type="date", width=12
    ),
    Column("verify_by", gettext_lazy("verify by"), aliases=("核实期限",), type="date", width=12),
    Column(
        "decided_on", gettext_lazy("decided on"), aliases=("核实结论日期",), type="date", width=12
    ),
    Column(
        "verified_in_time",
        gettext_lazy("verified in time"),
        aliases=("是否按期核实",),
        getter=_in_time,
    ),
    Column("hazard", gettext_lazy("hazard reference"), aliases=("隐患编号",), getter=_hazard),
    Column(
        "reward_proposed", gettext_lazy("proposed reward (yuan)"), aliases=("拟奖励金额（元）",)
    ),
    Column("reward_amount", gettext_lazy("reward paid (yuan)"), aliases=("已发奖励（元）",)),
    Column(
        "reward_paid_on",
        gettext_lazy("reward paid on"),
        aliases=("奖励发放日期",),
        type="date",
        width=12,
    ),
    Column(
        "escalated_at",
        gettext_lazy("raised to the bureau at"),
        aliases=("向主管部门反映时间",),
        width=18,
    ),
    Column("complaint_reply", gettext_lazy("bureau's reply"), aliases=("主管部门答复",), width=40),
)

REPORTS = Table(
    "internal-reports",
    gettext_lazy("internal reports"),
    REPORT_COLUMNS,
    select_related=("enterprise", "site", "hazard"),
)


def reports_workbook(rows: Iterable[InternalReport]) -> bytes:
    """An .xlsx of `rows` (already scoped, with enterprise, site and hazard loaded), headed in
    the active language."""
    return write_xlsx(REPORT_COLUMNS, rows, sheet_title=capfirst(str(REPORTS.title)))


__all__ = ["REPORTS", "REPORT_COLUMNS", "reports_workbook"]
