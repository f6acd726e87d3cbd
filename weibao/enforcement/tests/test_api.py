"""The case API: isolation (cases and case reviews), the list (shape, filters, query counts),
detail, create and change, documents. The procedure step by step: test_api_lifecycle.py; legal
provisions: test_api_provisions.py."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.enforcement.models import Case, CaseEvent, CaseReview, PenaltyItem
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import (
    CaseFactory,
    HazardFactory,
    PersonFactory,
    World,
    case_at,
    provision,
)

pytestmark = pytest.mark.django_db

LIST = reverse("api:case-list")
PROBLEM = "application/problem+json"


def detail(case: Case) -> str:
    return reverse("api:case-detail", args=[case.pk])


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def days(n: int) -> Any:
    return timezone.localdate() + timedelta(days=n)


def proposed(world: World, county: str = "430405", **fields: Any) -> Case:
    """A proposed case (no documents issued) of unit A by county A, or of unit B by county B."""
    if county == "430405":
        unit, bureau, officers = world.unit_a, world.county_a_bureau, [world.county_a]
    else:
        unit, bureau, officers = world.unit_b, world.county_b_bureau, [world.county_b]
    fields.setdefault("officers", officers)
    fields.setdefault("provisions", [provision()])
    case: Case = CaseFactory.create(enterprise=unit, agency=bureau, **fields)
    return case


def registered(world: World, county: str = "430405", **fields: Any) -> Case:
    """A case past registration, as the list sees it (the row only, no documents)."""
    fields.setdefault("status", "registered")
    fields.setdefault("registered_on", timezone.localdate())
    return proposed(world, county, **fields)


# --- isolation ----------------------------------------------------------------------------------
class TestProposedCaseIsolation(ScopedApiContract):
    """Proposals are the bureau's internal work: the unit does not see them."""

    list_route = "api:case-list"
    page_route = "case-list"
    detail_route = "api:case-detail"
    partner_sees_a = False
    unit_sees_a = False

    def make(self, world: World, county: str) -> Case:
        return proposed(world, county)


class TestRegisteredCaseIsolation(ScopedApiContract):
    """A registered case is seen by its own unit (never another's), never by a partner."""

    list_route = "api:case-list"
    detail_route = "api:case-detail"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Case:
        return registered(world, county)


class TestCaseReviewIsolation(ScopedApiContract):
    """Quality reviews are the bureaus' assessment of their own work: no unit, no partner."""

    list_route = "api:case-review-list"
    page_route = "case-reviews"
    detail_route = "api:case-review-detail"
    partner_sees_a = False
    unit_sees_a = False

    def make(self, world: World, county: str) -> CaseReview:
        case = registered(world, county, status="closed", closed_on=timezone.localdate())
        return CaseReview.objects.create(
            case=case,
            reviewer=world.city,
            facts_clear=True,
            evidence_sufficient=True,
            procedure_lawful=True,
            basis_correct=True,
            penalty_appropriate=True,
            documents_complete=False,
            score=88,
        )


# --- the list -------------------------------------------------------------------------------------
def test_list_row_shape(world: World, api: Any) -> None:
    case = proposed(world, officers=[world.county_a, world.county_a2], deadline=days(-1))
    row = api(world.county_a).get(LIST).json()["results"][0]
    assert row["id"] == case.pk
    assert row["reference"] == case.reference
    assert row["number"] is None
    assert row["title"] == case.title
    assert (row["enterprise"], row["enterprise_name"]) == (world.unit_a.pk, world.unit_a.name)
    assert row["uscc"] == world.unit_a.uscc
    assert row["jurisdiction"] == "430405"
    assert (row["agency"], row["agency_name"]) == (
        world.county_a_bureau.pk,
        world.county_a_bureau.name_en,
    )
    assert (row["origin"], row["origin_display"]) == ("manual", "Opened by an officer")
    assert (row["status"], row["status_display"]) == ("proposed", "Proposed")
    assert row["deadline"] == days(-1).isoformat()
    assert row["deadline_state"] == "overdue"
    assert row["proposed_on"] == timezone.localdate().isoformat()
    assert row["registered_on"] is None
    assert {o["id"] for o in row["officers"]} == {world.county_a.pk, world.county_a2.pk}
    assert row["allowed_actions"] == ["update", "register", "files", "drop"]
    # The city bureau may act too; the other county sees nothing; a unit sees no proposal.
    assert (
        api(world.city).get(LIST).json()["results"][0]["allowed_actions"] == row["allowed_actions"]
    )
    assert api(world.county_b).get(LIST).json()["count"] == 0
    assert api(world.unit_a_officer).get(LIST).json()["count"] == 0


