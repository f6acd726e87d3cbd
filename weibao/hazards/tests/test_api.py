"""The hazard ledger API: isolation, the list (shape, filters, export, query counts), detail and
create. Life-cycle steps: test_api_lifecycle.py; statistics: test_api_statistics.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.core.tabular import XLSX_CONTENT_TYPE
from weibao.hazards.models import Hazard, HazardEvent
from weibao.inspections.models import Inspection
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import HazardFactory, PersonFactory, SiteFactory, World

pytestmark = pytest.mark.django_db

LIST = reverse("api:hazard-list")


def detail(hazard: Hazard) -> str:
    return reverse("api:hazard-detail", args=[hazard.pk])


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def days(n: int) -> Any:
    return timezone.localdate() + timedelta(days=n)


class TestHazardIsolation(ScopedApiContract):
    list_route = "api:hazard-list"
    page_route = "hazard-list"
    detail_route = "api:hazard-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Hazard:
        unit = world.unit_a if county == "430405" else world.unit_b
        hazard: Hazard = HazardFactory.create(enterprise=unit)
        return hazard


# --- shape ----------------------------------------------------------------------------------------
def test_list_row_shape(world: World, api: Any) -> None:
    site = SiteFactory.create(enterprise=world.unit_a, name="1号库")
    person = PersonFactory.create(enterprise=world.unit_a, name="王五")
    hazard = HazardFactory.create(
        enterprise=world.unit_a,
        site=site,
        responsible_person=person,
        deadline=days(-2),
        legal_basis="第四十一条",
    )
    row = api(world.county_a).get(LIST).json()["results"][0]
    assert row["id"] == hazard.pk
    assert row["reference"] == hazard.reference
    assert row["enterprise"] == world.unit_a.pk
    assert row["enterprise_name"] == world.unit_a.name
    assert row["uscc"] == world.unit_a.uscc
    assert row["jurisdiction"] == "430405"
    assert (row["site"], row["site_name"]) == (site.pk, "1号库")
    assert (row["responsible_person"], row["responsible_person_name"]) == (person.pk, "王五")
    assert (row["source"], row["source_display"]) == ("inspection", "Regulator inspection")
    assert (row["level"], row["level_display"]) == ("general", "General hazard")
    assert row["category"] == "storage"
    assert (row["status"], row["status_display"]) == ("open", "Open")
    assert row["overdue"] is True
    assert (row["days_overdue"], row["days_left"]) == (2, None)
    assert row["inspection"] is None
    assert row["extension_count"] == 0
    # The bureau may extend, cancel, add files and schedule a follow-up; the unit does the work.
    assert row["allowed_actions"] == ["extend", "cancel", "attachments", "follow-up"]
    unit_row = api(world.unit_a_officer).get(LIST).json()["results"][0]
    assert unit_row["allowed_actions"] == ["start", "submit-rectification", "plan", "attachments"]
    assert api(world.unit_a_employee).get(LIST).json()["results"][0]["allowed_actions"] == []


def test_days_left_and_no_site(world: World, api: Any) -> None:
    HazardFactory.create(enterprise=world.unit_a, deadline=days(4))
    row = api(world.county_a).get(LIST).json()["results"][0]
    assert (row["overdue"], row["days_left"], row["days_overdue"]) == (False, 4, None)
    assert (row["site"], row["site_name"], row["responsible_person_name"]) == (None, None, None)


def test_inspection_reference(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    inspection = Inspection.objects.create(
        kind=Inspection.Kind.ROUTINE,
        enterprise=world.unit_a,
        checklist=_checklist(),
        number="JC-2025-001",
        planned_on=timezone.localdate(),
        created_by=world.county_a,
    )
    Hazard.objects.filter(pk=hazard.pk).update(inspection=inspection)
    row = api(world.county_a).get(LIST).json()["results"][0]
    assert row["inspection"] == {"id": inspection.pk, "number": "JC-2025-001"}
    response = api(world.county_a).get(LIST, {"inspection": inspection.pk})
    assert ids(response) == {hazard.pk}


def _checklist() -> Any:
    from weibao.tests.factories import make_checklist

    return make_checklist()


def test_detail_shape(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    HazardEvent.objects.create(
        hazard=hazard, action="created", to_status="open", actor=world.county_a, note="现场发现"
    )
    body = api(world.unit_a_officer).get(detail(hazard)).json()
    assert body["plan"] is None
    assert body["attachments"] == []
    event = body["events"][0]
    assert event["action"] == "created"
    assert event["action_display"] == "Recorded"
    assert (event["from_status"], event["to_status"]) == (None, "open")
    assert event["actor_name"] == str(world.county_a)
    assert event["note"] == "现场发现"
    assert event["data"] == {}
    for key in (
        "rectification_note",
        "rectified_on",
        "accepted_by",
        "accepted_by_name",
        "accepted_on",
        "acceptance_opinion",
        "cancel_reason",
    ):
        assert key in body


# --- create ---------------------------------------------------------------------------------------
def payload(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "enterprise": world.unit_a.pk,
        "level": "general",
        "category": "storage",
        "description": "库房防盗门锁损坏",
        **extra,
    }


def test_regulator_records_a_hazard(world: World, api: Any) -> None:
    site = SiteFactory.create(enterprise=world.unit_a)
    response = api(world.county_a).post(
        LIST, payload(world, site=site.pk, working_days=5, legal_basis="条例第四十一条"), "json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "inspection"
    assert body["status"] == "open"
    assert body["site"] == site.pk
    assert body["deadline"] > timezone.localdate().isoformat()
    assert [e["action"] for e in body["events"]] == ["created"]
    assert Hazard.objects.get(pk=body["id"]).created_by == world.county_a


def test_unit_records_its_own_self_inspection_hazard(world: World, api: Any) -> None:
    response = api(world.unit_a_officer).post(LIST, payload(world), "json")
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "self_inspection"
    # …and its own general ones it accepts itself later, so it may also cancel them.
    assert "cancel" in response.json()["allowed_actions"]


def test_create_refusals(world: World, api: Any) -> None:
    county_a = api(world.county_a)
    past = county_a.post(LIST, payload(world, deadline=days(-1).isoformat()), "json")
    assert past.status_code == 400
    assert past["Content-Type"] == "application/problem+json"
    assert "deadline" in past.json()["errors"]
    both = county_a.post(LIST, payload(world, deadline=days(5).isoformat(), working_days=3), "json")
    assert "deadline" in both.json()["errors"]
    # Strict types: a number as text, an unknown level, a unit out of sight.
    assert (
        "working_days"
        in county_a.post(LIST, payload(world, working_days="5"), "json").json()["errors"]
    )
    assert "level" in county_a.post(LIST, payload(world, level="MAJOR"), "json").json()["errors"]
    other = county_a.post(LIST, payload(world, enterprise=world.unit_b.pk), "json")
    assert "enterprise" in other.json()["errors"]
    text_id = county_a.post(LIST, payload(world, enterprise=str(world.unit_a.pk)), "json")
    assert "enterprise" in text_id.json()["errors"]
    # A regulator does not record the unit's own kinds of finding.
    source = county_a.post(LIST, payload(world, source="self_inspection"), "json")
    assert "source" in source.json()["errors"]
    # Another unit's site.
    site = SiteFactory.create(enterprise=PersonFactory.create().enterprise)
    assert "site" in county_a.post(LIST, payload(world, site=site.pk), "json").json()["errors"]
    assert Hazard.objects.count() == 0


def test_who_may_not_create(world: World, api: Any) -> None:
    assert api(world.unit_a_employee).post(LIST, payload(world), "json").status_code == 403
    assert api(world.partner_user).post(LIST, payload(world), "json").status_code == 403
    assert api(world.unit_b_officer).post(LIST, payload(world), "json").status_code == 400
    form = api(world.county_a).post(LIST, payload(world), format="multipart")
    assert form.status_code == 415


def test_create_is_idempotent(world: World, api: Any) -> None:
    client = api(world.county_a)
    first = client.post(LIST, payload(world), "json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(LIST, payload(world), "json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert Hazard.objects.count() == 1


# --- filters --------------------------------------------------------------------------------------
@pytest.fixture
def ledger(world: World) -> dict[str, Hazard]:
    a, b = world.unit_a, world.unit_b
    return {
        "a_overdue": HazardFactory.create(enterprise=a, deadline=days(-3)),
        "a_due_soon": HazardFactory.create(enterprise=a, deadline=days(2), status="rectifying"),
        "a_later": HazardFactory.create(enterprise=a, deadline=days(30), level="major"),
        # Past its deadline, but handed in: the unit's work is done, so not overdue.
        "a_handed_in": HazardFactory.create(
            enterprise=a, deadline=days(-3), status="awaiting_acceptance"
        ),
        "a_self": HazardFactory.create(enterprise=a, source="self_inspection", deadline=days(1)),
        "b_overdue": HazardFactory.create(enterprise=b, deadline=days(-1)),
    }


def test_overdue_filter_in_one_county(world: World, api: Any, ledger: dict[str, Hazard]) -> None:
    overdue_a = {ledger["a_overdue"].pk}
    assert ids(api(world.county_a).get(LIST, {"overdue": "true"})) == overdue_a
    city = api(world.city)
    assert ids(city.get(LIST, {"overdue": "true", "jurisdiction": "430405"})) == overdue_a
    assert ids(city.get(LIST, {"overdue": "true"})) == overdue_a | {ledger["b_overdue"].pk}
    # The city's code takes in every county.
    assert len(ids(city.get(LIST, {"jurisdiction": "430400"}))) == len(ledger)
    not_overdue = ids(api(world.county_a).get(LIST, {"overdue": "false"}))
    assert ledger["a_handed_in"].pk in not_overdue
    assert ledger["a_overdue"].pk not in not_overdue
    assert api(world.county_a).get(LIST, {"overdue": "maybe"}).status_code == 400
    assert city.get(LIST, {"jurisdiction": "999999"}).status_code == 400


def test_status_level_source_and_due_within(
    world: World, api: Any, ledger: dict[str, Hazard]
) -> None:
    client = api(world.county_a)
    both = client.get(LIST + "?status=rectifying&status=awaiting_acceptance")
    assert ids(both) == {ledger["a_due_soon"].pk, ledger["a_handed_in"].pk}
    assert ids(client.get(LIST, {"level": "major"})) == {ledger["a_later"].pk}
    assert ids(client.get(LIST, {"source": "self_inspection"})) == {ledger["a_self"].pk}
    # Owed by the unit within two days (the overdue one too), not the one already handed in.
    due = ids(client.get(LIST, {"due_within": 2}))
    assert due == {ledger["a_overdue"].pk, ledger["a_due_soon"].pk, ledger["a_self"].pk}
    assert client.get(LIST, {"due_within": -1}).status_code == 400
    assert client.get(LIST, {"status": "done"}).status_code == 400


def test_dates_search_ordering_enterprise(
    world: World, api: Any, ledger: dict[str, Hazard]
) -> None:
    client = api(world.city)
    old = HazardFactory.create(enterprise=world.unit_a, found_on=days(-100), description="旧隐患")
    assert ids(client.get(LIST, {"found_on_before": days(-50).isoformat()})) == {old.pk}
    assert old.pk not in ids(client.get(LIST, {"found_on_after": days(-50).isoformat()}))
    assert ids(client.get(LIST, {"search": "旧隐患"})) == {old.pk}
    assert ids(client.get(LIST, {"search": world.unit_b.uscc})) == {ledger["b_overdue"].pk}
    assert ids(client.get(LIST, {"enterprise": world.unit_b.pk})) == {ledger["b_overdue"].pk}
    rows = client.get(LIST, {"ordering": "-deadline"}).json()["results"]
    deadlines = [r["deadline"] for r in rows]
    assert deadlines == sorted(deadlines, reverse=True)
    assert client.get(LIST, {"ordering": "description"}).status_code == 400


def test_export(world: World, api: Any, ledger: dict[str, Hazard]) -> None:
    response = api(world.county_a).get(reverse("api:hazard-export"), {"overdue": "true"})
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    from io import BytesIO

    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2  # header and the one overdue hazard of county A
    assert ledger["a_overdue"].reference in rows[1]
    partner = api(world.partner_user).get(reverse("api:hazard-export"))
    assert len(list(load_workbook(BytesIO(partner.content)).active.iter_rows())) == 1  # type: ignore[union-attr]


# --- query counts ---------------------------------------------------------------------------------
def count_queries(client: Any, url: str) -> int:
    client.get(url)  # warm per-user caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["county_a", "unit_a_officer"])
def test_list_queries_do_not_grow(world: World, api: Any, persona: str) -> None:
    client = api(getattr(world, persona))
    site = SiteFactory.create(enterprise=world.unit_a)
    person = PersonFactory.create(enterprise=world.unit_a)

    def add(n: int) -> None:
        for _ in range(n):
            HazardFactory.create(enterprise=world.unit_a, site=site, responsible_person=person)

    add(3)
    few = count_queries(client, LIST)
    add(27)
    assert count_queries(client, LIST) == few
    assert count_queries(client, reverse("api:hazard-export")) <= few + 2


def test_detail_queries_do_not_grow(world: World, api: Any) -> None:
    client = api(world.unit_a_officer)
    hazard = HazardFactory.create(enterprise=world.unit_a)

    def add(n: int) -> None:
        for _ in range(n):
            HazardEvent.objects.create(hazard=hazard, action="reminded", actor=world.county_a)

    add(3)
    few = count_queries(client, detail(hazard))
    add(27)
    assert count_queries(client, detail(hazard)) == few


def test_to_accept_is_what_the_caller_accepts(world: World, api: Any) -> None:
    bureau = HazardFactory.create(enterprise=world.unit_a, status="awaiting_acceptance")
    own = HazardFactory.create(
        enterprise=world.unit_a, status="awaiting_acceptance", source="self_inspection"
    )
    HazardFactory.create(enterprise=world.unit_a, status="open")
    assert ids(api(world.county_a).get(LIST, {"to_accept": "true"})) == {bureau.pk}
    assert ids(api(world.unit_a_officer).get(LIST, {"to_accept": "true"})) == {own.pk}
    assert ids(api(world.unit_a_employee).get(LIST, {"to_accept": "true"})) == set()
    assert api(world.county_a).get(LIST, {"to_accept": "yes please"}).status_code == 400
