"""Registry imports and exports: every row or none, per-row reports, scope, templates."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from weibao.core.errors import ServiceValidationError
from weibao.core.models import AuditEntry
from weibao.registry import services
from weibao.registry.imports import ImportRejected, import_file
from weibao.registry.models import Certificate, Enterprise, Permit, Person
from weibao.registry.validators import make_identity_number, make_uscc
from weibao.tests.factories import (
    COUNTY_A,
    COUNTY_B,
    CertificateFactory,
    EnterpriseFactory,
    PermitFactory,
    PersonFactory,
    SiteFactory,
    World,
)

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNIT_HEADER = ["统一社会信用代码", "名称", "经营类别", "行政区划代码", "地址", "纬度", "经度"]


def xlsx(rows: Sequence[Sequence[Any]], *, merge: str = "") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def unit_row(serial: int, county: str = COUNTY_A, **overrides: Any) -> list[Any]:
    values = {
        "uscc": make_uscc(county, serial),
        "name": f"导入测试{serial}号公司",
        "kinds": "民用爆炸物品销售、民用爆炸物品储存",
        "jurisdiction": county,
        "address": "衡阳市珠晖区测试路",
        "latitude": 26.89,
        "longitude": 112.61,
        **overrides,
    }
    return list(values.values())


def counts() -> tuple[int, ...]:
    return (
        Enterprise.objects.count(),
        Permit.objects.count(),
        Person.objects.count(),
        Certificate.objects.count(),
        AuditEntry.objects.count(),
    )


def post(client: Any, kind: str, content: bytes, name: str = "file.xlsx", **extra: Any) -> Any:
    return client.post(
        reverse("api:import", args=[kind]),
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
        **extra,
    )


def refused(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:weibao:problem:import-rejected"
    assert len(body["errors"]) >= 1
    rows: list[dict[str, Any]] = body["rows"]
    return rows


def sheet_rows(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# --- imports that succeed -------------------------------------------------------------------------
class TestUnitImport:
    def test_chinese_headers_and_labels(self, world: World, api: Any) -> None:
        before = AuditEntry.objects.count()
        content = xlsx([UNIT_HEADER, unit_row(101), unit_row(102, kinds="blasting")])
        response = post(api(world.county_a), "enterprises", content)
        assert response.status_code == 201, response.content
        assert response.json() == {"created": 2}
        unit = Enterprise.objects.get(uscc=make_uscc(COUNTY_A, 101))
        assert unit.kinds == "explosives_sale,explosives_storage"
        assert unit.status == "active"
        assert str(unit.latitude) == "26.890000"
        # Through the services: each unit has its history, under the importer's name.
        entries = AuditEntry.objects.filter(seq__gt=0).count() - before
        assert entries == 2
        assert AuditEntry.objects.filter(
            object_type="registry.enterprise", object_id=str(unit.pk), actor_id=world.county_a.pk
        ).exists()

    @pytest.mark.parametrize(
        "header",
        [
            ["uscc", "name", "kinds", "jurisdiction", "status"],
            ["Unified social credit code", "Name", "KINDS", "Division  code", "Status"],
            [" 统一社会信用代码 ", "名称", "经营类别", "行政区划代码", "状态"],
        ],
    )
    def test_english_headers_keys_and_labels(
        self, world: World, api: Any, header: list[str]
    ) -> None:
        rows = [
            header,
            [make_uscc(COUNTY_A, 201), "甲", "Blasting contractor; explosives_sale", COUNTY_A, ""],
            [
                make_uscc(COUNTY_A, 202),
                "乙",
                "fireworks_retail fireworks_wholesale",
                "430405 珠晖区",
                "Suspended",
            ],
        ]
        response = post(api(world.county_a), "enterprises", xlsx(rows))
        assert response.status_code == 201, response.content
        second = Enterprise.objects.get(uscc=make_uscc(COUNTY_A, 202))
        assert second.kinds == "fireworks_retail,fireworks_wholesale"
        assert second.status == "suspended"
        assert (
            Enterprise.objects.get(uscc=make_uscc(COUNTY_A, 201)).kinds
            == "blasting,explosives_sale"
        )

    def test_csv_utf8_bom_and_gb18030(self, world: World, api: Any) -> None:
        def text(serial: int) -> str:
            header = ",".join(UNIT_HEADER[:4])
            return f"{header}\r\n{make_uscc(COUNTY_A, serial)},丙公司,爆破作业单位,{COUNTY_A}\r\n"

        client = api(world.county_a)
        utf8 = post(client, "enterprises", text(301).encode("utf-8-sig"), "u.csv")
        assert utf8.status_code == 201, utf8.content
        response = post(client, "enterprises", text(302).encode("gb18030"), "u.csv")
        assert response.status_code == 201, response.content
        assert Enterprise.objects.filter(name="丙公司").count() == 2

    def test_empty_rows_are_skipped_and_rows_keep_their_numbers(
        self, world: World, api: Any
    ) -> None:
        rows = [UNIT_HEADER, unit_row(401), [None] * 7, ["", " ", None], unit_row(402, kinds="x")]
        problems = refused(post(api(world.county_a, language="en"), "enterprises", xlsx(rows)))
        assert [(p["row"], p["column"]) for p in problems] == [(5, "kinds")]
        rows[4] = unit_row(402)
        response = post(api(world.county_a), "enterprises", xlsx(rows))
        assert response.json() == {"created": 2}

    def test_template_downloads_in_chinese_and_imports_as_is(self, world: World, api: Any) -> None:
        client = api(world.county_a, language="en")
        response = client.get(reverse("api:import-template", args=["enterprises"]))
        assert response.status_code == 200
        assert response["Content-Type"] == XLSX
        assert 'filename="units-template.xlsx"' in response["Content-Disposition"]
        header, _example = sheet_rows(response.content)
        assert header[:4] == UNIT_HEADER[:4]
        assert post(client, "enterprises", response.content).json() == {"created": 1}

    @pytest.mark.parametrize("kind", ["permits", "people"])
    def test_other_templates_have_chinese_headers(self, world: World, api: Any, kind: str) -> None:
        response = api(world.city).get(reverse("api:import-template", args=[kind]))
        header = sheet_rows(response.content)[0]
        assert header[0] == "统一社会信用代码"
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header), header


class TestPermitAndPeopleImport:
    def test_permits(self, world: World, api: Any) -> None:
        rows: list[list[Any]] = [
            ["统一社会信用代码", "类型", "编号", "许可范围", "发证日期", "到期日期"],
            [
                world.unit_a.uscc,
                "民用爆炸物品销售许可证",
                "湘销-1",
                "炸药",
                date(2025, 1, 1),
                "2028/01/01",
            ],
            [world.unit_a.uscc, "transport", "湘运-1", "", "2025-02-01", "2028-02-01"],
        ]
        response = post(api(world.county_a), "permits", xlsx(rows))
        assert response.status_code == 201, response.content
        permit = world.unit_a.permits.get(number="湘销-1")
        assert (permit.kind, permit.issued_on, permit.expires_on) == (
            "sale",
            date(2025, 1, 1),
            date(2028, 1, 1),
        )

    def test_people_with_certificates(self, world: World, api: Any) -> None:
        number = make_identity_number("430421", date(1986, 5, 5), 11)
        rows = [
            [
                "统一社会信用代码",
                "姓名",
                "公民身份号码",
                "岗位",
                "任职日期",
                "证书类型",
                "证书编号",
                "证书发证日期",
                "证书到期日期",
            ],
            [
                world.unit_a.uscc,
                "赵一",
                number,
                "爆破员",
                "2024-01-01",
                "爆破员证",
                "BP1",
                "2024-01-02",
                "2027-01-01",
            ],
            [
                world.unit_a.uscc,
                "钱二",
                make_identity_number("430421", date(1990, 1, 1), 12),
                "safety_officer",
            ],
        ]
        before = AuditEntry.objects.count()
        response = post(api(world.county_a), "people", xlsx(rows))
        assert response.status_code == 201, response.content
        person = world.unit_a.people.get(identity_number=number)
        assert person.post == "blaster"
        assert [c.kind for c in person.certificates.all()] == ["blaster"]
        assert AuditEntry.objects.count() - before == 3  # two people, one certificate


# --- bad input: a per-row report and nothing written ----------------------------------------------
def bad_check_character(serial: int) -> str:
    good = make_uscc(COUNTY_A, serial)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


class TestUnitFileRefused:
    @pytest.mark.parametrize(
        ("row", "column", "fragment"),
        [
            (unit_row(501, uscc=bad_check_character(501)), "uscc", "check character"),
            (unit_row(502, kinds="bakery"), "kinds", "bakery"),
            (unit_row(503, kinds=""), "kinds", "required"),
            (unit_row(504, jurisdiction="999999"), "jurisdiction", "999999"),
            (unit_row(505, county=COUNTY_B), "jurisdiction", "outside your jurisdiction"),
            (unit_row(506, latitude=91), "latitude", "91"),
            (unit_row(507, name=""), "name", "required"),
        ],
    )
    def test_bad_cell(
        self, world: World, api: Any, row: list[Any], column: str, fragment: str
    ) -> None:
        before = counts()
        rows = [UNIT_HEADER, unit_row(500), row]
        problems = refused(post(api(world.county_a, language="en"), "enterprises", xlsx(rows)))
        labels = {
            "uscc": "unified social credit code",
            "kinds": "kinds",
            "jurisdiction": "division code",
            "latitude": "latitude",
            "name": "name",
        }
        assert [(p["row"], p["column"]) for p in problems] == [(3, labels[column])], problems
        assert fragment.lower() in problems[0]["message"].lower() or fragment == "91"
        assert counts() == before

    def test_report_is_in_the_users_language(self, world: World, api: Any) -> None:
        rows = [UNIT_HEADER, unit_row(510, county=COUNTY_B)]
        problems = refused(post(api(world.county_a, language="zh-hans"), "enterprises", xlsx(rows)))
        assert problems == [
            {"row": 2, "column": "行政区划代码", "message": "行政区划 430406 不在您的辖区范围内。"}
        ]

    def test_duplicate_uscc_in_file_and_in_database(self, world: World, api: Any) -> None:
        before = counts()
        rows = [UNIT_HEADER, unit_row(601), unit_row(602), unit_row(601)]
        rows.append(unit_row(603, uscc=world.unit_a.uscc))
        response = post(api(world.county_a, language="en"), "enterprises", xlsx(rows))
        problems = refused(response)
        assert [(p["row"], p["column"]) for p in problems] == [
            (4, "unified social credit code"),
            (5, "unified social credit code"),
        ]
        assert "row 2" in problems[0]["message"]
        assert "already registered" in problems[1]["message"]
        assert "row 4 · unified social credit code" in response.json()["errors"]
        assert counts() == before

    def test_every_problem_is_reported(self, world: World, api: Any) -> None:
        rows = [UNIT_HEADER] + [unit_row(700 + i, kinds="bakery") for i in range(30)]
        problems = refused(post(api(world.county_a), "enterprises", xlsx(rows)))
        assert len(problems) == 30

    def test_a_refusal_while_writing_rolls_every_row_back(
        self, world: World, api: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        create = services.enterprise_create
        calls = {"n": 0}

        def flaky(*, actor: Any, data: dict[str, Any]) -> Enterprise:
            calls["n"] += 1
            if calls["n"] == 2:
                raise ServiceValidationError({"jurisdiction": ["refused by the service"]})
            return create(actor=actor, data=data)

        monkeypatch.setattr(services, "enterprise_create", flaky)
        before = counts()
        rows = [UNIT_HEADER, unit_row(801), unit_row(802), unit_row(803)]
        problems = refused(post(api(world.county_a, language="en"), "enterprises", xlsx(rows)))
        assert problems == [
            {"row": 3, "column": "division code", "message": "refused by the service"}
        ]
        assert counts() == before


class TestOtherFilesRefused:
    def test_permit_expiry_before_issue_unknown_unit_and_duplicates(
        self, world: World, api: Any
    ) -> None:
        PermitFactory.create(enterprise=world.unit_a, kind="sale", number="已有-1")
        before = counts()
        header = ["统一社会信用代码", "类型", "编号", "发证日期", "到期日期"]
        rows = [
            header,
            [world.unit_a.uscc, "sale", "P-1", "2025-01-01", "2024-01-01"],
            [world.unit_b.uscc, "sale", "P-2", "2025-01-01", "2028-01-01"],
            [make_uscc(COUNTY_A, 999_001), "sale", "P-3", "2025-01-01", "2028-01-01"],
            [world.unit_a.uscc, "sale", "P-4", "2025-01-01", "2028-01-01"],
            [world.unit_a.uscc, "sale", "P-4", "2025-01-01", "2028-01-01"],
            [world.unit_a.uscc, "sale", "已有-1", "2025-01-01", "2028-01-01"],
            [world.unit_a.uscc, "licence", "P-5", "2025-01-01", "2028-01-01"],
        ]
        problems = refused(post(api(world.county_a, language="en"), "permits", xlsx(rows)))
        found = [(p["row"], p["column"]) for p in problems]
        assert found == [
            (2, "expires on"),
            (3, "unified social credit code"),
            (4, "unified social credit code"),
            (6, "number"),
            (7, "number"),
            (8, "kind"),
        ], problems
        # A unit in another county reads exactly like one that does not exist.
        assert problems[1]["message"] == problems[2]["message"]
        assert counts() == before

    def test_people_bad_identity_duplicates_and_incomplete_certificate(
        self, world: World, api: Any
    ) -> None:
        number = make_identity_number("430421", date(1986, 5, 5), 21)
        PersonFactory.create(enterprise=world.unit_a, identity_number=number)
        fresh = make_identity_number("430421", date(1987, 5, 5), 22)
        wrong = fresh[:-1] + ("0" if fresh[-1] != "0" else "1")
        before = counts()
        rows = [
            ["统一社会信用代码", "姓名", "公民身份号码", "岗位", "证书类型", "证书编号"],
            [world.unit_a.uscc, "甲", wrong, "blaster"],
            [world.unit_a.uscc, "乙", number, "blaster"],
            [world.unit_a.uscc, "丙", fresh, "blaster", "blaster"],
            [world.unit_a.uscc, "丁", fresh, "blaster"],
        ]
        problems = refused(post(api(world.county_a, language="en"), "people", xlsx(rows)))
        assert [(p["row"], p["column"]) for p in problems] == [
            (2, "identity number"),
            (3, "identity number"),
            (4, "certificate number"),
            (4, "certificate issued on"),
            (5, "identity number"),
        ], problems
        assert counts() == before


def test_merged_cells(world: World, api: Any) -> None:
    before = counts()
    rows = [UNIT_HEADER, unit_row(901), unit_row(902)]
    problems = refused(
        post(api(world.county_a, language="en"), "enterprises", xlsx(rows, merge="B2:B3"))
    )
    assert problems[0]["row"] == 2 and "B2:B3" in problems[0]["message"]
    assert counts() == before


def test_formulas(world: World, api: Any) -> None:
    before = counts()
    rows = [UNIT_HEADER, unit_row(911, name='=CONCAT("a","b")')]
    problems = refused(post(api(world.county_a, language="en"), "enterprises", xlsx(rows)))
    assert problems == [
        {
            "row": 2,
            "column": "name",
            "message": "This cell holds a formula; paste values, not formulas.",
        }
    ]
    assert counts() == before


def test_too_many_rows(world: World, api: Any, settings: Any) -> None:
    settings.IMPORT_MAX_ROWS = 3
    before = counts()
    rows = [UNIT_HEADER] + [unit_row(920 + i) for i in range(4)]
    problems = refused(post(api(world.county_a, language="en"), "enterprises", xlsx(rows)))
    assert "more than 3 rows" in problems[0]["message"]
    assert counts() == before
    rows.pop()
    assert post(api(world.county_a), "enterprises", xlsx(rows)).status_code == 201


@pytest.mark.parametrize(
    ("content", "name", "fragment"),
    [
        (b"%PDF-1.4 not a table", "units.xlsx", "Upload an Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "units.xls", ".xlsx"),
        (b"PK\x03\x04garbage", "units.xlsx", "cannot be read"),
        (b"", "units.csv", "empty"),
        (b"\xef\xbb\xbf", "units.csv", "empty"),
        ("统一社会信用代码,名称,经营类别,行政区划代码\r\n".encode(), "u.csv", "no rows"),
        ("名称,颜色\r\n甲,红\r\n".encode(), "u.csv", "颜色"),
    ],
)
def test_wrong_files(world: World, api: Any, content: bytes, name: str, fragment: str) -> None:
    before = counts()
    problems = refused(post(api(world.county_a, language="en"), "enterprises", content, name))
    assert any(fragment in p["message"] for p in problems), problems
    assert counts() == before


def test_missing_required_column(world: World, api: Any) -> None:
    rows = [["统一社会信用代码", "名称"], [make_uscc(COUNTY_A, 930), "甲"]]
    problems = refused(post(api(world.county_a, language="en"), "enterprises", xlsx(rows)))
    assert {p["column"] for p in problems} == {"kinds", "division code"}


def test_a_docx_is_not_a_workbook(world: World, api: Any) -> None:
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    problems = refused(post(api(world.county_a, language="en"), "enterprises", buffer.getvalue()))
    assert "Upload an Excel workbook" in problems[0]["message"]


def test_oversized_upload(world: World, api: Any, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 2000
    before = counts()
    rows = [UNIT_HEADER] + [unit_row(940 + i) for i in range(100)]
    problems = refused(post(api(world.county_a, language="en"), "enterprises", xlsx(rows)))
    assert "the limit is 2.0" in problems[0]["message"]
    assert counts() == before


# --- who may import -------------------------------------------------------------------------------
def test_only_regulators_import(world: World, api: Any) -> None:
    content = xlsx([UNIT_HEADER, unit_row(950)])
    for user in (world.unit_a_officer, world.unit_a_principal, world.partner_user):
        response = post(api(user), "enterprises", content)
        assert response.status_code == 403, user
    anonymous = post(api(), "enterprises", content)
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"
    assert post(api(world.admin), "enterprises", content).status_code == 201
    assert Enterprise.objects.filter(uscc=make_uscc(COUNTY_A, 950)).count() == 1


def test_unknown_kind_is_404_and_json_is_415(world: World, api: Any) -> None:
    client = api(world.city)
    assert client.post("/api/v1/imports/hazards/", {}).status_code == 404
    response = client.post(reverse("api:import", args=["enterprises"]), {}, format="json")
    assert response.status_code == 415
    missing = client.post(reverse("api:import", args=["enterprises"]), {}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["errors"]


def test_idempotency_key_replays_the_first_import(world: World, api: Any) -> None:
    client = api(world.county_a)
    content = xlsx([UNIT_HEADER, unit_row(960)])
    first = post(client, "enterprises", content, HTTP_IDEMPOTENCY_KEY="import-960")
    again = post(client, "enterprises", content, HTTP_IDEMPOTENCY_KEY="import-960")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Enterprise.objects.filter(uscc=make_uscc(COUNTY_A, 960)).count() == 1


def test_import_page_shows_the_report(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    content = xlsx([UNIT_HEADER, unit_row(970, kinds="bakery")])
    response = client.post(
        reverse("registry-import"),
        {"kind": "enterprises", "file": SimpleUploadedFile("u.xlsx", content)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.context["report"][0]["row"] == 2


def test_import_file_outside_a_request_records_the_actor(world: World) -> None:
    content = xlsx([UNIT_HEADER, unit_row(980)])
    result = import_file(
        actor=world.city, kind="enterprises", upload=SimpleUploadedFile("u.xlsx", content)
    )
    assert result.created == 1
    unit = Enterprise.objects.get(uscc=make_uscc(COUNTY_A, 980))
    entry = AuditEntry.objects.get(object_type="registry.enterprise", object_id=str(unit.pk))
    assert entry.actor_id == world.city.pk
    with pytest.raises(ImportRejected):
        import_file(
            actor=world.city, kind="enterprises", upload=SimpleUploadedFile("u.xlsx", content)
        )


# --- exports --------------------------------------------------------------------------------------
def export(client: Any, resource: str, **params: Any) -> Any:
    return client.get(reverse(f"api:{resource}-export"), params)


class TestExport:
    def test_round_trip(self, world: World, api: Any) -> None:
        """Export units, change their codes and names, import the file again."""
        EnterpriseFactory.create(
            jurisdiction_id=COUNTY_A,
            kinds="blasting",
            status="suspended",
            latitude="26.5",
            longitude="112.25",
        )
        for language in ("zh-hans", "en"):
            client = api(world.county_a, language=language)
            response = export(client, "enterprise")
            assert response.status_code == 200
            workbook = load_workbook(io.BytesIO(response.content))
            sheet = workbook.worksheets[0]
            originals = {}
            for n, row in enumerate(sheet.iter_rows(min_row=2), start=1):
                old = Enterprise.objects.get(uscc=row[0].value)
                row[0].value = make_uscc(COUNTY_A, 10_000 + n + (100 if language == "en" else 0))
                row[1].value = f"{row[1].value}（{language}）"
                originals[row[0].value] = old
            buffer = io.BytesIO()
            workbook.save(buffer)
            imported = post(client, "enterprises", buffer.getvalue())
            assert imported.json() == {"created": len(originals)}, imported.content
            for uscc, old in originals.items():
                new = Enterprise.objects.get(uscc=uscc)
                assert (new.kinds, new.status, new.jurisdiction_id, new.latitude) == (
                    old.kinds,
                    old.status,
                    old.jurisdiction_id,
                    old.latitude,
                )

    def test_scope_and_filters(self, world: World, api: Any) -> None:
        EnterpriseFactory.create(jurisdiction_id=COUNTY_B, name="雁峰第二公司")
        county_a = sheet_rows(export(api(world.county_a), "enterprise").content)
        assert [r[0] for r in county_a[1:]] == [world.unit_a.uscc]
        unit_user = sheet_rows(export(api(world.unit_b_officer), "enterprise").content)
        assert [r[0] for r in unit_user[1:]] == [world.unit_b.uscc]
        city = api(world.city)
        assert len(sheet_rows(export(city, "enterprise").content)) == 4
        wholesale = sheet_rows(export(city, "enterprise", kind="fireworks_wholesale").content)
        assert [r[0] for r in wholesale[1:]] == [world.unit_b.uscc]
        searched = sheet_rows(export(city, "enterprise", search="第二").content)
        assert [r[1] for r in searched[1:]] == ["雁峰第二公司"]
        ordered = sheet_rows(export(city, "enterprise", ordering="-name").content)
        names = [r[1] for r in ordered[1:]]
        assert names == sorted(names, reverse=True)
        assert export(city, "enterprise", kind="bakery").status_code == 400

    def test_file_name_headers_and_accept(self, world: World, api: Any) -> None:
        client = api(world.city, language="en")
        response = client.get(reverse("api:enterprise-export"), HTTP_ACCEPT=XLSX)
        assert response.status_code == 200
        assert response["Content-Type"] == XLSX
        assert response["Content-Disposition"].startswith('attachment; filename="units-')
        header = sheet_rows(response.content)[0]
        assert header[:2] == ["unified social credit code", "name"]
        bad = client.get(reverse("api:enterprise-export"), {"ordering": "colour"}, HTTP_ACCEPT=XLSX)
        assert bad.status_code == 400
        assert bad["Content-Type"] == "application/problem+json"
        assert "ordering" in bad.json()["errors"]

    def test_anonymous_gets_401(self, world: World, api: Any) -> None:
        assert export(api(), "enterprise").status_code == 401

    @pytest.mark.parametrize("resource", ["enterprise", "permit", "site", "person", "certificate"])
    def test_query_count_does_not_grow(self, world: World, api: Any, resource: str) -> None:
        def add(unit: Enterprise) -> None:
            PermitFactory.create(enterprise=unit)
            SiteFactory.create(enterprise=unit)
            person = PersonFactory.create(enterprise=unit)
            CertificateFactory.create(person=person)
            CertificateFactory.create(person=person)

        client = api(world.city)
        add(world.unit_a)
        export(client, resource)
        with CaptureQueriesContext(connection) as few:
            assert export(client, resource).status_code == 200
        for _ in range(5):
            add(EnterpriseFactory.create(jurisdiction_id=COUNTY_B))
        with CaptureQueriesContext(connection) as many:
            response = export(client, resource)
        assert len(sheet_rows(response.content)) >= 6
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]

    def test_identity_numbers_are_masked_without_the_permission(
        self, world: World, api: Any
    ) -> None:
        person = PersonFactory.create(enterprise=world.unit_a)
        CertificateFactory.create(person=person, number="AQY-1")
        rows = sheet_rows(export(api(world.county_a, language="en"), "person").content)
        header, row = rows[0], rows[1]
        assert row[header.index("identity number")] == person.masked_identity_number
        assert "AQY-1" in row[header.index("certificates")]
        assert "certificate kind" not in header

    def test_exports_of_permits_sites_people_certificates(self, world: World, api: Any) -> None:
        PermitFactory.create(enterprise=world.unit_b, number="B-1")
        client = api(world.county_a)
        assert len(sheet_rows(export(client, "permit").content)) == 1
        city_rows = sheet_rows(export(api(world.city), "permit").content)
        assert city_rows[1][:2] == [world.unit_b.uscc, world.unit_b.name]
        for resource in ("site", "person", "certificate"):
            response = export(client, resource)
            assert response.status_code == 200
            assert response["Content-Disposition"].startswith(
                'attachment; filename="{}-'.format(
                    {"site": "sites", "person": "people", "certificate": "certificates"}[resource]
                )
            )

    def test_export_cap(self, world: World, api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        from weibao.core.api import tabular

        monkeypatch.setattr(tabular, "EXPORT_MAX_ROWS", 1)
        EnterpriseFactory.create(jurisdiction_id=COUNTY_A)
        response = export(api(world.city, language="en"), "enterprise")
        assert response.status_code == 400
        assert "narrow the filters" in response.json()["errors"]["export"][0]


@pytest.mark.parametrize("resource", ["enterprise", "permit", "site", "person", "certificate"])
def test_every_export_is_scoped_for_units_and_partners(
    world: World, api: Any, resource: str
) -> None:
    for unit in (world.unit_a, world.unit_b):
        PermitFactory.create(enterprise=unit)
        SiteFactory.create(enterprise=unit)
        CertificateFactory.create(person=PersonFactory.create(enterprise=unit))
    # Unit A's staff export only unit A's rows; unit B's code never appears.
    rows = sheet_rows(export(api(world.unit_a_employee), resource).content)
    assert len(rows) == 2  # header + unit A's one row of each kind
    assert all(world.unit_b.uscc not in row and world.unit_b.name not in row for row in rows)
    # The partner is granted units in county A only: no permits, sites or people at all.
    partner_rows = sheet_rows(export(api(world.partner_user), resource).content)
    expected = 2 if resource == "enterprise" else 1  # header (+ unit A)
    assert len(partner_rows) == expected