def test_unit_sees_its_registered_case_but_no_step(world: World, api: Any) -> None:
    case = registered(world)
    row = api(world.unit_a_officer).get(LIST).json()["results"][0]
    assert row["id"] == case.pk
    assert row["allowed_actions"] == []
    assert api(world.unit_a_employee).get(detail(case)).json()["allowed_actions"] == []


def test_officers_of_another_case_do_not_act_on_this_one(world: World, api: Any) -> None:
    """From registration on, only the handling officers (and the city) take steps."""
    case = registered(world, officers=[world.county_a])
    assert api(world.county_a2).get(detail(case)).json()["allowed_actions"] == []
    assert "investigate" in api(world.county_a).get(detail(case)).json()["allowed_actions"]
    assert "investigate" in api(world.city).get(detail(case)).json()["allowed_actions"]


@pytest.fixture
def cases(world: World) -> dict[str, Case]:
    return {
        "a_proposed": proposed(world, deadline=days(1)),
        "a_registered": registered(world, deadline=days(60), number="430405-2025-0001"),
        "a_overdue": registered(world, status="notified", deadline=days(-2), title="逾期案件"),
        "a_escalated": proposed(world, origin="escalation", deadline=days(30)),
        "a_closed": registered(world, status="closed", deadline=None),
        "b_proposed": proposed(world, "430406", deadline=days(1)),
    }


def test_filters(world: World, api: Any, cases: dict[str, Case]) -> None:
    county = api(world.county_a)
    pk = {name: case.pk for name, case in cases.items()}
    both = county.get(LIST + "?status=proposed&status=notified")
    assert ids(both) == {pk["a_proposed"], pk["a_overdue"], pk["a_escalated"]}
    assert ids(county.get(LIST, {"deadline": "overdue"})) == {pk["a_overdue"]}
    assert ids(county.get(LIST, {"deadline": "due_soon"})) == {pk["a_proposed"]}
    assert ids(county.get(LIST, {"origin": "escalation"})) == {pk["a_escalated"]}
    assert ids(county.get(LIST, {"search": "逾期"})) == {pk["a_overdue"]}
    assert ids(county.get(LIST, {"search": "430405-2025"})) == {pk["a_registered"]}
    city = api(world.city)
    assert ids(city.get(LIST, {"jurisdiction": "430406"})) == {pk["b_proposed"]}
    assert len(ids(city.get(LIST, {"jurisdiction": "430400"}))) == len(cases)
    assert ids(city.get(LIST, {"enterprise": world.unit_b.pk})) == {pk["b_proposed"]}
    assert ids(city.get(LIST, {"search": world.unit_b.name})) == {pk["b_proposed"]}
    assert ids(city.get(LIST, {"deadline": "due_soon"})) == {pk["a_proposed"], pk["b_proposed"]}
    officer = city.get(LIST, {"officer": world.county_b.pk})
    assert ids(officer) == {pk["b_proposed"]}
    rows = city.get(LIST, {"ordering": "deadline"}).json()["results"]
    deadlines = [r["deadline"] for r in rows if r["deadline"]]
    assert deadlines == sorted(deadlines)
    for bad in ({"status": "open"}, {"deadline": "soon"}, {"ordering": "title"}):
        response = city.get(LIST, bad)
        assert response.status_code == 400, bad
        assert response["Content-Type"] == PROBLEM
    assert city.get(LIST, {"jurisdiction": "999999"}).status_code == 400


# --- query counts ---------------------------------------------------------------------------------
def count_queries(client: Any, url: str) -> int:
    client.get(url)  # warm per-user caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["county_a", "city", "unit_a_officer"])
