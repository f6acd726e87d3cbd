"""The case register as a spreadsheet (案件台账): one row per case, for an export endpoint.

Export only: cases are opened and moved through their procedure by the services, never by
importing a file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.template.defaultfilters import yesno
from django.utils.translation import gettext_lazy

from weibao.core.tabular import Column, Table


def _officers(case: Any) -> str:
    return "、".join(str(officer) for officer in case.officers.all())


def _provisions(case: Any) -> str:
    return "; ".join(str(provision) for provision in case.provisions.all())


def _fines(case: Any) -> str:
    total = sum((i.amount or Decimal(0) for i in case.penalties.all() if i.is_fine), Decimal(0))
    return f"{total:.2f}" if total else ""


def _paid(case: Any) -> str:
    fines = [i for i in case.penalties.all() if i.is_fine]
    return str(yesno(all(i.paid_on is not None for i in fines))) if fines else ""


CASE_COLUMNS = (
    Column("reference", gettext_lazy("case number"), aliases=("案号",), width=18),
    Column(
        "uscc",
        gettext_lazy("unified social credit code"),
        aliases=("统一社会信用代码",),
        getter=lambda c: c.enterprise.uscc,
        width=22,
    ),
    Column(
        "enterprise_name",
        gettext_lazy("unit"),
        aliases=("从业单位",),
        getter=lambda c: c.enterprise.name,
        width=30,
    ),
    Column(
        "jurisdiction",
        gettext_lazy("division code"),
        aliases=("行政区划代码",),
        getter=lambda c: c.enterprise.jurisdiction_id,
    ),
    Column("title", gettext_lazy("cause of action"), aliases=("案由",), width=30),
    Column(
        "status",
        gettext_lazy("status"),
        aliases=("状态",),
        getter=lambda c: c.get_status_display(),
        width=12,
    ),
    Column(
        "origin",
        gettext_lazy("origin"),
        aliases=("来源",),
        getter=lambda c: c.get_origin_display(),
        width=16,
    ),
    Column("proposed_on", gettext_lazy("proposed on"), aliases=("提出日期",), type="date"),
    Column("registered_on", gettext_lazy("registered on"), aliases=("立案日期",), type="date"),
    Column("decided_on", gettext_lazy("decided on"), aliases=("决定日期",), type="date"),
    Column("closed_on", gettext_lazy("closed on"), aliases=("结案日期",), type="date"),
    Column("deadline", gettext_lazy("current deadline"), aliases=("当前期限",), type="date"),
    Column(
        "officers",
        gettext_lazy("handling officers"),
        aliases=("承办人",),
        getter=_officers,
        width=20,
    ),
    Column(
        "provisions",
        gettext_lazy("provisions applied"),
        aliases=("适用条款",),
        getter=_provisions,
        width=30,
    ),
    Column("fines", gettext_lazy("fines (yuan)"), aliases=("罚款金额",), getter=_fines),
    Column("paid", gettext_lazy("fines paid"), aliases=("是否缴纳",), getter=_paid),
)

CASES = Table(
    "cases",
    gettext_lazy("case register"),
    CASE_COLUMNS,
    select_related=("enterprise",),
    prefetch_related=("officers", "provisions", "penalties"),
)
