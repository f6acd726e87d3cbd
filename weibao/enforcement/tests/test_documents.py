"""The documents a case issues (立案审批表, 行政处罚告知书, 行政处罚决定书, 卷宗封面及目录):
what they show, in which language, their checksums, and that they stay as issued."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation

from weibao.accounts.models import Agency
from weibao.core.documents import render_document
from weibao.core.errors import DomainError
from weibao.enforcement import documents, services
from weibao.enforcement.models import Case, CaseDocument
from weibao.hazards.choices import HazardLevel
from weibao.hazards.tests.test_documents import embedded_cjk_fonts
from weibao.inspections.models import Inspection
from weibao.registry.models import Enterprise
from weibao.tests.factories import (
    HazardFactory,
    PersonFactory,
    case_at,
    make_checklist,
    provision,
)

pytestmark = pytest.mark.django_db

Kind = CaseDocument.Kind
ADDRESS = "衡阳市珠晖区东风路1号"
FACTS = "经查，该单位1号库房超量储存，经责令限期整改后逾期仍未整改。"
AMENDED = "经补充调查，该单位1号库房超量储存工业炸药500千克，逾期仍未整改。"
# One query for the case with its unit and bureau, one per list it shows (officers, provisions,
# penalties, persons, hazards, inspections, documents), one to store the document.
ISSUE_QUERIES = 9


@dataclass
class Issued:
    text: str  # the text laid out on the pages of exactly the PDF that was stored
    pdf: bytes
    document: CaseDocument | None = None
    queries: int = 0


def laid_out_text(laid_out: Any) -> str:
    parts: list[str] = []

    def walk(box: Any) -> None:
        if isinstance(getattr(box, "text", None), str):
            parts.append(box.text)
        for child in getattr(box, "children", ()):
            walk(child)

    for page in laid_out.pages:
        walk(page._page_box)
    return "".join(parts)


@pytest.fixture
def issued(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any) -> dict[str, Issued]:
    """Every document the services issue through `documents.issue`, by kind: the text on its
    pages (read from the same layout whose PDF is stored, so no second rendering), the PDF and
    the number of queries `issue` ran."""
    settings.MEDIA_ROOT = tmp_path
    records: dict[str, Issued] = {}
    real_issue = documents.issue
    pending: list[Issued] = []

    def render(template: str, context: dict[str, Any]) -> bytes:
        laid_out = render_document(template, context)
        pdf: bytes = laid_out.write_pdf()
        pending.append(Issued(text=laid_out_text(laid_out), pdf=pdf))
        return pdf

    def issue(**kwargs: Any) -> CaseDocument:
        with CaptureQueriesContext(connection) as queries:
            document = real_issue(**kwargs)
        record = pending.pop()
        record.document, record.queries = document, len(queries)
        records[document.kind] = record
        return document

    monkeypatch.setattr(documents, "render_pdf", render)
    monkeypatch.setattr(documents, "issue", issue)
    return records


def stored(document: CaseDocument) -> bytes:
    with document.file.open("rb") as stream:
        data: bytes = stream.read()
    return data


def day(value: date | None) -> str:
    assert value is not None
    return formats.date_format(value, "DATE_FORMAT")


def squeezed(text: str) -> str:
    """Without white space: a line break drops the space between two English words (and a
    Chinese sentence has none to drop), so phrases are compared without it."""
    return re.sub(r"\s+", "", text)


def assert_in(text: str, *expected: str) -> None:
    for value in expected:
        assert squeezed(value) in squeezed(text), value


# --- the whole file of a case, in Chinese -----------------------------------------------------
def test_case_documents_in_chinese_are_stored_as_issued(
    world: Any, issued: dict[str, Issued]
) -> None:
    unit = world.unit_a
    Enterprise.objects.filter(pk=unit.pk).update(address=ADDRESS)
    hazards = [
        HazardFactory.create(
            enterprise=unit, level=HazardLevel.MAJOR, description="库房超量储存",
            found_on=date(2025, 3, 4), deadline=date(2025, 3, 20),
        ),
        HazardFactory.create(
            enterprise=unit, description="防盗门损坏",
            found_on=date(2025, 3, 4), deadline=date(2025, 3, 25),
        ),
    ]  # fmt: skip
    inspection = Inspection.objects.create(
        kind=Inspection.Kind.ROUTINE,
        enterprise=unit,
        checklist=make_checklist(),
        agency=world.county_a_bureau,
        created_by=world.county_a,
        status=Inspection.Status.SUBMITTED,
        number="JC-2025-0042",
        inspected_on=date(2025, 3, 4),
    )
    persons = [
        PersonFactory.create(enterprise=unit, name="李库管"),
        PersonFactory.create(enterprise=unit, name="王安全"),
    ]
    evidence = [
        {
            "rule": "major_overdue",
            "hazard_id": hazards[0].pk,
            "reference": hazards[0].reference,
            "description": "库房超量储存",
            "level": "major",
            "status": "open",
            "deadline": "2025-03-20",
            "overdue_days": 12,
        }
    ]
    actor = world.county_a
    case = case_at(world, "proposed", origin=Case.Origin.ESCALATION, evidence=evidence, facts=FACTS)
    services.case_update(
        actor=actor,
        case=case,
        data={"hazards": hazards, "inspections": [inspection], "persons": persons},
    )
    with translation.override("zh-hans"):
        case = services.case_register(actor=actor, case=case)
        # Still being built: the facts change after registration; the form already issued keeps
        # the facts it was issued with, the notice shows the new ones.
        services.case_update(actor=actor, case=case, data={"facts": AMENDED})
        services.case_investigate(actor=actor, case=case)
        item = {"provision": provision(), "kind": "fine", "amount": Decimal("30000")}
        case = services.case_notify(actor=actor, case=case, items=[item])
        waiver = SimpleUploadedFile("waiver.pdf", b"%PDF-1.4\n%%EOF\n")
        services.case_record_defence(actor=actor, case=case, waived=True, files=[waiver])
        case = services.case_decide(actor=actor, case=case)
        services.case_record_payment(
            actor=actor,
            case=case,
            item=case.penalties.get(),
            paid_on=timezone.localdate(),
            receipt_number="FS-0001",
        )
        services.case_execute(actor=actor, case=case)
        case = services.case_close(actor=actor, case=case)
        case.refresh_from_db()
        dates = {
            "registered": day(case.registered_on),
            "defence": day(case.defence_deadline),
            "hearing": day(case.hearing_deadline),
            "payment": day(case.payment_due),
        }

    assert list(issued) == [
        Kind.REGISTRATION_APPROVAL,
        Kind.PENALTY_NOTICE,
        Kind.PENALTY_DECISION,
        Kind.FILE_COVER,
    ]
    number = case.number
    assert number
    suffixes: dict[str, str] = {
        Kind.REGISTRATION_APPROVAL: "LA",
        Kind.PENALTY_NOTICE: "GZ",
        Kind.PENALTY_DECISION: "JD",
        Kind.FILE_COVER: "FM",
    }
    originals: dict[str, bytes] = {}
    for kind, record in issued.items():
        document = record.document
        assert document is not None
        assert document.number == f"{number}-{suffixes[kind]}"
        assert document.name.endswith(f"{document.number}.pdf")
        assert document.generated and document.issued_by == actor
        assert document.content_type == "application/pdf"
        data = stored(document)
        assert data == record.pdf and data.startswith(b"%PDF")
        assert document.size == len(data)
        assert document.sha256 == hashlib.sha256(data).hexdigest()
        assert record.queries == ISSUE_QUERIES, kind  # two hazards, two persons: still fixed
        assert_in(record.text, document.number, unit.name, "珠晖分局", "统一社会信用代码")
        originals[kind] = data
    assert embedded_cjk_fonts(issued[Kind.REGISTRATION_APPROVAL].pdf)

    registration = issued[Kind.REGISTRATION_APPROVAL].text
    assert_in(
        registration,
        "未采取措施消除事故隐患",  # the cause
        unit.uscc,
        ADDRESS,
        "张三",  # the principal
        "李库管",
        "王安全",
        FACTS,
        hazards[0].reference,
        "库房超量储存",
        "2025-03-20",
        hazards[1].reference,
        "防盗门损坏",
        "待整改",  # the hazard's status
        "JC-2025-0042",
        "重大隐患",  # the escalation evidence: level of the overdue hazard
        "第一百零二条",
        str(world.county_a),
        str(world.county_a2),
        dates["registered"],
    )
    assert AMENDED not in registration

    notice = issued[Kind.PENALTY_NOTICE].text
    assert_in(notice, AMENDED, "30,000.00", "第一百零二条", dates["defence"], dates["hearing"])
    assert FACTS not in notice

    decision = issued[Kind.PENALTY_DECISION].text
    assert_in(decision, AMENDED, "30,000.00", dates["payment"], "waiver.pdf", "JC-2025-0042")

    cover = issued[Kind.FILE_COVER].text
    index_order = [
        f"{number}-LA",
        f"{number}-GZ",
        "waiver.pdf",  # the uploaded written waiver, in the order it entered the file
        f"{number}-JD",
    ]
    positions = [cover.index(value) for value in index_order]
    assert positions == sorted(positions)
    assert cover.count(f"{number}-FM") == 1  # its own number; the index lists the others
    assert_in(cover, dates["registered"], "30,000.00", str(world.county_a2))

    # Later changes to the case or its unit never touch a document already issued.
    Case.objects.filter(pk=case.pk).update(facts="改写的事实", title="改写的案由")
    Enterprise.objects.filter(pk=unit.pk).update(name="改名后的公司")
    for kind, data in originals.items():
        document = CaseDocument.objects.get(case=case, kind=kind)
        assert stored(document) == data
        assert document.sha256 == hashlib.sha256(data).hexdigest()

    # …and none is issued a second time.
    count = CaseDocument.objects.count()
    with pytest.raises(DomainError):
        documents.issue(case=case, kind=Kind.PENALTY_DECISION, actor=actor)
    assert CaseDocument.objects.count() == count


# --- in English --------------------------------------------------------------------------------
def test_case_documents_in_english(world: Any, issued: dict[str, Issued], settings: Any) -> None:
    settings.CASE_DOCUMENT_LANGUAGE = "en"  # a deployment that issues English documents
    Agency.objects.filter(pk=world.county_a_bureau.pk).update(name_en="Zhuhui Branch")
    with translation.override("en"):
        case = case_at(world, "decided", fine="45000")
        dates = {
            "defence": day(case.defence_deadline),
            "hearing": day(case.hearing_deadline),
            "payment": day(case.payment_due),
        }
    assert case.hearing_available  # 45,000 yuan on a unit entitles it to a hearing

    registration = issued[Kind.REGISTRATION_APPROVAL].text
    assert_in(
        registration,
        "Registration approval form",
        "Zhuhui Branch",
        "Work Safety Law of the PRC (2021 amendment)",
        "Failing to remove a hazard",
        "Opened by an officer",
    )
    assert "珠晖分局" not in registration

    notice = issued[Kind.PENALTY_NOTICE].text
    assert_in(
        notice,
        f"{case.number}-GZ",
        "Notice of intended penalty",
        world.unit_a.name,
        "Fine on the unit",
        "45,000.00",
        "right to state its case",
        dates["defence"],
        "right to request a hearing",
        dates["hearing"],
    )

    decision = issued[Kind.PENALTY_DECISION].text
    assert_in(
        decision,
        f"{case.number}-JD",
        "Penalty decision",
        "45,000.00",
        dates["payment"],
        "waived in writing",
        "administrative review",
        "within 60 days",
        "administrative lawsuit",
        "within 6 months",
        "Zhuhui Branch",
    )
    document = issued[Kind.PENALTY_DECISION].document
    assert document is not None
    assert document.name == f"Penalty decision {case.number}-JD.pdf"


# --- the escalation evidence prints whatever the job wrote ---------------------------------------
def test_evidence_rows_are_defensive() -> None:
    evidence = [
        {
            "rule": "extended_overdue",
            "hazard_id": 5,
            "reference": "YH2025-000005",
            "level": "major",
            "status": "rectifying",
            "deadline": "2025-03-20",
            "empty": None,
            "hazards": ["YH2025-000006", "YH2025-000007"],
            "extra": {"b": 2, "a": 1},
        },
        "a note the job wrote as text",
        7,
    ]
    with translation.override("en"):
        rows = documents.evidence_rows(evidence)
        unknown = documents.evidence_rows({"rule": "rule_of_the_future", "late_by": 3})
    assert rows[0] == {
        "heading": "Overdue after an extension",
        "details": [
            ("Reference", "YH2025-000005"),
            ("Level", "Major hazard"),
            ("Status", "Rectifying"),
            ("Deadline", "2025-03-20"),
            ("hazards", "YH2025-000006, YH2025-000007"),
            ("extra", '{"a": 1, "b": 2}'),
        ],
    }
    assert rows[1:] == [
        {"heading": "a note the job wrote as text", "details": []},
        {"heading": "7", "details": []},
    ]
    assert unknown == [{"heading": "rule_of_the_future", "details": [("late by", "3")]}]
    assert documents.evidence_rows(None) == documents.evidence_rows([]) == []
