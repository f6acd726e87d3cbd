"""The hazard ledger as a spreadsheet (隐患台账): the columns of `GET /api/v1/hazards/export/`.

Export only: hazards enter the ledger through inspections and the life-cycle services, never by
importing a file, so no column needs aliases for reading back.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from django.template.defaultfilters import yesno
from django.utils.translation import gettext_lazy

from weibao.core.tabular import Column, Table


def _name_or_blank(path: str) -> Any:
    def get(obj: Any) -> str:
        try:
            value = attrgetter(path)(obj)
        except AttributeError:  # the related row is optional (None on the way)
            return ""
        return str(value) if value is not None else ""

    return get


HAZARD_COLUMNS = (
    Column("reference", gettext_lazy("reference"), aliases=("隐患编号",), width=14),
    Column(
        "uscc",
        gettext_lazy("unified social credit code"),
        aliases=("统一社会信用代码",),
        getter=attrgetter("enterprise.uscc"),
        width=22,
    ),
    Column(
        "enterprise_name",
        gettext_lazy("unit"),
        aliases=("从业单位",),
        getter=attrgetter("enterprise.name"),
        width=30,
    ),
    Column(
        "jurisdiction",
        gettext_lazy("division code"),
        aliases=("行政区划代码",),
        getter=attrgetter("enterprise.jurisdiction_id"),
    ),
    Column("site", gettext_lazy("site"), aliases=("场所",), getter=_name_or_blank("site.name")),
    Column(
        "source",
        gettext_lazy("source"),
        aliases=("隐患来源",),
        getter=lambda h: h.get_source_display(),
        width=14,
    ),
    Column(
        "level",
        gettext_lazy("level"),
        aliases=("隐患等级",),
        getter=lambda h: h.get_level_display(),
    ),
    Column(
        "category",
        gettext_lazy("category"),
        aliases=("隐患类别",),
        getter=lambda h: h.get_category_display(),
        width=20,
    ),
    Column("description", gettext_lazy("description"), aliases=("隐患描述",), width=40),
    Column("legal_basis", gettext_lazy("legal basis"), aliases=("依据",), width=30),
    Column("found_on", gettext_lazy("found on"), aliases=("发现日期",), type="date", width=12),
    Column("deadline", gettext_lazy("deadline"), aliases=("整改期限",), type="date", width=12),
    Column(
        "status",
        gettext_lazy("status"),
        aliases=("状态",),
        getter=lambda h: h.get_status_display(),
        width=12,
    ),
    Column(
        "overdue",
        gettext_lazy("overdue"),
        aliases=("是否逾期",),
        getter=lambda h: yesno(h.is_overdue),
    ),
    Column(
        "responsible_person",
        gettext_lazy("responsible person"),
        aliases=("整改责任人",),
        getter=_name_or_blank("responsible_person.name"),
    ),
    Column("extension_count", gettext_lazy("extensions"), aliases=("延期次数",)),
    Column(
        "rectified_on",
        gettext_lazy("rectification handed in on"),
        aliases=("整改完成日期",),
        type="date",
        width=12,
    ),
    Column(
        "accepted_on", gettext_lazy("accepted on"), aliases=("验收日期",), type="date", width=12
    ),
    Column(
        "accepted_by",
        gettext_lazy("accepted by"),
        aliases=("验收人",),
        getter=_name_or_blank("accepted_by"),
    ),
)

HAZARDS = Table(
    "hazards",
    gettext_lazy("hazard ledger"),
    HAZARD_COLUMNS,
    select_related=("enterprise", "site", "responsible_person", "accepted_by"),
)
