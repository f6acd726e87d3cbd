"""The registry's spreadsheet columns: units, permits, sites, people and certificates.

Exports and import templates share them, so an exported file imports again.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from django.template.defaultfilters import yesno
from django.utils.translation import gettext_lazy

from weibao.core.tabular import (
    Column,
    Table,
)
from weibao.registry.models import (
    Person,
)
from weibao.registry.validators import make_uscc


# --- columns --------------------------------------------------------------------------------------
def _unit_uscc() -> Column:
    """The unit a permit, site or person belongs to, named by its USCC."""
    return Column(
        "uscc",
        gettext_lazy("unified social credit code"),
        aliases=("统一社会信用代码", "USCC", "enterprise_uscc"),
        required=True,
        getter=attrgetter("enterprise.uscc"),
        example=make_uscc("430405", 900000001),
        width=22,
    )


UNIT_NAME = Column(
    "enterprise_name",
    gettext_lazy("unit"),
    aliases=("从业单位", "单位名称", "enterprise"),
    getter=attrgetter("enterprise.name"),
    importable=False,
    width=30,
)


def _location() -> tuple[Column, ...]:
    return (
        Column("latitude", gettext_lazy("latitude"), aliases=("纬度",), example="26.893"),
        Column("longitude", gettext_lazy("longitude"), aliases=("经度",), example="112.617"),
    )


UNIT_COLUMNS = (
    Column(
        "uscc",
        gettext_lazy("unified social credit code"),
        aliases=("统一社会信用代码", "USCC"),
        required=True,
        example=make_uscc("430405", 900000001),
        width=22,
    ),
    Column(
        "name",
        gettext_lazy("name"),
        aliases=("名称", "单位名称", "unit name"),
        required=True,
        example="衡阳示例民爆器材有限公司",
        width=30,
    ),
    Column(
        "kinds",
        gettext_lazy("kinds"),
        aliases=("经营类别",),
        required=True,
        getter=lambda u: u.get_kinds_display(),
        example="民用爆炸物品销售、民用爆炸物品储存",
        width=30,
    ),
    Column(
        "jurisdiction",
        gettext_lazy("division code"),
        aliases=("行政区划代码", "区划代码"),
        required=True,
        getter=attrgetter("jurisdiction_id"),
        example="430405",
    ),
    Column(
        "jurisdiction_name",
        gettext_lazy("jurisdiction name"),
        aliases=("辖区名称",),
        getter=attrgetter("jurisdiction.display_name"),
        importable=False,
    ),
    Column(
        "address",
        gettext_lazy("address"),
        aliases=("地址",),
        example="衡阳市珠晖区示例路1号",
        width=30,
    ),
    *_location(),
    Column(
        "principal", gettext_lazy("principal"), aliases=("主要负责人", "负责人"), example="张三"
    ),
    Column(
        "phone",
        gettext_lazy("phone"),
        aliases=("联系电话", "电话"),
        example="0734-8000000",
        width=14,
    ),
    Column(
        "status",
        gettext_lazy("status"),
        aliases=("状态",),
        getter=lambda u: u.get_status_display(),
        example="正常",
    ),
)

PERMIT_COLUMNS = (
    _unit_uscc(),
    UNIT_NAME,
    Column(
        "kind",
        gettext_lazy("kind"),
        aliases=("类型", "许可证类型", "permit kind"),
        required=True,
        getter=lambda p: p.get_kind_display(),
        example="民用爆炸物品销售许可证",
        width=26,
    ),
    Column(
        "number",
        gettext_lazy("number"),
        aliases=("编号", "许可证编号", "permit number"),
        required=True,
        example="湘民爆销字〔2025〕0001号",
        width=24,
    ),
    Column(
        "scope",
        gettext_lazy("scope"),
        aliases=("许可范围",),
        example="工业炸药、工业雷管",
        width=24,
    ),
    Column(
        "issued_on",
        gettext_lazy("issued on"),
        aliases=("发证日期",),
        required=True,
        type="date",
        example="2025-01-01",
        width=12,
    ),
    Column(
        "expires_on",
        gettext_lazy("expires on"),
        aliases=("到期日期", "有效期至"),
        required=True,
        type="date",
        example="2028-01-01",
        width=12,
    ),
    Column(
        "state",
        gettext_lazy("state"),
        aliases=("状态",),
        getter=lambda p: p.get_state_display(),
        importable=False,
    ),
)


def _certificates_summary(person: Person) -> list[str]:
    return [
        f"{c.get_kind_display()} {c.number}"
        + (f" ({c.expires_on:%Y-%m-%d})" if c.expires_on else "")
        for c in person.certificates.all()
    ]


IDENTITY_NUMBER = Column(
    "identity_number",
    gettext_lazy("identity number"),
    aliases=("公民身份号码", "身份证号", "身份证号码"),
    required=True,
    getter=attrgetter("masked_identity_number"),
    example="430421198503140018",
    width=22,
)

PEOPLE_COLUMNS = (
    _unit_uscc(),
    UNIT_NAME,
    Column(
        "name",
        gettext_lazy("full name"),
        aliases=("姓名", "name"),
        required=True,
        example="李四",
        width=10,
    ),
    IDENTITY_NUMBER,
    Column(
        "post",
        gettext_lazy("post"),
        aliases=("岗位",),
        required=True,
        getter=lambda p: p.get_post_display(),
        example="爆破员",
    ),
    Column(
        "appointed_on",
        gettext_lazy("appointed on"),
        aliases=("任职日期",),
        type="date",
        example="2024-03-01",
        width=12,
    ),
    Column(
        "phone",
        gettext_lazy("phone"),
        aliases=("联系电话", "电话"),
        example="13800000000",
        width=14,
    ),
    Column(
        "is_active",
        gettext_lazy("in post"),
        aliases=("在岗",),
        getter=lambda p: yesno(p.is_active),
        importable=False,
    ),
    Column(
        "certificates",
        gettext_lazy("certificates"),
        aliases=("证书",),
        getter=_certificates_summary,
        importable=False,
        width=36,
    ),
    Column(
        "certificate_kind",
        gettext_lazy("certificate kind"),
        aliases=("证书类型",),
        exported=False,
        example="爆破员证",
        width=16,
    ),
    Column(
        "certificate_number",
        gettext_lazy("certificate number"),
        aliases=("证书编号",),
        exported=False,
        example="BP2024000001",
        width=16,
    ),
    Column(
        "certificate_issued_on",
        gettext_lazy("certificate issued on"),
        aliases=("证书发证日期",),
        type="date",
        exported=False,
        example="2024-01-15",
        width=14,
    ),
    Column(
        "certificate_expires_on",
        gettext_lazy("certificate expires on"),
        aliases=("证书到期日期", "证书有效期至"),
        type="date",
        exported=False,
        example="2028-01-14",
        width=14,
    ),
)

SITE_COLUMNS = (
    _unit_uscc(),
    UNIT_NAME,
    Column("name", gettext_lazy("name"), aliases=("名称",), width=20),
    Column("kind", gettext_lazy("kind"), aliases=("类型",), getter=lambda x: x.get_kind_display()),
    Column("address", gettext_lazy("address"), aliases=("地址",), width=30),
    *_location(),
    Column("capacity_kg", gettext_lazy("design capacity (kg of explosive)"), width=16),
    Column("capacity_detonators", gettext_lazy("design capacity (detonators)"), width=16),
    Column("security_notes", gettext_lazy("security notes"), width=30),
)

CERTIFICATE_COLUMNS = (
    Column(
        "uscc",
        gettext_lazy("unified social credit code"),
        getter=attrgetter("person.enterprise.uscc"),
    ),
    Column(
        "enterprise_name",
        gettext_lazy("unit"),
        getter=attrgetter("person.enterprise.name"),
        width=30,
    ),
    Column("person", gettext_lazy("person"), getter=attrgetter("person.name")),
    Column("kind", gettext_lazy("kind"), getter=lambda c: c.get_kind_display(), width=26),
    Column("number", gettext_lazy("number"), width=16),
    Column("issued_on", gettext_lazy("issued on"), width=12),
    Column("expires_on", gettext_lazy("expires on"), width=12),
    Column("state", gettext_lazy("state"), getter=lambda c: c.get_state_display()),
)


class PeopleTable(Table):
    def export_columns(self, user: Any) -> Sequence[Column]:
        """Identity numbers whole only for those allowed to see them (masked otherwise)."""
        columns = list(super().export_columns(user))
        if user.has_perm("registry.view_identity_number"):
            whole = Column(
                IDENTITY_NUMBER.key,
                IDENTITY_NUMBER.label,
                aliases=IDENTITY_NUMBER.aliases,
                width=IDENTITY_NUMBER.width,
            )
            columns = [whole if c is IDENTITY_NUMBER else c for c in columns]
        return columns


UNITS = Table("units", gettext_lazy("units"), UNIT_COLUMNS, select_related=("jurisdiction",))
PERMITS = Table("permits", gettext_lazy("permits"), PERMIT_COLUMNS, select_related=("enterprise",))
SITES = Table("sites", gettext_lazy("sites"), SITE_COLUMNS, select_related=("enterprise",))
PEOPLE = PeopleTable(
    "people",
    gettext_lazy("people"),
    PEOPLE_COLUMNS,
    select_related=("enterprise",),
    prefetch_related=("certificates",),
)
CERTIFICATES = Table(
    "certificates",
    gettext_lazy("certificates"),
    CERTIFICATE_COLUMNS,
    select_related=("person__enterprise",),
)
