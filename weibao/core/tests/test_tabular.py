"""The table engine on its own: reading .xlsx/.csv into rows, refusing what it cannot read
faithfully, writing exports and templates."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook

from weibao.core.tabular import (
    MAX_REPORTED_ERRORS,
    Column,
    ImportRejected,
    choice_lookup,
    read_table,
    template_xlsx,
    to_code,
    write_xlsx,
)

COLUMNS = (
    Column("name", _("name"), aliases=("名称",), required=True, example="甲"),
    Column("issued_on", _("issued on"), aliases=("发证日期",), type="date", example="2025-01-01"),
    Column("number", _("number"), aliases=("编号",)),
    Column("state", _("state"), aliases=("状态",), importable=False),
    Column("brand_new", _("a label nobody has translated yet"), aliases=("新列",), exported=False),
)


def xlsx(rows: Sequence[Sequence[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(content: bytes, name: str = "t.xlsx", **kwargs: Any) -> list[dict[str, str]]:
    return [r.values for r in read_table(SimpleUploadedFile(name, content), COLUMNS, **kwargs)]


def refusal(content: bytes, name: str = "t.xlsx", **kwargs: Any) -> list[dict[str, Any]]:
    with translation.override("en"), pytest.raises(ImportRejected) as caught:
        read(content, name, **kwargs)
    return caught.value.errors


class TestHeaders:
    @pytest.mark.parametrize(
        "header",
        [
            ["name", "issued_on", "number"],
            ["Name", "Issued On", " NUMBER "],
            ["名称", "发证日期", "编号"],
            ["名 称", "issued_on", "number"],
            ["name*", "issued on", "编号"],
        ],
    )
    def test_keys_labels_and_aliases(self, header: list[str]) -> None:
        assert read(xlsx([header, ["甲", "2025-01-02", "A1"]])) == [
            {"name": "甲", "issued_on": "2025-01-02", "number": "A1", "brand_new": ""}
        ]

    def test_export_only_columns_are_accepted_and_ignored(self) -> None:
        rows = read(xlsx([["名称", "状态"], ["甲", "有效"]]))
        assert rows == [{"name": "甲", "issued_on": "", "number": "", "brand_new": ""}]

    def test_unknown_duplicate_and_missing(self) -> None:
        assert [e["column"] for e in refusal(xlsx([["name", "colour"], ["甲", "红"]]))] == [
            "colour"
        ]
        errors = refusal(xlsx([["name", "名称"], ["甲", "乙"]]))
        assert "appears twice" in errors[0]["message"]
        errors = refusal(xlsx([["number"], ["1"]]))
        assert errors == [
            {"row": 1, "column": "name", "message": "The required column “name” is missing."}
        ]

    def test_values_without_a_header(self) -> None:
        errors = refusal(xlsx([["name", None], ["甲", "stray"]]))
        assert errors == [
            {"row": 2, "column": "B", "message": "This column has values but no header."}
        ]

    def test_header_may_follow_empty_rows(self) -> None:
        assert read(xlsx([[], [None, None], ["name"], ["甲"]]))[0]["name"] == "甲"

    def test_untranslated_label_falls_back_to_the_chinese_alias(self) -> None:
        column = COLUMNS[4]
        with translation.override("zh-hans"):
            assert column.header() == "新列"
        with translation.override("en"):
            assert column.header() == "a label nobody has translated yet"


class TestValues:
    def test_dates_numbers_and_text(self) -> None:
        rows = read(
            xlsx(
                [
                    ["name", "issued_on", "number"],
                    [" 甲 ", datetime(2025, 3, 4), 5.0],
                    ["乙", "2025/3/5", 26.893],
                    ["丙", "2025年3月6日", 12345678901],
                    ["丁", 45658, Decimal("1.50")],
                    ["戊", "2025-03-07 00:00:00", True],
                    ["己", "not a date", "007"],
                ]
            )
        )
        assert [(r["name"], r["issued_on"], r["number"]) for r in rows] == [
            ("甲", "2025-03-04", "5"),
            ("乙", "2025-03-05", "26.893"),
            ("丙", "2025-03-06", "12345678901"),
            ("丁", "2025-01-01", "1.5"),
            ("戊", "2025-03-07", "true"),
            ("己", "not a date", "007"),
        ]

    def test_rows_keep_their_numbers_and_empty_rows_are_skipped(self) -> None:
        content = xlsx([["name"], ["甲"], [None], ["  "], ["乙"]])
        rows = read_table(SimpleUploadedFile("t.xlsx", content), COLUMNS)
        assert [(r.number, r.values["name"]) for r in rows] == [(2, "甲"), (5, "乙")]

    def test_formulas_are_refused_cell_by_cell(self) -> None:
        errors = refusal(xlsx([["name", "number"], ["甲", "=1+1"], ["=A2", "3"]]))
        assert [(e["row"], e["column"]) for e in errors] == [(2, "number"), (3, "name")]
        assert errors[0]["message"] == "This cell holds a formula; paste values, not formulas."

    def test_merged_cells(self) -> None:
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.append(["name", "number"])
        sheet.append(["甲", "1"])
        sheet.append(["乙", "2"])
        sheet.merge_cells("A2:A3")
        sheet.merge_cells("B2:B3")
        buffer = io.BytesIO()
        workbook.save(buffer)
        errors = refusal(buffer.getvalue())
        assert [(e["row"], e["column"]) for e in errors] == [(2, "A2:A3"), (2, "B2:B3")]

    def test_row_limit_stops_reading(self) -> None:
        content = xlsx([["name"]] + [[f"r{i}"] for i in range(6)])
        assert len(read(content, max_rows=6)) == 6
        errors = refusal(content, max_rows=5)
        assert errors[0]["message"].startswith("The file has more than 5 rows")


class TestCsv:
    @pytest.mark.parametrize(
        ("text", "encoding"),
        [
            ("名称,编号\r\n甲,1\r\n", "utf-8"),
            ("名称,编号\n甲,1\n", "utf-8-sig"),
            ("名称\t编号\r\n甲\t1\r\n", "gb18030"),
            ("名称;编号\r\n甲;1\r\n", "utf-16"),
            ('名称,编号\r\n"甲,乙",1\r\n', "utf-8"),
        ],
    )
    def test_encodings_and_delimiters(self, text: str, encoding: str) -> None:
        rows = read(text.encode(encoding), "t.csv")
        assert rows[0]["number"] == "1"
        assert rows[0]["name"] in {"甲", "甲,乙"}

    def test_undecodable_text(self) -> None:
        errors = refusal(b"name\r\n\x81\x20\xff\xfe\r\n", "t.csv")
        assert "neither UTF-8 nor GB18030" in errors[0]["message"]


class TestFiles:
    @pytest.mark.parametrize(
        ("content", "fragment"),
        [
            (b"", "empty"),
            (b"  \r\n", "empty"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "save it as .xlsx"),
            (b"\x89PNG\r\n\x1a\n" + bytes(100), "Upload an Excel workbook"),
            (b"GIF89a\x01\x00", "Upload an Excel workbook"),
            (b"PK\x03\x04broken", "cannot be read"),
        ],
    )
    def test_refused_files(self, content: bytes, fragment: str) -> None:
        errors = refusal(content)
        assert len(errors) == 1 and errors[0]["row"] is None
        assert fragment in errors[0]["message"]

    def test_a_damaged_workbook(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", "<not-a-workbook")
        assert "cannot be read" in refusal(buffer.getvalue())[0]["message"]

    def test_size_limits(self, settings: Any) -> None:
        settings.IMPORT_MAX_BYTES = 1000
        assert "the limit is" in refusal(b"name\r\n" + b"x\r\n" * 600, "t.csv")[0]["message"]
        # A small zip that would unpack to far more than the limit allows (a "zip bomb").
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", "<workbook/>")
            archive.writestr("xl/worksheets/sheet1.xml", " " * 5_000_000)
        assert len(buffer.getvalue()) < 1000 * 20
        settings.IMPORT_MAX_BYTES = len(buffer.getvalue()) + 1
        assert "unpacks to" in refusal(buffer.getvalue())[0]["message"]

    def test_a_header_only_file_has_no_rows(self) -> None:
        assert read(xlsx([["name"]])) == []
        assert "no header row" in refusal(xlsx([[None]]))[0]["message"]


def test_long_reports_are_cut_with_a_count() -> None:
    with translation.override("en"):
        rejected = ImportRejected([{"row": i, "column": "", "message": "x"} for i in range(600)])
    assert len(rejected.errors) == MAX_REPORTED_ERRORS + 1
    assert rejected.errors[-1]["message"] == "… and 100 more problems."


def test_choice_lookup_reads_codes_and_labels_in_both_languages() -> None:
    lookup = choice_lookup([("active", _("Active")), ("closed", _("Closed"))])
    assert {to_code(lookup, t) for t in ("active", "ACTIVE", "Active", "正常")} == {"active"}
    assert to_code(lookup, "asleep") == "asleep"


class TestWriting:
    def test_export_cells(self) -> None:
        objects = [
            SimpleNamespace(
                name='=HYPERLINK("http://x")',
                issued_on=date(2025, 1, 2),
                number=Decimal("26.893000"),
                state=_("Active"),
            ),
            SimpleNamespace(
                name="bell\x07",
                issued_on=datetime(2025, 1, 2, 1, 0, tzinfo=UTC),
                number=None,
                state=["a", "b"],
            ),
        ]
        with translation.override("en"):
            content = write_xlsx(COLUMNS[:4], objects, sheet_title="Units: [all]")
        workbook = load_workbook(io.BytesIO(content))
        sheet = workbook.worksheets[0]
        assert sheet.title == "Units   all "
        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.b and sheet["A1"].value == "name"
        assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("=HYPERLINK")
        assert sheet["B2"].value == datetime(2025, 1, 2)
        assert sheet["C2"].value == pytest.approx(26.893)
        assert sheet["D2"].value == "Active"
        assert sheet["A3"].value == "bell"
        assert sheet["B3"].value == datetime(2025, 1, 2, 9, 0)  # Asia/Shanghai
        assert sheet["D3"].value == "a, b"
        # An export reads back as it was written (text that looks like a formula included).
        rows = read_table(SimpleUploadedFile("e.xlsx", content), COLUMNS)
        assert rows[0].values["name"] == '=HYPERLINK("http://x")'

    def test_template_is_chinese_whatever_the_language(self) -> None:
        with translation.override("en"):
            content = template_xlsx(COLUMNS, sheet_title="模板")
        sheet = load_workbook(io.BytesIO(content)).worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert rows[0] == ["名称", "发证日期", "编号", "新列"]
        assert rows[1][:2] == ["甲", "2025-01-01"]
        assert read(content) == [
            {"name": "甲", "issued_on": "2025-01-01", "number": "", "brand_new": ""}
        ]