def test_list_queries_do_not_grow(world: World, api: Any, persona: str) -> None:
    client = api(getattr(world, persona))

    def add(n: int) -> None:
        for _ in range(n):
            case = registered(world, officers=[world.county_a, world.county_a2], status="decided")
            PenaltyItem.objects.create(case=case, provision=provision(), kind="fine", amount=100)

    add(1)
    one = count_queries(client, LIST)
    add(19)
    assert count_queries(client, LIST) == one
    assert one <= 6
    assert len(client.get(LIST).json()["results"]) == 20


def test_detail_queries_do_not_grow(world: World, api: Any) -> None:
    client = api(world.county_a)
    case = registered(world, officers=[world.county_a, world.county_a2])

    def add(n: int) -> None:
        for _ in range(n):
            CaseEvent.objects.create(case=case, action="attach", to_status="registered")
            case.hazards.add(HazardFactory.create(enterprise=world.unit_a))
            case.persons.add(PersonFactory.create(enterprise=world.unit_a))
            PenaltyItem.objects.create(case=case, provision=provision(), kind="fine", amount=1)

    add(1)
    few = count_queries(client, detail(case))
    add(10)
    assert count_queries(client, detail(case)) == few


# --- detail ---------------------------------------------------------------------------------------
def test_detail_shape(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    person = PersonFactory.create(enterprise=world.unit_a, name="王五")
    case = proposed(world, persons_note="库管员", evidence=[{"rule": "major_overdue"}])
    case.hazards.add(hazard)
    case.persons.add(person)
    body = api(world.county_a).get(detail(case)).json()
    assert body["unit"]["id"] == world.unit_a.pk
    assert body["unit"]["uscc"] == world.unit_a.uscc
    assert body["unit"]["jurisdiction"] == "430405"
    assert body["unit"]["status"] == "active"
    assert body["facts"] == case.facts
    assert body["persons"] == [
        {
            "id": person.pk,
            "name": "王五",
            "post": "safety_officer",
            "post_display": "Safety officer",
        }
    ]
    assert body["persons_note"] == "库管员"
    assert body["provisions"][0]["code"] == "wsl-2021-102"
    assert body["provisions"][0]["verified"] is False
    assert body["hazards"] == [{"id": hazard.pk, "reference": hazard.reference}]
    assert body["inspections"] == []
    assert body["evidence"] == [{"rule": "major_overdue"}]
    assert body["penalties"] == []
    assert body["documents"] == []
    assert body["events"] == []
    assert body["review"] is None
    for key in (
        "decision_due",
        "notified_on",
        "defence_deadline",
        "hearing_available",
        "hearing_deadline",
        "defence_statement",
        "defence_waived",
        "hearing_requested",
        "hearing_held_on",
        "hearing_record",
        "decided_on",
        "payment_due",
        "executed_on",
        "closed_on",
        "dropped_on",
        "drop_reason",
        "created_by",
        "created_by_name",
    ):
        assert key in body, key


def test_documents_are_served_as_stored(world: World, api: Any) -> None:
    case = case_at(world, "registered")
    document = case.documents.get()
    row = api(world.county_a).get(detail(case)).json()["documents"][0]
    assert row["id"] == document.pk
    assert (row["kind"], row["generated"]) == ("registration_approval", True)
    assert row["sha256"] == document.sha256
    url = reverse("api:case-document", args=[case.pk, document.pk])
    assert row["url"].endswith(url)
    for user in (world.county_a, world.city):
        served = api(user).get(url)
        assert served.status_code == 200
        assert served["Content-Type"] == "application/pdf"
        assert "attachment" in served["Content-Disposition"]
        content = b"".join(served.streaming_content)
        assert hashlib.sha256(content).hexdigest() == document.sha256
        assert content.startswith(b"%PDF")
    # The approval form is the bureau's internal paper: the unit (the party) does not get it.
    for user in (world.county_b, world.unit_b_officer, world.partner_user, world.unit_a_officer):
        assert api(user).get(url).status_code == 404
    other = case_at(world, "registered")
    wrong_case = reverse("api:case-document", args=[other.pk, document.pk])
    assert api(world.county_a).get(wrong_case).status_code == 404
    assert api().get(url).status_code == 401


# --- create and change ----------------------------------------------------------------------------
def payload(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "enterprise": world.unit_a.pk,
        "title": "未采取措施消除事故隐患",
        "facts": "经查，该单位逾期未整改重大事故隐患。",
        "officers": [world.county_a.pk, world.county_a2.pk],
        "provisions": [provision().pk],
        **extra,
    }


def test_regulator_opens_a_case(world: World, api: Any) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    person = PersonFactory.create(enterprise=world.unit_a)
    response = api(world.county_a).post(
        LIST, payload(world, hazards=[hazard.pk], persons=[person.pk]), "json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["origin"]) == ("proposed", "manual")
    assert body["agency"] == world.county_a_bureau.pk
    assert body["created_by"] == world.county_a.pk
    assert [h["id"] for h in body["hazards"]] == [hazard.pk]
    assert [p["id"] for p in body["persons"]] == [person.pk]
    assert [e["action"] for e in body["events"]] == ["created"]
    assert body["events"][0]["from_status"] is None
    assert body["deadline"] is not None
    assert "register" in body["allowed_actions"]


def test_create_refusals_write_nothing(world: World, api: Any) -> None:
    county = api(world.county_a)
    # A unit outside the officer's county reads as unknown (no probing of other counties).
    other = county.post(LIST, payload(world, enterprise=world.unit_b.pk), "json")
    assert other.status_code == 400
    assert other["Content-Type"] == PROBLEM
    assert "enterprise" in other.json()["errors"]
    # Strict types and the unit's own people, hazards.
    assert (
        "enterprise"
        in county.post(LIST, payload(world, enterprise=str(world.unit_a.pk)), "json").json()[
            "errors"
        ]
    )
    assert "title" in county.post(LIST, payload(world, title="  "), "json").json()["errors"]
    assert "title" in county.post(LIST, payload(world, title=5), "json").json()["errors"]
    foreign = PersonFactory.create(enterprise=world.unit_b)
    assert (
        "persons[0]"
        in county.post(LIST, payload(world, persons=[foreign.pk]), "json").json()["errors"]
    )
    city_person = PersonFactory.create()  # a unit of county A, not the case's unit
    mismatch = api(world.city).post(LIST, payload(world, persons=[city_person.pk]), "json")
    assert mismatch.status_code == 400
    assert "persons" in mismatch.json()["errors"]
    outsider = county.post(LIST, payload(world, officers=[world.county_b.pk]), "json")
    assert "officers[0]" in outsider.json()["errors"]
    colleague = api(world.city).post(LIST, payload(world, officers=[world.county_b.pk]), "json")
    assert "officers" in colleague.json()["errors"]
    assert Case.objects.count() == 0


def test_who_may_not_open_a_case(world: World, api: Any) -> None:
    for user in (world.unit_a_officer, world.unit_a_principal, world.partner_user):
        response = api(user).post(LIST, payload(world), "json")
        assert response.status_code == 403, user
        assert response["Content-Type"] == PROBLEM
    assert api().post(LIST, payload(world), "json").status_code == 401
    assert api(world.county_a).post(LIST, payload(world), format="multipart").status_code == 415
    assert Case.objects.count() == 0


def test_create_is_idempotent(world: World, api: Any) -> None:
    client = api(world.county_a)
    first = client.post(LIST, payload(world), "json", HTTP_IDEMPOTENCY_KEY="case-1")
    again = client.post(LIST, payload(world), "json", HTTP_IDEMPOTENCY_KEY="case-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    other = client.post(LIST, payload(world, title="另案"), "json", HTTP_IDEMPOTENCY_KEY="case-1")
    assert other.status_code == 422
    assert Case.objects.count() == 1


def test_change_while_building_the_case(world: World, api: Any) -> None:
    case = proposed(world)
    hazard = HazardFactory.create(enterprise=world.unit_a)
    county = api(world.county_a)
    response = county.patch(
        detail(case), {"facts": "补充事实", "hazards": [hazard.pk], "officers": []}, "json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["facts"] == "补充事实"
    assert [h["id"] for h in body["hazards"]] == [hazard.pk]
    assert body["officers"] == []
    assert body["events"][-1]["action"] == "updated"
    assert set(body["events"][-1]["data"]["fields"]) == {"facts", "hazards", "officers"}
    assert "title" in county.patch(detail(case), {"title": ""}, "json").json()["errors"]
    assert county.put(detail(case), payload(world), "json").status_code == 405
    assert county.delete(detail(case)).status_code == 405
    # Not the unit, not another county.
    unit_case = registered(world)
    assert (
        api(world.unit_a_officer).patch(detail(unit_case), {"facts": "x"}, "json").status_code
        == 403
    )
    assert api(world.county_b).patch(detail(case), {"facts": "x"}, "json").status_code == 404


def test_no_change_after_the_notice(world: World, api: Any) -> None:
    case = registered(world, status="notified", officers=[world.county_a])
    response = api(world.county_a).patch(detail(case), {"facts": "改"}, "json")
    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    assert response.json()["current_status"] == "notified"
    case.refresh_from_db()
    assert case.facts != "改"


# --- case reviews ---------------------------------------------------------------------------------
def reviewed(world: World, county: str, score: int, all_met: bool = True) -> CaseReview:
    case = registered(world, county, status="closed", closed_on=timezone.localdate())
    criteria = {name: True for name in CaseReview.CRITERIA}
    criteria["documents_complete"] = all_met
    return CaseReview.objects.create(case=case, reviewer=world.city, score=score, **criteria)


def test_review_summary_per_county(world: World, api: Any) -> None:
    reviewed(world, "430405", 95)
    reviewed(world, "430405", 70)
    reviewed(world, "430405", 92, all_met=False)
    reviewed(world, "430406", 50)
    registered(world, "430405", status="closed")  # closed, not reviewed yet
    summary = reverse("api:case-review-summary")
    city = api(world.city).get(summary)
    assert city.status_code == 200
    rows = {row["jurisdiction"]: row for row in city.json()}
    assert {"430405", "430406"} <= set(rows)
    assert all(code.startswith("4304") for code in rows)
    a = rows["430405"]
    assert (a["closed"], a["reviewed"], a["average_score"]) == (4, 3, "85.7")
    assert a["grades"] == {"excellent": 1, "good": 1, "pass": 1, "fail": 0}
    assert a["jurisdiction_name"] == "Zhuhui District"
    b = rows["430406"]
    assert (b["reviewed"], b["grades"]["fail"]) == (1, 1)
    quiet = next(row for code, row in rows.items() if code not in {"430405", "430406"})
    assert (quiet["reviewed"], quiet["average_score"]) == (0, None)
    # A county bureau sees its own row only; units and partners see nothing.
    assert [row["jurisdiction"] for row in api(world.county_a).get(summary).json()] == ["430405"]
    assert [row["jurisdiction"] for row in api(world.county_b).get(summary).json()] == ["430406"]
    assert api(world.unit_a_principal).get(summary).json() == []
    assert api(world.partner_user).get(summary).json() == []
    assert api().get(summary).status_code == 401


def test_review_list_shape_and_filters(world: World, api: Any) -> None:
    review = reviewed(world, "430405", 95)
    other = reviewed(world, "430406", 60)
    reviews = reverse("api:case-review-list")
    client = api(world.city)
    row = client.get(reviews, {"jurisdiction": "430405"}).json()["results"]
    assert [r["id"] for r in row] == [review.pk]
    assert row[0]["case"] == review.case_id
    assert row[0]["case_reference"] == review.case.reference
    assert (row[0]["grade"], row[0]["grade_display"]) == ("excellent", "Model case")
    assert row[0]["reviewer_name"] == str(world.city)
    assert row[0]["jurisdiction"] == "430405"
    assert ids(client.get(reviews, {"case": other.case_id})) == {other.pk}
    scores = [r["score"] for r in client.get(reviews, {"ordering": "score"}).json()["results"]]
    assert scores == [60, 95]
    assert count_queries(client, reviews) <= 4


def test_export(world: World, api: Any, cases: dict[str, Case]) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from weibao.core.tabular import XLSX_CONTENT_TYPE

    export = reverse("api:case-export")
    response = api(world.county_a).get(export, {"deadline": "overdue"})
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2  # the header and county A's one overdue case
    assert cases["a_overdue"].reference in rows[1]
    everything = load_workbook(BytesIO(api(world.county_a).get(export).content)).active
    assert everything is not None and everything.max_row == 1 + 5  # county A's five cases
    for user in (world.partner_user, world.unit_b_officer):
        empty = load_workbook(BytesIO(api(user).get(export).content)).active
        assert empty is not None and empty.max_row == 1
    assert api().get(export).status_code == 401
