"""The reports spreadsheet: its columns, its rows (the user's scope, a status filter) and that no
cell carries who reported."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from weibao.reporting import services
from weibao.reporting.exports import REPORT_COLUMNS, reports_workbook
from weibao.reporting.models import InternalReport
from weibao.reporting.selectors import report_queryset
from weibao.tests.factories import REPORTER_NAME, REPORTER_PHONE, World, report_at

pytestmark = pytest.mark.django_db

HEADERS_EN = [
    "report number",
    "unit",
    "category",
    "site or place",
    "status",
    "submitted on",
    "verify by",
    "decided on",
    "verified in time",
    "hazard reference",
    "proposed reward (yuan)",
    "reward paid (yuan)",
    "reward paid on",
    "raised to the bureau at",
    "bureau's reply",
]


def sheet_rows(content: bytes) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows


def cells_text(rows: list[list[Any]]) -> str:
    return " ".join(str(value) for row in rows for value in row if value is not None)


@pytest.fixture
def reports(world: World) -> dict[str, InternalReport]:
    """A report at every stage of unit A, named ones among them, one raised to the bureau; one
    report of unit B."""
    made = {
        stage: report_at(world, stage, named=stage in ("rewarded", "verifying"), consent=True)[0]
        for stage in ("submitted", "verifying", "confirmed", "rejected", "rewarded")
    }
    made["named_no_consent"] = report_at(world, named=True)[0]
    late, code = report_at(world)
    InternalReport.objects.filter(pk=late.pk).update(
        verify_by=timezone.localdate() - timedelta(days=1)
    )
    services.report_escalate(receipt=code, note="没人管")
    services.report_handle_complaint(actor=world.county_a, report=late, reply="已责令单位核实")
    made["escalated"] = late
    made["other_unit"] = report_at(world, unit=world.unit_b)[0]
    return made


def test_workbook_has_translated_headers_and_one_row_per_report(
    world: World, reports: dict[str, InternalReport]
) -> None:
    rows_in = report_queryset(world.county_a)
    with translation.override("en"):
        rows = sheet_rows(reports_workbook(rows_in))
    assert rows[0] == HEADERS_EN
    by_reference = {row[0]: dict(zip(HEADERS_EN, row, strict=True)) for row in rows[1:]}
    assert len(by_reference) == rows_in.count() == len(rows) - 1
    rewarded = by_reference[reports["rewarded"].reference]
    assert rewarded["unit"] == world.unit_a.name
    assert rewarded["status"] == "Rewarded" and rewarded["verified in time"] == "yes"
    hazard = reports["rewarded"].hazard
    assert hazard is not None and rewarded["hazard reference"] == hazard.reference
    assert rewarded["reward paid (yuan)"] == 200 and rewarded["reward paid on"] is not None
    assert rewarded["site or place"] == "3号库房门口"
    escalated = by_reference[reports["escalated"].reference]
    assert escalated["raised to the bureau at"] is not None
    assert escalated["bureau's reply"] == "已责令单位核实"
    assert escalated["decided on"] is None and escalated["verified in time"] is None


def test_chinese_headers_before_and_after_translation(
    world: World, reports: dict[str, InternalReport]
) -> None:
    with translation.override("zh-hans"):
        rows = sheet_rows(reports_workbook(report_queryset(world.unit_a_officer)))
        expected = [column.header() for column in REPORT_COLUMNS]
    assert rows[0] == expected
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in header) for header in rows[0])


def test_no_cell_names_the_reporter(world: World, reports: dict[str, InternalReport]) -> None:
    for user in (world.unit_a_officer, world.county_a, world.city):
        text = cells_text(sheet_rows(reports_workbook(report_queryset(user))))
        assert REPORTER_NAME not in text and REPORTER_PHONE not in text
        for report in InternalReport.objects.all():
            assert report.receipt_hash not in text
    keys = {column.key for column in REPORT_COLUMNS}
    assert not keys & {"identity", "name", "phone", "user", "consent_to_unit", "receipt_hash"}


# --- the download -------------------------------------------------------------------------------
def signed_in(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def download(user: Any, query: str = "") -> Any:
    return signed_in(user).get(reverse("report-export") + query)


def test_unit_manager_downloads_own_unit_reports(
    world: World, reports: dict[str, InternalReport], django_assert_max_num_queries: Any
) -> None:
    client = signed_in(world.unit_a_officer)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("report-export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'attachment; filename="internal-reports-' in response["Content-Disposition"]
    rows = sheet_rows(response.content)
    references = {row[0] for row in rows[1:]}
    assert reports["other_unit"].reference not in references
    assert references == {
        r.reference for r in reports.values() if r.enterprise_id == world.unit_a.pk
    }
    text = cells_text(rows)
    assert REPORTER_NAME not in text and REPORTER_PHONE not in text


def test_queries_do_not_grow_with_rows(
    world: World, reports: dict[str, InternalReport], django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        report_at(world, "confirmed")
    client = signed_in(world.city)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("report-export"))
    assert len(sheet_rows(response.content)) == InternalReport.objects.count() + 1


def test_status_filter_and_bad_status(world: World, reports: dict[str, InternalReport]) -> None:
    rows = sheet_rows(download(world.county_a, "?status=rewarded").content)
    assert [row[0] for row in rows[1:]] == [reports["rewarded"].reference]
    response = download(world.county_a, "?status=paid")
    assert response.status_code == 400 and "paid" in response.content.decode()
    # The list page's other filters apply too (its export link passes them all).
    rows = sheet_rows(download(world.county_a, "?status=unverified&overdue=true").content)
    assert [row[0] for row in rows[1:]] == [reports["escalated"].reference]


def test_scope_regulators_employees_partners(
    world: World, reports: dict[str, InternalReport]
) -> None:
    county_b = {row[0] for row in sheet_rows(download(world.county_b).content)[1:]}
    assert county_b == {reports["other_unit"].reference}
    # An employee sees what they reported under their name (none here); partners see none.
    assert len(sheet_rows(download(world.unit_a_employee).content)) == 1
    assert len(sheet_rows(download(world.partner_user).content)) == 1
    response = download(None)
    assert response.status_code == 302 and "login" in response["Location"]
