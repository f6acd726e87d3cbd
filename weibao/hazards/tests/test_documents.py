"""Printed documents (rectification notice, acceptance record) and quarterly hazard statistics."""

from __future__ import annotations

import io
import re
import sys
import zlib
from datetime import date, datetime
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone, translation
from openpyxl import load_workbook
from PIL import Image, ImageDraw

from weibao.core.documents import DocumentsUnavailable, render_document, render_html, render_pdf
from weibao.core.errors import DomainError, ServiceValidationError
from weibao.hazards.choices import HazardLevel
from weibao.hazards.documents import (
    ACCEPTANCE_TEMPLATE,
    NOTICE_TEMPLATE,
    acceptance_record_context,
    acceptance_record_pdf,
    rectification_notice_context,
    rectification_notice_pdf,
)
from weibao.hazards.models import Hazard, HazardEvent, HazardStatus
from weibao.hazards.statistics import (
    STATISTICS_TEMPLATE,
    StatRow,
    quarter_bounds,
    quarterly_statistics,
    statistics_context,
    statistics_pdf,
    statistics_xlsx,
)
from weibao.inspections.models import Inspection
from weibao.registry.models import Enterprise
from weibao.tests.factories import COUNTY_A, EnterpriseFactory, HazardFactory, make_checklist

pytestmark = pytest.mark.django_db

NUMBER = "430405-2025-0007"
ADDRESS = "衡阳市珠晖区东风路1号"


# --- helpers ------------------------------------------------------------------------------------
def pdf_streams(pdf: bytes) -> bytes:
    """Every stream of the PDF, inflated: font names live in compressed object streams."""
    out = []
    for match in re.finditer(rb"stream\r?\n", pdf):
        end = pdf.find(b"endstream", match.end())
        try:
            out.append(zlib.decompressobj().decompress(pdf[match.end() : end]))
        except zlib.error:
            continue
    return pdf + b"".join(out)


def embedded_cjk_fonts(pdf: bytes) -> set[str]:
    data = pdf_streams(pdf)
    names = {
        name.decode("latin-1").split("+")[-1].replace("-", "")
        for name in re.findall(rb"/(?:BaseFont|FontName)\s*/([^\s/<>\[\]()]+)", data)
    }
    assert re.search(rb"/FontFile[23]?\s", data), "no font program is embedded"
    return {n for n in names if "CJK" in n}


def page_text(template: str, context: dict[str, Any]) -> str:
    """The text WeasyPrint placed on the pages (what the PDF shows)."""
    parts: list[str] = []

    def walk(box: Any) -> None:
        if isinstance(getattr(box, "text", None), str):
            parts.append(box.text)
        for child in getattr(box, "children", ()):
            walk(child)

    for page in render_document(template, context).pages:
        walk(page._page_box)
    return "".join(parts)


