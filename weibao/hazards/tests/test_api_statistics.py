"""Quarterly hazard statistics over the API: JSON, .xlsx and PDF, scoped like the ledger."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from weibao.core.tabular import XLSX_CONTENT_TYPE
from weibao.tests.factories import HazardFactory, World

pytestmark = pytest.mark.django_db

URL = reverse("api:hazard-statistics")


def this_quarter() -> dict[str, int]:
    today = timezone.localdate()
    return {"year": today.year, "quarter": (today.month - 1) // 3 + 1}


@pytest.fixture
def found(world: World) -> None:
    today = timezone.localdate()
    for _ in range(2):
        HazardFactory.create(enterprise=world.unit_a, found_on=today)
    HazardFactory.create(enterprise=world.unit_a, found_on=today, level="major")
    HazardFactory.create(enterprise=world.unit_b, found_on=today)


def rows_by_unit(response: Any) -> dict[Any, dict[str, Any]]:
    assert response.status_code == 200, response.content
    return {row["enterprise"]: row for row in response.json()["rows"]}


def test_json_by_unit_with_totals(world: World, api: Any, found: None) -> None:
    response = api(world.city).get(URL, this_quarter())
    body = response.json()
    assert body["year"] == this_quarter()["year"]
    assert body["start"] <= timezone.localdate().isoformat() <= body["end"]
    rows = rows_by_unit(response)
    unit_a = rows[world.unit_a.pk]
    assert (unit_a["found_total"], unit_a["found_general"], unit_a["found_major"]) == (3, 2, 1)
    assert unit_a["uscc"] == world.unit_a.uscc
    assert unit_a["jurisdiction"] == "430405"
    assert unit_a["rectification_rate"] == "0.0000"
    total = body["rows"][-1]
    assert total["is_total"] is True
    assert total["enterprise"] is None
    assert total["found_total"] == 4
    # Defaults to the quarter under way.
    assert api(world.city).get(URL).json()["rows"][-1]["found_total"] == 4


def test_scoped(world: World, api: Any, found: None) -> None:
    assert set(rows_by_unit(api(world.county_b).get(URL))) == {world.unit_b.pk, None}
    assert set(rows_by_unit(api(world.unit_a_officer).get(URL))) == {world.unit_a.pk, None}
    partner = rows_by_unit(api(world.partner_user).get(URL))
    assert set(partner) == {None}
    assert partner[None]["found_total"] == 0
    # One unit only; a unit out of sight is refused like a unit that does not exist.
    one = api(world.city).get(URL, {"enterprise": world.unit_b.pk})
    assert set(rows_by_unit(one)) == {world.unit_b.pk, None}
    hidden = api(world.county_a).get(URL, {"enterprise": world.unit_b.pk})
    assert hidden.status_code == 400
    assert "enterprise" in hidden.json()["errors"]


def test_bad_quarter(world: World, api: Any) -> None:
    client = api(world.city)
    assert "quarter" in client.get(URL, {"quarter": 5}).json()["errors"]
    assert "year" in client.get(URL, {"year": 1999}).json()["errors"]
    assert "year" in client.get(URL, {"year": 9999, "quarter": 1}).json()["errors"]
    assert client.get(URL, {"format": "csv"}).status_code == 404


def test_xlsx(world: World, api: Any, found: None) -> None:
    response = api(world.county_a).get(URL, {**this_quarter(), "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet is not None
    text = " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)
    assert world.unit_a.name in text
    assert world.unit_b.name not in text


def test_pdf(world: World, api: Any, found: None) -> None:
    response = api(world.unit_a_officer).get(URL, {**this_quarter(), "format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    # Errors stay problem documents whatever format was asked for.
    bad = api(world.city).get(URL, {"quarter": 9, "format": "pdf"})
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/problem+json"
    assert "quarter" in bad.json()["errors"]


def test_anonymous(api: Any, db: None) -> None:
    assert api().get(URL).status_code == 401