def png() -> bytes:
    image = Image.new("RGB", (120, 40), "white")
    ImageDraw.Draw(image).line([(5, 30), (40, 8), (70, 32), (115, 10)], fill="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def inspection(world: Any) -> Inspection:
    Enterprise.objects.filter(pk=world.unit_a.pk).update(address=ADDRESS)
    record = Inspection.objects.create(
        kind=Inspection.Kind.ROUTINE,
        enterprise=world.unit_a,
        checklist=make_checklist(),
        agency=world.county_a_bureau,
        created_by=world.county_a,
        status=Inspection.Status.SUBMITTED,
        number=NUMBER,
        inspected_on=date(2025, 3, 4),
        submitted_at=timezone.make_aware(datetime(2025, 3, 4, 16, 0)),
        inspector_names="王警官、赵警官",
        representative_name="李四",
        signature_text="李四",
    )
    for level, text in ((HazardLevel.MAJOR, "库房超量储存"), (HazardLevel.GENERAL, "防盗门损坏")):
        HazardFactory.create(
            enterprise=world.unit_a,
            inspection=record,
            level=level,
            description=text,
            legal_basis="《民用爆炸物品安全管理条例》第四十一条",
            found_on=date(2025, 3, 4),
            deadline=date(2025, 3, 20),
        )
    return record


# --- core -----------------------------------------------------------------------------------------
def test_documents_unavailable_without_weasyprint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # the import now fails, as without Pango
    with pytest.raises(DocumentsUnavailable) as caught:
        render_pdf("documents/base.html", {})
    assert caught.value.status_code == 503
    assert isinstance(caught.value, DomainError)


# --- rectification notice -------------------------------------------------------------------------
def test_rectification_notice_pdf(
    inspection: Inspection, settings: Any, tmp_path: Any, django_assert_num_queries: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    inspection.signature_image.save("signature.png", ContentFile(png()), save=False)
    Inspection.objects.filter(pk=inspection.pk).update(signature_image=inspection.signature_image)

    with translation.override("zh-hans"):
        with django_assert_num_queries(2):  # the inspection, then its hazards
            context = rectification_notice_context(inspection)
            html = render_html(NOTICE_TEMPLATE, context)
        pdf = rectification_notice_pdf(inspection)
        text = page_text(NOTICE_TEMPLATE, context)

    assert pdf.startswith(b"%PDF")
    assert embedded_cjk_fonts(pdf) & {"NotoSerifCJKSC", "NotoSansCJKSC"}
    assert b"/Image" in pdf_streams(pdf)  # the drawn signature
    assert context["signature_uri"].startswith("data:image/png;base64,")
    assert 'lang="zh-hans"' in html
    for expected in (
        "珠晖分局",
        NUMBER,
        "珠晖民爆器材公司",
        inspection.enterprise.uscc,
        ADDRESS,
        "王警官、赵警官",
        "库房超量储存",
        "防盗门损坏",
        "李四",
        "2025-03-20",
    ):
        assert expected in text, expected
    hazards = context["hazards"]
    assert [h.description for h in hazards] == ["库房超量储存", "防盗门损坏"]  # by id
    assert context["has_major"] is True
    assert context["issued_on"] == date(2025, 3, 4)


def test_notice_in_english_uses_the_english_bureau_name(inspection: Inspection) -> None:
    bureau = inspection.agency
    assert bureau is not None
    type(bureau).objects.filter(pk=bureau.pk).update(name_en="Zhuhui Branch")
    with translation.override("en"):
        context = rectification_notice_context(inspection)
        html = render_html(NOTICE_TEMPLATE, context)
    assert context["bureau_name"] == "Zhuhui Branch"
    assert "Notice to rectify within a time limit" in html
    assert "李四" in html  # typed signature when none was drawn
    assert context["signature_uri"] == ""


@pytest.mark.parametrize(
    "change",
    [
        {"status": Inspection.Status.DRAFT},
        {"kind": Inspection.Kind.SELF_INSPECTION},
    ],
)
def test_no_notice_for_a_draft_or_a_self_inspection(
    inspection: Inspection, change: dict[str, str]
) -> None:
    Inspection.objects.filter(pk=inspection.pk).update(**change)
    with pytest.raises(DomainError):
        rectification_notice_pdf(inspection)


def test_no_notice_without_hazards(inspection: Inspection) -> None:
    Hazard.objects.filter(inspection=inspection).delete()
    with pytest.raises(DomainError):
        rectification_notice_context(inspection)


# --- acceptance record ----------------------------------------------------------------------------
@pytest.fixture
def closed_hazard(world: Any) -> Hazard:
    hazard = HazardFactory.create(
        enterprise=world.unit_a,
        level=HazardLevel.GENERAL,
        description="消防器材过期",
        found_on=date(2025, 3, 4),
        deadline=date(2025, 3, 20),
        status=HazardStatus.CLOSED,
        rectification_note="已更换全部灭火器",
        rectified_on=date(2025, 3, 15),
        acceptance_opinion="整改到位，同意销号",
        accepted_by=world.county_a,
        accepted_on=date(2025, 3, 18),
    )
    steps = [
        (HazardEvent.Action.CREATED, world.county_a, datetime(2025, 3, 4, 10, 0)),
        (HazardEvent.Action.SUBMIT_RECTIFICATION, world.unit_a_officer, datetime(2025, 3, 15, 9)),
        (HazardEvent.Action.ACCEPT, world.county_a, datetime(2025, 3, 18, 14, 30)),
    ]
    for action, actor, at in steps:
        HazardEvent.objects.create(
            hazard=hazard, action=action, actor=actor, at=timezone.make_aware(at)
        )
    return hazard


def test_acceptance_record_pdf(
    world: Any, closed_hazard: Hazard, django_assert_num_queries: Any
) -> None:
    with translation.override("en"):
        with django_assert_num_queries(2):  # the hazard with its people, then its timeline
            context = acceptance_record_context(closed_hazard)
            render_html(ACCEPTANCE_TEMPLATE, context)
        pdf = acceptance_record_pdf(closed_hazard)
        text = page_text(ACCEPTANCE_TEMPLATE, context)

    assert pdf.startswith(b"%PDF")
    assert embedded_cjk_fonts(pdf)
    for expected in (
        closed_hazard.reference,
        "珠晖民爆器材公司",
        "消防器材过期",
        "已更换全部灭火器",
        "整改到位，同意销号",
        str(world.county_a),
        str(world.unit_a_officer),
        "Accepted and closed",
        "2025-03-18 14:30",
    ):
        assert expected in text, expected
    assert [e["action"] for e in context["timeline"]] == [
        "Recorded",
        "Rectification handed in",
        "Accepted and closed",
    ]
    assert context["accepted_by_name"] == str(world.county_a)


def test_no_acceptance_record_before_closing(world: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a, status=HazardStatus.AWAITING_ACCEPTANCE)
    with pytest.raises(DomainError):
        acceptance_record_pdf(hazard)


# --- quarterly statistics -------------------------------------------------------------------------
def test_quarter_bounds() -> None:
    assert quarter_bounds(2025, 1) == (date(2025, 1, 1), date(2025, 3, 31))
    assert quarter_bounds(2024, 4) == (date(2024, 10, 1), date(2024, 12, 31))


@pytest.mark.parametrize(
    ("year", "quarter", "field"),
    [(2025, 5, "quarter"), (2025, 0, "quarter"), (1999, 1, "year"), (9999, 1, "year")],
)
def test_bad_quarter_is_refused(year: int, quarter: int, field: str) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        quarter_bounds(year, quarter)
    assert set(caught.value.message_dict) == {field}


def hazard(unit: Enterprise, found: date, deadline: date, **extra: Any) -> Hazard:
    return HazardFactory.create(enterprise=unit, found_on=found, deadline=deadline, **extra)


@pytest.fixture
def ledger(world: Any) -> Enterprise:
    """Hazards of 2025 Q1 (see the expected figures in the tests); returns a third unit whose
    only hazard was closed long before."""
    a, b = world.unit_a, world.unit_b
    closed, general, major = HazardStatus.CLOSED, HazardLevel.GENERAL, HazardLevel.MAJOR
    # unit A: closed on time; closed late; still open and overdue
    hazard(a, date(2025, 1, 10), date(2025, 1, 20), status=closed, level=general,
           rectified_on=date(2025, 1, 15), accepted_on=date(2025, 1, 18))  # fmt: skip
    hazard(a, date(2025, 2, 1), date(2025, 2, 20), status=closed, level=major,
           rectified_on=date(2025, 3, 1), accepted_on=date(2025, 3, 5))  # fmt: skip
    hazard(a, date(2025, 3, 10), date(2025, 3, 20), level=general)
    # unit A: found the quarter before, handed in and closed only after this one: open, overdue
    hazard(a, date(2024, 12, 1), date(2024, 12, 20), status=closed, level=general,
           rectified_on=date(2025, 4, 5), accepted_on=date(2025, 4, 10))  # fmt: skip
    # unit A: found after the quarter; cancelled (recorded in error): neither counts
    hazard(a, date(2025, 4, 2), date(2025, 4, 20), level=major)
    hazard(a, date(2025, 2, 2), date(2025, 2, 20), status=HazardStatus.CANCELLED)
    # unit B: handed in, deadline after the quarter; handed in on time, accepted after it
    hazard(b, date(2025, 2, 15), date(2025, 4, 30), status=HazardStatus.AWAITING_ACCEPTANCE,
           level=major, rectified_on=date(2025, 3, 30))  # fmt: skip
    hazard(b, date(2025, 1, 5), date(2025, 2, 1), status=closed, level=general,
           rectified_on=date(2025, 1, 25), accepted_on=date(2025, 4, 3))  # fmt: skip
    # a third unit with nothing to report this quarter
    quiet = EnterpriseFactory.create(jurisdiction_id=COUNTY_A)
    hazard(quiet, date(2024, 5, 1), date(2024, 5, 20), status=closed,
           rectified_on=date(2024, 5, 10), accepted_on=date(2024, 5, 12))  # fmt: skip
    return quiet


def figures(row: StatRow) -> tuple[int, ...]:
    return (
        row.found_total,
        row.found_general,
        row.found_major,
        row.closed,
        row.closed_on_time,
        row.open_at_end,
        row.overdue_at_end,
    )


def test_quarterly_statistics(
    world: Any, ledger: Enterprise, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        rows = quarterly_statistics(user=world.city, year=2025, quarter=1)
    *units, total = rows
    assert [r.enterprise_id for r in units] == [world.unit_a.pk, world.unit_b.pk]
    unit_a, unit_b = units
    assert (unit_a.name, unit_a.uscc, unit_a.jurisdiction_code) == (
        world.unit_a.name,
        world.unit_a.uscc,
        COUNTY_A,
    )
    assert figures(unit_a) == (3, 2, 1, 2, 1, 2, 2)
    assert figures(unit_b) == (2, 1, 1, 0, 0, 2, 0)
    assert total.is_total and total.enterprise_id is None
    assert figures(total) == (5, 3, 2, 2, 1, 4, 2)
    assert unit_a.rectification_rate == pytest.approx(2 / 3)
    assert unit_b.rectification_rate == 0
    assert ledger.pk not in {r.enterprise_id for r in rows}


def test_statistics_are_scoped(world: Any, ledger: Enterprise) -> None:
    county_b = quarterly_statistics(user=world.county_b, year=2025, quarter=1)
    assert [r.enterprise_id for r in county_b] == [world.unit_b.pk, None]
    own = quarterly_statistics(user=world.unit_a_officer, year=2025, quarter=1)
    assert [r.enterprise_id for r in own] == [world.unit_a.pk, None]
    # Asking for another county's unit finds nothing rather than revealing it.
    other = quarterly_statistics(
        user=world.county_b, year=2025, quarter=1, enterprise_id=world.unit_a.pk
    )
    assert [r.enterprise_id for r in other] == [None]
    assert figures(other[0]) == (0,) * 7
    one = quarterly_statistics(user=world.city, year=2025, quarter=1, enterprise_id=world.unit_b.pk)
    assert figures(one[-1]) == (2, 1, 1, 0, 0, 2, 0)
    with pytest.raises(ServiceValidationError):
        quarterly_statistics(user=world.city, year=2025, quarter=7)


def test_statistics_xlsx(world: Any, ledger: Enterprise) -> None:
    rows = quarterly_statistics(user=world.city, year=2025, quarter=1)
    with translation.override("en"):
        data = statistics_xlsx(rows, 2025, 1)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert "2025" in str(sheet["A1"].value)
    assert sheet.freeze_panes == "A3"
    header = [c.value for c in sheet[2]]
    assert header[:4] == ["Unit", "Unified social credit code", "Division code", "Hazards found"]
    assert len(header) == 11
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert [v[0] for v in values] == [world.unit_a.name, world.unit_b.name, "Total"]
    assert values[-1][3:8] == [5, 3, 2, 2, 1]
    assert values[-1][9:] == [4, 2]
    assert sheet.cell(row=5, column=1).font.bold

    with translation.override("zh-hans"):
        chinese = load_workbook(io.BytesIO(statistics_xlsx(rows, 2025, 1))).active
    assert chinese is not None
    assert re.search(r"[\u4e00-\u9fff]", str(chinese["A2"].value))


def test_statistics_xlsx_keeps_formula_like_names_as_text() -> None:
    row = StatRow(enterprise_id=1, name='=HYPERLINK("http://x")', uscc="", jurisdiction_code="")
    sheet = load_workbook(io.BytesIO(statistics_xlsx([row], 2025, 1))).active
    assert sheet is not None
    assert sheet["A3"].data_type == "s"


def test_statistics_pdf(world: Any, ledger: Enterprise) -> None:
    rows = quarterly_statistics(user=world.unit_a_officer, year=2025, quarter=1)
    with translation.override("en"):
        pdf = statistics_pdf(rows, 2025, 1, title_unit=world.unit_a.name)
        text = page_text(STATISTICS_TEMPLATE, statistics_context(rows, 2025, 1, world.unit_a.name))
    assert pdf.startswith(b"%PDF")
    assert embedded_cjk_fonts(pdf)
    for expected in (
        world.unit_a.name,
        world.unit_a.uscc,
        "Total",
        "66.7%",
        "Principal (signature):",
    ):
        assert expected in text, expected
